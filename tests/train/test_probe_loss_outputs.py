"""fit's probe before the first step, and evaluate, read what the loss returned and the
model's outputs as the run will: a loss that returns per-example values instead of one
scalar cost, outputs a classification run cannot read classes from, and a single output
scored by a softmax loss (one class: nothing to learn) are refused before any work, with
a typed error naming the loss or the model's output."""

import functools

import numpy as np
import pytest

from chainrule import losses, nn, optim
from chainrule.train import LambdaCallback, evaluate, fit

_X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
_LABELS = (_X[:, 0] > 0).astype(np.int64)


def _refused(error, model, loss, X, y) -> str:
    """The message of the ``error`` a fit must raise before any step: no batch ran and the
    model's parameters are as they were."""
    before = [p.data.copy() for p in model.parameters()]
    steps = []
    counter = LambdaCallback(on_batch_end=lambda *args: steps.append(1))
    with pytest.raises(error) as info:
        fit(model, loss, optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=5,
            progress=False, callbacks=[counter])  # fmt: skip
    assert steps == []
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters(), strict=True))
    return str(info.value)


_PER_EXAMPLE = functools.partial(losses.cross_entropy, reduction="none")


def test_a_loss_of_per_example_values_is_refused_before_the_first_step():
    # fit's backward raised an untyped RuntimeError at the first step
    message = _refused(ValueError, nn.MLP([3, 4, 2], seed=0), _PER_EXAMPLE, _X, _LABELS)
    assert message.startswith(
        "the loss function functools.partial(cross_entropy, reduction='none') returned a "
        "Tensor of shape (2,) for samples 0 and 1 of X (fit checks them before training); "
        "expected a scalar Tensor (one value)"
    )


def _mean_over_rows(outputs, targets):  # one value, of shape (1,)
    return ((outputs - targets) ** 2).mean(axis=0)


def test_a_loss_of_one_value_of_shape_1_trains_as_backward_takes_it():
    # the probe refused it for its shape, where backward() and item() take it
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)).astype(np.float32), rng.normal(size=(12, 1))
    model = nn.Linear(3, 1, rng=0)
    history = fit(model, _mean_over_rows, optim.SGD(model.parameters(), lr=0.1), X,
                  y.astype(np.float32), epochs=2, batch_size=4, progress=False)  # fmt: skip
    assert len(history.epochs) == 2
    assert np.isfinite(evaluate(model, _mean_over_rows, X, y.astype(np.float32))["loss"])


def test_evaluate_refuses_a_loss_of_per_example_values():
    # NumPy's "can only convert an array of size 1 to a Python scalar"
    with pytest.raises(ValueError, match=r"returned a Tensor of shape \(20,\) for X; expected"):
        evaluate(nn.MLP([3, 4, 2], seed=0), _PER_EXAMPLE, _X, _LABELS)


def test_a_loss_returning_no_tensor_is_refused_before_the_first_step():
    def number(outputs, targets):
        return float(losses.cross_entropy(outputs, targets).item())

    message = _refused(TypeError, nn.MLP([3, 4, 2], seed=0), number, _X, _LABELS)
    assert message.startswith(
        "the loss function test_a_loss_returning_no_tensor_is_refused_before_the_first_step."
        "<locals>.number returned float "
    )


def _flat_bce(outputs, targets):
    """BCE with logits over the outputs, whatever their trailing axes."""
    return losses.bce_with_logits(outputs.reshape(len(outputs.data), -1), targets)


def test_outputs_a_classification_run_cannot_read_are_refused_before_the_first_step():
    # outputs of shape (m, 2, 1), which the loss took: the first step raised the error of
    # predictions_from_outputs, a function the user never called
    X = np.stack([_X, -_X], axis=1)  # (20, 2, 3): Linear maps the last axis
    y = np.stack([_LABELS, 1 - _LABELS], axis=1)  # one-hot rows: classification
    message = _refused(ValueError, nn.MLP([3, 4, 1], seed=0), _flat_bce, X, y.astype(np.float32))
    assert message.startswith(
        "the model's output for X, sample 0: a classification run cannot read classes from "
        "it: predictions_from_outputs: expected outputs of shape (m,), (m, 1) or (m, k), got "
        "(20, 2, 1) (fit checks sample 0 alone before training; y has shape (20, 2), the "
        "model's output for X has shape (20, 2, 1))"
    )
    with pytest.raises(ValueError, match=r"^the model's output for X has shape \(20, 2, 1\): a"):
        evaluate(nn.MLP([3, 4, 1], seed=0), _flat_bce, X, y.astype(np.float32))


@pytest.mark.parametrize("loss", ["cross_entropy", "nll"])
@pytest.mark.parametrize("labels", ["zeros", "binary"], ids=["all_zero", "binary"])
def test_a_single_output_under_a_softmax_loss_is_refused_before_the_first_step(loss, labels):
    # all-zero labels trained to a loss of 0 with no gradient, its accuracy read by
    # thresholding the one output; 0/1 labels were refused as labels out of range [0, 1)
    y = np.zeros(20, np.int64) if labels == "zeros" else _LABELS
    expected = (
        f"loss {loss!r} expected the model's outputs to hold one score per class, k >= 2 of "
        "them, but the model's output for X has shape (20, 1): 1 output"
    )
    message = _refused(ValueError, nn.MLP([3, 4, 1], seed=0), loss, _X, y)
    assert message.startswith(expected)
    assert "'bce_with_logits'" in message
    with pytest.raises(ValueError) as info:
        evaluate(nn.MLP([3, 4, 1], seed=0), loss, _X, y)
    assert str(info.value).startswith(expected)


def test_a_single_output_under_a_loss_of_ones_own_is_left_to_it():
    def own(outputs, targets):
        return losses.cross_entropy(outputs, targets)

    model = nn.MLP([3, 4, 1], seed=0)
    history = fit(model, own, optim.SGD(model.parameters(), lr=0.1), _X, np.zeros(20, np.int64),
                  epochs=1, batch_size=5, progress=False)  # fmt: skip
    assert history.epochs[0]["train_loss"] == 0.0

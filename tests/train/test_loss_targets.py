"""What a loss given to fit receives as its targets: a tensor without gradient, in the
traced step, the eager step, fit's check before training and the dev evaluation alike."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autodiff import Tensor
from chainrule.train import Trainer, evaluate, fit

X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
Y = np.random.default_rng(1).integers(0, 3, size=40)
CLASS_WEIGHTS = np.array([1.0, 2.0, 5.0], np.float32)


def _fit(loss, trace: bool, y=Y, dev=None, epochs: int = 2):
    model = nn.Sequential(nn.Linear(4, 3, rng=1))
    history = fit(model, loss, optim.SGD(model.parameters(), lr=0.1), X, y, dev=dev,
                  epochs=epochs, batch_size=10, progress=False, trace=trace)  # fmt: skip
    return model, history


@pytest.mark.parametrize("trace", [True, False], ids=["traced", "eager"])
def test_the_loss_gets_its_targets_as_a_tensor_without_gradient_everywhere(trace):
    seen = []  # (number of targets, their type, whether they require a gradient)

    def spy(outputs, targets):
        seen.append((len(targets), type(targets), getattr(targets, "requires_grad", None)))
        return cr.losses.cross_entropy(outputs, targets)

    model, _ = _fit(spy, trace, dev=(X[:20], Y[:20]), epochs=1)
    evaluate(model, spy, X[:30], Y[:30])
    # fit's check of single samples and of the first two, the training steps, the dev
    # set, evaluate
    assert {n for n, _, _ in seen} == {1, 2, 10, 20, 30}
    assert {(t, grad) for _, t, grad in seen} == {(Tensor, False)}


def weighted_ce(outputs, targets):
    per = cr.losses.cross_entropy(outputs, targets, reduction="none")
    return (per * CLASS_WEIGHTS[targets.data]).mean()


def test_a_loss_that_indexes_with_the_targets_trains_alike_traced_and_eager():
    # the eager step handed it the array (whose .data is a buffer), the traced one a tensor
    traced, traced_history = _fit(weighted_ce, True, dev=(X, Y))
    eager, eager_history = _fit(weighted_ce, False, dev=(X, Y))
    assert traced_history.step_losses == eager_history.step_losses
    assert traced_history.epochs[-1]["dev_loss"] == eager_history.epochs[-1]["dev_loss"]
    for name, value in eager.state_dict().items():
        np.testing.assert_array_equal(traced.state_dict()[name], value, err_msg=name)


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64])
def test_unsigned_labels_no_tensor_holds_reach_the_loss_as_int64(dtype):
    seen = set()

    def spy(outputs, targets):
        seen.add(targets.dtype)
        return cr.losses.cross_entropy(outputs, targets)

    _, history = _fit(spy, False, y=Y.astype(dtype), dev=(X, Y.astype(dtype)))
    _, expected = _fit("cross_entropy", False)
    assert seen == {np.dtype(np.int64)}
    assert history.step_losses == expected.step_losses
    _, traced = _fit("cross_entropy", True, y=Y.astype(dtype))
    assert traced.step_losses == expected.step_losses


def test_a_label_beyond_int64_is_refused_as_given_before_training():
    y = Y.astype(np.uint64)
    y[7] = 2**63
    calls = []
    with pytest.raises(ValueError, match=re.escape(f"y: label {2**63} at position 7")):
        _fit(lambda o, t: calls.append(1) or cr.losses.cross_entropy(o, t), False, y=y)
    assert calls == []
    with pytest.raises(ValueError, match=re.escape(f"y_dev: label {2**63} at position 7")):
        _fit("cross_entropy", False, dev=(X, y))


@pytest.mark.parametrize("trace", [True, False])
def test_targets_of_a_dtype_no_tensor_holds_are_refused_naming_them(trace):
    y = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float16)
    message = "y: expected targets of dtype float32, float64"
    with pytest.raises(TypeError, match=message) as caught:
        _fit("mse", trace, y=y)
    # the cast it advised, to float32, was refused next for class labels or a float64 model
    assert str(caught.value).endswith(
        "got float16; cast them: class labels to int64 (y.astype('int64')), values to the "
        "model's dtype"
    )
    trainer = Trainer(nn.Sequential(nn.Linear(4, 3, rng=1)), "mse", None, progress=False)
    with pytest.raises(TypeError, match=message):
        trainer.evaluate(X, y)

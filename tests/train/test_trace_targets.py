"""The traced step with a batch of one: a loss that makes a tensor of ``targets.data`` (as
fit's docstring once suggested) ends the trace instead of replaying the first batch's
values, and the ordinary losses are still replayed."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses, nn, optim, regularization
from chainrule.train import Trainer

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int64)
CLASS_W = np.array([1.0, 3.0], np.float32)


def weighted_ce(out, targets):
    per = losses.cross_entropy(out, targets, reduction="none")
    return (per * cr.tensor(CLASS_W[targets.data])).mean()


def float_labels_bce(out, targets):
    return losses.bce_with_logits(out, cr.tensor(targets.data.astype(np.float32).reshape(-1, 1)))


def _fit(loss, n_out, trace, batch_size=1, **options):
    model = nn.Sequential(nn.Linear(3, n_out, rng=1))
    trainer = Trainer(model, loss, optim.SGD(model.parameters(), lr=0.1), epochs=2,
                      batch_size=batch_size, progress=False, trace=trace, seed=1,
                      **options)  # fmt: skip
    return model, trainer, trainer.fit(X, Y)


@pytest.mark.parametrize(
    ("loss", "n_out"), [(weighted_ce, 2), (float_labels_bce, 1)], ids=["class-weights", "bce"]
)
def test_a_tensor_of_one_examples_targets_ends_the_trace_instead_of_freezing(loss, n_out):
    # the first two examples' labels agreed (seed 1), so the plan was confirmed and every
    # later step replayed the first example's weight or label
    traced, trainer, history = _fit(loss, n_out, True)
    eager, _, expected = _fit(loss, n_out, False)
    assert history.step_losses == expected.step_losses
    for a, b in zip(traced.parameters(), eager.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert trainer._traced is None


def _scaled_ce(out, targets):
    return 0.5 * losses.cross_entropy(out, targets) + 1e-3


def _smoothed_ce(out, targets):
    return losses.cross_entropy(out, targets, label_smoothing=0.1)


def _l2(model, n_train):
    return regularization.l2_penalty(model, 0.1, n_train)


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize(
    ("loss", "options"),
    [("cross_entropy", {"regularization": _l2}), (_scaled_ce, {}), (_smoothed_ce, {})],
    ids=["l2-penalty", "python-coefficients", "label-smoothing"],
)
def test_losses_with_number_constants_are_still_replayed(loss, options, batch_size):
    _, trainer, history = _fit(loss, 2, True, batch_size, **options)
    _, _, expected = _fit(loss, 2, False, batch_size, **options)
    assert trainer._traced is not None
    assert all(plan.confirmed for plan in trainer._traced._plans.values())
    assert history.step_losses == expected.step_losses

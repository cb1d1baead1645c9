"""fit's probe before the first step: the samples of the smallest and the largest target of
each set go through the model and the loss, so that a float target the loss refuses by
its range stops the run before any step, wherever it lies."""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.train import LambdaCallback, fit

_X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
_LABELS = np.arange(20) % 2


def _refused(model, loss, y, dev=None, batch_size=5) -> str:
    """The ValueError's message of a fit that must refuse before any step: no batch ran and
    the model's parameters are as they were."""
    before = [p.data.copy() for p in model.parameters()]
    steps = []
    with pytest.raises(ValueError) as info:
        fit(model, loss, optim.SGD(model.parameters(), lr=0.1), _X, y, dev=dev, epochs=2,
            batch_size=batch_size, shuffle=False, progress=False,
            callbacks=[LambdaCallback(on_batch_end=lambda t, b, c: steps.append(b))])  # fmt: skip
    assert steps == []
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters(), strict=True))
    return str(info.value)


@pytest.mark.parametrize(("row", "value"), [(19, 2.0), (7, -0.5), (12, 1.5)])
def test_a_bce_target_out_of_range_anywhere_is_refused_before_the_first_step(row, value):
    # a last target of 2.0 trained 3 steps (the batches before it), then was refused
    y = _LABELS[:, None].astype(np.float32)
    y[row] = value
    model = nn.MLP([3, 4, 1], seed=0, output="sigmoid")
    assert _refused(model, "bce", y).startswith(
        f"y, sample {row}: bce: targets must lie in [0, 1]; got {value} at index (0, 0) "
        f"(fit checks sample {row} alone before training; y has shape (20, 1)"
    )


def test_a_negative_entry_of_a_dev_one_hot_row_is_refused_before_the_first_step():
    # a last dev row of [-1, 2] trained a whole epoch, then the dev evaluation refused it
    Y = np.eye(2, dtype=np.float32)[_LABELS]
    Y_dev = Y.copy()
    Y_dev[-1] = [-1.0, 2.0]
    message = _refused(
        nn.MLP([3, 4, 2], seed=0), "cross_entropy", Y, dev=(_X, Y_dev), batch_size=10
    )
    assert message.startswith(
        "y_dev, sample 19: cross_entropy: one-hot/probability targets must be finite and "
        "non-negative; got -1.0 at row 0, column 0 (fit checks sample 19 alone"
    )


def test_a_negative_probability_in_a_training_row_is_refused_before_the_first_step():
    Y = np.full((20, 2), 0.5, dtype=np.float32)
    Y[11] = [1.25, -0.25]
    message = _refused(nn.MLP([3, 4, 2], seed=0), "cross_entropy", Y)
    assert message.startswith("y, sample 11: cross_entropy: one-hot/probability targets must")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["y", "y_dev"])
def test_nan_and_inf_targets_are_refused_before_the_first_step(bad, where):
    y = _LABELS[:, None].astype(np.float32)
    y_bad = y.copy()
    y_bad[-1] = bad
    model = nn.MLP([3, 4, 1], seed=0, output="sigmoid")
    if where == "y":
        message = _refused(model, "bce", y_bad)
    else:
        message = _refused(model, "bce", y, dev=(_X, y_bad))
    assert message.startswith(f"{where}: expected finite values, got 1 NaN or Inf values")


def test_the_probe_runs_the_samples_of_the_extreme_targets_alone():
    # the first sample, the one of the smallest and the one of the largest target: three
    # single samples through the model (then the first two together, for the loss's one
    # value), before the run's first batch
    seen = []

    class Recorder(nn.Linear):
        def forward(self, x):
            seen.append(x.data.copy())
            return super().forward(x)

    y = np.full((20, 1), 3.0, dtype=np.float32)
    y[8], y[14] = -1.0, 9.0
    model = Recorder(3, 1, rng=0)
    fit(model, "mse", optim.SGD(model.parameters()), _X, y, epochs=1, batch_size=20,
        shuffle=False, progress=False, trace=False)  # fmt: skip
    assert [len(x) for x in seen[:5]] == [1, 1, 1, 2, 20]
    for x, row in zip(seen[:3], (0, 8, 14), strict=True):
        np.testing.assert_array_equal(x, _X[row : row + 1])

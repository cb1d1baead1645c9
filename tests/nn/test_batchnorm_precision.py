"""Batch normalization's variance: its squared deviations summed in float64, and refused
in training where the dtype cannot hold it."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn, optim


def test_a_float32_variance_that_fits_does_not_overflow_in_its_sum():
    # the float32 sum of 256 squares of 2e18 overflowed: the running variance was inf
    x = np.tile(np.array([[2e18], [-2e18]], np.float32), (128, 1))
    bn = nn.BatchNorm1d(1, momentum=0.0)
    with np.errstate(all="raise"):
        out = bn(x).data
    exact = x.astype(np.float64).var(ddof=1)
    assert np.isfinite(bn.running_var).all()
    np.testing.assert_allclose(bn.running_var, exact, rtol=1e-6)
    np.testing.assert_array_equal(out, np.sign(x))


def test_the_float32_variance_of_a_large_batch_stays_precise():
    # summed in float32 row after row, the variance drifted by 4e-4 (relative) at m = 1e6
    x = np.random.default_rng(2).uniform(0, 1, size=(1_000_000, 2)).astype(np.float32)
    mean, var = np.zeros(2, np.float32), np.ones(2, np.float32)
    F.batch_norm(x, np.ones(2, np.float32), np.zeros(2, np.float32), mean, var, momentum=0.0)
    exact = x.astype(np.float64).var(axis=0, ddof=1)
    np.testing.assert_allclose(var, exact, rtol=1e-6)


def test_a_variance_that_fits_survives_squares_or_a_sum_beyond_the_dtype():
    # the scaled fallback normalized these, but left the running variance inf, which the
    # model then refused to save or load
    lone = np.zeros((1000, 1), np.float32)
    lone[0] = 2e19  # its square is beyond float32, the variance 4e35 is not
    wide = np.tile(np.array([[1e153], [-1e153]]), (128, 1))  # the float64 sum overflows
    for x in (lone, wide):
        bn = nn.BatchNorm1d(1, momentum=0.0, dtype=x.dtype.name)
        bn(x)
        exact = np.var(x.astype(np.longdouble), ddof=1)
        np.testing.assert_allclose(bn.running_var.astype(np.longdouble), exact, rtol=1e-6)
        assert bn.invalid_state(bn.state_dict()) == []


def _refusal(dtype, features: str) -> str:
    """The error (a pattern) of a training batch with variances ``dtype`` cannot hold."""
    dtype = np.dtype(dtype)
    return (
        "^"
        + re.escape(
            f"batch_norm: expected the variance of every feature to be finite in {dtype} (up to "
            f"{float(np.finfo(dtype).max):.3g}), in the training batch and in the running "
            f"variance updated with it; got inf or NaN for {features}. Normalize the inputs to a "
            "scale near 1 (chainrule.data.Standardizer) or, where a diverging model made them, "
            "lower the learning rate; no statistic was updated"
        )
        + "$"
    )


@pytest.mark.parametrize(
    ("x", "features"),
    [
        (  # the biased variance 1e40 is beyond float32
            np.tile(np.array([[1e20, 1.0, 1e20], [-1e20, 2.0, -3e20]], np.float32), (128, 1)),
            "2 of 3 features, the largest |value| in the batch of feature 0: 1e+20, "
            "feature 2: 3e+20",
        ),
        (  # the biased variance 1e308 fits float64, its unbiased m / (m - 1) times does not
            np.array([[0.0, 1e154], [1.0, -1e154]]),
            "1 of 2 features, the largest |value| in the batch of feature 1: 1e+154",
        ),
        (  # the same in float32: 2.25e38, and 4.5e38 unbiased
            np.array([[1.5e19], [-1.5e19]], np.float32),
            "1 of 1 features, the largest |value| in the batch of feature 0: 1.5e+19",
        ),
    ],
    ids=["float32-biased", "float64-unbiased", "float32-unbiased"],
)
def test_a_variance_beyond_the_dtype_is_refused_before_any_update(x, features):
    # the running variance became inf, and the model's state was then refused by save,
    # checkpoints and load_state_dict, after the training that made it
    bn = nn.BatchNorm1d(x.shape[1], momentum=0.0, dtype=x.dtype.name)
    before = {name: array.copy() for name, array in bn.state_dict().items()}
    with np.errstate(all="raise"), pytest.raises(FloatingPointError) as info:
        bn(x)
    assert info.match(_refusal(x.dtype, features))
    for name, array in bn.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_a_running_variance_updated_beyond_the_dtype_is_refused():
    # (1 - momentum) times the unbiased batch variance fits float32 (2.25e38), its sum with
    # momentum times the running variance does not
    x = np.array([[1.5e19], [-1.5e19]], np.float32)
    mean, var = np.zeros(1, np.float32), np.array([3e38], np.float32)
    features = "1 of 1 features, the largest |value| in the batch of feature 0: 1.5e+19"
    with (
        np.errstate(all="raise"),
        pytest.raises(FloatingPointError, match=_refusal(np.float32, features)),
    ):
        F.batch_norm(x, np.ones(1, np.float32), np.zeros(1, np.float32), mean, var, momentum=0.5)
    np.testing.assert_array_equal(var, np.float32(3e38))
    np.testing.assert_array_equal(mean, [0.0])


def test_functional_batch_norm_without_statistics_normalizes_such_a_batch():
    # nothing is stored: the scaled deviations give the finite output (a refusal here
    # would only stop a computation that has a value)
    x = np.array([[1e20], [-1e20], [0.0]], np.float32)
    out = F.batch_norm(x, np.ones(1, np.float32), np.zeros(1, np.float32))
    np.testing.assert_allclose(out.data[:, 0], [np.sqrt(1.5), -np.sqrt(1.5), 0.0], rtol=1e-6)
    with np.errstate(invalid="ignore"):  # NaN stays NaN, as through the other functions
        nan = F.batch_norm(np.array([[np.nan], [1.0]], np.float32), np.ones(1, np.float32),
                           np.zeros(1, np.float32))  # fmt: skip
    assert np.isnan(nan.data).all()


def test_a_running_mean_alone_refuses_a_batch_holding_nan_or_inf():
    mean = np.zeros(2, np.float32)
    x = np.array([[1.0, -np.inf], [2.0, 0.0]], np.float32)
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(
            cr.autodiff.NonFiniteValueError,
            match=r"got NaN or Inf in 1 of 2 features: 1\. Normalize the inputs",
        ),
    ):
        F.batch_norm(x, np.ones(2, np.float32), np.zeros(2, np.float32), running_mean=mean)
    np.testing.assert_array_equal(mean, [0.0, 0.0])


def test_more_than_five_features_beyond_the_dtype_are_counted():
    x = np.tile(np.array([[1e20] * 7, [-1e20] * 7], np.float32), (2, 1))
    features = "7 of 7 features, the largest |value| in the batch of feature 0: 1e+20, "
    features += ", ".join(f"feature {i}: 1e+20" for i in range(1, 5)) + ", and 2 more"
    with pytest.raises(FloatingPointError) as info:
        nn.BatchNorm1d(7)(x)
    assert info.match(_refusal(np.float32, features))


@pytest.mark.parametrize("trace", [True, False], ids=["traced", "eager"])
def test_a_fit_on_a_feature_of_raw_scale_1e20_stops_at_its_first_step(trace, tmp_path):
    # the fit ran to its end with an inf running variance, then its checkpoint, save and
    # EarlyStopping's restore all refused the model's state
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 1] > 0).astype(np.int64)
    X[:, 0] *= 1e20
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    before = {name: array.copy() for name, array in model.state_dict().items()}
    opt = optim.SGD(model.parameters(), lr=0.1)
    refusal = r"^at epoch 1, step 1: batch_norm: .*Normalize the inputs"
    with pytest.raises(cr.train.NonFiniteLossError, match=refusal):
        cr.fit(
            model,
            "cross_entropy",
            opt,
            X,
            y,
            epochs=2,
            batch_size=32,
            trace=trace,
            progress=False,
            checkpoint_dir=tmp_path / "ckpt",
        )
    assert model.invalid_state() == []
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
    cr.save(model, tmp_path / "model.safetensors")


def test_a_batch_holding_nan_names_only_its_features_and_a_nan_variance_says_so():
    # the NaN feature was named beside one that only overflowed its variance, and a float64
    # mean that overflowed (a NaN variance) was called inf
    x = np.array([[np.nan, 1e20, 1.0], [1.0, -1e20, 2.0]], np.float32)
    running = (np.zeros(3, np.float32), np.ones(3, np.float32))
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(cr.autodiff.NonFiniteValueError, match=r"NaN or Inf in 1 of 3 features: 0\."),
    ):
        F.batch_norm(x, np.ones(3, np.float32), np.zeros(3, np.float32), *running)
    x = np.array([[1e308], [1.7e308]])
    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.raises(cr.autodiff.NonFiniteValueError, match=r"got inf or NaN for 1 of 1 features"),
    ):
        F.batch_norm(x, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1))

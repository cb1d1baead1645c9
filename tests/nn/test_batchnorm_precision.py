"""Batch normalization's variance: its squared deviations summed in float64."""

from __future__ import annotations

import numpy as np

from chainrule import functional as F
from chainrule import nn


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
    huge = np.tile(np.array([[1e20], [-1e20]], np.float32), (128, 1))  # variance 1e40
    bn = nn.BatchNorm1d(1, momentum=0.0)
    bn(huge)
    assert np.isinf(bn.running_var).all()


def test_an_unbiased_running_variance_beyond_the_dtype_is_inf_without_a_warning():
    # the biased variance 1e308 fits float64, its unbiased m / (m - 1) times does not
    for x in (
        np.array([[1e154], [-1e154]]),
        np.array([[1.5e19], [-1.5e19]], np.float32),
    ):
        bn = nn.BatchNorm1d(1, momentum=0.0, dtype=x.dtype.name)
        with np.errstate(all="raise"):
            bn(x)
        assert np.isinf(bn.running_var).all()

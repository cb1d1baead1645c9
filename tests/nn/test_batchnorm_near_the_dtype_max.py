"""Batch norm of finite values up to the dtype's maximum: the scale-free result.

The scaled fallback divided deviations that had already overflowed (float32: ``x - mu``
beyond 3.4e38; float64: the mean's sum beyond 1.8e308) by their maximum, inf: NaN output
and gradients for a finite batch, where batch norm's result does not depend on the scale.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F

#: one feature [B, B, -B]: x_hat is [1, 1, -2] / sqrt(2) at any scale
SCALE_FREE = np.array([1.0, 1.0, -2.0]) / np.sqrt(2.0)
BIG = [("float32", 3e38), ("float32", 2e38), ("float64", 1e308), ("float64", 1.7e308)]


def _ones_zeros(n, dtype):
    return np.ones(n, dtype), np.zeros(n, dtype)


@pytest.mark.parametrize(("dtype", "big"), BIG)
def test_a_batch_near_the_dtype_max_gives_the_scale_free_output(dtype, big):
    x = np.array([[big, 1.0], [big, 2.0], [-big, 4.0]], dtype)
    with np.errstate(all="raise"):  # no overflow reaches a warning either
        out = F.batch_norm(x, *_ones_zeros(2, dtype)).data
    np.testing.assert_allclose(out[:, 0], SCALE_FREE, rtol=4 * np.finfo(dtype).eps)
    # the other feature, of ordinary scale, as on its own
    alone = F.batch_norm(x[:, 1:], *_ones_zeros(1, dtype)).data
    np.testing.assert_array_equal(out[:, 1:], alone)


@pytest.mark.parametrize(("dtype", "big"), BIG)
def test_its_gradients_are_the_scale_free_ones_scaled(dtype, big):
    # batch norm of c x is batch norm of x (eps aside): with the upstream gradient times
    # u, d/dx at c x is d/dx at x times u / c, d/dgamma and d/dbeta times u (all powers of
    # two, so every scaling is exact; u / c = 2^-20 keeps d/dx a normal number)
    mantissa, exponent = np.frexp(np.array(big, dtype))
    c = float(np.ldexp(1.0, int(exponent) - 1))  # x c is [big, big, -big]
    x = np.array([[1.0], [1.0], [-1.0]], dtype) * (2 * mantissa)
    g = np.array([[1.0], [2.0], [3.0]], dtype)
    u = c * 2.0**-20
    grads = []
    for data, up, eps in ((x * c, g * u, 1e-5), (x, g, 1e-30)):  # eps negligible in both
        xt = cr.tensor(data, requires_grad=True)
        gamma = cr.tensor(np.full(1, 1.5, dtype), requires_grad=True)
        beta = cr.tensor(np.zeros(1, dtype), requires_grad=True)
        F.batch_norm(xt, gamma, beta, eps=eps).backward(up)
        grads.append((xt.grad, gamma.grad, beta.grad))
    (dx, dgamma, dbeta), (dx1, dgamma1, dbeta1) = grads
    rtol = 16 * np.finfo(dtype).eps
    np.testing.assert_allclose(dx * 2.0**20, dx1, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dgamma / u, dgamma1, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dbeta / u, dbeta1, rtol=rtol)


@pytest.mark.parametrize("big", [1e308, 1.7e308])
def test_the_float64_gradient_near_the_max_passes_gradcheck(big):
    x = cr.tensor(np.array([[big], [big], [-big], [0.5 * big]]), requires_grad=True)
    gamma, beta = cr.tensor(np.ones(1)), cr.tensor(np.zeros(1))
    # times 1e300: d/dx a normal number (about 1e-8), not a subnormal one
    result = cr.gradcheck(lambda t: F.batch_norm(t, gamma, beta) * 1e300, x, eps=big * 1e-8)
    assert result.passed, result


def test_a_constant_float64_feature_whose_sum_overflows_normalizes_to_beta():
    # its mean's float64 sum overflowed: NaN output, and the running statistics refused
    x = np.full((4, 1), 1e308)
    mean, var = np.zeros(1), np.ones(1)
    with np.errstate(all="raise"):
        out = F.batch_norm(x, np.ones(1), np.full(1, 0.25), mean, var, momentum=0.5)
    np.testing.assert_array_equal(out.data, np.full((4, 1), 0.25))
    np.testing.assert_array_equal(mean, [0.5e308])
    np.testing.assert_array_equal(var, [0.5])

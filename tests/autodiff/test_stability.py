"""Stable numerics at extreme inputs: finite outputs and gradients, no FP warnings."""

from contextlib import nullcontext

import numpy as np
import pytest

import chainrule as cr

EXTREMES = [-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]
#: float32 inputs whose span overflows: x - max(x) is -inf at -3e38, yet softmax is finite
SPAN = [3e38, -3e38, 0.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn", [cr.sigmoid, cr.softmax, cr.log_softmax, cr.tanh])
def test_extreme_inputs_give_finite_values_and_gradients(fn, dtype):
    x = cr.tensor(np.array([EXTREMES, EXTREMES[::-1]], dtype=dtype), requires_grad=True)
    upstream = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    with np.errstate(all="raise"):
        out = fn(x)
        out.backward(upstream)
    assert np.isfinite(out.data).all()
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_fused_linear_activation_is_stable_at_extreme_inputs(activation, dtype):
    x = cr.tensor(np.array([EXTREMES, EXTREMES[::-1]], dtype=dtype), requires_grad=True)
    w = cr.tensor(np.eye(len(EXTREMES), dtype=dtype), requires_grad=True)
    upstream = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    with np.errstate(all="raise"):
        out = cr.linear(x, w, None, activation)
        out.backward(upstream)
    assert np.isfinite(out.data).all()
    assert np.isfinite(x.grad).all() and np.isfinite(w.grad).all()


def test_sigmoid_extreme_values_are_exact_limits():
    x = cr.tensor([-1e4, 1e4], dtype="float64")
    np.testing.assert_array_equal(cr.sigmoid(x).data, [0.0, 1.0])


def test_log_softmax_is_shift_invariant_at_large_offsets():
    base = np.array([[0.5, -1.0, 2.0]])
    shifted = cr.log_softmax(cr.tensor(base + 1e4, dtype="float64")).data
    np.testing.assert_allclose(shifted, cr.log_softmax(cr.tensor(base, dtype="float64")).data)
    probs = cr.softmax(cr.tensor(base - 1e4, dtype="float64")).data
    np.testing.assert_allclose(probs.sum(), 1.0)


@pytest.mark.parametrize("fn", [cr.sigmoid, cr.softmax, cr.log_softmax, cr.tanh])
def test_float32_inputs_spanning_beyond_the_range_give_no_warning(fn):
    x = cr.tensor(np.array([SPAN, SPAN[::-1]], np.float32), requires_grad=True)
    upstream = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    with np.errstate(all="raise"):
        out = fn(x)
        out.backward(upstream)
    assert not np.isnan(out.data).any()
    assert np.isfinite(x.grad).all()


def test_softmax_and_log_softmax_of_a_span_beyond_float32_are_the_limits():
    z = np.array([SPAN, SPAN[::-1]], np.float32)
    with np.errstate(all="raise"):
        probs, log_probs = cr.softmax(z).data, cr.log_softmax(z).data
    np.testing.assert_array_equal(probs, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    inf, low = np.inf, np.float32(-3e38)  # log softmax at -3e38 is -6e38: -inf in float32
    np.testing.assert_array_equal(log_probs, [[0.0, -inf, low], [low, -inf, 0.0]])


@pytest.mark.parametrize("numpy_only", [False, True], ids=["compiled", "numpy_rules"])
@pytest.mark.parametrize("target", ["labels", "one-hot"])
def test_cross_entropy_of_a_span_beyond_float32_gives_no_warning(target, numpy_only):
    z = cr.tensor(np.array([SPAN] * 3, np.float32), requires_grad=True)
    labels = np.array([0, 1, 2])
    y = labels if target == "labels" else np.eye(3, dtype=np.float32)[labels]
    with np.errstate(all="raise"), cr.numpy_rules() if numpy_only else nullcontext():
        loss = cr.losses.cross_entropy(z, y, reduction="none")
        loss.backward(np.ones(3, np.float32))
    np.testing.assert_array_equal(loss.data, [0.0, np.inf, np.float32(3e38)])
    np.testing.assert_array_equal(z.grad, [[0.0, 0.0, 0.0], [1.0, -1.0, 0.0], [1.0, 0.0, -1.0]])


@pytest.mark.parametrize(
    ("dtype", "big"), [("float32", 3e38), ("float64", 1.5e308)], ids=["float32", "float64"]
)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_a_mean_whose_value_fits_does_not_overflow(dtype, big, axis):
    # the sum overflowed to inf (with a warning) before it was divided by the count
    data = np.full((4, 6), big, dtype)
    data[0, 0] = -big / 2  # a mixed sign: the mean is still within range
    x = cr.tensor(data, requires_grad=True)
    with np.errstate(all="raise"):
        out = x.mean(axis)
        out.backward(np.ones(out.shape, dtype))
    exact = data.astype(np.longdouble).mean(axis)
    assert out.dtype == dtype and np.isfinite(out.data).all()
    np.testing.assert_allclose(out.data, exact.astype(dtype), rtol=4 * np.finfo(dtype).eps)
    count = data.size if axis is None else data.shape[axis]
    np.testing.assert_array_equal(x.grad, np.full(data.shape, 1 / count, dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_mean_within_range_is_the_sum_divided_by_the_count_as_before(dtype):
    x = np.random.default_rng(5).standard_normal((7, 5, 3)).astype(dtype) * 100
    for axis in (None, 0, 1, (0, 2)):
        count = x.size if axis is None else np.prod([x.shape[a] for a in np.atleast_1d(axis)])
        expected = x.sum(axis=axis) / int(count)
        assert cr.tensor(x).mean(axis).data.tobytes() == np.asarray(expected).tobytes()


def test_a_mean_of_infinities_or_nan_is_as_before():
    x = cr.tensor(np.array([[np.inf, 1.0], [np.inf, -np.inf], [np.nan, 1.0]], np.float32))
    with np.errstate(invalid="ignore"):  # inf - inf
        out = x.mean(1)
    np.testing.assert_array_equal(out.data, [np.inf, np.nan, np.nan])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_of_a_confident_right_logit_keeps_its_small_loss(dtype):
    # log1p(e^-|z|) was added to max(z, 0) before z y was taken off: with y = 1 and z > 0
    # every loss was rounded to a multiple of ulp(z), 0 from z ~ 16 (float32) or ~ 37
    z = np.array([10.149063, 13.546649, 15.608715, 19.811674, 35.0, 37.0], dtype)
    y = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.75, 1 - 2.0**-20, 0.0, 0.25], dtype)
    z = np.concatenate([z, np.array([14.0, -14.0, 16.0, -16.0, -9.0], dtype)])
    x = z.astype(np.longdouble)
    exact = np.maximum(x, 0) - x * y.astype(np.longdouble) + np.log1p(np.exp(-np.abs(x)))
    with np.errstate(all="raise"):
        per = cr.losses.bce_with_logits(cr.tensor(z), y, reduction="none").data
    assert per.dtype == dtype
    np.testing.assert_allclose(per, exact.astype(dtype), rtol=4 * np.finfo(dtype).eps, atol=0)

"""Clipping by global norm and by value, alone and inside an optimizer."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, clip_by_global_norm, clip_by_value, global_norm


def test_global_norm_spans_all_arrays():
    assert global_norm([np.array([3.0]), np.array([[4.0, 0.0]])]) == pytest.approx(5.0)
    assert global_norm([np.full(4, 1e30, np.float32)]) == pytest.approx(2e30, rel=1e-6)
    assert np.isnan(global_norm([np.array([1.0, np.nan])]))


def test_clip_by_global_norm_keeps_direction_and_caps_length():
    grads = [np.array([3.0, 0.0]), np.array([[0.0], [4.0]])]
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(clipped[0], [0.6, 0.0])
    np.testing.assert_allclose(clipped[1], [[0.0], [0.8]])
    np.testing.assert_array_equal(grads[0], [3.0, 0.0])  # inputs untouched
    same, _ = clip_by_global_norm(grads, 10.0)
    np.testing.assert_array_equal(same[1], grads[1])


def test_clip_by_value_clamps_each_entry():
    (out,) = clip_by_value([np.array([-3.0, 0.5, 2.0])], 1.0)
    np.testing.assert_array_equal(out, [-1.0, 0.5, 1.0])


@pytest.mark.parametrize("bad", [0, -1.0, float("inf")])
def test_clip_thresholds_must_be_positive(bad):
    with pytest.raises(ValueError, match=f"max_norm expected a finite number > 0, got {bad}"):
        clip_by_global_norm([np.ones(2)], bad)
    with pytest.raises(ValueError, match=f"limit expected a finite number > 0, got {bad}"):
        clip_by_value([np.ones(2)], bad)


def test_optimizer_clips_value_then_global_norm_across_parameters():
    a = cr.tensor(np.zeros(2), requires_grad=True)
    b = cr.tensor(np.zeros(1), requires_grad=True)
    opt = SGD([a, b], lr=1.0, clip_value=4.0, clip_norm=2.5)
    a.grad, b.grad = np.array([3.0, -100.0]), np.array([0.0])
    opt.step()
    # value: (3, -4, 0); norm 5 > 2.5: halved; SGD steps by -lr * g
    np.testing.assert_allclose(a.data, [-1.5, 2.0])
    np.testing.assert_allclose(b.data, [0.0])
    np.testing.assert_array_equal(a.grad, [3.0, -100.0])


def test_integer_arrays_are_refused_with_their_dtype():
    # int32 squares overflowed silently (26552.45 for a norm of 70710.68), and integer
    # arrays cannot hold clipped values (NumPy's own casting error)
    big = np.array([50000, 50000], np.int32)
    with pytest.raises(TypeError, match="global_norm: array 1 expected a floating-point dtype"):
        global_norm([np.ones(2), big])
    with pytest.raises(TypeError, match="clip_by_global_norm: array 0 .* got int32"):
        clip_by_global_norm([big], 1.0)
    with pytest.raises(TypeError, match="clip_by_value: array 0 .* got int64"):
        clip_by_value([np.array([1, 2, 3], np.int64)], 1.5)
    with pytest.raises(TypeError, match="got bool"):
        clip_by_value([np.array([True])], 1.0)
    assert global_norm([big.astype(np.float64)]) == pytest.approx(70710.678, rel=1e-6)


@pytest.mark.parametrize("max_norm", [1.0, 1e-4, 1e-8])
def test_a_float32_norm_that_overflows_is_clipped_in_its_direction(max_norm):
    arrays = [np.array([3e38, -1e38, 1e30], np.float32), np.array([2e38], np.float32)]
    out, norm = clip_by_global_norm(arrays, max_norm)
    assert norm == pytest.approx(np.sqrt(14) * 1e38)
    for o, a in zip(out, arrays, strict=True):
        assert o.dtype == np.float32
        # once a float32 scale of 2.7e-43 (1e-4 / 3.7e38) kept 1 digit; 1e-8 gave all zeros
        np.testing.assert_allclose(o, a.astype(np.float64) * (max_norm / norm), rtol=1e-7)


def test_a_norm_beyond_float64_still_clips_in_its_direction():
    # two entries of 1.5e308 have a norm of 2.1e308, past float64's largest number: the
    # norm reads inf, and a scale of max_norm / inf once zeroed the gradients
    arrays = [np.array([1.5e308, -1.5e308, 3.0])]
    out, norm = clip_by_global_norm(arrays, 2.0)
    assert norm == np.inf
    np.testing.assert_allclose(out[0], [np.sqrt(2.0), -np.sqrt(2.0), 0.0], atol=1e-300)
    assert out[0][2] > 0.0  # 3 * 2 / 2.1e308: subnormal, not flushed


def test_a_norm_of_squares_that_underflow_float32_is_found_in_float64():
    # 1e-25 ** 2 underflows float32 to 0: the norm read 0 and nothing was clipped
    arrays = [np.full(4, 1e-25, np.float32), np.array([0.0], np.float32)]
    assert global_norm(arrays) == pytest.approx(2e-25, rel=1e-6)
    out, norm = clip_by_global_norm(arrays, 1e-25)
    assert norm == pytest.approx(2e-25, rel=1e-6)
    np.testing.assert_allclose(out[0], np.full(4, 5e-26, np.float32), rtol=1e-6)
    assert global_norm([np.zeros(3, np.float32)]) == 0.0

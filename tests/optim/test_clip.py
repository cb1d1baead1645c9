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


def test_float16_arrays_are_refused():
    # their squares fell below the float64 fallback's bound: a norm of 5e-4 came out 4.88e-4
    small = np.array([3e-4, 4e-4], np.float16)
    with pytest.raises(
        TypeError, match="^global_norm: array 0 expected float32 or float64 .*float16"
    ):
        global_norm([small])
    assert global_norm([small.astype(np.float32)]) == pytest.approx(5e-4, rel=1e-3)


def test_integer_arrays_are_refused_with_their_dtype():
    # int32 squares overflowed silently (26552.45 for a norm of 70710.68), and integer
    # arrays cannot hold clipped values (NumPy's own casting error)
    big = np.array([50000, 50000], np.int32)
    with pytest.raises(TypeError, match="global_norm: array 1 expected float32 or float64"):
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


NOT_ARRAYS = {
    "list": ([[3.0, 4.0]], 0, "list"),
    "zero-list": ([np.ones(2), [0.0, 0.0]], 1, "list"),  # the slow path read .size
    "huge-list": ([[1e200, 1e200]], 0, "list"),
    "tuple": ([np.ones(2), (1.0, 2.0)], 1, "tuple"),
    "numpy-scalar": ([np.float64(3.0)], 0, "float64"),
    "tensor": ([cr.tensor(np.ones(2))], 0, "Tensor"),
}
CLIPPERS = {
    "global_norm": global_norm,
    "clip_by_global_norm": lambda arrays: clip_by_global_norm(arrays, 1.0),
    "clip_by_value": lambda arrays: clip_by_value(arrays, 1.0),
}


@pytest.mark.parametrize("owner", list(CLIPPERS))
@pytest.mark.parametrize("case", list(NOT_ARRAYS))
def test_arrays_that_are_no_ndarray_are_refused_naming_their_position(owner, case):
    # lists passed (global_norm([[3.0, 4.0]]) was 5.0) or failed with AttributeError
    # depending on their values
    arrays, i, got = NOT_ARRAYS[case]
    expected = rf"{owner}: array {i} expected a floating-point numpy.ndarray \(a gradient\)"
    with pytest.raises(TypeError, match=rf"{expected}, got {got}$"):
        CLIPPERS[owner](arrays)


@pytest.mark.parametrize("owner", list(CLIPPERS))
def test_a_single_array_or_a_non_sequence_is_refused(owner):
    with pytest.raises(TypeError, match=rf"{owner}: arrays expected .*got a single numpy.ndarray"):
        CLIPPERS[owner](np.ones(3))  # a 1-D array was read as a list of NumPy scalars
    with pytest.raises(TypeError, match=rf"{owner}: arrays expected a sequence of numpy.nd"):
        CLIPPERS[owner](3.0)


def test_arrays_may_come_from_a_generator():
    # the type check used up the generator: the norm came out 0.0
    grads = [np.array([3.0]), np.array([4.0])]
    assert global_norm(g for g in grads) == 5.0
    out, norm = clip_by_global_norm((g for g in grads), 1.0)
    assert norm == 5.0
    np.testing.assert_allclose(np.concatenate(out), [0.6, 0.8])
    np.testing.assert_array_equal(clip_by_value((g for g in grads), 3.5)[1], [3.5])


def test_outputs_that_are_no_writable_ndarray_are_refused_before_any_write():
    a, b = np.array([3.0]), np.array([4.0])
    o = np.zeros(1)
    with pytest.raises(
        TypeError, match=r"clip_by_value: output 1 expected a numpy.ndarray .*got list"
    ):
        clip_by_value([a, b], 1.0, out=[o, [0.0]])
    read_only = np.zeros(1)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match=r"clip_by_global_norm: output 1 expected a writable"):
        clip_by_global_norm([a, b], 1.0, out=[o, read_only])
    np.testing.assert_array_equal(o, 0.0)  # output 0 was not written either

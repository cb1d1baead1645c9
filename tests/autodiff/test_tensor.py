"""Tensor construction, dtypes and bad input."""

import numpy as np
import pytest

import chainrule as cr


def test_python_data_defaults_to_float32():
    assert cr.tensor([1, 2, 3]).dtype == np.float32
    assert cr.tensor(2.5).dtype == np.float32


def test_float64_on_request_and_arrays_keep_their_dtype():
    assert cr.tensor([1.0], dtype="float64").dtype == np.float64
    assert cr.tensor(np.zeros(2)).dtype == np.float64
    assert cr.tensor(np.zeros(2, np.int64)).dtype == np.int64


def test_attributes():
    t = cr.tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.grad is None and t.requires_grad and t.is_leaf
    assert "requires_grad=True" in repr(t)


def test_scalars_adopt_the_tensor_dtype():
    t = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    for out in (t * 0.5, 2.0 - t, t / 3, t**2, np.float64(2.0) * t):
        assert out.dtype == np.float32


def test_mixed_dtypes_raise_instead_of_upcasting():
    a = cr.tensor(np.ones(3, np.float32))
    b = cr.tensor(np.ones(3, np.float64))
    with pytest.raises(TypeError, match="float32 and float64"):
        a + b
    with pytest.raises(TypeError, match="astype"):
        a * np.ones(3)  # a float64 array
    assert (a.astype("float64") + b).dtype == np.float64


def test_requires_grad_on_integer_data_raises():
    with pytest.raises(TypeError, match="floating"):
        cr.tensor(np.arange(3), requires_grad=True)


def test_unknown_dtype_lists_allowed():
    with pytest.raises(ValueError, match="float32, float64"):
        cr.tensor([1.0], dtype="float17")
    with pytest.raises(ValueError, match="complex128"):
        cr.tensor(np.zeros(2, np.complex128))


@pytest.mark.parametrize(
    ("op", "a_shape", "b_shape"),
    [
        ("add", (3, 4), (5,)),
        ("mul", (2, 3), (3, 2)),
        ("sub", (4,), (3,)),
        ("div", (2,), (3,)),
        ("maximum", (2, 3), (4,)),
        ("minimum", (5,), (2,)),
    ],
)
def test_shape_mismatch_names_op_and_shapes(op, a_shape, b_shape):
    a, b = cr.tensor(np.ones(a_shape)), cr.tensor(np.ones(b_shape))
    fn = getattr(cr.autodiff.ops, op)
    with pytest.raises(ValueError, match=rf"{op}: shapes \({a_shape[0]}.*\) and \({b_shape[0]}"):
        fn(a, b)


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        cr.tensor(np.ones((2, 3))) @ cr.tensor(np.ones((4, 5)))


def test_linear_feature_mismatch():
    with pytest.raises(ValueError, match="expected input with 784 features"):
        cr.linear(cr.tensor(np.ones((2, 100))), cr.tensor(np.ones((784, 30))))


def test_linear_unknown_activation_names_the_choices():
    with pytest.raises(
        ValueError, match=r"unknown activation 'gelu'; expected None or one of relu"
    ):
        cr.linear(cr.tensor(np.ones((2, 3))), cr.tensor(np.ones((3, 4))), None, "gelu")


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_fused_linear_equals_the_composition(activation):
    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((6, 4), (4, 5), (5,)))
    g = rng.standard_normal((6, 5)).astype(np.float32)
    results = []
    for fused in (True, False):
        ts = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = cr.linear(*ts, activation) if fused else getattr(cr, activation)(cr.linear(*ts))
        out.backward(g)
        results.append([out.data] + [t.grad for t in ts])
    for fused, composed in zip(*results, strict=True):
        # the fused node and the activation primitive share their derivative rules
        np.testing.assert_array_equal(fused, composed)


def test_reshape_mismatch():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape .*\(2, 3\).* to \(4,\)"):
        cr.tensor(np.ones((2, 3))).reshape(4)


def test_numpy_left_operand_defers_to_tensor():
    t = cr.tensor(np.ones(2), requires_grad=True)
    out = np.array([2.0, 3.0]) * t
    assert isinstance(out, cr.Tensor) and out.requires_grad


def test_comparisons_give_boolean_constants():
    t = cr.tensor([1.0, -1.0], requires_grad=True)
    mask = t > 0
    assert mask.dtype == np.bool_ and not mask.requires_grad
    np.testing.assert_array_equal(mask.data, [True, False])


def test_transpose_counts_negative_axes_from_the_end_and_refuses_non_permutations():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    c = np.arange(6.0).reshape(3, 2)
    (x.transpose(-1, 0) * c).sum().backward()
    np.testing.assert_array_equal(x.grad, c.T)
    for axes in [(0, 0), (0, 2), (0,), (0.5, 1), "ab"]:
        with pytest.raises(ValueError, match=r"expected a permutation of the 2 axes"):
            x.transpose(axes)

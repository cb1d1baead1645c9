"""Tensor construction, dtypes and bad input."""

import array
import collections
import contextlib
import fractions
import operator
import re

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


@pytest.mark.parametrize(
    "make",
    [
        lambda v: array.array("d", v),
        lambda v: memoryview(array.array("d", v)),
        lambda v: memoryview(np.array(v, ">f8")),  # the values read in the other byte order
    ],
    ids=["array.array", "memoryview", "big-endian-buffer"],
)
def test_array_likes_holding_float64_keep_it(make):
    # they became float32, as Python data: 0.1 came back as 0.10000000149011612
    for build in (cr.tensor, cr.Tensor):
        t = build(make([0.1, 1e-300]))
        assert t.dtype == np.float64 and t.data.tolist() == [0.1, 1e-300]
    assert cr.tensor(make([0.1]), dtype="float32").dtype == np.float32  # on request


def test_a_float64_torch_tensor_keeps_float64():
    torch = pytest.importorskip("torch")
    t = cr.tensor(torch.tensor([0.1], dtype=torch.float64), requires_grad=True)
    assert t.dtype == np.float64 and t.data.tolist() == [0.1]
    assert cr.tensor(torch.tensor([0.5], dtype=torch.float32)).dtype == np.float32


def test_other_array_likes_and_python_sequences_take_the_float32_default():
    assert cr.tensor(array.array("f", [0.5])).dtype == np.float32
    assert cr.tensor(array.array("i", [1, 2])).dtype == np.float32
    assert cr.tensor(collections.deque([0.1, 0.2])).dtype == np.float32  # Python data
    assert cr.tensor(fractions.Fraction(1, 4)).dtype == np.float32
    assert cr.tensor((0.1, 0.2)).dtype == np.float32


def test_a_float64_array_like_operand_is_held_to_the_dtype_rule():
    # float32 + array.array('d') was float32, the other operand's values rounded silently
    x64 = cr.tensor([1.0], dtype="float64")
    assert (x64 + array.array("d", [0.1])).data.tolist() == [1.1]
    with pytest.raises(TypeError, match="add: operands have dtypes float32 and float64"):
        cr.tensor([1.0]) + array.array("d", [0.1])


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


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("exp", lambda t: cr.exp(t)),
        ("log", lambda t: cr.log(t)),
        ("sqrt", lambda t: cr.sqrt(t)),
        ("tanh", lambda t: cr.tanh(t)),
        ("sigmoid", lambda t: cr.sigmoid(t)),
        ("leaky_relu", lambda t: cr.leaky_relu(t)),
        ("softmax", lambda t: cr.softmax(t)),
        ("log_softmax", lambda t: cr.log_softmax(t)),
        ("mean", lambda t: t.mean()),
        ("div", lambda t: t / t),
        ("dropout", lambda t: cr.functional.dropout(t, 0.5, np.random.default_rng(0))),
    ],
)
@pytest.mark.parametrize("dtype", ["int8", "int64", "bool"])
def test_ops_with_fractional_results_refuse_integer_and_bool_tensors(name, call, dtype):
    """NumPy would return float16 for int8 and bool, float64 for int64: a silent dtype."""
    t = cr.tensor(np.ones((2, 3), dtype=dtype))
    with pytest.raises(
        TypeError, match=f"{name}: expected a float32 or float64 tensor, got {dtype}"
    ):
        call(t)


def test_relu_keeps_integer_tensors_and_refuses_bools():
    out = cr.relu(cr.tensor(np.array([-1, 2, 3], np.int32)))
    assert out.dtype == np.int32 and out.data.tolist() == [0, 2, 3]
    with pytest.raises(TypeError, match="relu: expected a numeric tensor, got bool"):
        cr.relu(cr.tensor(np.array([True, False])))


def test_integer_tensors_take_integer_scalars_and_bounds_in_their_dtype():
    t = cr.tensor(np.array([1, 5], np.int32))
    assert (t + 1).dtype == np.int32 and (2 * t).dtype == np.int32
    assert cr.autodiff.ops.clip(t, 0, 2).dtype == np.int32
    with pytest.raises(OverflowError, match="the scalar 300 does not fit the operand's int8"):
        cr.tensor(np.array([1], np.int8)) + 300
    with pytest.raises(TypeError, match="clip: int32 data takes integer bounds, got lo=0.5"):
        cr.autodiff.ops.clip(t, 0.5, 2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_list_takes_the_dtype_of_a_floating_operand_on_either_side(dtype):
    # a float64 tensor plus a list raised "operands have dtypes float64 and float32"
    t = cr.tensor(np.array([1.0, 2.0], dtype))
    for out in (t + [1.0, 2], [0.5, 1e-50] * t, t - (3.0, 4.0), [[1.0], [2.0]] / t):
        assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal((t + [1.0, 2]).data, [2.0, 4.0])


@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_lists_of_integers_and_bools_take_the_dtype_of_an_integer_operand(dtype):
    # they became float32: "operands have dtypes int32 and float32", where a list takes
    # the other operand's dtype as documented, as integer scalars do (and True now too)
    t = cr.tensor(np.array([1, 5], dtype))
    for out, values in (
        (t + [1, 2], [2, 7]),
        ([1, 2] * t, [1, 10]),
        (t + (True, 0), [2, 5]),
        (t + True, [2, 6]),
        (cr.maximum(t, [0, 9]), [1, 9]),
        (cr.concatenate([t, [7, 8]]), [1, 5, 7, 8]),
        (cr.stack([t, (7, 8)]), [[1, 5], [7, 8]]),
    ):
        assert out.dtype == np.dtype(dtype) and out.data.tolist() == values
    with pytest.raises(OverflowError, match=f"for dtype {dtype}, got list \\[1, -{2**40}\\]"):
        t + [1, -(2**40)]
    # floats are refused as a float scalar is: Python floats are float32 beside integers
    for call in (lambda: t + 1.5, lambda: t + [1.5, 2], lambda: t + [1.0, 2.0]):
        with pytest.raises(TypeError, match=f"add: operands have dtypes {dtype} and float32"):
            call()


def test_python_scalars_alone_become_float32_as_in_tensor():
    assert cr.exp(2.0).dtype == np.float32
    mask = np.array([True, False])
    assert (cr.where(mask, 1.0, 0.0) * cr.tensor([1.0, 2.0])).dtype == np.float32


@pytest.mark.parametrize(
    "condition",
    [np.array([0.5, 0.0, np.nan]), cr.tensor([0.5, 0.0, np.nan]), [1, 0, 1]],
    ids=["float array", "float tensor", "int list"],
)
def test_where_refuses_a_condition_that_is_not_boolean(condition):
    # it was cast to bool: 0.5 and NaN selected a as True
    h = cr.tensor([0.3, -0.2, 0.7])
    with pytest.raises(TypeError, match="where: condition expected a boolean mask"):
        cr.where(condition, h, 0.0)
    assert cr.where([True, False, True], h, 0.0).data.tolist() == pytest.approx([0.3, 0, 0.7])


def test_where_refuses_a_lone_bool_such_as_a_tensors_identity_comparison():
    # x == 0 is False (identity); it broadcast as a 0-d mask and gave b everywhere
    x = cr.tensor([0.0, 1.0, 0.0])
    for condition in (x == 0, x != x, np.bool_(True)):
        with pytest.raises(TypeError, match=r"got the bool (True|False); a tensor's =="):
            cr.where(condition, 1.0, x)
    assert cr.where(x.data == 0, 1.0, x).data.tolist() == [1.0, 1.0, 1.0]


def test_a_0d_tensor_is_not_iterable_and_others_iterate_over_rows():
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(cr.tensor(5.0))
    rows = list(cr.tensor(np.eye(2)))
    assert len(rows) == 2 and np.array_equal(rows[1].data, [0.0, 1.0])


def test_a_kernels_own_error_is_not_reported_as_a_shape_error():
    # NumPy's bare "Integers to negative integer powers are not allowed." named no op
    with pytest.raises(ValueError, match=r"^pow: expected exponents >= 0 for int64 data, got -1;"):
        cr.tensor(np.array([1, 2, 3])) ** -1


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool"])
def test_astype_to_a_non_float_dtype_refuses_a_tensor_that_requires_grad(dtype):
    # an integer result has no gradient to take back to the float tensor
    x = cr.tensor([1.5, 2.0], requires_grad=True)  # values every dtype holds
    with pytest.raises(
        TypeError, match=rf"^astype: cannot cast a tensor that requires grad to {dtype}$"
    ):
        x.astype(dtype)
    assert x.detach().astype(dtype).dtype == np.dtype(dtype)  # without the gradient it may
    assert x.astype("float64").requires_grad


def test_clip_refuses_lo_above_hi_and_takes_equal_bounds():
    x = cr.tensor([1.0, 2.0, 4.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"^clip: expected lo <= hi, got lo=3, hi=1$"):
        x.clip(3, 1)
    with pytest.raises(ValueError, match=r"^clip: expected lo <= hi, got lo=0.5, hi=0.25$"):
        x.clip(np.float64(0.5), np.float32(0.25))
    assert x.clip(2.0, 2.0).data.tolist() == [2.0, 2.0, 2.0]


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


@pytest.mark.parametrize("shape", [(3,), (3, 2, 1), ()])
def test_linear_names_a_w_that_is_not_2d_not_the_input(shape):
    # it said "expected input with ? features (W (3,)), got input of shape (2, 3)"
    expected = re.escape(f"linear: expected a 2-D W of shape (n_in, n_out), got shape {shape}")
    with pytest.raises(ValueError, match=f"^{expected}$"):
        cr.linear(cr.tensor(np.ones((2, 3))), cr.tensor(np.ones(shape)))


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


_LEFT = np.random.default_rng(11).uniform(0.5, 2.0, size=(3, 3))


@pytest.mark.parametrize(
    ("call", "left"),
    [
        (operator.add, 2.5),
        (operator.add, _LEFT[0]),
        (operator.sub, 2.5),
        (operator.sub, _LEFT),
        (operator.mul, np.float64(-1.5)),
        (operator.mul, _LEFT),
        (operator.truediv, 2.5),
        (operator.truediv, _LEFT[:1]),
        (operator.pow, 1.5),
        (operator.pow, _LEFT),
        (operator.matmul, _LEFT),  # square: the product in the other order differs
        (operator.matmul, _LEFT[:2]),
        (operator.matmul, _LEFT[1]),
    ],
    ids=[
        "radd-scalar",
        "radd-array",
        "rsub-scalar",
        "rsub-array",
        "rmul-numpy-scalar",
        "rmul-array",
        "rtruediv-scalar",
        "rtruediv-array",
        "rpow-scalar",
        "rpow-array",
        "rmatmul-square",
        "rmatmul-rows",
        "rmatmul-vector",
    ],
)
def test_reflected_operators_compute_left_op_tensor_and_its_gradient(call, left):
    # 2 / x computing x / 2, and A @ x computing x @ A, passed every test
    values = np.random.default_rng(12).uniform(0.5, 2.0, size=(3, 3))
    x = cr.tensor(values, requires_grad=True)
    out = call(left, x)
    assert isinstance(out, cr.Tensor) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, call(np.asarray(left), values), rtol=1e-15)
    result = cr.gradcheck(lambda t: call(left, t), x, seed=3)  # a random upstream gradient
    assert result.passed, str(result)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_a_scalar_takes_the_other_operands_dtype_on_either_side(op):
    x = np.ones(3, np.float32)
    fn = getattr(cr.autodiff.ops, op)
    for a, b in ((x, 0.5), (0.5, x), (x, np.float64(0.5)), (np.float64(0.5), x)):
        assert fn(a, b).dtype == np.float32
    assert cr.autodiff.ops.where(x > 0, x, 0.0).dtype == np.float32


def test_truth_of_a_tensor_is_its_value():
    assert not cr.tensor([0.5]) > 1  # Python asked len() before: true for any 1-row tensor
    assert cr.tensor(0.05) < 0.1  # and len() of a 0-d tensor raised TypeError
    with pytest.raises(ValueError, match="more than one element"):
        bool(cr.tensor([1.0, 2.0]))


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


@pytest.mark.parametrize("join", [cr.autodiff.ops.concatenate, cr.autodiff.ops.stack])
def test_joining_mixed_dtypes_raises_like_the_binary_ops(join):
    a = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    name = join.__name__
    with pytest.raises(TypeError, match=rf"{name}: operands have dtypes float32 and float64"):
        join([a, a, cr.tensor(np.ones(3))])
    with pytest.raises(TypeError, match=rf"{name}: .*float32, int64 and float64.*astype"):
        join([a, np.arange(3), np.ones(3)])


@pytest.mark.parametrize("join", [cr.autodiff.ops.concatenate, cr.autodiff.ops.stack])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lists_joined_with_tensors_take_their_dtype_as_in_add(join, dtype):
    # a list became float32 and a float64 tensor refused it, while t + [...] took float64
    t = cr.tensor(np.zeros((1, 2), dtype), requires_grad=True)
    assert (t + [[1.0, 2.0]]).dtype == dtype
    for parts in ([t, [[1.0, 2.0]]], [((1.0, 2.0),), t]):  # a list or a tuple, either side
        out = join(parts)
        assert out.dtype == dtype
        arrays = [p.data if isinstance(p, cr.Tensor) else np.array(p) for p in parts]
        np.testing.assert_array_equal(out.data, getattr(np, join.__name__)(arrays))
    (join([t, [[1.0, 2.0]]]) * 2.0).sum().backward()
    np.testing.assert_array_equal(t.grad, [[2.0, 2.0]])
    other = "float64" if dtype == "float32" else "float32"
    with pytest.raises(TypeError, match=rf"operands have dtypes {dtype} and {other}"):
        join([t, np.ones((1, 2), other)])  # an array keeps its dtype, as in add


@pytest.mark.parametrize(
    "call",
    [
        lambda x, c: x.clip(-c, c),
        lambda x, c: x.clip(None, c),
        lambda x, c: cr.autodiff.ops.leaky_relu(x, c),
        lambda x, c: x.abs() ** c,
        lambda x, c: c**x,
        lambda x, c: cr.maximum(x, c),
        lambda x, c: cr.autodiff.ops.where(x.data > 0, x, c),
    ],
    ids=["clip", "clip-upper", "leaky_relu", "pow", "rpow", "maximum", "where"],
)
def test_numpy_scalars_act_like_python_floats(call):
    values = np.array([-1.5, 0.25, 2.0], np.float32)
    results = []
    for c in (0.5, np.float64(0.5)):
        x = cr.tensor(values, requires_grad=True)
        out = call(x, c)
        out.backward(np.ones(out.shape, np.float32))
        assert out.dtype == np.float32 and x.grad.dtype == np.float32
        results.append((out.data, x.grad))
    for python, numpy in zip(*results, strict=True):
        np.testing.assert_array_equal(python, numpy)


def test_scalar_parameters_must_be_real_numbers():
    x = cr.tensor(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="clip: expected lo to be a real number, got ndarray"):
        x.clip(np.zeros(3), 1.0)
    with pytest.raises(TypeError, match="leaky_relu: alpha expected a real number .* got str"):
        cr.autodiff.ops.leaky_relu(x, "0.1")


@pytest.mark.parametrize("flag", [True, np.True_, False])
def test_a_bool_is_no_clip_bound(flag):
    # True clipped at 1.0 silently, while np.True_ was refused
    x = cr.tensor(np.array([-2.0, 0.5, 3.0], np.float32))
    with pytest.raises(TypeError, match="^clip: expected lo to be a real number, got bool"):
        x.clip(flag, None)


def test_numpy_integer_axes_act_like_python_ints():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    for name in ("sum", "mean", "max", "softmax", "log_softmax"):
        np.testing.assert_array_equal(
            getattr(x, name)(axis=np.int64(0)).data, getattr(x, name)(axis=0).data
        )
    ops = cr.autodiff.ops
    assert ops.concatenate([x, x], axis=np.int32(1)).shape == (2, 6)
    assert ops.stack([x, x], axis=np.int64(-1)).shape == (2, 3, 2)
    assert x.transpose(np.int64(1), np.int64(0)).shape == (3, 2)


def _ops_taking_an_axis():
    ops = cr.autodiff.ops
    axes = (2, -3, np.int64(2))  # out of range for 2 dimensions
    of_input = "a tensor with 2 dimensions"
    cases = [
        ("sum", lambda x, axis: x.sum(axis), axes, of_input),
        ("mean", lambda x, axis: x.mean((0, axis)), axes, of_input),
        ("max", lambda x, axis: x.max(axis), axes, of_input),
        ("softmax", lambda x, axis: x.softmax(axis), axes, of_input),
        ("log_softmax", lambda x, axis: x.log_softmax(axis), axes, of_input),
        ("concatenate", lambda x, axis: ops.concatenate([x, x], axis), axes, of_input),
        (
            "stack",
            lambda x, axis: ops.stack([x, x], axis),
            (3, -4, np.int64(3)),
            "the stacked result with 3 dimensions",
        ),
    ]
    return [pytest.param(*case, id=case[0]) for case in cases]


@pytest.mark.parametrize(("name", "call", "bad_axes", "of"), _ops_taking_an_axis())
def test_bad_axes_raise_naming_the_op_the_axis_and_the_dimensions(name, call, bad_axes, of):
    x = cr.tensor(np.ones((2, 3)))
    for axis in bad_axes:
        with pytest.raises(ValueError, match=rf"^{name}: axis {axis} is out of range for {of}$"):
            call(x, axis)
    for axis in (0.5, True):
        with pytest.raises(TypeError, match=rf"{name}: expected an integer axis, got"):
            call(x, axis)


def test_repeated_reduction_axes_raise():
    with pytest.raises(ValueError, match=r"sum: expected distinct axes, got \(1, -1\)"):
        cr.tensor(np.ones((2, 3))).sum(axis=(1, -1))


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize(
    ("x_shape", "w_shape"), [((4, 0), (0, 2)), ((4, 3), (3, 0)), ((0, 3), (3, 2))]
)
def test_linear_with_zero_features_or_rows_backpropagates_alike_under_both_rules(
    activation, x_shape, w_shape
):
    """reshape(-1, n) cannot size the rows of an empty array: the NumPy rule failed."""
    grads = []
    for numpy_only in (False, True):
        x = cr.tensor(np.ones(x_shape), requires_grad=True)
        w = cr.tensor(np.ones(w_shape), requires_grad=True)
        b = cr.tensor(np.ones(w_shape[1]), requires_grad=True)
        with cr.numpy_rules() if numpy_only else contextlib.nullcontext():
            out = cr.linear(x, w, b, activation)
            out.backward(np.ones(out.shape))
        grads.append([x.grad, w.grad, b.grad])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_array_equal(a, b)
    assert grads[0][0].shape == x_shape and grads[0][1].shape == w_shape


@pytest.mark.parametrize("value", [None, "1.5", b"1"])
def test_none_and_strings_are_not_tensors(value):
    # None became NaN, a string NumPy's bare "could not convert string to float"
    with pytest.raises(TypeError, match="Tensor: expected numbers or an array, got"):
        cr.tensor(value)


@pytest.mark.parametrize(
    "call",
    [
        lambda x, m: x.sum(),
        lambda x, m: x.mean(),
        lambda x, m: x[0],
        lambda x, m: x @ x,
        lambda x, m: m.sum(axis=(0, 1)),
        lambda x, m: cr.losses.cross_entropy(m, np.array([0, 1])),
        lambda x, m: cr.losses.mse(m, np.zeros((2, 3))),
    ],
)
def test_a_reduction_to_0d_holds_a_0d_array_not_a_numpy_scalar(call):
    # NumPy's full reductions return scalars (np.float64), which are read-only and not
    # ndarrays: Tensor(...) made arrays of them, the ops' outputs did not
    x = cr.tensor(np.arange(1.0, 4.0), requires_grad=True)
    m = cr.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    out = call(x, m)
    assert type(out.data) is np.ndarray
    assert out.data.shape == () and out.data.flags.writeable
    out.backward()


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_a_softmax_over_an_empty_axis_is_refused_naming_it(name):
    # NumPy said "zero-size array to reduction operation maximum which has no identity"
    x = cr.tensor(np.zeros((3, 0)), requires_grad=True)
    with pytest.raises(ValueError, match=rf"{name}: expected at least one entry along axis 1"):
        getattr(cr, name)(x)
    assert getattr(cr, name)(cr.tensor(np.zeros((0, 4))), axis=1).shape == (0, 4)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_linear_refuses_integer_data_for_fractional_activations(activation, dtype):
    # the matmul ran, then NumPy's UFuncTypeError about 'exp' came from inside the kernel
    x = cr.tensor(np.ones((2, 3), dtype))
    w, b = cr.tensor(np.ones((3, 2), dtype)), cr.tensor(np.ones(2, dtype))
    match = rf"linear\+{activation}: expected a float32 or float64 tensor, got {dtype}"
    with pytest.raises(TypeError, match=match):
        cr.linear(x, w, b, activation)
    with pytest.raises(TypeError, match=match):
        cr.linear(x, w, None, activation)
    for allowed in (None, "relu"):  # an integer affine map stays allowed, as relu's
        assert cr.linear(x, w, b, allowed).data.tolist() == [[4, 4], [4, 4]]


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
def test_linear_refuses_bool_data(activation):
    # x @ w was an OR of ANDs and + b an OR: the boolean semiring, not an affine map
    x, w, b = (cr.tensor(np.ones(s, bool)) for s in ((1, 2), (2, 1), (1,)))
    with pytest.raises(TypeError, match="linear: expected a numeric tensor, got bool"):
        cr.linear(x, w, b, activation)


@pytest.mark.parametrize(
    ("op", "call"),
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("pow", lambda a, b: a**b),
        ("matmul", lambda a, b: a @ b),
        ("maximum", cr.maximum),
        ("minimum", cr.minimum),
    ],
)
def test_binary_arithmetic_refuses_bool_operands(op, call):
    # + was an OR, * an AND, @ an OR of ANDs, ** came back int8
    a, b = cr.tensor(np.array([True, False])), cr.tensor(np.array([True, True]))
    with pytest.raises(TypeError, match=f"^{op}: expected a numeric tensor, got bool"):
        call(a, b)
    assert cr.where(a, a, b).data.tolist() == [True, True]  # selecting bools stays allowed


def test_clip_refuses_bool_data_and_nan_bounds():
    # bool came back int64; a NaN bound made every value NaN
    with pytest.raises(TypeError, match="clip: expected a numeric tensor, got bool"):
        cr.tensor(np.array([True, False])).clip(0, 1)
    x = cr.tensor([1.0, 2.0])
    for lo, hi, name in (
        (np.nan, 1.0, "lo"),
        (None, float("nan"), "hi"),
        (np.float32("nan"), None, "lo"),
    ):
        with pytest.raises(
            ValueError, match=rf"clip: expected {name} to be a number or None, got nan"
        ):
            x.clip(lo, hi)
    assert x.clip(-np.inf, np.inf).data.tolist() == [1.0, 2.0]


def test_clip_of_float32_data_takes_bounds_beyond_its_range_as_infinities(recwarn):
    # NumPy's cast of 1e39 to float32 warned of an overflow (an error under
    # errstate(over="raise")), and an int beyond float64's range raised OverflowError
    x = cr.tensor(np.array([3e38, -3.0, 2.0], np.float32), requires_grad=True)
    with np.errstate(all="raise"):
        y = x.clip(0, 1e39)
        assert x.clip(-(10**400), 1.0).data.tolist() == [1.0, -3.0, 1.0]
    assert y.dtype == np.float32 and y.data.tolist() == x.data.clip(0, None).tolist()
    y.backward(np.ones(3, np.float32))
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    # a bound just above float32's largest value rounds to it, as NumPy's cast rounds it
    top = float(np.finfo(np.float32).max)
    inf = cr.tensor(np.array([np.inf], np.float32))
    assert inf.clip(None, np.nextafter(top, np.inf)).data.tolist() == [top]
    assert not recwarn.list


@pytest.mark.parametrize(
    ("shape", "axis", "where"),
    [((0, 3), 0, "axis 0"), ((2, 0), None, "axes (0, 1)"), ((2, 0, 3), (1, 2), "axes (1, 2)")],
)
def test_max_over_an_empty_axis_is_refused_naming_it(shape, axis, where):
    # NumPy said "zero-size array to reduction operation maximum which has no identity"
    x = cr.tensor(np.zeros(shape, np.float32))
    message = f"max: expected at least one entry along {where}, got shape {shape}"
    with pytest.raises(ValueError, match=re.escape(message)):
        x.max(axis=axis)


def test_max_over_a_full_axis_of_an_empty_tensor_is_empty():
    assert cr.tensor(np.zeros((0, 3), np.float32)).max(axis=1).shape == (0,)


def test_an_array_in_non_native_byte_order_is_refused_saying_how_to_convert():
    # the message read "unknown dtype dtype('>f4'): expected one of float32, ..."
    swapped = np.arange(3, dtype=np.dtype("float32").newbyteorder())
    with pytest.raises(ValueError, match=r"float32 in non-native byte order; convert it with"):
        cr.tensor(swapped)
    native = swapped.astype(swapped.dtype.newbyteorder("="))
    assert cr.tensor(native).data.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_a_list_of_tensors_is_refused_pointing_to_stack(dtype):
    # NumPy said "setting an array element with a sequence"
    t = cr.tensor(1.0, requires_grad=True)
    for data in ([t, t], (cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])), [[1.0, t]]):
        with pytest.raises(
            TypeError, match=r"a list or tuple holding tensors; join them with cr.stack"
        ):
            cr.tensor(data, dtype=dtype)


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (np.array([300]), "int8"),
        (np.array([-1]), "uint8"),
        (np.array([2**31]), "int32"),
        (np.int64(300), "uint8"),
        (np.array([300.0]), "int8"),
    ],
)
def test_arrays_beyond_an_integer_dtype_are_an_overflow_error(data, dtype):
    # NumPy wrapped them (300 to 44) without a flag; lists of the same values were refused
    with pytest.raises(
        OverflowError, match=rf"^Tensor: expected values in \[.*\] for dtype {dtype}"
    ):
        cr.tensor(data, dtype=dtype)
    assert cr.tensor(np.array([1, 100]), dtype=dtype).data.tolist() == [1, 100]


def test_a_foreign_array_like_is_copied_not_written_into():
    # a tensor of array.array('d') shared its buffer: an optimizer step wrote into it
    held = array.array("d", [1.0, 2.0])
    t = cr.tensor(held, requires_grad=True)
    t.data -= 0.5
    assert held.tolist() == [1.0, 2.0]
    ours = np.array([1.0, 2.0])
    assert cr.tensor(ours).data is ours  # a NumPy array is held as it is


class _ArrayOf:
    """An array-like that hands NumPy ``values``."""

    def __init__(self, values):
        self.values = values

    def __array__(self, dtype=None, copy=None):
        return self.values


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (np.array([1 + 2j, 3]), "expected real numbers, got a complex ndarray"),
        (np.array([1.0, None], dtype=object), "holding None, not a number"),
        (np.array(["1", "2"]), "holding '1', not a number"),
    ],
    ids=["complex", "none", "text"],
)
def test_array_likes_of_complex_none_or_text_are_refused(values, says):
    # the imaginary part was dropped, None became NaN and "1" became 1
    for data in (_ArrayOf(values), memoryview(values) if values.dtype.kind == "c" else None):
        if data is not None:
            with pytest.raises(TypeError, match=re.escape(says)):
                cr.tensor(data)


@pytest.mark.parametrize(
    "values", [np.array([200, 100], np.uint8), np.array([100, 100], np.int8), np.ones(3, bool)]
)
def test_integer_and_bool_sums_are_int64(values):
    # a uint8 sum was uint64, a dtype no tensor may hold (cr.tensor(it) raised)
    total = cr.Tensor(values).sum()
    assert total.dtype == np.int64 and total.data == int(values.astype(np.int64).sum())
    assert cr.tensor(total.data).dtype == np.int64


def test_negation_refuses_bool_data():
    # NumPy's own TypeError ("The numpy boolean negative, the `-` operator, is not
    # supported") named neither the op nor the way out
    with pytest.raises(TypeError, match="^neg: expected a numeric tensor, got bool; cast with"):
        -cr.tensor(np.array([True, False]))
    assert (-cr.tensor(np.array([1, -2], np.int8))).data.tolist() == [-1, 2]


@pytest.mark.parametrize(
    ("dtype", "lo", "hi", "says"),
    [
        ("uint8", 300, None, r"lo=300 .* uint8 .* \[0, 255\]"),
        ("uint8", None, -1, r"hi=-1 .* uint8 .* \[0, 255\]"),
        ("int64", 2**63, None, r"lo=9223372036854775808 .* int64 .* \[-9223372036854775808, "),
        ("int8", np.int64(-129), 5, r"lo=-129 .* int8 .* \[-128, 127\]"),
    ],
)
def test_clip_of_integer_data_refuses_a_bound_beyond_its_dtype(dtype, lo, hi, says):
    # NumPy's bare "Python integer 300 out of bounds for uint8" came from the kernel
    t = cr.tensor(np.array([0, 5, 100], dtype))
    with pytest.raises(OverflowError, match="^clip: " + says):
        t.clip(lo, hi)
    assert t.clip(0, np.iinfo(dtype).max).data.tolist() == [0, 5, 100]

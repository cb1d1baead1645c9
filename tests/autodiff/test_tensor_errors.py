"""Data a Tensor cannot hold: errors that name the Tensor and what it expected."""

import operator
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.tensor import float_dtype


@pytest.mark.parametrize("dtype", [None, "float64", "int32"])
@pytest.mark.parametrize(
    "data",
    [[[1, 2], [3]], [[1, 2], 3], [np.zeros(2), np.zeros(3)], [np.zeros((2, 2)), np.zeros((2, 3))]],
    ids=["rows of 2 and 1", "a row and a number", "arrays of 2 and 3", "matrices"],
)
def test_a_ragged_list_is_a_value_error_naming_the_tensor(data, dtype):
    # NumPy's own "setting an array element with a sequence ..." passed through
    with pytest.raises(ValueError, match=r"^Tensor: expected numbers or a rectangular array"):
        cr.tensor(data, dtype=dtype)


@pytest.mark.parametrize("dtype", [None, "float64", "int32"])
@pytest.mark.parametrize(
    "data",
    [[1, "a"], [[1, 2], [3, "b"]], [1, object()], (1.0, {"a": 1})],
    ids=["a string", "a nested string", "an object", "a dict"],
)
def test_a_list_of_non_numbers_is_a_type_error_naming_the_tensor(data, dtype):
    # NumPy's own "could not convert string to float: 'a'" (a ValueError) passed through
    with pytest.raises(TypeError, match=r"^Tensor: expected numbers or an array, got"):
        cr.tensor(data, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_a_string_array_converted_to_a_dtype_is_a_type_error(dtype):
    with pytest.raises(TypeError, match=r"^Tensor: expected numbers or an array, got"):
        cr.tensor(np.array(["a", "b"]), dtype=dtype)


@pytest.mark.parametrize("value", [None, "1.5", b"1"])
def test_none_and_strings_are_refused_with_a_dtype_too(value):
    # without a dtype they were refused; with one, None became NaN and "1.5" became 1.5
    with pytest.raises(TypeError, match=r"^Tensor: expected numbers or an array, got"):
        cr.tensor(value, dtype="float32")


def test_an_unknown_dtype_is_still_the_dtype_error():
    with pytest.raises(ValueError, match="unknown dtype 'complex64'"):
        cr.tensor([1.0], dtype="complex64")
    with pytest.raises(ValueError, match="unknown dtype"):
        cr.tensor(np.array([1 + 2j]))


def test_a_list_holding_a_tensor_still_points_to_stack():
    with pytest.raises(TypeError, match=r"^Tensor: .*holding tensors; join them with cr.stack"):
        cr.tensor([cr.tensor([1.0, 2.0]), cr.tensor([3.0])])


@pytest.mark.parametrize("dtype", [None, "float64", "bool"])
@pytest.mark.parametrize(
    ("data", "held"),
    [
        ([1, None], "None"),
        ((None,), "None"),
        ([[1.0, 2.0], [3.0, None]], "None"),
        ([1, "2"], "'2'"),
        ([[1.0], [b"2"]], "b'2'"),
        (np.array([1.0, None]), "None"),
        (np.array(["1", "2"]), "'1'"),
    ],
    ids=["None", "None-tuple", "nested-None", "text", "nested-bytes", "object-array", "text-array"],
)
def test_none_or_text_inside_the_data_is_a_type_error_naming_it(data, held, dtype):
    # NumPy made None NaN (False as bool) and parsed "2" as 2.0: the Tensor held values
    # the data never had
    if dtype is None and isinstance(data, np.ndarray):
        dtype = "float32"  # an array without a dtype keeps its own: the dtype error
    with pytest.raises(
        TypeError,
        match=rf"^Tensor: expected numbers or an array, got .* holding {re.escape(held)}, "
        r"not a number$",
    ):
        cr.tensor(data, dtype=dtype)


def test_numbers_numpy_takes_as_objects_are_still_numbers():
    from decimal import Decimal
    from fractions import Fraction

    data = [Fraction(1, 2), Decimal("0.25"), 2**70, np.float64(1.5), np.array(2.0)]
    np.testing.assert_array_equal(
        cr.tensor(data, dtype="float64").data, [0.5, 0.25, 2.0**70, 1.5, 2.0]
    )
    assert np.isnan(cr.tensor([1.0, np.nan]).data[1])  # NaN itself is a number


@pytest.mark.parametrize(
    ("data", "dtype", "expected"),
    [
        ([300], "uint8", r"\[0, 255\] for dtype uint8, got list \[300\] "),
        (-129, "int8", r"\[-128, 127\] for dtype int8, got int -129 "),
        ([1, 2**70], "int64", r"\[-9223372036854775808, 9223372036854775807\] for dtype int64"),
        ([10**400], None, r"\[-3.4028235e\+38, 3.4028235e\+38\] for dtype float32, got list"),
        (1e40, None, r"\[-3.4028235e\+38, 3.4028235e\+38\] for dtype float32, got float "),
        (np.array([1.0, -1e300]), "float32", r"\[-3.4028235e\+38, 3.4028235e\+38\] for dtype"),
        # NaN, which float32 holds, had it said "expected finite values"
        (np.array([np.nan, 1e40]), "float32", r"\[-3.4028235e\+38, 3.4028235e\+38\] for dtype"),
        # NumPy's "invalid value in cast" had it said "holding NaN or Inf"
        (np.array([1.0, 1e20]), "int32", r"\[-2147483648, 2147483647\] for dtype int32, got"),
    ],
)
def test_a_python_number_beyond_the_dtype_is_an_overflow_error_naming_the_range(
    data, dtype, expected
):
    # NumPy's bare "Python integer 300 out of bounds for uint8" passed through
    with pytest.raises(OverflowError, match=r"^Tensor: expected values in " + expected):
        cr.tensor(data, dtype=dtype)


def test_a_float_beyond_float32_is_an_overflow_error_in_an_op_too_but_inf_and_nan_pass():
    # NumPy warned "overflow in cast" and the product was Inf
    t = cr.tensor([1.0, 2.0])
    with pytest.raises(OverflowError, match=r"for dtype float32, got float 1e\+40"):
        t * 1e40
    with pytest.raises(OverflowError, match=r"for dtype float32, got list \[1e\+39, 0.0\]"):
        t + [1e39, 0.0]
    assert (t * float("inf")).data.tolist() == [np.inf, np.inf]
    assert np.isnan((t * float("nan")).data).all()
    assert (cr.tensor([0.5]) * 3.40282356e38).data[0] == np.finfo(np.float32).max / 2


def test_nan_or_inf_to_an_integer_dtype_is_a_value_error():
    # NumPy warned "invalid value in cast" and gave INT_MIN
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="^Tensor: expected finite values for dtype int32"):
            cr.tensor(np.array([1.0, bad]), dtype="int32")


def test_float_dtype_resolves_float32_and_float64_and_names_the_owner_of_any_other():
    assert float_dtype("Linear", "float64") == np.dtype("float64")
    assert float_dtype("Linear", np.float32) == np.dtype("float32")
    with pytest.raises(TypeError, match=r"^Linear: dtype expected float32 or float64, got int8$"):
        float_dtype("Linear", "int8")
    with pytest.raises(ValueError, match=r"^Linear: dtype expected float32 or float64, got 'f2'$"):
        float_dtype("Linear", "f2")


def test_an_index_tensor_of_floats_is_an_index_error_naming_the_cast():
    # NumPy's bare "arrays used as indices must be of integer (or boolean) type"
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    expected = r"^getitem: index tensor expected an integer or bool dtype, got float32; cast with"
    for index in (cr.tensor([0, 2]), (cr.tensor([0, 2], dtype="int64"), cr.tensor([1.0, 3.0]))):
        with pytest.raises(IndexError, match=expected):
            x[index]
    assert x[cr.tensor([0, 2]).astype("int64")].shape == (2, 4)


@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge])
@pytest.mark.parametrize("other", [cr.tensor(np.ones(5)), np.ones(5)], ids=["tensor", "array"])
def test_a_comparison_of_shapes_that_do_not_broadcast_names_them_as_add_does(compare, other):
    # NumPy's bare "operands could not be broadcast together with shapes (3,4) (5,)"
    x = cr.tensor(np.zeros((3, 4)))
    with pytest.raises(
        ValueError,
        match=rf"^{compare.__name__}: shapes \(3, 4\) and \(5,\) cannot be broadcast together$",
    ):
        compare(x, other)


@pytest.mark.filterwarnings("error")  # NumPy's ComplexWarning would fail the test too
@pytest.mark.parametrize(
    ("make", "received"),
    [
        (lambda x: x * np.complex128(2 + 3j), "number np.complex128(2+3j)"),
        (lambda x: np.complex64(2j) + x, "number np.complex64(2j)"),
        (lambda x: x * (2 + 3j), "number (2+3j)"),
        (lambda x: x + [1j, 2.0], "list [1j, 2.0]"),
        (lambda x: cr.tensor([np.complex128(2 + 1j)]), "list [np.complex128(2+1j)]"),
        (lambda x: cr.tensor((1.0, 2 + 1j), dtype="float64"), "tuple (1.0, (2+1j))"),
        (lambda x: cr.tensor(2 + 1j), "number (2+1j)"),
    ],
    ids=[
        "numpy-operand",
        "numpy-complex64-left",
        "python-operand",
        "list-operand",
        "list",
        "tuple",
        "python",
    ],
)
def test_complex_numbers_are_refused_as_complex_arrays_are(make, received):
    # NumPy's complex scalars lost their imaginary part (a ComplexWarning at most), and a
    # Python complex operand gave Python's bare "float() argument must be ..."
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(
        TypeError,
        match=rf"^Tensor: expected real numbers, got a complex {re.escape(received)} \(NumPy "
        r"would drop its imaginary part\)$",
    ):
        make(x)


@pytest.mark.filterwarnings("error")
def test_a_numpy_float_operand_narrower_than_the_tensor_warns_of_no_overflow():
    # float64's largest value cast to float32 (NumPy's rule for the check's comparison)
    # warned "overflow encountered in cast", a FloatingPointError under errstate(all="raise")
    with np.errstate(all="raise"):
        assert (cr.tensor(np.array([1.0, 2.0])) * np.float32(0.5)).data.tolist() == [0.5, 1.0]
        halves = cr.tensor(np.ones(2, np.float32)) * np.float16(0.5)
    assert halves.dtype == np.float32 and halves.data.tolist() == [0.5, 0.5]
    with pytest.raises(OverflowError, match="for dtype float32, got float64 "):
        cr.tensor(np.ones(2, np.float32)) * np.float64(1e40)


@pytest.mark.parametrize(
    ("values", "dtype", "error", "says"),
    [
        ([300.0, -1.0, 2.7], "uint8", OverflowError, r"values in \[0, 255\] for dtype uint8"),
        (np.array([300, 1]), "int8", OverflowError, r"values in \[-128, 127\] for dtype int8"),
        ([np.nan, 1.0], "int64", ValueError, "finite values for dtype int64, got ndarray"),
        ([np.inf, 1.0], "uint8", ValueError, "finite values for dtype uint8, got ndarray"),
        ([1e40, np.nan], "float32", OverflowError, r"values in \[-3.4028235e\+38, 3.40"),
    ],
)
def test_astype_checks_values_as_the_tensor_constructor_does(values, dtype, error, says):
    # astype wrapped 300 to 44 in uint8 and gave INT_MIN for NaN (with a RuntimeWarning)
    t = cr.tensor(np.asarray(values, dtype=np.asarray(values).dtype))
    with pytest.raises(error, match="^astype: expected " + says):
        t.astype(dtype)
    with pytest.raises(error, match="^Tensor: expected " + says):
        cr.tensor(t, dtype=dtype)


def test_astype_within_the_range_is_as_before():
    t = cr.tensor(np.array([1.0, 2.7, 255.0]))
    assert t.astype("uint8").data.tolist() == [1, 2, 255]
    assert np.isnan(cr.tensor(np.array([np.nan, np.inf])).astype("float32").data[0])
    ints = cr.tensor(np.array([1, 2]))
    wide = ints.astype("int64")
    assert wide.data.tolist() == [1, 2] and wide.data is not ints.data  # a copy, as NumPy's


@pytest.mark.parametrize("flag", ["False", 0, None, np.array(False)])
def test_requires_grad_must_be_a_bool(flag):
    # "False" was truthy: the tensor required a gradient
    with pytest.raises(
        TypeError,
        match=rf"^Tensor: requires_grad expected True or False, got {re.escape(repr(flag))}$",
    ):
        cr.tensor([1.0], requires_grad=flag)
    assert cr.tensor([1.0], requires_grad=np.True_).requires_grad is True


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
def test_keepdims_must_be_a_bool(op):
    # max kept the axis for "False"; sum said NumPy's "'str' object cannot be interpreted
    # as an integer"
    x = cr.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match=rf"^{op}: keepdims expected True or False, got 'False'$"):
        getattr(x, op)(0, keepdims="False")
    assert getattr(x, op)(0, keepdims=np.False_).shape == (3,)


@pytest.mark.parametrize(
    ("call", "op", "received"),
    [
        (lambda x: x.reshape("6"), "reshape", "'6'"),
        (lambda x: x.reshape(2.0, 3), "reshape", "(2.0, 3)"),
        (lambda x: x.reshape((True, 6)), "reshape", "(True, 6)"),
        (lambda x: x.broadcast_to(("2", "3")), "broadcast_to", "('2', '3')"),
        (lambda x: x.broadcast_to(None), "broadcast_to", "None"),
    ],
)
def test_a_shape_of_non_integers_is_a_type_error_naming_the_op(call, op, received):
    # NumPy's "'str' object cannot be interpreted as an integer" and "'<' not supported
    # between instances of 'str' and 'int'" named neither the op nor the shape
    x = cr.tensor(np.ones((2, 3)))
    with pytest.raises(
        TypeError,
        match=rf"^{op}: expected a shape \(an integer or a tuple of integers\), got "
        f"{re.escape(received)}$",
    ):
        call(x)


def test_a_shape_may_be_an_integer_or_an_array_of_them_as_in_numpy():
    # broadcast_to(6) said "'int' object is not iterable"
    assert cr.tensor([1.0]).broadcast_to(6).shape == (6,)
    assert cr.tensor([1.0]).broadcast_to(np.int64(3)).shape == (3,)
    x = cr.tensor(np.ones((2, 3)))
    assert x.broadcast_to(np.array([4, 2, 3])).shape == (4, 2, 3)
    assert x.reshape(np.array([3, 2])).shape == (3, 2)
    assert x.reshape(6).shape == x.reshape([6]).shape == x.reshape(np.int64(-1)).shape == (6,)


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        (np.array([0.0, 0.5, 1.0], np.float32) * np.float32(255.999), "uint8", [0, 127, 255]),
        (np.array([-0.5, 3.2], np.float32), "uint8", [0, 3]),
        (np.array([127.9, -128.9]), "int8", [127, -128]),
        (np.array([-0.99, 32767.5]), "int16", [0, 32767]),
    ],
)
def test_a_float_whose_truncation_fits_the_integer_dtype_converts(values, dtype, expected):
    # the raw values were compared with the range: 255.999 was refused for uint8, though
    # the cast truncates toward zero (to 255), as NumPy's and torch's do
    assert cr.tensor(values).astype(dtype).data.tolist() == expected
    assert cr.tensor(values, dtype=dtype).data.tolist() == expected


@pytest.mark.parametrize(
    ("values", "dtype", "says"),
    [
        ([300.0, 1.0], "int8", r"values in \[-128, 127\] for dtype int8, got .* \[1.0, 300.0\]$"),
        ([-1.0, 0.5], "uint8", r"values in \[0, 255\] for dtype uint8, got .* \[-1.0, 0.5\]$"),
        ([256.0], "uint8", r"values in \[0, 255\] for dtype uint8, got .* \[256.0, 256.0\]$"),
    ],
)
def test_a_float_whose_truncation_is_beyond_the_integer_dtype_is_still_refused(values, dtype, says):
    t = cr.tensor(np.array(values))
    with pytest.raises(OverflowError, match="^astype: expected " + says):
        t.astype(dtype)

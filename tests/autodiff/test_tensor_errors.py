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

"""NaN or Inf converted to an integer dtype: the same ValueError for every kind of data."""

from collections import deque

import numpy as np
import pytest

import chainrule as cr

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("data", "dtype", "got"),
    [
        (np.array([NAN]), "int64", "ndarray"),
        (np.float64(NAN), "int64", "float64"),
        # NumPy's "cannot convert float NaN to integer" was a TypeError naming "numbers"
        ([NAN], "int64", r"list \[nan\]"),
        (NAN, "int8", "float nan"),
        ([[1.0, NAN], [2, 3]], "int16", "list"),
        ([True, NAN], "int8", "list"),
        (deque([NAN]), "int32", "deque"),
        # NumPy's "cannot convert float infinity to integer" was an OverflowError naming
        # the dtype's range, as for a finite number beyond it
        ([INF], "int64", r"list \[inf\]"),
        ((1.0, INF), "uint8", r"tuple \(1.0, inf\)"),
        (-INF, "int32", "float -inf"),
        ([1e300, NAN], "int64", "list"),
    ],
)
def test_nan_or_inf_to_an_integer_dtype_is_a_value_error_for_any_data(data, dtype, got):
    with pytest.raises(
        ValueError, match=rf"^Tensor: expected finite values for dtype {dtype}, got {got}"
    ):
        cr.tensor(data, dtype=dtype)


@pytest.mark.parametrize(
    ("data", "dtype"),
    [([1e300], "int64"), (1e300, "int64"), ([300.0], "uint8"), ([10**400], "int64")],
)
def test_a_finite_python_number_beyond_an_integer_dtype_is_still_an_overflow_error(data, dtype):
    with pytest.raises(
        OverflowError, match=rf"^Tensor: expected values in \[.*\] for dtype {dtype}"
    ):
        cr.tensor(data, dtype=dtype)


@pytest.mark.parametrize(
    "data",
    [["nan"], ["inf"], [NAN, None], [None]],
    ids=["nan text", "inf text", "nan and None", "None"],
)
def test_text_and_none_beside_nan_are_still_a_type_error(data):
    with pytest.raises(TypeError, match=r"^Tensor: expected numbers or an array, got list"):
        cr.tensor(data, dtype="int64")


def test_nan_and_inf_still_pass_to_float_and_bool_dtypes():
    assert np.isnan(cr.tensor([NAN], dtype="float32").data[0])
    assert cr.tensor([INF, NAN], dtype="bool").data.tolist() == [True, True]

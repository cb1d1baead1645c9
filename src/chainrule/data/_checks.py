"""Argument checks shared by the data modules: dtypes, lengths and finiteness.

Each check raises before any work is done and says what was expected and what was received.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike


def numeric_dtype(owner: str, dtype: DTypeLike, *, integer: bool = False) -> np.dtype:
    """``dtype`` as a NumPy dtype when it is a floating-point type (or an integer one, when
    ``integer``); TypeError naming ``owner`` for any other (bool, complex, str, object) and
    for what NumPy does not read as a dtype."""
    kinds, expected = "f", "a floating-point type such as float32"
    if integer:
        kinds, expected = "fiu", "a floating-point or integer type such as float32 or int64"
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError):
        resolved = None
    if resolved is None or resolved.kind not in kinds:
        raise TypeError(f"{owner}: dtype expected {expected}, got {dtype!r}")
    return resolved


def check_numeric(X: np.ndarray, name: str = "X") -> None:
    """Raise TypeError naming ``name`` and the dtype unless ``X`` is bool, integer,
    floating-point or complex (object, str and datetime arrays are refused)."""
    if X.dtype.kind not in "biufc":
        raise TypeError(
            f"{name}: expected a numeric array (bool, integer, floating-point or complex), "
            f"got dtype {X.dtype}; convert explicitly, e.g. {name}.astype(np.float32)"
        )


def check_finite(X: np.ndarray, name: str = "X") -> None:
    """Raise ValueError when ``X`` (with at least one axis) holds NaN or Inf, naming
    ``name``, how many such values there are, in how many rows (and columns, when ``X``
    has more than one axis), and the first of them with its index, e.g.
    ``X: expected finite values, got 2 NaN or Inf values in 2 of 64 rows and 1 of 1
    columns (the first, nan, at X[5, 0])``.

    Rows are indices along axis 0; columns are the flattened remaining axes; the first is
    the first in C order, its index one entry per axis of ``X``. Integer and boolean
    arrays cannot hold NaN or Inf and pass without a scan. Arrays of any other kind than
    these, floating and complex (object, str, datetime), raise TypeError naming ``name``
    and the dtype: an object array can hold NaN or Inf, as Python floats, unscanned.
    """
    check_numeric(X, name)
    if X.dtype.kind not in "fc":
        return
    finite = np.isfinite(X)
    if finite.all():
        return
    bad = ~finite.reshape(len(X), -1)
    first = np.unravel_index(np.argmax(bad), X.shape)  # the flat C-order index of both
    where = f"{np.count_nonzero(bad.any(axis=1))} of {bad.shape[0]} rows"
    if X.ndim > 1:
        where += f" and {np.count_nonzero(bad.any(axis=0))} of {bad.shape[1]} columns"
    index = ", ".join(str(i) for i in first)
    raise ValueError(
        f"{name}: expected finite values, got {np.count_nonzero(bad)} NaN or Inf values in "
        f"{where} (the first, {X[first]}, at {name}[{index}])"
    )


def check_same_length(X: np.ndarray, y: np.ndarray) -> None:
    """Raise ValueError when ``X`` and ``y`` disagree on the number of samples (axis 0)."""
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y must have a sample axis, got shapes {X.shape} and {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of samples: expected len(y) == "
            f"len(X) == {X.shape[0]}, got len(y) == {y.shape[0]}"
        )

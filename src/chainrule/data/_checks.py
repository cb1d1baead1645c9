"""Argument checks shared by the data modules: lengths and finiteness.

Each check raises before any work is done and says what was expected and what was received.
"""

from __future__ import annotations

import numpy as np


def check_finite(X: np.ndarray, name: str = "X") -> None:
    """Raise ValueError naming how many rows and columns of ``X`` hold NaN or Inf.

    Rows are indices along axis 0; columns are the flattened remaining axes. Integer and
    boolean arrays cannot hold NaN or Inf and pass without a scan.
    """
    if X.dtype.kind not in "fc":
        return
    finite = np.isfinite(X)
    if finite.all():
        return
    bad = ~finite.reshape(X.shape[0], -1) if X.ndim > 1 else ~finite.reshape(-1, 1)
    rows = np.flatnonzero(bad.any(axis=1))
    cols = np.flatnonzero(bad.any(axis=0))
    raise ValueError(
        f"{name} must be finite, but {int(bad.sum())} values are NaN or Inf in "
        f"{rows.size} of {bad.shape[0]} rows and {cols.size} of {bad.shape[1]} columns "
        f"(first at row {rows[0]}, column {cols[0]})"
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

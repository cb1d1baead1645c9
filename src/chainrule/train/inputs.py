"""The arrays a run takes: samples, targets and the task the targets make.

Every check here refuses (``ValueError`` naming the argument) before the model runs:
inputs without a feature axis, an empty array, NaN or inf in the targets (and, in
:func:`finite_pair`, in the inputs), inputs and targets of other numbers of samples;
arrays that are not numeric (object, str, datetime) are refused with ``TypeError``.
:func:`task_of` tells classification targets from regression ones.
"""

from __future__ import annotations

import numpy as np

from chainrule import _checks, losses
from chainrule.autodiff.tensor import DTYPES, Tensor
from chainrule.data._checks import check_finite, check_numeric

#: What makes the targets of each task, as error messages say it.
TASKS = {
    "classification": (
        "integer labels, one-hot rows or 0/1 labels of shape (m,) or (m, 1), or probability "
        "rows for cross_entropy and nll"
    ),
    "regression": "real values other than class labels (multi-hot 0/1 rows included)",
}


def as_array(name: str, x) -> np.ndarray:
    """``x`` as an array of samples on its first axis; ``ValueError`` if it has none or is a
    ragged list."""
    x = x.data if isinstance(x, Tensor) else _checks.as_array(name, None, x)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty array of samples, got shape {x.shape}")
    return x


def inputs(name: str, X) -> np.ndarray:
    """:func:`as_array`, refusing an array without a feature axis: one sample of shape
    ``(n_features,)`` would be sliced as that many samples; and an array that is not
    numeric (object, str, datetime), :func:`~chainrule.data._checks.check_numeric`'s
    ``TypeError`` naming ``name``, or numeric of a dtype no tensor holds (float16,
    complex, uint16 and wider unsigned integers) or of the other byte order: ``TypeError``
    naming ``name`` too."""
    X = as_array(name, X)
    if X.ndim < 2:
        raise ValueError(
            f"{name}: expected samples on the first axis, shape (m, n_features), got shape "
            f"{X.shape}; one sample is {name}[None]"
        )
    check_numeric(X, name)
    if X.dtype.name not in DTYPES or not X.dtype.isnative:  # numeric, but no tensor holds it
        raise TypeError(
            f"{name}: expected an array of a dtype tensors hold ({', '.join(DTYPES)}, in the "
            f"machine's byte order), got {dtype_name(X)}; convert explicitly, e.g. "
            f"{name}.astype(np.float32)"
        )
    return X


def dtype_name(a: np.ndarray) -> str:
    """``a``'s dtype as messages name it, with its byte order where it is not the machine's
    (``>f4``: ``float32`` too by name)."""
    return str(a.dtype) if a.dtype.isnative else f"{a.dtype.name} ({a.dtype.str}, byte-swapped)"


def targets(name: str, y) -> np.ndarray:
    """:func:`as_array`, refusing NaN and inf (:func:`~chainrule.data._checks.check_finite`,
    naming ``name``): they would turn the cost into NaN a few steps in, with advice about
    the learning rate that cannot help."""
    y = as_array(name, y)
    check_finite(y, name)
    return y


def pair(x_name: str, y_name: str, X, y) -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``y`` as arrays (:func:`inputs`, :func:`targets`) with one target per
    sample, else ``ValueError`` naming them."""
    X, y = inputs(x_name, X), targets(y_name, y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{x_name} has {X.shape[0]} samples but {y_name} has {y.shape[0]}")
    return X, y


def finite_pair(x_name: str, y_name: str, X, y) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pair` with finite inputs, else ``ValueError`` naming them."""
    X, y = pair(x_name, y_name, X, y)
    check_finite(X, x_name)
    return X, y


def task_of(y: np.ndarray, loss: str | None = None) -> str:
    """``"classification"`` for integer (or bool) labels of shape ``(m,)`` / ``(m, 1)``,
    one-hot rows of 0/1 values of any dtype, float 0/1 labels of shape ``(m,)`` /
    ``(m, 1)`` (binary targets of BCE), and for ``loss`` (a name of
    :data:`chainrule.losses.LOSSES`, None for another loss) one of
    :data:`~chainrule.losses.CLASS_INDEX_TARGETS` also for probability rows
    (:func:`_probability_rows`: label smoothing done by hand, say), whose class is the
    row's argmax (:func:`class_indices`); ``"regression"`` for anything else, whatever the
    dtype: integer or bool rows of shape ``(m, k)``, ``k > 1``, that are not one-hot
    (multi-hot 0/1 rows, say) make the task their float copy makes."""
    column = y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
    if column and y.dtype.kind in "iub":
        return "classification"
    binary = np.isin(y, (0, 1)).all()
    if binary and column:
        return "classification"
    if binary and y.ndim == 2 and (y.sum(axis=1) == 1).all():
        return "classification"
    if loss in losses.CLASS_INDEX_TARGETS and _probability_rows(y):
        return "classification"
    return "regression"


def _probability_rows(y: np.ndarray) -> bool:
    """Whether ``y`` holds float rows of shape ``(m, k)``, ``k >= 2``, of non-negative
    values that each sum to 1 within the rounding of ``k`` values of ``y``'s dtype:
    ``|sum_j y_ij - 1| <= k * eps``, the sum taken in float64."""
    if y.dtype.kind != "f" or y.ndim != 2 or y.shape[1] < 2:
        return False
    sums = y.sum(axis=1, dtype=np.float64)
    tolerance = y.shape[1] * np.finfo(y.dtype).eps
    return bool((y >= 0).all() and (np.abs(sums - 1) <= tolerance).all())


def class_indices(y: np.ndarray) -> np.ndarray:
    """Class labels from integer labels, ``(m,)`` / ``(m, 1)`` binary labels, one-hot rows
    or probability rows (the argmax, the first of a tie).

    Float labels are rounded to the nearest whole number (``np.rint``, a tie to the even
    one) before the cast to int64: whole-valued labels (``2.0``) keep their class, and
    binary labels in ``[0, 1]``, soft ones included (0.95 / 0.05 of label smoothing), are
    class 1 exactly where ``y > 0.5``, the threshold
    :func:`~chainrule.train.metrics.predictions_from_outputs` reads a binary model's
    probabilities by (0.5 itself is class 0 in both). Integer and bool labels are cast
    as they are."""
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(-1)
    return (np.rint(y) if y.dtype.kind == "f" else y).astype(np.int64)

"""Checking loss targets before any work: shapes, dtypes, class labels.

A loss compares a prediction with a target. Targets are data, so they are validated and
converted here once, with errors that name the culprit, instead of failing deep inside a
gradient rule (or, worse, broadcasting an (m,) target against an (m, 1) prediction).

The value checks (:func:`check_range`, :func:`check_labels`, :func:`check_rows`) run
inside the losses' gradient rules, so, as those rules do, they take their array functions
from :func:`~chainrule.autodiff.backend.array_module`.

Dtype rule: a float target array or Tensor must have the prediction's dtype (chainrule
never changes a dtype silently); integer and boolean arrays and Python lists are
converted to it, which is exact for 0/1 labels.
"""

from __future__ import annotations

import numpy as np

from chainrule import _checks
from chainrule.autodiff.backend import array_module
from chainrule.autodiff.tensor import DTYPES, FLOAT_DTYPES, Tensor, array_of

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str, loss: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{loss}: unknown reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}"
        )


def as_prediction(prediction, loss: str, ndim: int | None = None) -> Tensor:
    """The prediction as a floating tensor with at least one (batch) axis and at least one
    value per example."""
    if not isinstance(prediction, Tensor):
        if isinstance(prediction, np.ndarray | np.generic) and (
            prediction.dtype.name not in FLOAT_DTYPES
        ):  # named here, with the loss, rather than by the Tensor constructor
            raise TypeError(
                f"{loss}: expected a float32 or float64 prediction, got {prediction.dtype}"
            )
        prediction = Tensor(prediction)
    pred = prediction
    if pred.data.dtype.kind != "f":
        raise TypeError(f"{loss}: expected a float32 or float64 prediction, got {pred.dtype}")
    if ndim is not None and pred.ndim != ndim:
        raise ValueError(f"{loss}: expected a {ndim}-D prediction, got shape {pred.shape}")
    if pred.ndim == 0 or pred.shape[0] == 0 or pred.data.size == 0:
        raise ValueError(
            f"{loss}: expected a non-empty batch (m, ...) with a value per example, got "
            f"shape {pred.shape}"
        )
    return pred


def _values(target, loss: str) -> np.ndarray:
    """``target``'s values as an array (:func:`array_of`); a ragged list (rows of different
    lengths) is a ``ValueError`` naming the loss, not NumPy's."""
    if isinstance(target, Tensor):
        return target.data
    return _checks.as_array(loss, "target", target)


def _coerce(target, dtype, loss: str) -> Tensor:
    """``target`` as a tensor of ``dtype``, converting only where that is exact/expected,
    with the checks of values of a :class:`Tensor` converted to it (a float beyond its range
    in a list, 1e40 for float32, is an ``OverflowError``)."""
    data = array_of(target)
    if data.dtype == dtype:
        return target if isinstance(target, Tensor) else Tensor(data)
    explicit = isinstance(target, Tensor | np.ndarray)
    if data.dtype.kind == "f" and explicit:
        raise TypeError(
            f"{loss}: target is {data.dtype} but the prediction is {dtype}; cast one "
            f"(chainrule never changes a dtype silently)"
        )
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{loss}: expected a numeric target, got dtype {data.dtype}")
    if isinstance(target, Tensor):  # the astype primitive: a traced step replays the cast
        return target.astype(dtype)
    return Tensor(data, dtype=dtype)


def float_target(target, pred: Tensor, loss: str) -> Tensor:
    """A target for an elementwise loss: exactly the prediction's shape and dtype."""
    shape = target.shape if isinstance(target, Tensor | np.ndarray) else _values(target, loss).shape
    if tuple(shape) != pred.shape:
        raise ValueError(
            f"{loss}: expected a target of shape {pred.shape} (the prediction's), got "
            f"{tuple(shape)}"
        )
    return _coerce(target, pred.data.dtype, loss)


def _first(bad) -> tuple[int, ...] | None:
    """The index of the first True entry of the boolean array ``bad``, or None."""
    return tuple(int(i) for i in array_module(bad).argwhere(bad)[0]) if bad.any() else None


def check_range(data, lo: float, hi: float, what: str, loss: str) -> None:
    """Raise ``ValueError`` naming the first value of ``data`` (an array) outside [lo, hi]."""
    index = _first((data < lo) | (data > hi) | array_module(data).isnan(data))
    if index is not None:
        value = data[index].item()
        raise ValueError(
            f"{loss}: {what} must lie in [{lo:g}, {hi:g}]; got {value!r} at index {index}"
        )


def check_labels(labels, k: int, loss: str) -> None:
    """Raise ``ValueError`` naming the first integer label outside [0, k)."""
    # one pass: viewed as unsigned, negative labels become at least 2^(bits - 1), so
    # max < k checks both bounds when k is no larger (the view copies nothing); a narrower
    # dtype (int8 labels of 300 classes) needs its own test of the lower bound
    unsigned = labels.view(labels.dtype.str.replace("i", "u"))
    narrow = labels.dtype.kind == "i" and k > 1 << (8 * labels.dtype.itemsize - 1)
    if unsigned.max() >= k or (narrow and labels.min() < 0):
        outside = array_module(labels).flatnonzero((labels < 0) | (labels >= k))
        raise label_error(labels, int(outside[0]), k, loss)


def label_error(labels, position: int, k: int, loss: str) -> ValueError:
    """The ``ValueError`` for the label out of range at ``position`` of ``labels``."""
    return ValueError(
        f"{loss}: class label {int(labels[position])} at position {position} is out of "
        f"range: labels must lie in [0, {k}) for {k} classes"
    )


def check_rows(q, loss: str) -> None:
    """Raise ``ValueError`` naming the first entry of the (m, k) one-hot/probability rows
    ``q`` (an array) that is negative, infinite or NaN."""
    index = _first(~((q >= 0) & (q < array_module(q).inf)))
    if index is not None:
        row, column = index
        raise ValueError(
            f"{loss}: one-hot/probability targets must be finite and non-negative; got "
            f"{q[row, column]} at row {row}, column {column}"
        )


def class_target(target, logits: Tensor, loss: str) -> Tensor:
    """Targets for a k-class loss on (m, k) scores, checked for structure.

    Returns a tensor: integer labels of shape (m,), or float one-hot / probability rows of
    shape (m, k) in the scores' dtype, after checking the shapes, the dtypes and that the
    batch sizes agree. The values (labels in [0, k), rows non-negative) are checked by the
    loss's rule itself, with :func:`check_labels` and :func:`check_rows`, so that a replayed
    step (:func:`~chainrule.autodiff.trace.trace_backward`) checks them too. A target whose
    dtype is not integer, bool or float (strings, objects, complex numbers) is a
    ``TypeError`` naming the dtype, before its shape is looked at.
    """
    m, k = logits.shape
    data = _values(target, loss)
    if data.dtype.kind not in "fiub":
        raise TypeError(
            f"{loss}: expected integer class labels or float one-hot/probability rows, got "
            f"dtype {data.dtype}"
        )
    if data.ndim == 0 or data.shape[0] != m:
        got = data.shape[0] if data.ndim else "a scalar"
        raise ValueError(
            f"{loss}: batch size mismatch: the prediction has {m} rows, the target has {got} "
            f"(target shape {data.shape})"
        )
    if data.dtype.kind in "iu":
        if data.shape != (m,):
            raise ValueError(
                f"{loss}: integer class labels must have shape ({m},), got {data.shape}; "
                f"one-hot or probability targets must be float with shape ({m}, {k})"
            )
        if isinstance(target, Tensor):
            return target
        if data.dtype.name not in DTYPES:  # uint16/32/64: checked here, held as int64
            check_labels(data, k, loss)
            data = data.astype(np.int64)
        return Tensor(data)
    if data.dtype.kind == "b" and data.shape == (m,):
        raise TypeError(
            f"{loss}: expected integer class labels of shape ({m},), got bool labels; convert "
            "them, e.g. labels.astype('int64') (bool one-hot rows of shape (m, k) are taken)"
        )
    if data.dtype.kind == "f" and data.shape == (m,):
        raise ValueError(
            f"{loss}: got float labels of shape ({m},) (dtype {data.dtype}); class labels "
            f"must have an integer dtype (e.g. labels.astype('int64')), and one-hot or "
            f"probability targets shape ({m}, {k})"
        )
    if data.shape != (m, k):
        raise ValueError(
            f"{loss}: expected integer labels of shape ({m},) or one-hot/probability targets "
            f"of shape ({m}, {k}), got shape {data.shape}"
        )
    return _coerce(target, logits.data.dtype, loss)

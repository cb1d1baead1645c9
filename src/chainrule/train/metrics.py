"""Evaluation metrics over NumPy arrays, and a closed registry of them for configs.

Classification metrics compare integer class labels ``0 .. k-1`` of shape ``(m,)`` (or
``(m, 1)``, the column a binary model emits); turn a model's outputs into labels with
:func:`predictions_from_outputs` first. Labels may be stored as integers, booleans or
whole-valued floats (``1.0``), in arrays, lists or tensors (a model's outputs can be
passed as they come); anything else is rejected. Regression metrics compare real
arrays of samples on the first axis, of shape ``(m,)``, ``(m, d)`` or ``(m, d1, d2, ...)``
(each sample's values flattened into a row of ``d1 * d2 * ...`` outputs); ``(m,)`` and
``(m, 1)`` count as the same shape, but no other broadcasting happens (``(m,) - (m, 1)``
would silently be ``(m, m)``).

Every metric validates its inputs before computing anything and raises ``ValueError``
naming what it expected and what it got (a wrong *type* of argument is a ``TypeError``).
Scalar results are Python floats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from chainrule import _checks
from chainrule.autodiff.tensor import Tensor

AVERAGES = ("macro", None)

#: The most entries the counts of an inferred class count ``k`` may take (``k * k`` for a
#: confusion matrix, ``k`` per array for precision/recall/F1): 2**26, 512 MiB of int64.
#: One stray large label must not ask for terabytes; pass ``n_classes`` to go beyond.
MAX_INFERRED_ENTRIES = 2**26

#: The largest ``n_classes`` of a confusion matrix whose ``k * k`` entries can be indexed.
_MAX_SQUARE_CLASSES = math.isqrt(np.iinfo(np.intp).max)


class PrecisionRecallF1(NamedTuple):
    """Precision, recall and F1: floats (macro average) or per-class arrays."""

    precision: Any
    recall: Any
    f1: Any


def _check_same_length(fn: str, t: np.ndarray, p: np.ndarray) -> None:
    if t.shape[0] != p.shape[0]:
        raise ValueError(
            f"{fn}: expected y_true and y_pred of the same length, "
            f"got {t.shape[0]} and {p.shape[0]}"
        )


def _values(fn: str, what: str, y: Any) -> np.ndarray:
    """``y``'s values as an array: a tensor's data, anything else through
    :func:`chainrule._checks.as_array` (a ragged list is a ``ValueError`` naming ``fn``
    and ``what``, not NumPy's)."""
    return y.data if isinstance(y, Tensor) else _checks.as_array(fn, what, y)


def _labels(fn: str, what: str, y: Any) -> np.ndarray:
    a = _values(fn, what, y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(-1)
    if a.ndim != 1:
        hint = " (scores or one-hot rows? convert with predictions_from_outputs)" * (a.ndim == 2)
        raise ValueError(
            f"{fn}: expected {what} as class labels of shape (m,) or (m, 1), "
            f"got shape {a.shape}{hint}"
        )
    if a.size == 0:
        raise ValueError(f"{fn}: expected at least one label in {what}, got an empty array")
    kind = a.dtype.kind
    if kind == "f":
        whole = np.isfinite(a) & (a == np.trunc(a))
        if not whole.all():
            raise ValueError(
                f"{fn}: expected integer class labels in {what}, "
                f"got the non-integer value {a[~whole][0].item()!r}"
            )
    elif kind not in "biu":
        raise ValueError(f"{fn}: expected integer class labels in {what}, got dtype {a.dtype}")
    low = a.min()
    if low < 0:
        raise ValueError(f"{fn}: expected class labels >= 0 in {what}, got {low.item()!r}")
    top = a.max()
    if int(top) > np.iinfo(np.intp).max:
        raise ValueError(f"{fn}: expected class labels below 2**63 in {what}, got {top.item()!r}")
    # intp keeps t * k + p in confusion_matrix from overflowing a narrow integer type (and
    # _label_pair keeps k * k within intp).
    return a.astype(np.intp, copy=False)


def _label_pair(
    fn: str, y_true: Any, y_pred: Any, n_classes: int | None, square: bool = False
) -> tuple[np.ndarray, np.ndarray, int]:
    """The labels as intp arrays and the class count; ``square`` for the ``k * k`` counts
    of a confusion matrix (see :data:`MAX_INFERRED_ENTRIES`)."""
    if n_classes is not None:
        n_classes = _checks.integer(fn, "n_classes", n_classes, low=1)
        if square and n_classes > _MAX_SQUARE_CLASSES:
            raise ValueError(
                f"{fn}: n_classes expected at most {_MAX_SQUARE_CLASSES} (a k x k matrix of "
                f"more entries cannot be indexed), got {n_classes}"
            )
    t = _labels(fn, "y_true", y_true)
    p = _labels(fn, "y_pred", y_pred)
    _check_same_length(fn, t, p)
    t_max, p_max = int(t.max()), int(p.max())
    if n_classes is None:
        n = max(t_max, p_max) + 1
        entries = n * n if square else n
        if entries > MAX_INFERRED_ENTRIES:
            raise ValueError(
                f"{fn}: the largest label, {n - 1}, makes {n} classes, whose counts would "
                f"take {entries} entries, more than the {MAX_INFERRED_ENTRIES} allowed for an "
                "inferred class count; pass n_classes= if that many classes are meant"
            )
        return t, p, n
    for what, top in (("y_true", t_max), ("y_pred", p_max)):
        if top >= n_classes:
            raise ValueError(
                f"{fn}: expected labels in [0, {n_classes - 1}] (n_classes={n_classes}), "
                f"got label {top} in {what}"
            )
    return t, p, n_classes


def _confusion(t: np.ndarray, p: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (m,) or (m, 1)
        Class labels ``>= 0``.

    Returns
    -------
    float
        ``mean(y_true == y_pred)``, in ``[0, 1]``.
    """
    t = _labels("accuracy", "y_true", y_true)  # no class count: any label is counted
    p = _labels("accuracy", "y_pred", y_pred)
    _check_same_length("accuracy", t, p)
    return float(np.count_nonzero(t == p) / t.shape[0])


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """Counts of (true, predicted) label pairs.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (m,) or (m, 1)
        Class labels in ``[0, n_classes - 1]``.
    n_classes : int, optional
        Number of classes ``k``; inferred as ``max(y_true, y_pred) + 1`` when omitted.
        Pass it so that a class missing from a small batch still gets its row and column.
        An inferred ``k`` is at most 8192 (``k * k`` up to :data:`MAX_INFERRED_ENTRIES`,
        2**26; a larger one is a ``ValueError`` suggesting ``n_classes``); a given one at
        most 3037000499, the largest ``k`` whose ``k * k`` entries can be indexed.

    Returns
    -------
    ndarray of int64, shape (k, k)
        ``C[i, j]`` = number of samples of true class ``i`` predicted as class ``j``: rows
        are true classes, columns predicted ones, so the diagonal holds the hits.
    """
    t, p, n = _label_pair("confusion_matrix", y_true, y_pred, n_classes, square=True)
    return _confusion(t, p, n).astype(np.int64, copy=False)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # 0/0 is defined as 0 (see precision_recall_f1).
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    average: str | None = "macro",
    n_classes: int | None = None,
) -> PrecisionRecallF1:
    """Per-class precision, recall and F1, or their macro average.

    For class ``c`` with ``tp`` true positives, ``fp`` false positives and ``fn`` false
    negatives (read off the confusion matrix)::

        precision_c = tp / (tp + fp)        recall_c = tp / (tp + fn)
        f1_c = 2 * precision_c * recall_c / (precision_c + recall_c) = 2 tp / (2 tp + fp + fn)

    A ratio whose denominator is 0 is defined as 0 (no warning): a class never predicted
    has precision 0, a class absent from ``y_true`` has recall 0.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (m,) or (m, 1)
        Class labels in ``[0, n_classes - 1]``.
    average : {"macro", None}
        ``None`` returns per-class arrays of length ``k``. ``"macro"`` returns the unweighted
        mean over the classes that occur in ``y_true`` or ``y_pred`` (the same set
        scikit-learn uses); a class that occurs in neither has no data and is left out
        rather than counted as 0. For binary tasks this is *not* the F1 of class 1 alone:
        take ``average=None`` and index ``[1]`` for that. Another string is a
        ``ValueError``, a value of another type a ``TypeError``.
    n_classes : int, optional
        Number of classes ``k``; inferred as ``max(y_true, y_pred) + 1`` when omitted, up
        to :data:`MAX_INFERRED_ENTRIES` (2**26; a larger inferred ``k`` is a
        ``ValueError``: pass ``n_classes`` to go beyond).

    Returns
    -------
    PrecisionRecallF1
        Named tuple ``(precision, recall, f1)`` of floats (macro) or float64 arrays (None).
    """
    if average is not None and not isinstance(average, str):
        raise TypeError(
            f"precision_recall_f1: average expected 'macro' or None, got "
            f"{type(average).__name__} {average!r}"
        )
    if average not in AVERAGES:
        raise ValueError(f"precision_recall_f1: average expected 'macro' or None, got {average!r}")
    t, p, n = _label_pair("precision_recall_f1", y_true, y_pred, n_classes)
    # counts per class, in memory of order n (the n x n confusion matrix is not needed)
    tp = np.bincount(t[t == p], minlength=n)
    predicted = np.bincount(p, minlength=n)
    actual = np.bincount(t, minlength=n)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, actual)
    f1 = _ratio(2 * tp, predicted + actual)
    if average is None:
        return PrecisionRecallF1(precision, recall, f1)
    seen = (predicted + actual) > 0
    return PrecisionRecallF1(
        float(precision[seen].mean()), float(recall[seen].mean()), float(f1[seen].mean())
    )


def _regression_pair(fn: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    pair = []
    for what, y in (("y_true", y_true), ("y_pred", y_pred)):
        a = _values(fn, what, y)
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{fn}: expected real numbers in {what}, got dtype {a.dtype}")
        if a.ndim == 0:
            raise ValueError(
                f"{fn}: expected {what} of shape (m,) or (m, d, ...), got shape {a.shape}"
            )
        if a.size == 0:
            raise ValueError(f"{fn}: expected at least one value in {what}, got an empty array")
        # Integers would wrap around on subtraction (uint8 0 - 1 == 255).
        pair.append(a if a.dtype.kind == "f" else a.astype(np.float64))
    t, p = pair
    _check_same_length(fn, t, p)
    if (t.shape[1:] or (1,)) != (p.shape[1:] or (1,)):  # (m,) is (m, 1), nothing else
        raise ValueError(f"{fn}: expected y_pred of the shape of y_true {t.shape}, got {p.shape}")
    return t.reshape(t.shape[0], -1), p.reshape(p.shape[0], -1)


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error ``mean((y_pred - y_true)**2)`` over every element.

    No factor 1/2 (the 1/2 some notes put in the squared-error *loss* is there to tidy its
    derivative; the metric reports the plain mean). Computed in the inputs' float dtype;
    NaN in the inputs gives NaN.
    """
    t, p = _regression_pair("mse", y_true, y_pred)
    return float(np.mean(np.square(p - t)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error ``mean(|y_pred - y_true|)`` over every element."""
    t, p = _regression_pair("mae", y_true, y_pred)
    return float(np.mean(np.abs(p - t)))


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination ``R^2 = 1 - SS_res / SS_tot``.

    ``SS_res = sum((y_true - y_pred)**2)`` and ``SS_tot = sum((y_true - mean(y_true))**2)``,
    per output column; for ``(m, d)`` targets the ``d`` scores are averaged uniformly
    (``(m, d1, d2, ...)`` targets have ``d1 * d2 * ...`` columns).
    1 is a perfect fit, 0 is no better than predicting the mean, and it is negative when
    worse than that.

    A constant target column (``SS_tot = 0``) makes the ratio undefined: that column scores
    1.0 when predicted exactly and 0.0 otherwise (scikit-learn's ``force_finite`` rule), so
    the result stays finite for early stopping. Constancy is tested exactly (all values
    equal), not via ``SS_tot``, which rounding can leave slightly above 0. Sums run in
    float64 because ``SS_tot`` subtracts nearly equal numbers.

    Before squaring, each column of ``y_true`` and ``y_pred`` is scaled by the power of two
    that brings its largest ``|value|`` (of both together) into ``[0.5, 1)`` (a column
    holding inf or NaN is left as it is): R^2 does not change when both are scaled by one
    factor, a power of two scales exactly (the same result, bit for bit, where no square
    left float64's range), and the squares of values below about 1e-154 no longer
    underflow to 0 (a non-constant target's ``SS_tot = 0`` made NaN or -inf) nor those
    above 1e154 overflow to inf. The score is
    -inf only where ``R^2`` itself lies below float64's range (about -1e308: predictions
    some 1e154 times farther from the targets than the targets spread), as ``mse`` is inf
    beyond it; scikit-learn, whose squares underflow, scores such a column 0.0.
    """
    t, p = _regression_pair("r2_score", y_true, y_pred)
    t = t.astype(np.float64, copy=False)
    p = p.astype(np.float64, copy=False)
    top = np.maximum(np.abs(t).max(axis=0), np.abs(p).max(axis=0))
    _, exponent = np.frexp(np.where(np.isfinite(top), top, 0.0))
    t, p = np.ldexp(t, -exponent), np.ldexp(p, -exponent)
    ss_res = np.sum(np.square(t - p), axis=0)
    ss_tot = np.sum(np.square(t - t.mean(axis=0)), axis=0)
    constant = np.all(t == t[0], axis=0)
    score = np.where(ss_res == 0, 1.0, 0.0)
    np.subtract(1.0, ss_res / np.where(constant, 1.0, ss_tot), out=score, where=~constant)
    return float(score.mean())


def nonfinite_rows(outputs: np.ndarray) -> np.ndarray:
    """Which samples (rows, the first axis) of a model's ``outputs`` hold NaN or Inf: a
    bool array of shape (m,)."""
    return ~np.isfinite(outputs).reshape(len(outputs), -1).all(axis=1)


def predictions_from_outputs(
    outputs: Any, *, from_logits: bool, target_scale: bool = False
) -> np.ndarray:
    """Turn a model's outputs into class labels: the one rule :func:`chainrule.fit`,
    :func:`chainrule.evaluate`, the CLI and the lab read classes by.

    * ``(m, k)`` with ``k > 1`` (softmax probabilities or raw scores): ``argmax`` over the
      classes. Neither flag changes the result (softmax preserves order).
    * ``(m,)`` or ``(m, 1)`` (a binary model): label 1 where the logit is ``> 0``
      (``from_logits=True``) or the probability is ``> 0.5`` (``from_logits=False``;
      values must lie in ``[0, 1]``). Both thresholds are the same decision, since
      ``sigmoid(z) > 0.5`` exactly when ``z > 0``; a tie goes to class 0.
    * ``target_scale=True`` (with ``from_logits=False``): outputs trained toward the 0/1
      targets themselves (a linear output layer under the quadratic cost, MSE or MAE) may
      stray outside [0, 1]; a single output there is read as if clipped into it (no
      decision changes: class 1 above 0.5) where a probability would be refused.

    Parameters
    ----------
    outputs : array_like of float, shape (m,), (m, 1) or (m, k)
    from_logits : bool
        Keyword-only and required: whether ``outputs`` are logits or probabilities.
    target_scale : bool
        Whether outputs that are not logits are on the targets' scale rather than
        probabilities; default False. Ignored when ``from_logits`` is True.

    Returns
    -------
    ndarray of intp, shape (m,)

    Raises
    ------
    ValueError
        Wrong shape, an empty array, non-finite outputs, or probabilities outside [0, 1]
        (with ``from_logits`` and ``target_scale`` False).
    """
    fn = "predictions_from_outputs"
    from_logits = _checks.boolean(fn, "from_logits", from_logits)
    target_scale = _checks.boolean(fn, "target_scale", target_scale)
    a = _values(fn, "outputs", outputs)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{fn}: expected real-valued outputs, got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"{fn}: expected outputs of shape (m,), (m, 1) or (m, k), got {a.shape}")
    if a.size == 0:
        raise ValueError(f"{fn}: expected at least one output, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{fn}: expected finite outputs, got NaN or inf (did training diverge?)")
    if a.ndim == 2 and a.shape[1] > 1:
        return np.argmax(a, axis=1)
    s = a.reshape(-1)
    if from_logits:
        return (s > 0).astype(np.intp)
    low, high = s.min(), s.max()
    if not target_scale and (low < 0 or high > 1):
        raise ValueError(
            f"{fn}: expected probabilities in [0, 1] (from_logits=False), got values in "
            f"[{low:g}, {high:g}]; pass from_logits=True for logits"
        )
    return (s > 0.5).astype(np.intp)


@dataclass(frozen=True)
class Metric:
    """A named metric and the direction in which it improves.

    Attributes
    ----------
    name : str
        Registry key.
    fn : callable
        ``fn(y_true, y_pred) -> float``. Classification metrics take labels (see
        :func:`predictions_from_outputs`), regression metrics take raw outputs.
    higher_is_better : bool
        True for scores (accuracy, F1, R^2), False for errors (MSE, MAE).
    task : {"classification", "regression"}
    """

    name: str
    fn: Callable[[Any, Any], float]
    higher_is_better: bool
    task: str

    @property
    def mode(self) -> str:
        """``"max"`` or ``"min"``: the early-stopping ``mode`` that tracks this metric."""
        return "max" if self.higher_is_better else "min"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        return self.fn(y_true, y_pred)


def _precision(y_true: Any, y_pred: Any) -> float:
    return precision_recall_f1(y_true, y_pred).precision


def _recall(y_true: Any, y_pred: Any) -> float:
    return precision_recall_f1(y_true, y_pred).recall


def _f1(y_true: Any, y_pred: Any) -> float:
    return precision_recall_f1(y_true, y_pred).f1


# Closed on purpose: a config names one of these, and a typo fails loudly in get_metric.
METRICS: MappingProxyType[str, Metric] = MappingProxyType(
    {
        m.name: m
        for m in (
            Metric("accuracy", accuracy, True, "classification"),
            Metric("f1", _f1, True, "classification"),
            Metric("precision", _precision, True, "classification"),
            Metric("recall", _recall, True, "classification"),
            Metric("mse", mse, False, "regression"),
            Metric("mae", mae, False, "regression"),
            Metric("r2", r2_score, True, "regression"),
        )
    }
)


def get_metric(name: str) -> Metric:
    """Look up a metric by its registry name (see ``METRICS``); precision, recall and f1
    are macro averages."""
    if not isinstance(name, str):
        raise TypeError(f"get_metric: expected a metric name (str), got {type(name).__name__}")
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(
            f"get_metric: unknown metric {name!r}; expected one of {', '.join(METRICS)}"
        ) from None

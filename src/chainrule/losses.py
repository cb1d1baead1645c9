"""Loss functions: ``loss(prediction, target, reduction="mean")`` -> Tensor.

Every loss first computes one loss per example (row of the batch, summed or averaged over
the other axes as stated), then reduces: ``"mean"`` over the m examples, ``"sum"``, or
``"none"`` (the per-example losses, shape (m,)). Targets are validated before any work
(see :mod:`chainrule.targets`): same shape as the prediction for elementwise losses; for
class losses integer labels in [0, k) of shape (m,) or float rows of shape (m, k).

Which loss takes what:

=====================  ======================  =========================================
name                   prediction              per-example loss
=====================  ======================  =========================================
``quadratic``          outputs a               (1/2) ||y - a||^2 (the notes' cost; the
                                               mean is (1/2n) sum_x ||y(x) - a(x)||^2)
``mse``                outputs a               mean_j (y_j - a_j)^2 (the usual MSE)
``mae``                outputs a               mean_j |y_j - a_j|
``bce``                probabilities a         -sum_j [y_j log a_j + (1 - y_j) log(1 - a_j)]
``bce_with_logits``    logits z                the same with a = sigmoid(z), fused
``cross_entropy``      logits z, (m, k)        -sum_j y_j log softmax(z)_j, fused
``nll``                log-probabilities       -sum_j y_j log p_j (= -log p_label)
=====================  ======================  =========================================

Pair ``bce_with_logits`` with a linear output and ``cross_entropy`` with logits (``MLP``'s
default ``output=None``): their gradient is the notes' ``dZ = A - Y`` (over m), computed
without the saturation of a separate sigmoid/softmax layer.
"""

from __future__ import annotations

from types import MappingProxyType

from chainrule.functional import (
    bce_with_logits,
    binary_cross_entropy,
    negative_log_likelihood,
    softmax_cross_entropy,
)
from chainrule.targets import (
    as_prediction,
    check_reduction,
    float_target,
)

__all__ = [
    "CLASS_INDEX_TARGETS",
    "INPUTS",
    "LOSSES",
    "bce",
    "bce_with_logits",
    "cross_entropy",
    "get_loss",
    "mae",
    "mse",
    "nll",
    "quadratic",
]


def _elementwise(prediction, target, reduction: str, name: str):
    check_reduction(reduction, name)
    a = as_prediction(prediction, name)
    return a, float_target(target, a, name)


def _reduce(elem, reduction: str, scale: float, average_features: bool):
    """Reduce per-element losses: per example sum (or mean) over features, times ``scale``."""
    m = elem.shape[0]
    if average_features:
        scale /= elem.size // m
    if reduction == "mean":
        return elem.sum() * (scale / m)
    if reduction == "sum":
        return elem.sum() * scale
    per = elem.sum(axis=tuple(range(1, elem.ndim))) if elem.ndim > 1 else elem
    return per * scale


def quadratic(prediction, target, reduction: str = "mean"):
    """The notes' quadratic cost: per example (1/2) ||y - a||^2; with ``"mean"``,
    C = (1/2n) sum_x ||y(x) - a(x)||^2. Gradient (over m): (a - y) / m."""
    a, y = _elementwise(prediction, target, reduction, "quadratic")
    diff = a - y
    return _reduce(diff * diff, reduction, 0.5, average_features=False)


def mse(prediction, target, reduction: str = "mean"):
    """Mean squared error: per example mean_j (y_j - a_j)^2; ``"mean"`` is the mean over
    all m * n entries. Differs from :func:`quadratic` by the factor 2/n."""
    a, y = _elementwise(prediction, target, reduction, "mse")
    diff = a - y
    return _reduce(diff * diff, reduction, 1.0, average_features=True)


def mae(prediction, target, reduction: str = "mean"):
    """Mean absolute error: per example mean_j |y_j - a_j| (subgradient 0 where equal)."""
    a, y = _elementwise(prediction, target, reduction, "mae")
    return _reduce((a - y).abs(), reduction, 1.0, average_features=True)


def bce(probs, target, reduction: str = "mean"):
    """Binary cross-entropy from probabilities; see
    :func:`chainrule.functional.binary_cross_entropy` (clipped, safe at 0 and 1)."""
    return binary_cross_entropy(probs, target, reduction)


def cross_entropy(logits, target, reduction: str = "mean", label_smoothing: float = 0.0):
    """Softmax cross-entropy from logits; see
    :func:`chainrule.functional.softmax_cross_entropy` (gradient (softmax - Y) / m)."""
    return softmax_cross_entropy(logits, target, reduction, label_smoothing)


def nll(log_probs, target, reduction: str = "mean"):
    """Negative log-likelihood from log-probabilities (e.g. ``log_softmax`` output); see
    :func:`chainrule.functional.negative_log_likelihood`.

    Per example ``-log p[label]`` for integer labels, or ``-sum_j y_j log p_j`` for
    one-hot/probability rows. ``nll(log_softmax(z), y)`` equals ``cross_entropy(z, y)``.
    """
    return negative_log_likelihood(log_probs, target, reduction)


LOSSES = {
    "quadratic": quadratic,
    "mse": mse,
    "mae": mae,
    "bce": bce,
    "bce_with_logits": bce_with_logits,
    "cross_entropy": cross_entropy,
    "nll": nll,
}

#: What each loss of :data:`LOSSES` reads of the model's outputs: ``"target_scale"``
#: (values compared with the targets' own, the 0/1 or one-hot labels of a classifier),
#: ``"probabilities"``, ``"logits"`` or ``"log_probabilities"``.
INPUTS = MappingProxyType(
    {
        "quadratic": "target_scale",
        "mse": "target_scale",
        "mae": "target_scale",
        "bce": "probabilities",
        "bce_with_logits": "logits",
        "cross_entropy": "logits",
        "nll": "log_probabilities",
    }
)

#: The losses of :data:`LOSSES` that take class-index targets (integer labels of shape
#: (m,), or float rows of shape (m, k)) with one output per class; the others are
#: elementwise, with targets of the prediction's shape.
CLASS_INDEX_TARGETS = frozenset({"cross_entropy", "nll"})


def get_loss(name: str):
    """The loss registered under ``name`` (for configs); ``ValueError`` listing valid names."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}") from None

"""Stateless neural-network functions: the math behind the layers and the losses.

The activations and the fused linear map are the engine's primitives, re-exported here.
The rest are fused primitives, each forward beside its VJP, each registered with
:func:`~chainrule.autodiff.registry.primitive` (so the table-driven gradient check covers
it); the losses are kernels run by :func:`chainrule.autodiff.apply` (so a traced step
replays them), dropout and batch norm are nodes made as :func:`chainrule.autodiff.node`
makes them, less its check of what a user's rule returns (they draw random masks or
update buffers, which a replay would not repeat):

* :func:`dropout` (inverted dropout; one node),
* :func:`batch_norm` (training and evaluation forms; one node),
* :func:`softmax_cross_entropy` and :func:`bce_with_logits`, whose gradients are the
  notes' ``dZ = A - Y`` (divided by m for ``reduction="mean"``),
* :func:`binary_cross_entropy` from probabilities, safe at 0 and 1.

Conventions: row-major batches (axis 0 is the batch of m examples). Every loss computes one
loss per example (summed over the other axes), then reduces: ``"mean"`` divides the sum by
m, ``"sum"`` adds, ``"none"`` returns the per-example losses, shape (m,).
"""

from __future__ import annotations

import numpy as np

from chainrule import _checks
from chainrule.autodiff.backend import array_module, engine_kernels
from chainrule.autodiff.graph import NonFiniteValueError
from chainrule.autodiff.mode import MODE, untraceable
from chainrule.autodiff.ops import leaky_relu, linear, log_softmax, relu, sigmoid, softmax, tanh
from chainrule.autodiff.ops_nn import log_softmax_parts, sigmoid_array
from chainrule.autodiff.ops_shape import mean_in_range
from chainrule.autodiff.registry import primitive
from chainrule.autodiff.tensor import _node, apply, floating, lift
from chainrule.targets import (
    as_prediction,
    check_labels,
    check_range,
    check_reduction,
    check_rows,
    class_target,
    float_target,
    label_error,
)

__all__ = [
    "batch_norm",
    "bce_with_logits",
    "binary_cross_entropy",
    "dropout",
    "identity",
    "leaky_relu",
    "linear",
    "log_softmax",
    "negative_log_likelihood",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "tanh",
]


def identity(x):
    """x, unchanged (no graph node)."""
    return x


# -- dropout ---------------------------------------------------------------------------------
@primitive
def dropout(x, keep_prob: float, rng: np.random.Generator, training: bool = True):
    """Inverted dropout (seed 002): keep each unit with probability ``keep_prob``.

    ``out = x * mask / keep_prob`` with ``mask ~ Bernoulli(keep_prob)`` drawn from ``rng``,
    so E[out] = x and nothing needs rescaling at test time. The identity (the same object,
    no node) when ``training`` is false or ``keep_prob == 1``. d/dx = mask / keep_prob.

    A unit is kept where a uniform draw in the input's dtype is below ``keep_prob``; those
    draws are multiples of 2**-24 in float32 and of 2**-53 in float64, so the keep rate is
    a multiple of that step, within one step of ``keep_prob``. A smaller ``keep_prob``
    would keep units at the step's rate whatever its value (and ``1 / keep_prob`` can
    overflow the dtype): ``ValueError`` (see :func:`check_keep_prob`), before anything is
    drawn. Under :class:`~chainrule.autodiff.detect_anomaly`, a non-finite output raises
    ``FloatingPointError`` with ``rng`` put back as it was before the draw.
    """
    # in (0, 1] here; the bound of the input's dtype below, once a mask is to be drawn
    keep_prob = check_keep_prob("dropout", "keep_prob", keep_prob)
    training = _checks.boolean("dropout", "training", training)
    if not training or keep_prob == 1.0:
        return x
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"dropout: expected a numpy.random.Generator for the masks, got {type(rng).__name__}"
        )
    untraceable("dropout draws a new mask at every step")
    x = floating(x, "dropout")
    xd = x.data
    _check_draw_step("dropout", keep_prob, xd.dtype)
    # only detect_anomaly's check in _node raises after the draw: a refused call undoes it
    drawn_from = rng.bit_generator.state if MODE.anomaly else None
    mask = (rng.random(xd.shape, dtype=xd.dtype) < keep_prob).astype(xd.dtype)
    mask *= 1.0 / keep_prob
    out = xd * mask
    try:
        return _node(out, (x,), lambda g: (g * mask,), "dropout")
    except FloatingPointError:
        if drawn_from is not None:
            rng.bit_generator.state = drawn_from
        raise


# Generator.random(dtype=...) draws multiples of 2**-24 (float32) or 2**-53 (float64)
_DRAW_BITS = {np.dtype(np.float32): 24, np.dtype(np.float64): 53}
_FLOAT32_STEP = 2.0 ** -_DRAW_BITS[np.dtype(np.float32)]


def check_keep_prob(owner: str, name: str, keep_prob, dtype=None) -> float:
    """``keep_prob`` as a float in (0, 1] (``TypeError`` / ``ValueError`` from
    :func:`chainrule._checks.real` naming ``owner`` and ``name`` otherwise) and, given a
    ``dtype`` (float32 or float64), at least the step of the uniform draws a dropout mask
    of that dtype is made from: 2**-24 or 2**-53 (``ValueError`` naming ``owner`` and
    ``keep_prob``)."""
    keep_prob = _checks.real(owner, name, keep_prob, low=0.0, low_open=True, high=1.0)
    if dtype is not None:
        _check_draw_step(owner, keep_prob, dtype)
    return keep_prob


def _check_draw_step(owner: str, keep_prob: float, dtype) -> None:
    """Refuse a ``keep_prob`` (already a float in (0, 1]) below the step of the draws of
    ``dtype`` (see :func:`check_keep_prob`)."""
    if keep_prob >= _FLOAT32_STEP:  # one comparison per step; the dtype's bound only below
        return
    bits = _DRAW_BITS[np.dtype(dtype)]
    if keep_prob < 2.0**-bits:
        raise ValueError(
            f"{owner}: keep_prob expected a number >= 2**-{bits} ({2.0**-bits:.3g}, the step "
            f"of the uniform draws the mask compares with it) for {np.dtype(dtype)} input, "
            f"got {keep_prob!r}"
        )


# -- batch normalization ---------------------------------------------------------------------
@primitive
def batch_norm(
    x,
    gamma,
    beta,
    running_mean=None,
    running_var=None,
    training: bool = True,
    momentum: float = 0.9,
    eps: float = 1e-5,
):
    """Batch normalization of (m, n) inputs, per feature: ``gamma * x_hat + beta``.

    Training: ``x_hat = (x - mu) / sqrt(var + eps)`` with the batch mean ``mu`` and the
    biased batch variance ``var = mean((x - mu)^2)``, computed in two passes (mean first,
    then the squared deviations) so that data far from zero keeps its precision. The mean
    and the squared deviations are summed in float64, and for float32 input each result
    is then rounded to float32: the mean about half an ulp from the exact one, so a
    constant float32 feature gives ``x_hat`` exactly 0 and the output exactly ``beta``,
    and the variance without a float32 sum's drift over a large batch, or its overflow
    where the variance fits. If ``running_mean`` / ``running_var`` arrays are given they
    are updated in place as exponentially weighted averages, the notes'
    ``v = beta*v + (1-beta)*theta`` with ``beta = momentum``::

        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var * m / (m - 1)

    (the running variance uses the unbiased batch variance, an estimate of the data's).
    A batch of one example has no variance: ``ValueError``. Where the mean's float64 sum,
    a deviation from the mean, a square of one or their float64 sum overflows (a deviation
    beyond about 1.8e19 in float32, a sum beyond 1.8e308 in float64; finite values up to
    the dtype's maximum included), the feature is scaled by a power of two first:
    ``x_hat`` is the scaled deviations over their standard deviation (``eps`` is then
    negligible), the mean and the variance (that standard deviation squared) are scaled
    back, the variance to inf where the dtype cannot hold it, all without a warning.
    Where running statistics are given, a batch that would make one NaN or Inf, NaN or
    Inf in the batch or a variance the dtype cannot hold (a standard deviation beyond
    about 1.8e19 in float32, 1.3e154 in float64; in the batch, or in the running variance
    updated with it), raises :class:`~chainrule.autodiff.NonFiniteValueError` (a
    ``FloatingPointError``) naming the features, before any statistic is updated: a
    model's state holds finite values only (its file refuses the others), and the remedy
    is input normalization. Without them such a batch is normalized as above (NaN stays
    NaN). An ``eps`` that rounds to 0 in the input's dtype is refused.

    Evaluation (``training=False``): ``x_hat = (x - running_mean) / sqrt(running_var + eps)``;
    a ``running_var`` that is negative, NaN or inf (which training from finite
    non-negative ones never makes, and ``load_state_dict`` refuses) raises ``ValueError``,
    as does, in training, one that is NaN or inf (it would stay so), before any update.

    The input is float32 or float64 (``TypeError`` otherwise), gamma and beta of its dtype.
    The running statistics are arrays of shape (n,) and the input's dtype, writable when
    training updates them; anything else raises before any of them is updated.
    ``momentum`` and ``eps`` are real numbers (Python or NumPy) and take the input's dtype.

    Gradients (training), with ``d = g * gamma``::

        dx = (d - mean(d) - x_hat * mean(d * x_hat)) / sqrt(var + eps)
        dgamma = sum(g * x_hat),  dbeta = sum(g)      (means and sums over the batch)
    """
    untraceable("batch_norm updates its running statistics (and normalizes with them)")
    x = floating(x, "batch_norm")
    gamma, beta = lift(gamma, x), lift(beta, x)
    xd = x.data
    n = gamma.shape[0] if gamma.ndim == 1 else None
    if xd.ndim != 2 or n is None or xd.shape[1] != n or beta.shape != gamma.shape:
        raise ValueError(
            f"batch_norm: expected input (m, {n}) and gamma, beta of shape ({n},); got input "
            f"{xd.shape}, gamma {gamma.shape}, beta {beta.shape}"
        )
    if gamma.dtype != xd.dtype or beta.dtype != xd.dtype:
        raise TypeError(
            f"batch_norm: input is {xd.dtype} but gamma/beta are {gamma.dtype}/{beta.dtype}; "
            "cast one (chainrule never changes a dtype silently)"
        )
    momentum = _checks.real("batch_norm", "momentum", momentum, low=0.0, high=1.0, high_open=True)
    eps = _checks.eps("batch_norm", eps, xd.dtype, "a constant feature")
    training = _checks.boolean("batch_norm", "training", training)
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None:
            _check_statistic(stat, name, xd, training)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
        _check_variances(running_var)
        return _batch_norm_eval(x, gamma, beta, running_mean, running_var, eps)
    m = xd.shape[0]
    if m < 2:
        raise ValueError(
            f"batch_norm: a training batch needs at least 2 examples to have a variance, "
            f"got {m}; use eval() mode for single examples"
        )
    xp = array_module(xd)
    with xp.errstate(over="ignore"):  # a mean, deviation or square beyond the dtype: scaled
        # summed in float64: NumPy adds axis 0 row after row, so a float32 sum would drift
        # by many ulps of the mean, which the second pass cannot take out
        mu = xd.mean(axis=0, dtype=xp.float64).astype(xd.dtype, copy=False)
        xhat = xd - mu
        # the squares too are summed in float64, the same way
        var = xp.square(xhat).mean(axis=0, dtype=xp.float64).astype(xd.dtype, copy=False)
    inv_std = 1.0 / xp.sqrt(var + eps)
    spread = ~xp.isfinite(var)
    if spread.any():
        _normalize_scaled(xd, spread, eps, mu, var, inv_std, xhat)
    else:
        xhat *= inv_std
    bad = None  # the features whose statistics the running ones cannot take
    if running_var is not None:  # var becomes the updated running variance (not used below)
        with xp.errstate(over="ignore"):  # an unbiased variance beyond the dtype: refused below
            var *= (1.0 - momentum) * m / (m - 1)
            var += momentum * running_var
        bad = ~xp.isfinite(var)  # inf or NaN in the batch's variance makes it inf or NaN too
    elif running_mean is not None:  # (a non-finite mean makes the variance NaN too)
        bad = ~xp.isfinite(mu)
    out = xhat * gamma.data
    out += beta.data
    gd = gamma.data
    rx, rg, rb = x.requires_grad, gamma.requires_grad, beta.requires_grad

    def vjp(g):
        dx = None
        if rx:
            d = g * gd
            dx = d - d.mean(axis=0)
            dx -= xhat * (d * xhat).mean(axis=0)
            dx *= inv_std
        return (
            dx,
            (g * xhat).sum(axis=0) if rg else None,
            g.sum(axis=0) if rb else None,
        )

    # the node first: under detect_anomaly a NaN output raises there, before the statistics
    # change
    result = _node(out, (x, gamma, beta), vjp, "batch_norm")
    if bad is not None and bad.any():
        if running_var is not None:  # one set by hand to NaN or inf: that is what is wrong
            _check_variances(running_var)
        _refuse_statistics(xd, bad)
    if running_mean is not None:
        running_mean *= momentum
        running_mean += (1.0 - momentum) * mu
    if running_var is not None:
        running_var[...] = var
    return result


def _normalize_scaled(xd, spread, eps, mu, var, inv_std, xhat) -> None:
    """:func:`batch_norm`'s statistics where the batch ``xd``'s mean, deviations or their
    squares overflowed (``spread``: the features whose ``var`` is not finite), in place,
    and ``xhat`` normalized: multiplied by ``inv_std``, those features' made anew.

    A feature of finite values is scaled by 2^-e, 2^e above its largest |value| (exact,
    but for values it makes subnormal, far below that largest), where its two passes
    cannot overflow: its mean and deviations are then the unbounded ones times 2^-e.
    ``x_hat`` is the scaled deviations over their standard deviation s (``eps``, about
    ``eps * 4^-e`` next to s^2, is negligible), 0 where all of them are 0; ``mu`` and
    ``var`` are scaled back (``var = s^2 * 4^e`` is inf where the dtype cannot hold it),
    and ``inv_std`` is ``1 / sqrt(var + eps)`` where ``var`` fits, else ``2^-e / s``. A
    feature holding NaN or inf keeps its NaN statistics.
    """
    xp = array_module(xd)
    cols = xp.flatnonzero(spread)
    top = xp.abs(xd[:, cols]).max(axis=0)
    finite = xp.isfinite(top)
    cols, e = cols[finite], xp.frexp(top[finite])[1]
    with xp.errstate(over="ignore", under="ignore", divide="ignore"):
        xs = xp.ldexp(xd[:, cols], -e)
        mus = xs.mean(axis=0, dtype=xp.float64).astype(xd.dtype, copy=False)
        dev = xs - mus
        std = xp.sqrt(xp.square(dev).mean(axis=0, dtype=xp.float64).astype(xd.dtype))
        mu[cols] = xp.ldexp(mus, e)
        var[cols] = xp.ldexp(xp.square(std), 2 * e)
        fits = xp.isfinite(var[cols])
        inv_std[cols] = xp.where(fits, 1.0 / xp.sqrt(var[cols] + eps), xp.ldexp(1.0 / std, -e))
        xhat *= inv_std  # finite inv_std: the features made anew hold no inf * 0
        xhat[:, cols] = xp.divide(dev, std, out=xp.zeros_like(dev), where=dev != 0)


def _refuse_statistics(xd, bad) -> None:
    """Raise :class:`NonFiniteValueError` naming the features of the training batch ``xd``
    (``bad``, a mask of them) whose statistics would make a running statistic NaN or Inf:
    NaN or Inf in the batch, or a variance beyond the dtype."""
    xp = array_module(xd)
    advice = (
        "Normalize the inputs to a scale near 1 (chainrule.data.Standardizer) or, where a "
        "diverging model made them, lower the learning rate; no statistic was updated"
    )
    index = xp.flatnonzero(bad)
    holding = ~xp.isfinite(xd[:, index]).all(axis=0)
    if holding.any():  # NaN or Inf in the batch: the cause, whatever the others' variances
        index = index[holding]
    first = index[:5]
    more = f", and {index.size - 5} more" if index.size > 5 else ""
    where = f"{index.size} of {bad.size} features"
    if holding.any():
        raise NonFiniteValueError(
            f"batch_norm: expected finite values in the training batch to update the running "
            f"statistics, got NaN or Inf in {where}: "
            f"{', '.join(str(i) for i in first.tolist())}{more}. {advice}"
        )
    peaks = abs(xd[:, first]).max(axis=0)
    shown = ", ".join(
        f"feature {i}: {p:.3g}" for i, p in zip(first.tolist(), peaks.tolist(), strict=True)
    )
    raise NonFiniteValueError(
        f"batch_norm: expected the variance of every feature to be finite in {xd.dtype} "
        f"(up to {float(np.finfo(xd.dtype).max):.3g}), in the training batch and in the "
        f"running variance updated with it; got inf or NaN for {where}, the largest |value| in "
        f"the batch of {shown}{more}. {advice}"
    )


def _check_statistic(stat, name: str, xd, training: bool) -> None:
    """Refuse a running statistic that ``batch_norm`` could not use, or update in place."""
    if not isinstance(stat, np.ndarray):
        raise TypeError(
            f"batch_norm: expected {name} to be a numpy.ndarray (a buffer updated in place), "
            f"got {type(stat).__name__}"
        )
    n = xd.shape[1]
    if stat.shape != (n,):
        raise ValueError(f"batch_norm: expected {name} of shape ({n},), got {stat.shape}")
    if stat.dtype != xd.dtype:
        raise TypeError(
            f"batch_norm: input is {xd.dtype} but {name} is {stat.dtype}; "
            "cast one (chainrule never changes a dtype silently)"
        )
    if training and not stat.flags.writeable:
        raise ValueError(f"batch_norm: {name} is read-only, but training updates it in place")


def _check_variances(running_var) -> None:
    """Refuse (``ValueError``) a ``running_var`` that is not a finite variance: a negative
    value (whose square root evaluation cannot take), NaN or inf. Training never makes one
    (it refuses a variance beyond the dtype), and a model's state refuses them too (see
    :meth:`~chainrule.nn.Module.state_problems`): inf would set a feature to ``beta``
    whatever its value."""
    valid = array_module(running_var).isfinite(running_var) & (running_var >= 0)
    if not valid.all():
        bad = running_var[~valid]
        raise ValueError(
            f"batch_norm: expected running_var finite and >= 0 (variances), got {bad.size} "
            f"negative, NaN or inf among {running_var.size} values, e.g. {float(bad[0]):g}"
        )


def _batch_norm_eval(x, gamma, beta, running_mean, running_var, eps):
    xp = array_module(x.data)
    inv_std = 1.0 / xp.sqrt(running_var + eps)
    xhat = (x.data - running_mean) * inv_std
    out = xhat * gamma.data
    out += beta.data
    scale = gamma.data * inv_std
    rx, rg, rb = x.requires_grad, gamma.requires_grad, beta.requires_grad

    def vjp(g):
        return (
            g * scale if rx else None,
            (g * xhat).sum(axis=0) if rg else None,
            g.sum(axis=0) if rb else None,
        )

    return _node(out, (x, gamma, beta), vjp, "batch_norm")


# -- losses ----------------------------------------------------------------------------------
def _reduce(per_example, reduction: str):
    """Reduce per-example losses, shape (m,)."""
    if reduction == "mean":
        return per_example.sum() / per_example.shape[0]  # ndarray.mean() costs 4x more here
    if reduction == "sum":
        return per_example.sum()
    return per_example


def _upstream(g, reduction: str, m: int, ndim: int):
    """The factor each example's gradient is scaled by: g/m, g, or g per example."""
    if reduction == "mean":
        return g / m
    if reduction == "sum":
        return g
    return g.reshape((m,) + (1,) * (ndim - 1))


@primitive
def softmax_cross_entropy(logits, target, reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross-entropy of softmax(logits) against class targets, fused for stability and speed.

    Per example i, with ``log p_i = logits_i - logsumexp(logits_i)`` (max-shifted, so no
    overflow at any logit)::

        loss_i = -sum_j q_ij log p_ij

    where ``q`` is the target: one-hot rows for integer labels (shape (m,), values in
    [0, k)), or the given one-hot/probability rows (shape (m, k)). With label smoothing
    ``s``, ``q = (1 - s) q + s / k``.

    Gradient (the notes' ``dZ = A - Y``)::

        d loss / d logits = (softmax(logits) * sum_j q_ij - q) / m     (reduction="mean")

    which is exactly ``(softmax - Y) / m`` for rows that sum to one. A float target tensor
    that requires a gradient receives ``-(1 - s) log p`` (scaled the same way).

    Raises
    ------
    ValueError
        Labels out of range, float labels of shape (m,), a batch-size mismatch, a bad
        shape or reduction, or ``label_smoothing`` outside [0, 1).
    """
    name = "cross_entropy"
    check_reduction(reduction, name)
    z = as_prediction(logits, name, ndim=2)
    target = class_target(target, z, name)
    label_smoothing = _checks.real(
        name, "label_smoothing", label_smoothing, low=0.0, high=1.0, high_open=True
    )
    op = "softmax_cross_entropy"
    if target.data.dtype.kind == "f":
        kernel, static = _xent_probs_kernel, (reduction, label_smoothing, target.requires_grad)
        return apply(op, kernel, (z, target), *static)
    # the compiled passes: integer labels without smoothing on a NumPy batch, with numba
    fast = None if label_smoothing or type(z.data) is not np.ndarray else engine_kernels()
    if fast is None:
        return apply(op, _xent_labels_kernel, (z, target), reduction, label_smoothing)
    return apply(op, _xent_labels_compiled_kernel, (z, target), reduction, fast)


def _xent_labels_kernel(zd, labels, reduction, smooth):
    """:func:`softmax_cross_entropy` for integer labels, NumPy's rule."""
    m, k = zd.shape
    check_labels(labels, k, "cross_entropy")
    e, total, logp = log_softmax_parts(zd, 1)
    xp = array_module(zd)
    rows = xp.arange(m)
    per = -logp[rows, labels]
    if smooth:
        per *= 1.0 - smooth
        per -= smooth * mean_in_range(logp, (1,), False, k)  # finite where the row sum is not

    def vjp(g):
        with xp.errstate(under="ignore"):  # softmax and its products: subnormal in the tails
            d = e / total
            if smooth:
                d -= smooth / k
            d[rows, labels] -= 1.0 - smooth
            d *= _upstream(g, reduction, m, 2)
        return d, None

    return _reduce(per, reduction), vjp


def _xent_probs_kernel(zd, q, reduction, smooth, ry):
    """:func:`softmax_cross_entropy` for one-hot/probability rows ``q``."""
    m, k = zd.shape
    check_rows(q, "cross_entropy")
    e, total, logp = log_softmax_parts(zd, 1)
    if smooth:
        q = (1.0 - smooth) * q + smooth / k
    # a zero target weight adds 0, also at a -inf logit (where 0 * log p would be NaN)
    xp = array_module(zd)
    per = -xp.multiply(q, logp, where=q != 0, out=xp.zeros_like(logp)).sum(axis=1)

    def vjp(g):
        scale = _upstream(g, reduction, m, 2)
        with xp.errstate(under="ignore"):  # softmax and its products: subnormal in the tails
            d = e / total
            d *= q.sum(axis=1, keepdims=True)
            d -= q
            d *= scale
        dy = (-(1.0 - smooth) * logp) * scale if ry else None
        return d, dy

    return _reduce(per, reduction), vjp


def _xent_labels_compiled_kernel(zd, labels, reduction, fast):
    """:func:`softmax_cross_entropy` for integer labels without smoothing on a NumPy batch,
    the NumPy rule's float operations in fewer passes: the shift and the per-example losses
    compiled, exp/sum/log NumPy's."""
    m, k = zd.shape
    bad = fast.first_bad_label(labels, k)  # before the compiled passes index with them
    if bad >= 0:
        raise label_error(labels, bad, k, "cross_entropy")
    # the layout of the NumPy rule's zd - max: C order for logits broadcast along the batch
    # (stride 0), where empty_like's is F (p's row sums would add in another order)
    s = np.empty(zd.shape, zd.dtype) if 0 in zd.strides else np.empty_like(zd)
    fast.shift_rows(zd, s)
    with np.errstate(under="ignore"):
        p = np.exp(s)
    total = p.sum(axis=1)
    per = np.empty(m, zd.dtype)
    fast.softmax_xent_rows(s, p, total, np.log(total), labels, per)  # p: now softmax

    def vjp(g):
        scale = np.empty(m, p.dtype)
        scale[...] = _upstream(g, reduction, m, 2).reshape(-1)  # one factor per row
        d = np.empty_like(p)
        fast.softmax_xent_backward(p, labels, scale, fast.unit(p.dtype), d)
        return d, None

    return _reduce(per, reduction), vjp


@primitive
def negative_log_likelihood(log_probs, target, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities ``lp`` of shape (m, k), e.g. the
    output of :func:`log_softmax`. Per example::

        l = -lp[label]                (integer labels in [0, k))
        l = -sum_j y_j lp_j           (one-hot or probability rows y)

    Gradient: ``d loss / d lp = -onehot(label) / m`` or ``-y / m`` (reduction="mean"); a
    float target tensor that requires a gradient receives ``-lp`` (scaled the same way).
    ``negative_log_likelihood(log_softmax(z), y)`` equals ``softmax_cross_entropy(z, y)``.
    The labels' range and the rows' signs are checked by the kernel, so a replayed step
    (:func:`~chainrule.autodiff.trace.trace_backward`) checks them too.
    """
    name = "nll"
    check_reduction(reduction, name)
    lp = as_prediction(log_probs, name, ndim=2)
    target = class_target(target, lp, name)
    if target.data.dtype.kind == "f":
        return apply(name, _nll_rows_kernel, (lp, target), reduction, target.requires_grad)
    return apply(name, _nll_labels_kernel, (lp, target), reduction)


def _nll_labels_kernel(lpd, labels, reduction):
    m, k = lpd.shape
    check_labels(labels, k, "nll")
    xp = array_module(lpd)
    rows = xp.arange(m)
    per = -lpd[rows, labels]

    def vjp(g):
        d = xp.zeros_like(lpd)
        d[rows, labels] = -_upstream(g, reduction, m, 1)
        return d, None

    return _reduce(per, reduction), vjp


def _nll_rows_kernel(lpd, q, reduction, rq):
    m = lpd.shape[0]
    check_rows(q, "nll")
    xp = array_module(lpd)
    # a class of probability 0 adds 0, also at a log-probability of -inf (a masked logit)
    per = -xp.multiply(q, lpd, where=q != 0, out=xp.zeros_like(lpd)).sum(axis=1)

    def vjp(g):
        up = -_upstream(g, reduction, m, 2)
        return up * q, (up * lpd if rq else None)

    return _reduce(per, reduction), vjp


@primitive
def bce_with_logits(logits, target, reduction: str = "mean"):
    """Binary cross-entropy of sigmoid(logits) against targets y in [0, 1], fused.

    Per element, in the form that never overflows::

        l = max(z, 0) - z * y + log(1 + exp(-|z|))  =  -(y log a + (1 - y) log(1 - a))

    with ``a = sigmoid(z)``, evaluated as ``(1 - y) max(z, 0) - y min(z, 0)`` plus the log
    term last, a sum of terms >= 0 (no cancellation: the small loss of a confident logit
    on the side of its target keeps its precision); the per-example loss sums over all
    but the batch axis (the notes' cross-entropy cost sums over output units). Gradient,
    the notes' ``dZ = A - Y``::

        d loss / dz = (sigmoid(z) - y) / m     (reduction="mean")

    A target tensor that requires a gradient receives ``-z`` (scaled the same way).
    """
    name = "bce_with_logits"
    check_reduction(reduction, name)
    z = as_prediction(logits, name)
    y = float_target(target, z, name)
    return apply("bce_with_logits", _bce_logits_kernel, (z, y), reduction, y.requires_grad)


def _bce_logits_kernel(zd, yd, reduction, ry):
    check_range(yd, 0.0, 1.0, "targets", "bce_with_logits")
    xp = array_module(zd)
    m = zd.shape[0]
    with xp.errstate(under="ignore", invalid="ignore"):
        # max(z, 0) - z y as (1 - y) max(z, 0) - y min(z, 0): two terms >= 0, so the sum
        # has no cancellation (z - z y rounded a loss to ulp(z)), and a small log term
        # added last keeps its digits
        elem = (1 - yd) * xp.maximum(zd, 0)
        elem -= yd * xp.minimum(zd, 0)
        elem += xp.log1p(xp.exp(-xp.abs(zd)))
    infinite = xp.isinf(zd)
    if infinite.any():
        # a zero weight adds 0: a logit of +-inf on the side of its target costs 0, not
        # 0 * inf
        zi, yi = zd[infinite], xp.broadcast_to(yd, zd.shape)[infinite]
        with xp.errstate(invalid="ignore"):
            up = xp.where(yi == 1, 0, (1 - yi) * xp.maximum(zi, 0))
            down = xp.where(yi == 0, 0, yi * xp.minimum(zi, 0))
        elem[infinite] = up - down
    per = elem.reshape(m, -1).sum(axis=1) if zd.ndim > 1 else elem

    def vjp(g):
        scale = _upstream(g, reduction, m, zd.ndim)
        d = sigmoid_array(zd)
        d -= yd
        with xp.errstate(under="ignore"):  # sigmoid(z) / m: subnormal for z below about -85
            d *= scale
        return d, (-zd * scale) if ry else None

    return _reduce(per, reduction), vjp


@primitive
def binary_cross_entropy(probs, target, reduction: str = "mean"):
    """Binary cross-entropy from probabilities a in [0, 1]: ``-(y log a + (1 - y) log(1 - a))``.

    Safe at 0 and 1: ``a`` is clipped to ``[tiny, 1 - epsneg]`` (the dtype's smallest
    normal number, 1.2e-38 in float32, and the largest number below 1) for the gradient,
    ``(a - y) / (a (1 - a))`` per element (divided by m for ``reduction="mean"``), and
    each log's argument on its own side in the forward pass (``a`` exactly 0 or 1 costs
    exactly 0 where its target agrees). So a saturated unit still gets a finite, large
    push the right way, and after a sigmoid the push toward 1 is ``a - y`` until ``a``
    falls below ``tiny`` (``z`` about -87 in float32), not only down to ``z`` about -16,
    where a clip at the machine epsilon would stop it; toward 0 it stops where the sigmoid
    itself rounds to 1 (``z`` about 17 in float32), its derivative 0 there. Prefer
    :func:`bce_with_logits` when the logits are at hand.

    Raises
    ------
    ValueError
        A probability or target outside [0, 1].
    """
    name = "bce"
    check_reduction(reduction, name)
    a = as_prediction(probs, name)
    y = float_target(target, a, name)
    return apply("binary_cross_entropy", _bce_kernel, (a, y), reduction, y.requires_grad)


def _bce_kernel(ad, yd, reduction, ry):
    check_range(ad, 0.0, 1.0, "probabilities", "bce")
    check_range(yd, 0.0, 1.0, "targets", "bce")
    xp = array_module(ad)
    info = xp.finfo(ad.dtype)
    below_one = 1.0 - float(info.epsneg)  # the largest number below 1
    # each log's argument kept from 0: log(a) from the smallest normal number up, log(1 - a)
    # from the largest number below 1 down (a exactly 0 or 1 costs exactly 0 on its side)
    lo = xp.maximum(ad, info.tiny)
    hi = xp.minimum(ad, below_one)
    with xp.errstate(under="ignore"):  # log1p(-a) = -a for a tiny a: subnormal with a
        elem = -(yd * xp.log(lo) + (1.0 - yd) * xp.log1p(-hi))
    m = ad.shape[0]
    per = elem.reshape(m, -1).sum(axis=1) if ad.ndim > 1 else elem

    def vjp(g):
        scale = _upstream(g, reduction, m, ad.ndim)
        ac = xp.minimum(lo, below_one)  # a clipped to [tiny, below_one]
        d = (ac - yd) / (ac * (1.0 - ac))
        d *= scale
        dy = (xp.log1p(-hi) - xp.log(lo)) * scale if ry else None
        return d, dy

    return _reduce(per, reduction), vjp

"""Training diagnostics: a bias/variance reading of the error rates, and a health check of
per-layer gradient norms.

Both turn a few numbers into a verdict and the notes' remedies, as text a person (or a
callback, through :mod:`warnings`) can act on.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import _checks

# The notes' remedies (seed 002, "针对偏差和方差的调整"), in the order of the basic recipe:
# reduce bias first (more data and regularization do not cure underfitting), then variance.
BIAS_REMEDIES = (
    "use a bigger network (more hidden units or layers): the current one is too simple "
    "to learn the key features",
    "train longer (more iterations, or a better optimizer)",
    "try a different architecture",
)
VARIANCE_REMEDIES = (
    "get more training data (the best fix)",
    "add regularization: L2 or dropout",
    "stop early (early stopping on the dev error)",
)

_EXPLANATIONS = {
    "high bias": "The model does not fit even the training set well (underfitting).",
    "high variance": (
        "The model fits the training set but does not generalize to the dev set (overfitting)."
    ),
    "high bias and high variance": (
        "The model underfits the training set and generalizes worse still to the dev set."
    ),
    "good fit": "Both gaps are within tolerance: no bias or variance problem to fix.",
}


def _error_rate(fn: str, name: str, value: Any) -> float:
    """``value`` as a fraction in [0, 1] (:func:`chainrule._checks.real`); a percentage
    between 1 and 100 is refused with the fraction it meant."""
    try:
        return _checks.real(fn, name, value, low=0.0, high=1.0)
    except ValueError as error:
        if not 1 < value <= 100:
            raise
        hint = f"errors are fractions, pass {value:g}% as {value / 100:g}"
        raise ValueError(f"{error}; {hint}") from None


def _pct(x: float) -> str:
    return f"{x * 100:.3g}%"


@dataclass(frozen=True)
class BiasVarianceReading:
    """The outcome of :func:`bias_variance`.

    Attributes
    ----------
    train_error, dev_error, baseline_error, tolerance : float
        The inputs, as fractions.
    avoidable_bias : float
        ``train_error - baseline_error`` (negative when training beats the baseline).
    variance : float
        ``dev_error - train_error``.
    high_bias, high_variance : bool
        ``avoidable_bias >= tolerance`` and ``variance >= tolerance``.
    verdict : str
        One of ``"high bias"``, ``"high variance"``, ``"high bias and high variance"``,
        ``"good fit"``.
    remedies : tuple of str
        What the notes suggest trying, bias remedies first; empty for a good fit.
    """

    train_error: float
    dev_error: float
    baseline_error: float
    tolerance: float
    avoidable_bias: float
    variance: float
    high_bias: bool
    high_variance: bool
    verdict: str
    remedies: tuple[str, ...]

    def __str__(self) -> str:
        text = [
            f"Train error {_pct(self.train_error)}, dev error {_pct(self.dev_error)}, "
            f"baseline {_pct(self.baseline_error)}. "
            f"Avoidable bias (train - baseline) is {_pct(self.avoidable_bias)} and "
            f"variance (dev - train) is {_pct(self.variance)}, against a tolerance of "
            f"{_pct(self.tolerance)}: {self.verdict}.",
            _EXPLANATIONS[self.verdict],
        ]
        if self.avoidable_bias < 0:
            text.append(
                "Training beats the baseline, so the baseline overstates the best achievable "
                "(Bayes) error."
            )
        if self.variance < 0:
            text.append(
                "The dev error is below the training error: the dev set may be small or "
                "easier, or the training error was measured with dropout on."
            )
        if self.remedies:
            text.append("Try: " + "; ".join(self.remedies) + ".")
        return " ".join(text)


def bias_variance(
    train_error: float,
    dev_error: float,
    baseline_error: float = 0.0,
    tolerance: float = 0.02,
) -> BiasVarianceReading:
    """Read bias and variance off the training, dev and baseline error rates.

    Following the notes (seed 002, "偏差，方差"): the gap from the baseline to the
    training error is the *avoidable bias* (underfitting), the gap from the training error
    to the dev error is the *variance* (overfitting). A gap is high when it reaches
    ``tolerance``. With a baseline (Bayes or human-level error) of about 0%, the classic
    examples read:

    =========  =========  =============================
    train      dev        verdict
    =========  =========  =============================
    1%         11%        high variance
    15%        16%        high bias
    15%        30%        high bias and high variance
    0.5%       1%         good fit
    =========  =========  =============================

    Parameters
    ----------
    train_error, dev_error : float
        Error rates (e.g. ``1 - accuracy``) as fractions in ``[0, 1]``, not percentages.
    baseline_error : float, default 0.0
        The best error one can hope for (human-level error as a proxy for Bayes error).
        For a noisy task, say 15% human error, a 16% training error is no bias problem.
    tolerance : float, default 0.02
        Smallest gap (a fraction in ``(0, 1]``) that counts as high. Two points sits between
        the 1-point gaps the notes accept and the 10-point gaps they flag.

    Returns
    -------
    BiasVarianceReading
        The gaps are rounded to 12 decimals so that, e.g., ``0.03 - 0.01`` compares as
        exactly ``0.02``.
    """
    fn = "bias_variance"
    train = _error_rate(fn, "train_error", train_error)
    dev = _error_rate(fn, "dev_error", dev_error)
    baseline = _error_rate(fn, "baseline_error", baseline_error)
    tol = _checks.real(fn, "tolerance", tolerance, low=0.0, high=1.0, low_open=True)
    bias = round(train - baseline, 12)
    variance = round(dev - train, 12)
    high_bias = bias >= tol
    high_variance = variance >= tol
    if high_bias and high_variance:
        verdict = "high bias and high variance"
    elif high_bias:
        verdict = "high bias"
    elif high_variance:
        verdict = "high variance"
    else:
        verdict = "good fit"
    remedies = (BIAS_REMEDIES if high_bias else ()) + (VARIANCE_REMEDIES if high_variance else ())
    return BiasVarianceReading(
        train, dev, baseline, tol, bias, variance, high_bias, high_variance, verdict, remedies
    )


class GradientWarning(RuntimeWarning):
    """Issued by :meth:`GradientHealth.warn` for vanishing or exploding gradients."""


VANISHING_REMEDIES = (
    "use ReLU instead of sigmoid/tanh in hidden layers",
    "initialize with He (sqrt(2/n_in)) or Xavier (sqrt(2/(n_in + n_out))) scaling",
    "normalize the inputs or add batch normalization",
)
EXPLODING_REMEDIES = (
    "initialize smaller weights (He/Xavier scaling: Var(w) ~ 1/n_in)",
    "lower the learning rate",
    "clip gradients",
    "normalize the inputs",
)


@dataclass(frozen=True)
class GradientHealth:
    """The outcome of :func:`gradient_health`.

    Attributes
    ----------
    norms : dict of str to float
        Each layer's gradient norm, input layer first.
    ratio : float
        First layer's norm over the last layer's; NaN with one layer or when the last
        layer's norm is 0, or is itself vanished or exploded.
    findings : tuple of (layer, problem, reason)
        ``problem`` is ``"vanishing"`` or ``"exploding"``; ``reason`` says which test fired.
    """

    norms: dict[str, float]
    ratio: float
    findings: tuple[tuple[str, str, str], ...]

    @property
    def vanishing_layers(self) -> tuple[str, ...]:
        return tuple(name for name, problem, _ in self.findings if problem == "vanishing")

    @property
    def exploding_layers(self) -> tuple[str, ...]:
        return tuple(name for name, problem, _ in self.findings if problem == "exploding")

    @property
    def vanishing(self) -> bool:
        return bool(self.vanishing_layers)

    @property
    def exploding(self) -> bool:
        return bool(self.exploding_layers)

    @property
    def healthy(self) -> bool:
        return not self.findings

    @property
    def status(self) -> str:
        """``"healthy"``, ``"vanishing"``, ``"exploding"`` or ``"vanishing and exploding"``."""
        problems = [p for p in ("vanishing", "exploding") if getattr(self, p)]
        return " and ".join(problems) or "healthy"

    @property
    def message(self) -> str:
        """One paragraph naming the affected layers and the remedies; fit for ``warnings``."""
        if self.healthy:
            low = min(self.norms, key=self.norms.__getitem__)
            high = max(self.norms, key=self.norms.__getitem__)
            ratio = "" if math.isnan(self.ratio) else f", first/last ratio {self.ratio:.2e}"
            return (
                f"gradients healthy: layer norms from {self.norms[low]:.2e} ({low}) to "
                f"{self.norms[high]:.2e} ({high}){ratio}"
            )
        parts = []
        for problem, remedies in (
            ("vanishing", VANISHING_REMEDIES),
            ("exploding", EXPLODING_REMEDIES),
        ):
            found = [f"{name} ({why})" for name, p, why in self.findings if p == problem]
            if found:
                parts.append(
                    f"{problem} gradients in {', '.join(found)}; try: {'; '.join(remedies)}"
                )
        return ". ".join(parts) + "."

    def warn(self, stacklevel: int = 2) -> None:
        """Issue a :class:`GradientWarning` with :attr:`message` unless healthy."""
        if not self.healthy:
            warnings.warn(self.message, GradientWarning, stacklevel=stacklevel + 1)

    def __str__(self) -> str:
        width = max(len(name) for name in self.norms)
        rows = [f"gradient health: {self.status}"]
        rows += [f"  {name:<{width}}  {norm:.3e}" for name, norm in self.norms.items()]
        rows.append(self.message)
        return "\n".join(rows)


def _layer_norm(fn: str, name: Any, value: Any) -> float:
    if not isinstance(name, str):
        raise TypeError(f"{fn}: expected layer names (str), got {type(name).__name__}")
    a = _checks.as_array(fn, f"layer {name!r}", value)
    if a.dtype.kind not in "iuf" or a.ndim > 1:
        raise TypeError(
            f"{fn}: expected layer {name!r} to map to a norm or a list of norms, got {value!r}"
        )
    if a.size == 0:
        raise ValueError(f"{fn}: expected at least one norm for layer {name!r}, got none")
    if (a < 0).any():
        raise ValueError(f"{fn}: expected norms >= 0 for layer {name!r}, got {a.min():g}")
    # hypot is the L2 norm of the parts without overflow, and keeps inf and NaN.
    return math.hypot(*a.astype(np.float64).reshape(-1).tolist())


def gradient_health(
    norms_by_layer: Mapping[str, float | list[float]],
    *,
    vanish_ratio: float = 1e-3,
    explode_ratio: float = 1e3,
    min_norm: float = 1e-8,
    max_norm: float = 1e3,
) -> GradientHealth:
    """Detect vanishing and exploding gradients from per-layer gradient norms.

    Backprop multiplies one factor per layer on the way from the output back to the input
    (seed 001, "梯度消失问题"; seed 004): factors below 1 (sigmoid's slope is at most 1/4,
    small weights) shrink the gradient that reaches the early layers, factors above 1
    (weights a little above 1 in a deep net, seed 000) blow it up. So each layer is
    compared with the output layer, where the gradient starts, and with absolute bounds:

    * exploding: a non-finite norm (NaN or inf); a norm above ``max_norm``; or a norm more
      than ``explode_ratio`` times the output layer's.
    * vanishing: a norm less than ``vanish_ratio`` times the output layer's (the reason
      names ``min_norm`` when the norm is below that too). When the output layer's own norm
      is non-finite or above ``max_norm`` there is no yardstick, and a norm below
      ``min_norm`` is vanishing.

    The ratio tests run only when the output layer's own norm is finite, above 0 and
    within ``[min_norm, max_norm]``: a norm of 0 (possible with ``min_norm=0`` only) leaves
    every ratio to it undefined, and the absolute bounds alone decide, as with one layer.
    An output layer whose norm is below ``min_norm`` means the whole network has converged
    (a fitted training set leaves every gradient tiny): nothing is vanishing relative to
    the top, so no layer is reported as vanishing. Nor is a layer
    whose norm is below ``min_norm`` but within ``vanish_ratio`` of the output layer's: the
    network is converging as a whole.

    Why these defaults:

    * ``vanish_ratio=1e-3``: gradient descent moves a layer in proportion to its gradient,
      so a thousandfold smaller gradient leaves the early layers all but frozen and the
      deep net "learns like its last few layers only" (seed 004). Five sigmoid layers alone
      can cost 4**5 ~ 1e3, while He/Xavier initialization (seed 002) keeps healthy nets
      within one or two orders of magnitude: three is a signal, not noise.
    * ``explode_ratio=1e3``: the mirror image, early layers changing a thousand times faster
      than the output layer ("前面层会比后面层变化的更快", seed 004).
    * ``min_norm=1e-8``: with a learning rate <= 0.1 every entry of the update is below
      1e-9, under half a float32 ulp of a weight of size 0.1 (3.7e-9): the weights stop
      changing at all. A converged model can have gradients this small too, but then the
      output layer's are as small, which the rules above read as convergence.
    * ``max_norm=1e3``: the losses average over the batch (J = 1/m sum L), so gradient
      norms do not grow with the batch size and sit around 1e-3..10 in healthy training.
      At 1e3, one step with a learning rate of 0.01 has norm 10, about the norm of a whole
      He-initialized 50-unit weight matrix (sqrt(2 n_out)): each step rewrites the layer.

    Parameters
    ----------
    norms_by_layer : mapping of str to float or list of float
        Gradient norms per layer, ordered from the input layer to the output layer (a dict
        keeps insertion order). A list holds the norms of a layer's parameters (its weight
        and bias) and is combined as ``sqrt(sum(norm**2))``, the norm of the layer's whole
        gradient. To check a history, call once per epoch with that epoch's norms:
        ``history.grad_norms`` maps each parameter to a list of norms, one per epoch, which
        this function would read as one layer's parameters.
    vanish_ratio, explode_ratio : float
        Ratio thresholds, finite, ``0 < vanish_ratio < 1 < explode_ratio``.
    min_norm, max_norm : float
        Absolute thresholds, ``0 <= min_norm < max_norm``; ``min_norm`` finite, ``max_norm``
        may be inf (no absolute ceiling; an integer beyond float64's range counts as inf).

    Returns
    -------
    GradientHealth
    """
    fn = "gradient_health"
    if not isinstance(norms_by_layer, Mapping):
        raise TypeError(
            f"{fn}: expected a mapping of layer name to gradient norm, "
            f"got {type(norms_by_layer).__name__}"
        )
    if not norms_by_layer:
        raise ValueError(f"{fn}: expected at least one layer, got an empty mapping")
    lo_ratio = _checks.real(
        fn, "vanish_ratio", vanish_ratio, low=0.0, high=1.0, low_open=True, high_open=True
    )
    hi_ratio = _checks.real(fn, "explode_ratio", explode_ratio, low=1.0, low_open=True)
    floor = _checks.real(fn, "min_norm", min_norm, low=0.0)
    ceiling = _checks.real(fn, "max_norm", max_norm, low=0.0, low_open=True, infinite=True)
    if not floor < ceiling:
        raise ValueError(
            f"{fn}: expected 0 <= min_norm < max_norm, got min_norm={floor:g}, max_norm={ceiling:g}"
        )
    norms = {name: _layer_norm(fn, name, value) for name, value in norms_by_layer.items()}

    def exploded(norm: float) -> str | None:
        if not math.isfinite(norm):
            return f"norm {norm}"
        if norm > ceiling:
            return f"norm {norm:.2e} > max_norm {ceiling:g}"
        return None

    last_name = next(reversed(norms))
    reference = norms[last_name]
    converged = reference < floor  # every gradient tiny from the top down: nothing vanishes
    # A converged or exploded output layer is no yardstick (and 0 cannot divide).
    use_ratio = len(norms) > 1 and reference > 0 and not converged and not exploded(reference)

    def finding(norm: float) -> tuple[str, str] | None:
        reason = exploded(norm)
        if reason is not None:
            return "exploding", reason
        below = f"norm {norm:.2e} < min_norm {floor:g}" if norm < floor else None
        if not use_ratio:  # the floor alone decides, unless the output layer is below it too
            return None if converged or below is None else ("vanishing", below)
        r = norm / reference
        if r > hi_ratio:
            return "exploding", f"{r:.2e} x the output layer's norm > {hi_ratio:g}"
        if r < lo_ratio:
            return "vanishing", below or f"{r:.2e} x the output layer's norm < {lo_ratio:g}"
        return None

    findings = tuple((name, *found) for name, norm in norms.items() if (found := finding(norm)))
    first = next(iter(norms.values()))
    ratio = first / reference if use_ratio else math.nan
    return GradientHealth(norms, ratio, findings)

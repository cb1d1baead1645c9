"""Gradient checking: compare backprop's gradients with central finite differences.

The check the notes teach (seed 002, "梯度检验"): nudge each parameter by +-eps, measure
how the cost moves, and compare with the gradient backprop computed, using the relative
error ``||g - g_num|| / (||g|| + ||g_num||)``. Around 1e-7 or below the gradient is right;
around 1e-3 or above it is almost certainly wrong.

The numeric derivative differences the outputs before it contracts them,
``sum(u * (f(x + eps) - f(x - eps))) / h``: the outputs a nudge leaves alone cancel
exactly, however large they are. ``h`` is the step the nudge took, ``(x + eps) - (x - eps)``
as computed: ``2 eps`` within ``np.spacing(x) / (2 eps)`` relative (2.2e-10 for
``|x| < 4`` and ``eps=1e-6``; exactly ``2 eps`` where ``x +- eps`` are exact, as for a power
of 2 ``eps`` and ``x`` of few bits), far from it for a large ``|x|`` (spacing 1.8e-12 at 1e4,
1.9e-6 at 1e10); where ``x + eps`` and ``x - eps`` round to one number (``|x|`` above about
1.7e10 for ``eps=1e-6``) the step is 0 and the nudge says nothing. In ``direction`` mode
the step along a unit direction ``v`` is the vector ``d = (x + eps v) - (x - eps v)``: the
slope is taken along ``d / (2 eps)``, the direction actually taken (``v`` within
rounding), and backprop's value is ``g . d / (2 eps)``.

One guard the notes' formula needs: a gradient that is exactly 0 (a bias just before
batch norm, a shift of softmax's inputs) meets a numeric estimate that is only rounding
error, and the ratio of two near-zeros is about 1. So the denominator never falls below
``r / tol``, where ``r`` bounds that rounding error: ``20 * sqrt(n) * S * 2**-52 / h``
for ``n`` compared numbers of one checked input, with ``S = sum |u * f(x)|`` over the
outputs that some nudge of that input moved and ``h`` the smallest step they took, at
most ``2 eps``. Each input has its own ``r``: outputs that its nudges do not change (a
constant, or the outputs of another input, however large) cancel exactly in its
differences, and would widen its bound without adding any error. An input whose nudges
moved no output at all (``f`` is exactly invariant to it: a bias before batch norm, a
shift of softmax's inputs) has no rounding of its own, while backprop's value for it is
what sums that cancel leave (about 1e-16), a rounding the check cannot see: its ``S`` is
taken over the outputs the nudges of every input moved. So for such an input a wrong
value within that ``r`` passes, and beside large outputs of another input that ``r`` is
large (a ReLU rule that forgets the mask, checked at negative inputs only, beside
``1e8 * y``). A difference within rounding
passes; any difference above it is still measured against ``||g|| + ||g_num||``. ``S``
sees only the output: when ``f`` sums values that cancel (``batch_norm(x).sum()``, about
0), the rounding inside it is larger than ``S`` says, and a zero gradient can still fail;
check the function before such a sum.

A nudge can also be lost whole: below the output's resolution (``np.spacing(|f|)``: 1.2e-4
for ``f = sum(x) + 1e12``, against a change of about ``2 eps``) it moves no output at all,
and its numeric slope is exactly 0. Such a nudge says only that the true slope is at most
``R``, the input's bound ``r`` taken over every output (``|f| * 2**-52`` is
``np.spacing(|f|)`` within a factor of 2; every output, as a lost nudge does not tell
which outputs it reaches). Where backprop's value lies above ``r`` (more than rounding
explains) but within ``R``, the nudge can neither pass nor fail it: the entry (in
``direction`` mode, the direction) is *unresolved*, left out of the relative error, and
the verdict is INCONCLUSIVE rather than FAILED, unless another entry fails (retry with a
larger ``eps``). Backprop's value beyond ``R`` still fails against the 0, and one within
``r`` is compared with it as any other (an input ``f`` does not use, a dead ReLU unit, a
bias before batch norm): a zero gradient where the output hides a real one is beyond
what finite differences at this ``eps`` can see. A nudge whose step is 0 (the input's
own rounding lost it) says nothing at all: its entry (direction) is unresolved whatever
backprop's value, and ``f`` is not evaluated for it.

Advice from the notes, which this function does not enforce:

* Use it to debug, never during training: it costs two evaluations per parameter.
* Include the regularization term in ``f``: the gradient you train with contains it.
* Turn dropout off (``keep_prob=1`` or eval mode): a random mask changes the function
  between evaluations, and the comparison becomes meaningless.
* When it fails, look at the worst entries: they point at the faulty derivation.

Instead of an all-ones upstream gradient, the output is contracted with a random
upstream gradient ``u``: ``L(x) = sum(u * f(x))``. An all-ones ``u`` hides real bugs,
e.g. in softmax, whose outputs sum to a constant.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from chainrule import _checks
from chainrule.autodiff.graph import toposort
from chainrule.autodiff.mode import no_grad
from chainrule.autodiff.tensor import Tensor
from chainrule.nn.module import Module, SideState

MODES = ("full", "direction")


@dataclass
class InputReport:
    """The check of one input: its relative error and worst entries.

    ``rel_error`` is taken over the entries (``direction`` mode: the directions) whose
    nudge was resolved, 0 when none was; ``unresolved`` counts the others (see the module
    docstring). ``worst`` lists ``(index, backprop, numeric)`` for the resolved entries with
    the largest absolute difference (in ``direction`` mode: one row per random direction,
    index ``()``, the slopes along the direction the nudge took).
    """

    position: int
    shape: tuple[int, ...]
    rel_error: float
    worst: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    unresolved: int = 0


@dataclass
class GradcheckResult:
    """The outcome of :func:`gradcheck`; truthy when every input passed.

    ``verdict`` is ``"FAILED"`` when some input's relative error exceeds ``tol`` or is NaN
    (a NaN in backprop's gradient or the numeric one), else
    ``"INCONCLUSIVE"`` when some nudge was unresolved (see the module docstring), else
    ``"PASSED"``; ``passed`` is whether it is ``"PASSED"``.
    """

    passed: bool
    mode: str
    eps: float
    tol: float
    inputs: list[InputReport]

    def __bool__(self) -> bool:
        return self.passed

    @property
    def verdict(self) -> str:
        return _verdict(self.inputs, self.tol)

    def __str__(self) -> str:
        lines = [
            f"gradcheck {self.verdict} ({self.mode} mode, eps={self.eps:g}, tolerance={self.tol:g})"
        ]
        for rep in self.inputs:
            mark = "FAIL" if _fails(rep, self.tol) else "??  " if rep.unresolved else "ok  "
            text = f"relative error {rep.rel_error:.3e}"
            if rep.unresolved:
                nudges = len(rep.worst) if self.mode == "direction" else math.prod(rep.shape)
                text = (
                    f"{rep.unresolved} of {nudges} nudges unresolved (they moved no output: "
                    f"eps={self.eps:g} is below the output's or the input's resolution; retry "
                    "with a larger eps), "
                    f"{text} over the rest"
                )
            lines.append(f"  {mark} input {rep.position} shape {rep.shape}: {text}")
            if _fails(rep, self.tol):
                for index, analytic, numeric in rep.worst:
                    lines.append(
                        f"       at {index}: backprop {analytic:+.6e}  numeric {numeric:+.6e}"
                    )
        return "\n".join(lines)


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    """``||a - b|| / max(||a|| + ||b||, floor)``, and 0 when that denominator is zero.

    ``a`` and ``b`` must have one shape (``ValueError`` otherwise): broadcasting a (3,)
    gradient against the same numbers shaped (3, 1) would report a large error."""
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"relative_error: expected a and b of one shape, got {np.shape(a)} and {np.shape(b)}"
        )
    denom = max(np.linalg.norm(a) + np.linalg.norm(b), floor)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def _fails(rep: InputReport, tol: float) -> bool:
    """Whether ``rep``'s relative error is above ``tol`` or NaN (a NaN gradient, backprop's
    or numeric, compares false with everything and would pass)."""
    return not rep.rel_error <= tol


def _verdict(inputs: list[InputReport], tol: float) -> str:
    """FAILED, INCONCLUSIVE or PASSED for these reports; see :class:`GradcheckResult`."""
    if any(_fails(rep, tol) for rep in inputs):
        return "FAILED"
    return "INCONCLUSIVE" if any(rep.unresolved for rep in inputs) else "PASSED"


def gradcheck(
    f,
    *inputs,
    eps: float = 1e-6,
    tol: float = 1e-7,
    mode: str = "full",
    n_directions: int = 3,
    seed: int = 0,
    n_worst: int = 3,
    module=None,
) -> GradcheckResult:
    """Check the gradients of ``f`` at ``inputs`` against central differences.

    Parameters
    ----------
    f : callable
        Maps the inputs (tensors) to one float64 tensor of any shape.
    *inputs : Tensor or numpy.ndarray
        float64 values. Tensors with ``requires_grad=True`` and all float arrays are
        checked (a float array of another dtype, or a tensor made by an op rather than a
        leaf, raises ``TypeError``); other tensors and integer arrays are passed through
        as constants.
    eps : float
        The finite-difference step (finite, > 0): dL/dx ~ (L(x + eps) - L(x - eps)) / h,
        ``h = (x + eps) - (x - eps)`` as computed (``2 eps`` within rounding).
    tol : float
        Largest relative error that passes: finite, in (0, 1) (every relative error is at
        most 1, so a tolerance of 1 passes anything).
    mode : {"full", "direction"}
        ``full`` perturbs every entry (2 evaluations each); ``direction`` compares the
        directional derivative along ``n_directions`` random unit directions per input
        (2 evaluations each), cheap enough for large inputs. Its roundoff error grows
        with the magnitude of the whole objective, so prefer ``full`` when some values are
        huge (say 1e6) next to ordinary ones.
    n_directions : int
        >= 1; the directions per input of ``direction`` mode.
    seed : int
        >= 0; seeds the random upstream gradient and the random directions.
    n_worst : int
        >= 0; how many entries, those with the largest absolute difference, a report of
        ``full`` mode lists per input (``direction`` mode lists every direction).
    module : chainrule.nn.Module, optional
        The model ``f`` evaluates (``f`` itself when ``f`` is a module): its buffers and
        the states of its random generators are put back, bit for bit, when the check
        ends (an exception from ``f`` included). Every evaluation of ``f`` in training mode
        updates batch-norm running statistics and advances dropout generators; without
        ``module`` those updates stay.

    Returns
    -------
    GradcheckResult
        Per checked input, the relative error and the worst entries; ``bool()`` says
        whether all passed. A check whose nudges are lost to the rounding of a large
        output (``sum(x) + 1e12``) or of a large input (``|x| > 1.7e10`` for ``eps=1e-6``)
        is INCONCLUSIVE, not FAILED: see the module docstring.

    The ``.grad`` of every tensor ``f`` differentiates (the checked inputs and any
    parameter it captures) is left as it was.
    """
    _checks.function("gradcheck", "f", f)
    mode = _checks.choice("gradcheck", "mode", mode, MODES)
    eps = _checks.real("gradcheck", "eps", eps, low=0.0, low_open=True)
    tol = _checks.real("gradcheck", "tol", tol, low=0.0, high=1.0, low_open=True, high_open=True)
    n_directions = _checks.integer("gradcheck", "n_directions", n_directions, low=1)
    seed = _checks.integer("gradcheck", "seed", seed, low=0)
    n_worst = _checks.integer("gradcheck", "n_worst", n_worst, low=0)
    module = _module_of(f, module)
    tensors = [_as_checked(x, i) for i, x in enumerate(inputs)]
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient; nothing to check")
    rng = np.random.default_rng(seed)
    with _left_as_found(module):
        out = _float64_output(f, tensors)
        _float64_throughout(out)
        upstream = rng.standard_normal(out.shape)
        analytic = _backprop(out, upstream, [tensors[i] for i in checked])
        terms = np.abs(upstream * out.data)
        slopes = [_Slope(f, tensors, upstream, terms, eps) for _ in checked]  # one per input
        estimates = [
            _numeric(tensors[i], slope, mode, n_directions, rng)
            for i, slope in zip(checked, slopes, strict=True)
        ]
    moved = np.logical_or.reduce([slope.moved for slope in slopes])
    reports = []
    for i, g, numeric, slope in zip(checked, analytic, estimates, slopes, strict=True):
        bounds = (slope.rounding(moved), slope.resolution())
        floor = bounds[0] / tol
        if mode == "full":
            reports.append(_full_report(i, g, *numeric, n_worst, floor, bounds))
        else:
            reports.append(_direction_report(i, g, *numeric, floor, bounds))
    passed = _verdict(reports, tol) == "PASSED"
    return GradcheckResult(passed=passed, mode=mode, eps=eps, tol=tol, inputs=reports)


def _module_of(f, module) -> Module | None:
    """The module whose side state the check puts back: ``module``, else ``f`` when it is
    a module, else None; ``TypeError`` for a ``module`` that is no Module."""
    if module is None and isinstance(f, Module):
        return f
    if module is not None and not isinstance(module, Module):
        raise TypeError(
            f"gradcheck: module expected a chainrule.nn.Module or None, got "
            f"{type(module).__name__} {module!r:.80}"
        )
    return module


def _float64_output(f, tensors: list[Tensor]) -> Tensor:
    """``f(*tensors)``, or ``TypeError`` unless it is a float64 tensor."""
    out = f(*tensors)
    if not isinstance(out, Tensor) or out.dtype != np.float64:
        got = out.dtype if isinstance(out, Tensor) else type(out).__name__
        raise TypeError(f"gradcheck: f must return a float64 Tensor, got {got}")
    return out


def _float64_throughout(out: Tensor) -> None:
    """``TypeError`` for a tensor of another dtype on the way from the differentiated
    leaves to ``out`` (``f`` computing in float32 and casting back): its rounding swamps
    the differences, and the check would report a correct gradient as wrong."""
    for t in toposort(out) if out.requires_grad else ():
        if t.dtype != np.float64:
            got = (
                f"a {t.dtype} parameter of shape {t.shape}"
                if t.is_leaf
                else f"a {t.dtype} node from op {t._op!r} of shape {t.shape}"
            )
            raise TypeError(
                "gradcheck: f must compute in float64 throughout (in float32 rounding swamps "
                f"the difference), got {got}; build the model and its data in float64"
            )


def _backprop(out: Tensor, upstream: np.ndarray, checked: list[Tensor]) -> list[np.ndarray]:
    """The gradients of ``sum(upstream * out)`` for the ``checked`` tensors (zeros for one
    that ``out`` does not reach), leaving the ``.grad`` of every leaf as it was, and the
    graph for another pass."""
    # every leaf backward reaches, and every checked input (one f does not reach has a
    # gradient of 0, not whatever .grad an earlier backward left)
    reached = [t for t in toposort(out) if t.is_leaf] if out.requires_grad else []
    leaves = list(dict.fromkeys([*reached, *checked]))
    saved_grads = [t.grad for t in leaves]
    for t in leaves:
        t.grad = None
    try:
        if out.requires_grad:
            out.backward(upstream)
        return [t.grad if t.grad is not None else np.zeros(t.shape) for t in checked]
    finally:
        for t, g in zip(leaves, saved_grads, strict=True):
            t.grad = g


class _Slope:
    """The central-difference slopes of ``L(x) = sum(u * f(x))`` along the nudges of one
    checked input, recording which outputs they moved and the smallest step they took
    (for that input's bounds ``r`` and ``R``)."""

    def __init__(self, f, tensors: list[Tensor], upstream: np.ndarray, terms, eps: float):
        self.f, self.tensors, self.upstream, self.eps = f, tensors, upstream, eps
        self.terms = terms  # |u * f(x)|; S of the module docstring: these, where moved
        self.moved = np.zeros(terms.shape, dtype=bool)
        self.step = 2 * eps  # h of the module docstring

    def __call__(self, nudge, step: float) -> tuple[float, bool]:
        """sum(u * (f(x + eps v) - f(x - eps v))) / step, and whether the nudge moved some
        output; ``nudge(s)`` sets x + s eps v, which moves x by ``step`` times the
        direction the slope is taken along. A step of 0 moves nothing: (0, False), and
        ``f`` is not evaluated."""
        if step == 0:
            return 0.0, False
        self.step = min(self.step, step)
        with no_grad():
            nudge(1)
            plus = np.array(self.f(*self.tensors).data, dtype=np.float64)  # a copy: f may return x
            nudge(-1)
            change = plus - self.f(*self.tensors).data
            nudge(0)
        moved = change != 0
        np.logical_or(self.moved, moved, out=self.moved)
        return float(np.sum(self.upstream * change)) / step, bool(moved.any())

    def rounding(self, moved_by_any: np.ndarray) -> float:
        """``r`` of the module docstring: the rounding error of the slopes taken so far,
        over the outputs they moved; when they moved none, over ``moved_by_any``, the
        outputs the nudges of every input moved."""
        return self._bound(self.terms[self.moved if self.moved.any() else moved_by_any])

    def resolution(self) -> float:
        """``R`` of the module docstring: the largest slope a nudge that moved no output
        may hide, ``r`` over every output."""
        return self._bound(self.terms)

    def _bound(self, terms: np.ndarray) -> float:
        return 20 * float(np.sum(terms)) * np.finfo(np.float64).eps / self.step


def _numeric(t: Tensor, slope: _Slope, mode: str, n_directions: int, rng):
    """The numeric estimate for input ``t`` (``mode`` as in :func:`gradcheck`), nudging a
    copy of its data: ``t.data`` is the same array, with the same values, afterwards."""
    original = t.data
    t.data = original.copy()
    try:
        if mode == "full":
            return _numeric_full(t, slope)
        return _numeric_directions(t, slope, n_directions, rng)
    finally:
        t.data = original


@contextmanager
def _left_as_found(module):
    """Put the buffers and generator states of ``module`` (None: nothing) back on exit."""
    if module is None:
        yield
        return
    side = SideState(module)
    saved = side.save()
    try:
        yield
    finally:
        side.restore(saved)


def _as_checked(x, position: int) -> Tensor:
    if isinstance(x, Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        t = Tensor(x, requires_grad=x.dtype.kind == "f")
    else:
        raise TypeError(
            f"gradcheck: input {position} must be a Tensor or an ndarray, got {type(x).__name__}"
        )
    if t.requires_grad and not t.is_leaf:  # backward fills the gradients of leaves only
        raise TypeError(
            f"gradcheck: input {position} was made by the op {t._op!r}; expected a leaf "
            "tensor: pass cr.tensor(x.data, requires_grad=True)"
        )
    if t.requires_grad and t.dtype != np.float64:
        raise TypeError(
            f"gradcheck: input {position} is {t.dtype}; finite differences need float64 "
            "(in float32 rounding swamps the difference): pass x.astype('float64')"
        )
    return t


def _numeric_full(t: Tensor, slope: _Slope) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numeric gradient of every entry of ``t``, one nudge of ``slope.eps`` at a time
    divided by the step it took, where a nudge moved no output and where its step was 0
    (all shaped like ``t``)."""
    eps = slope.eps
    flat = t.data.reshape(-1)  # a view: perturbing it perturbs t.data
    numeric = np.empty(flat.size)
    still = np.empty(flat.size, dtype=bool)
    lost = np.empty(flat.size, dtype=bool)
    for k in range(flat.size):
        ends = (flat[k] - eps, flat[k], flat[k] + eps)

        def nudge(sign, k=k, ends=ends):
            flat[k] = ends[sign + 1]

        step = ends[2] - ends[0]
        numeric[k], moved = slope(nudge, step)
        still[k], lost[k] = not moved, step == 0
    return numeric.reshape(t.shape), still.reshape(t.shape), lost.reshape(t.shape)


def _resolved(analytic: np.ndarray, still: np.ndarray, lost: np.ndarray, bounds: tuple):
    """Where a numeric estimate can judge backprop's ``analytic`` value: everywhere but
    where the step was 0 (``lost``), and where the nudge moved no output and the value lies
    in ``(r, R]``, ``bounds``."""
    size = np.abs(analytic)
    return ~(lost | (still & (size > bounds[0]) & (size <= bounds[1])))


def _full_report(
    position: int, g, numeric, still, lost, n_worst: int, floor: float, bounds: tuple
) -> InputReport:
    resolved = _resolved(g, still, lost, bounds)
    g_in, numeric_in = g[resolved], numeric[resolved]
    diff = np.abs(g_in - numeric_in)
    order = np.flatnonzero(resolved.reshape(-1))[np.argsort(-diff, kind="stable")[:n_worst]]
    worst = [
        (
            tuple(int(i) for i in np.unravel_index(k, g.shape)),
            float(g.flat[k]),
            float(numeric.flat[k]),
        )
        for k in order
    ]
    rel_error = relative_error(g_in, numeric_in, np.sqrt(g_in.size) * floor)
    return InputReport(position, g.shape, rel_error, worst, int(g.size - g_in.size))


def _numeric_directions(t: Tensor, slope: _Slope, n_directions: int, rng):
    """The directions the nudges of ``slope.eps`` along random unit directions ``v`` took,
    ``d / (2 eps)`` for the step ``d = (x + eps v) - (x - eps v)``, the numeric directional
    derivatives along them, where a nudge moved no output and where its step was 0."""
    eps = slope.eps
    base = t.data.copy()
    directions, numeric, still, lost = [], [], [], []
    for _ in range(n_directions):
        v = rng.standard_normal(t.shape)
        v /= np.linalg.norm(v) or 1.0
        ends = (base - eps * v, base, base + eps * v)

        def nudge(sign, ends=ends):
            t.data[...] = ends[sign + 1]

        step = ends[2] - ends[0]
        directions.append(step / (2 * eps))
        lost.append(step.size > 0 and not step.any())  # an empty input has no step to lose
        value, moved = slope(nudge, 0.0 if lost[-1] else 2 * eps)
        numeric.append(value)
        still.append(not moved)
    return directions, np.array(numeric), np.array(still), np.array(lost)


def _direction_report(
    position: int, g, directions, n, still, lost, floor: float, bounds: tuple
) -> InputReport:
    a = np.array([float(np.sum(g * d)) for d in directions])
    resolved = _resolved(a, still, lost, bounds)
    return InputReport(
        position,
        g.shape,
        relative_error(a[resolved], n[resolved], np.sqrt(resolved.sum()) * floor),
        [((), x, y) for x, y in zip(a, n, strict=True)],
        int(len(a) - resolved.sum()),
    )

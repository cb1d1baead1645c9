"""Gradient checking: compare backprop's gradients with central finite differences.

The check the notes teach (seed 002, "梯度检验"): nudge each parameter by +-eps, measure
how the cost moves, and compare with the gradient backprop computed, using the relative
error ``||g - g_num|| / (||g|| + ||g_num||)``. Around 1e-7 or below the gradient is right;
around 1e-3 or above it is almost certainly wrong.

The numeric derivative differences the outputs before it contracts them,
``sum(u * (f(x + eps) - f(x - eps))) / h``: the outputs a nudge leaves alone cancel
exactly, however large they are, an infinite one too (equal outputs differ by 0, not
``inf - inf``; an output that is NaN makes the estimate NaN, and the check fails).
``h`` is the step the nudge took, ``(x + eps) - (x - eps)``
as computed: ``2 eps`` within ``np.spacing(x) / (2 eps)`` relative (2.2e-10 for
``|x| < 4`` and ``eps=1e-6``; exactly ``2 eps`` where ``x +- eps`` are exact, as for a power
of 2 ``eps`` and ``x`` of few bits), far from it for a large ``|x|`` (spacing 1.8e-12 at 1e4,
1.9e-6 at 1e10); where ``x + eps`` and ``x - eps`` round to one number (``|x|`` above about
1.7e10 for ``eps=1e-6``) the step is 0 and the nudge says nothing. In ``direction`` mode
the step along a unit direction ``v`` is the vector ``d = (x + eps v) - (x - eps v)``: the
slope is taken along ``d / (2 eps)``, the direction actually taken (``v`` within
rounding), and backprop's value is ``g . d / (2 eps)``.

Every slope carries rounding error: of the outputs at ``x + eps`` and ``x - eps``, and of
the values ``f`` computes on the way. Nudge ``k`` (an entry; in ``direction`` mode, a
direction) bounds it by ``r_k = 20 * S_k * 2**-52 / h_k``, with ``S_k = sum |u * f(x)|``
over the outputs *linked* to the nudge: those it moved and, in turn, those that another
nudge of the same input moved together with a linked one (a nudge can move an output by
less than its resolution: softmax's output next to 1, when one next to 0 changes, is
moved by the nudge of that row's largest input). Outputs the nudge is not linked to add
nothing: they cancel exactly in its differences, however large they are (a constant, the
other outputs of an elementwise function, the outputs of another input). In ``direction``
mode ``S_k`` is the root of the sum of the squares of those terms: the rounding errors of
many outputs are independent and add as a random walk, and their plain sum, which grows
with the number of outputs, would exceed the directional slope itself.

The notes' formula needs a guard: a gradient that is exactly 0 (a bias just before batch
norm, a shift of softmax's inputs) meets a numeric estimate that is only rounding error,
and the ratio of two near-zeros is about 1. That rounding can also exceed what ``S_k``
sees, as it sees only the outputs: batch norm of inputs near 100 rounds ``x + c`` at 100
while its outputs are near 1, about 50 times ``S_k * 2**-52 / h_k``. So a nudge allows
``5 r_k`` where backprop's value lies within ``r_k`` of 0, and ``r_k`` elsewhere (a nudge
that moved no output: see below); what rounding cannot explain is each
``|g_k - g_num_k|`` less its allowance (0 when within it), and the input fails when that
excess is above ``tol`` relative to the notes' denominator:
``||excess|| > tol * (||g|| + ||g_num||)``. The reported relative error is then the notes'
``||g - g_num|| / (||g|| + ||g_num||)``; for an input that passes it is the same ratio with
a denominator of at least ``||allowances|| / tol``, at most ``tol``. A difference at one
entry is judged by that entry's allowance: rounding elsewhere makes no room for it. The
allowance sees rounding at the outputs' scale, with a margin: when ``f`` rounds at a much
larger scale than its outputs (batch norm of inputs near 1000, or ``batch_norm(x).sum()``,
about 0), even a correct gradient can fail; check the function before such a sum.

An allowance that is not small next to the gradient would pass a wrong gradient as well:
where the outputs are far larger than the changes the input makes (``1 + 1e-9 *
sum(x**2)``; the first layer of a deep sigmoid network, whose gradient is about 1e-9 next
to a cost near 1) the allowances exceed the gradient itself, and a zero or sign-flipped one
shows no excess. So an input passes only when the norm of its allowances is at most
``ROUNDING_SHARE * (||g|| + ||g_num||)`` (0.2: no gradient that is zero, of the wrong sign
or off by more than a factor of 1.5 can pass), or at most ``tol`` times that sum over the
gradients of the inputs that pass so (a gradient that is exactly 0, a bias before batch
norm, checked with the others: the notes' ratio over all of them would not see it either);
a nudge that moved no output counts at most ``|g_k|``, as its estimate is an exact 0 with
no rounding of its own. Otherwise every nudge of the input is unresolved (see below) and
the verdict is INCONCLUSIVE, unless another input fails: retry with a larger ``eps``, as
the allowances shrink as ``1 / eps``.

A nudge can also be lost, whole or in part, below the output's resolution
(``np.spacing(|f|)``: 1.2e-4 for ``f = sum(x) + 1e12``, against a change of about
``2 eps``). A nudge that moves no output has a numeric slope of exactly 0 and no rounding
of its own; it is allowed the input's ``r = 20 * S * 2**-52 / h``, with ``S`` over the
outputs that some nudge of that input moved and ``h`` the smallest step they took (over
the outputs the nudges of every input moved, when its own moved none: backprop's value for
an input ``f`` is exactly invariant to is what sums that cancel leave, about 1e-16, a
rounding the check cannot see). Its 0 says only that the true slope is at most ``R``,
``r`` taken over every output (``|f| * 2**-52`` is ``np.spacing(|f|)`` within a factor of
2; every output, as a lost nudge does not tell which outputs it reaches; an infinite
output, which hides any change, makes ``R`` infinite). Where backprop's
value lies above ``r`` (more than rounding explains) but within ``R``, the nudge can
neither pass nor fail it: the entry (in ``direction`` mode, the direction) is
*unresolved*, left out of the relative error, and the verdict is INCONCLUSIVE rather than
FAILED, unless another entry fails (retry with a larger ``eps``). Backprop's value beyond
``R`` still fails against the 0, and one within ``r`` is compared with it as any other (an
input ``f`` does not use, a dead ReLU unit, a bias before batch norm): a zero gradient
where the output hides a real one is beyond what finite differences at this ``eps`` can
see. Likewise the share of backprop's value that flows through the outputs no nudge of
the input moved (a second backward pass puts ``u`` on those outputs only: a softmax
output next to 1 when every other one in its row is below 1e-11) is what no estimate
sees; when the input fails only at entries whose share lies beyond their allowance but
within ``R`` over those outputs, those entries are unresolved. A nudge whose step is 0
(the input's own rounding lost it) says nothing at all: its entry (direction) is
unresolved whatever backprop's value, and ``f`` is not evaluated for it.

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
from chainrule.autodiff.mode import enable_grad, no_grad
from chainrule.autodiff.tensor import Tensor
from chainrule.nn.module import Module, SideState

MODES = ("full", "direction")
#: Mixed into ``seed`` for the check's own draws ("gradcheck" as an integer).
SALT = int.from_bytes(b"gradcheck", "big")
#: The largest share of ``||g|| + ||g_num||`` that an input's rounding allowances may make
#: up for it to pass: a gradient off by more than a factor of 1.5 (relative error above
#: 0.2), zero, or of the wrong sign cannot pass (see the module docstring).
ROUNDING_SHARE = 0.2


@dataclass
class InputReport:
    """The check of one input: its relative error and worst entries.

    ``rel_error`` is taken over the entries (``direction`` mode: the directions) whose
    nudge was resolved, 0 when none was; ``unresolved`` counts the others (see the module
    docstring). ``worst`` lists ``(index, backprop, numeric)`` for the resolved entries with
    the largest absolute difference (in ``direction`` mode: one row per random direction,
    index ``()``, the slopes along the direction the nudge took). ``within_rounding`` says
    that every nudge is unresolved because the rounding the estimates allow is not small
    next to the gradient: at this ``eps`` a wrong gradient would pass as well.
    """

    position: int
    shape: tuple[int, ...]
    rel_error: float
    worst: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    unresolved: int = 0
    within_rounding: bool = False


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
            nudges = _nudges(rep, self.mode)
            if rep.within_rounding:
                text = (
                    f"{rep.unresolved} of {nudges} nudges unresolved (the rounding their "
                    "estimates may carry is not small next to the gradient: at "
                    f"eps={self.eps:g} a wrong gradient would pass as well; retry with a "
                    "larger eps)"
                )
            elif rep.unresolved:
                text = (
                    f"{rep.unresolved} of {nudges} nudges unresolved (they moved no output, or "
                    f"not all they reach: eps={self.eps:g} is below the output's or the input's "
                    "resolution; retry with a larger eps), "
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
        float64 values. Tensors with ``requires_grad=True`` and float64 arrays are checked;
        a float array of another dtype, a complex array (its gradient is not defined
        here), or a tensor made by an op rather than a leaf raises ``TypeError``, before
        ``f`` runs; other tensors and integer or boolean arrays are passed through as
        constants.
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
        >= 0; seeds the random upstream gradient and the random directions, drawn from
        ``default_rng((seed, SALT))``: a stream apart from ``default_rng(seed)``'s, which
        the inputs themselves are often drawn from (an upstream gradient equal to a
        centred input would nearly cancel a normalization's gradient, leaving rounding
        to judge).
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
        output (``sum(x) + 1e12``; in part, a softmax output next to 1) or of a large input
        (``|x| > 1.7e10`` for ``eps=1e-6``) is INCONCLUSIVE, not FAILED, and so is one whose
        rounding allowances are not small next to the gradient (a gradient about 1e-9
        beside outputs near 1), where a wrong gradient would pass as well: see the module
        docstring.

    The ``.grad`` of every tensor ``f`` differentiates (the checked inputs and any
    parameter it captures) is left as it was. Backprop's pass records the graph even
    inside :class:`~chainrule.no_grad`: the check is the same there as outside.
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
    rng = np.random.default_rng((seed, SALT))
    with _left_as_found(module), enable_grad():  # the same check inside no_grad as outside
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
        hidden = [
            _backprop(out, upstream * ~slope.moved, [tensors[i]])[0]
            if not slope.moved.all()
            else np.zeros(tensors[i].shape)
            for i, slope in zip(checked, slopes, strict=True)
        ]
    moved = np.logical_or.reduce([slope.moved for slope in slopes])
    judged = []
    for i, g, numeric, slope, hid in zip(checked, analytic, estimates, slopes, hidden, strict=True):
        bounds = (slope.rounding(moved), slope.resolution(), slope.unseen())
        rounding = slope.roundings(mode)
        if mode == "full":
            judged.append(_full_report(i, g, *numeric, rounding, hid, n_worst, tol, bounds))
        else:
            judged.append(_direction_report(i, g, *numeric, rounding, hid, tol, bounds))
    reports = _within_rounding(judged, tol, mode)
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
            out.backward(upstream, retain_graph=True)
        return [t.grad if t.grad is not None else np.zeros(t.shape) for t in checked]
    finally:
        for t, g in zip(leaves, saved_grads, strict=True):
            t.grad = g


class _Slope:
    """The central-difference slopes of ``L(x) = sum(u * f(x))`` along the nudges of one
    checked input, recording which outputs they moved, linked, and the step each took
    (for the bounds ``r_k``, and the input's ``r`` and ``R``)."""

    def __init__(self, f, tensors: list[Tensor], upstream: np.ndarray, terms, eps: float):
        self.f, self.tensors, self.upstream, self.eps = f, tensors, upstream, eps
        self.terms = terms  # |u * f(x)|; S of the module docstring: these, where moved
        self.moved = np.zeros(terms.shape, dtype=bool)
        self.step = 2 * eps  # h of the module docstring: the smallest step taken
        self.linked = np.arange(terms.size)  # per output, a label shared by linked outputs
        self.taken: list[tuple[int, float]] = []  # per nudge, an output it moved (-1: none), h_k

    def __call__(self, nudge, step: float) -> tuple[float, bool]:
        """sum(u * (f(x + eps v) - f(x - eps v))) / step, and whether the nudge moved some
        output; ``nudge(s)`` sets x + s eps v, which moves x by ``step`` times the
        direction the slope is taken along. A step of 0 moves nothing: (0, False), and
        ``f`` is not evaluated."""
        if step == 0:
            self.taken.append((-1, step))
            return 0.0, False
        self.step = min(self.step, step)
        with no_grad():
            nudge(1)
            plus = np.array(self.f(*self.tensors).data, dtype=np.float64)  # a copy: f may return x
            nudge(-1)
            minus = self.f(*self.tensors).data
            # equal outputs change by 0, an infinite one too (inf - inf would be NaN)
            change = np.subtract(plus, minus, out=np.zeros_like(plus), where=plus != minus)
            nudge(0)
        moved = change != 0
        np.logical_or(self.moved, moved, out=self.moved)
        self._link(np.flatnonzero(moved), step)
        return float(np.sum(self.upstream * change)) / step, bool(moved.any())

    def _link(self, outputs: np.ndarray, step: float) -> None:
        """Record a nudge of step ``step`` that moved ``outputs`` (flat indices), and link
        them: every output linked to one of them takes one label."""
        self.taken.append((int(outputs[0]) if outputs.size else -1, step))
        if outputs.size > 1:
            labels = np.unique(self.linked[outputs])
            if labels.size > 1:
                self.linked[np.isin(self.linked, labels)] = labels[0]

    def roundings(self, mode: str) -> np.ndarray:
        """``r_k`` of the module docstring for each nudge taken, in order (0 for one that
        moved no output): ``S_k`` sums the terms of the outputs linked to the nudge, or in
        ``direction`` mode takes the root of the sum of their squares."""
        terms = self.terms.reshape(-1)
        if mode == "full":
            size = np.bincount(self.linked, weights=terms, minlength=terms.size)
        else:
            size = np.sqrt(np.bincount(self.linked, weights=terms**2, minlength=terms.size))
        bounds = [0.0 if k < 0 else _bound(size[self.linked[k]], h) for k, h in self.taken]
        return np.array(bounds, dtype=np.float64)

    def rounding(self, moved_by_any: np.ndarray) -> float:
        """``r`` of the module docstring: the rounding error of the slopes taken so far,
        over the outputs they moved; when they moved none, over ``moved_by_any``, the
        outputs the nudges of every input moved."""
        return _bound(self.terms[self.moved if self.moved.any() else moved_by_any], self.step)

    def resolution(self) -> float:
        """``R`` of the module docstring: the largest slope a nudge that moved no output
        may hide, ``r`` over every output."""
        return _bound(self.terms, self.step)

    def unseen(self) -> float:
        """``R`` over the outputs no nudge moved: the largest share of a slope they hide."""
        return _bound(self.terms[~self.moved], self.step)


def _bound(terms, step: float) -> float:
    """``20 * S * 2**-52 / h``, ``S`` the sum of ``terms``."""
    return 20 * float(np.sum(terms)) * np.finfo(np.float64).eps / step


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
    with SideState(module).kept():
        yield


def _as_checked(x, position: int) -> Tensor:
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "c":
            raise TypeError(
                f"gradcheck: input {position} is {x.dtype}; expected a real float64 array "
                "(or an integer one, a constant): gradients of complex inputs are not defined"
            )
        if x.dtype.kind == "f" and x.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {position} is {x.dtype}; expected float64, the precision "
                "the check runs in (in a narrower float rounding swamps the difference): pass "
                "x.astype('float64')"
            )
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


def _allowances(analytic: np.ndarray, rounding: np.ndarray, still: np.ndarray, r: float):
    """How far each estimate may lie from backprop's ``analytic`` value by rounding: the
    input's ``r`` where the nudge moved no output (``still``), else ``5 r_k`` where the
    value lies within ``r_k`` (``rounding``) of 0, else ``r_k``."""
    near_zero = np.abs(analytic) <= rounding
    return np.where(still, r, np.where(near_zero, 5 * rounding, rounding))


def _resolved(analytic: np.ndarray, still: np.ndarray, lost: np.ndarray, bounds: tuple):
    """Where a numeric estimate can judge backprop's ``analytic`` value: everywhere but
    where the step was 0 (``lost``), and where the nudge moved no output and the value lies
    in ``(r, R]``, ``bounds``."""
    size = np.abs(analytic)
    return ~(lost | (still & (size > bounds[0]) & (size <= bounds[1])))


def _beyond_rounding(a: np.ndarray, b: np.ndarray, allowed: np.ndarray, tol: float) -> float:
    """The relative error of ``a`` against ``b``, judged beyond rounding: the notes' ratio
    where ``||max(|a - b| - allowed, 0)||`` exceeds ``tol * (||a|| + ||b||)`` (or is NaN),
    else that ratio with a denominator of at least ``||allowed|| / tol``, at most ``tol``."""
    excess = float(np.linalg.norm(np.maximum(np.abs(a - b) - allowed, 0.0)))
    if not excess <= tol * (np.linalg.norm(a) + np.linalg.norm(b)):
        return relative_error(a, b)
    return min(relative_error(a, b, float(np.linalg.norm(allowed)) / tol), tol)


def _judged(a, b, allowed, resolved, unseen, tol: float) -> tuple[float, np.ndarray]:
    """The relative error over the ``resolved`` entries (directions), and those entries:
    where they fail only for the ones whose share through the outputs no nudge moved lies
    beyond rounding (``unseen``), those are unresolved too."""
    rel_error = _beyond_rounding(a[resolved], b[resolved], allowed[resolved], tol)
    seen = resolved & ~unseen
    if rel_error > tol and (resolved & unseen).any():
        rest = _beyond_rounding(a[seen], b[seen], allowed[seen], tol)
        if rest <= tol:
            return rest, seen
    return rel_error, resolved


def _unseen(hidden: np.ndarray, still: np.ndarray, allowed: np.ndarray, bound: float):
    """Where the share of backprop's value through the outputs no nudge moved (``hidden``)
    lies beyond the ``allowed`` rounding but within ``R`` over those outputs, ``bound``."""
    share = np.abs(hidden)
    return ~still & (share > allowed) & (share <= bound)


def _full_report(
    position: int, g, numeric, still, lost, rounding, hidden, n_worst: int, tol, bounds
) -> tuple[InputReport, tuple[float, float, float]]:
    allowed = _allowances(g, rounding.reshape(g.shape), still, bounds[0])
    unseen = _unseen(hidden, still, allowed, bounds[2])
    rel_error, resolved = _judged(
        g, numeric, allowed, _resolved(g, still, lost, bounds), unseen, tol
    )
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
    report = InputReport(position, g.shape, rel_error, worst, int(g.size - g_in.size))
    return report, _sizes(allowed[resolved], g_in, numeric_in, still[resolved])


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
    position: int, g, directions, n, still, lost, rounding, hidden, tol, bounds
) -> tuple[InputReport, tuple[float, float, float]]:
    a = np.array([float(np.sum(g * d)) for d in directions])
    shares = np.array([float(np.sum(hidden * d)) for d in directions])
    allowed = _allowances(a, rounding, still, bounds[0])
    unseen = _unseen(shares, still, allowed, bounds[2])
    rel_error, resolved = _judged(a, n, allowed, _resolved(a, still, lost, bounds), unseen, tol)
    report = InputReport(
        position,
        g.shape,
        rel_error,
        [((), x, y) for x, y in zip(a, n, strict=True)],
        int(len(a) - resolved.sum()),
    )
    return report, _sizes(allowed[resolved], a[resolved], n[resolved], still[resolved])


def _sizes(allowed, a, b, still) -> tuple[float, float, float]:
    """The norms of the rounding allowed the judged entries (directions), of backprop's
    values ``a`` and of the estimates ``b`` there. A nudge that moved no output (``still``)
    has an estimate of exactly 0 and no rounding of its own: the rounding it allows is at
    most ``|a - b|``, backprop's value."""
    rounding = np.where(still, np.minimum(allowed, np.abs(a - b)), allowed)
    return tuple(float(np.linalg.norm(v)) for v in (rounding, a, b))


def _within_rounding(judged, tol: float, mode: str) -> list[InputReport]:
    """The reports of ``judged``, ``(report, sizes)`` pairs, with every nudge unresolved
    for an input that passes but whose allowances are not small next to its gradient:
    ``||allowed||`` above ``ROUNDING_SHARE * (||g|| + ||g_num||)`` and above ``tol`` times
    that sum over the judged entries (directions) of every input that passes on its own."""
    passing = [not _fails(report, tol) for report, _ in judged]
    own = [
        passes and allowed <= ROUNDING_SHARE * (a + b)
        for passes, (_, (allowed, a, b)) in zip(passing, judged, strict=True)
    ]
    alone = [sizes for (_, sizes), ok in zip(judged, own, strict=True) if ok]
    whole = math.hypot(*(s[1] for s in alone)) + math.hypot(*(s[2] for s in alone))
    reports = []
    for (report, (allowed, _, _)), passes, ok in zip(judged, passing, own, strict=True):
        if passes and not ok and allowed > tol * whole:
            worst = report.worst if mode == "direction" else []
            nudges = _nudges(report, mode)
            report = InputReport(report.position, report.shape, 0.0, worst, nudges, True)
        reports.append(report)
    return reports


def _nudges(report: InputReport, mode: str) -> int:
    """How many nudges judged ``report``'s input: one per entry in ``"full"`` mode, one per
    direction (its ``worst``) in ``"direction"`` mode."""
    return math.prod(report.shape) if mode == "full" else len(report.worst)

"""Trace a loss function once, then replay its forward and backward passes as a plan.

The eager engine builds the graph anew at every step: tensors, nodes, closures, a
topological sort and a dictionary of pending gradients. For a small network most of a
step is that bookkeeping, not arithmetic. But a training step applies the same
primitives to arrays of the same shapes every time, so the graph of the first step
already says everything: which kernels run, in which order, which output feeds which
input. :func:`trace_backward` records that and replays it: every primitive's kernel
(see :func:`~chainrule.autodiff.tensor.apply`) runs on new arrays held in numbered
slots, and the rules run in reverse recording order, the gradients summed in the order
the eager pass sums them. The result is the same, bit for bit, as
``fn(*inputs).backward()``.

What a replay assumes, and how it is kept honest:

* The function applies the same primitives, in the same order, to inputs of the same
  shapes and dtypes: no branching on values (JAX's ``jit`` assumes the same), and the
  Python values it reads (a layer's activation, a penalty's strength) are those of the
  first call. A new signature of the inputs (the last, smaller batch) gets a plan of its
  own; to change such a value, trace the function anew. To catch a function that breaks
  this (a branch on its inputs' values, a Python number computed from them), the first
  two calls of every signature run eagerly and are both recorded, and the plan is
  replayed from the third call on only if the two records agree: the same kernels on the
  same slots with the same arguments and the same constants. If they differ, the second
  call raises ``TraceError`` before any gradient is accumulated. From the third call on
  nothing of the kind is checked: a branch on an array that two calls take alike and a
  later call would not (``if x.data.max() < 10``) is replayed as recorded. A tensor's own
  value read in Python (``bool(t)``, as in ``if loss > 10:``, ``t.item()`` and
  ``t.numpy()``) refuses the trace at once (``t.data`` does not: what is computed from it
  is checked as above), and an input that is not numbers (a flag, ``None``) is refused by
  position: pass settings by closure. What stays among tensors is replayed on the new
  values: comparisons (``where(h > 0, h, 0)``, ``(loss > c).astype(...)``), a tensor made
  of a tensor (``cr.tensor(t)``) and the tensors of an index (``h[i]``,
  ``logits[rows, labels]``); an index whose result's shape depends on its values (a
  boolean tensor) refuses the trace. A replay runs none of the function's Python: its
  side effects (a counter, a list it appends to, a print of a tensor) happen only in the
  calls that record, including a call whose record is then refused.
* A layer that does nothing in one mode (dropout in evaluation) puts a guard on the plan
  (:func:`~chainrule.autodiff.mode.trace_guard`): a plan recorded in one mode is not
  replayed in the other.
* One thread records at a time: the tape is the recording thread's (a switch of
  :mod:`~chainrule.autodiff.mode`, each thread's own), so only its operations are
  recorded, and a call that would record while another thread records runs eagerly
  instead (recording nothing). A replay records nothing and runs alongside.
* Everything that varies between calls is an input (the batch) or a tensor made before
  the call (the parameters, read afresh at every replay; a change of their shape, dtype or
  ``requires_grad`` makes a new plan). Ops that draw random numbers or update buffers
  (dropout, batch norm) are made with :func:`~chainrule.autodiff.tensor.node`, have no
  kernel to replay, and refuse to be traced, as does an op given a tensor made inside the
  function of an array or a list, whatever its size (``cr.tensor(w[y.data])``, an array
  operand: it could hold values of an input, which a replay would not see), and a
  primitive given an array outside its tensor inputs (an array index, say). A tensor
  made inside of a Python or NumPy number (``x * 2.0``, ``cr.tensor(0.5)``) is a
  constant, its value checked only by the second call.
* Checks of values made inside kernels (a label's range) run at every replay; checks of
  structure are the signature's.
"""

from __future__ import annotations

import numbers
import threading

import numpy as np

from chainrule import _checks
from chainrule.autodiff.graph import _accumulate, check_grad
from chainrule.autodiff.mode import MODE
from chainrule.autodiff.tensor import Tensor, _sequence

#: Held by the thread that records (its ``MODE.tape`` set): taken without waiting, so the
#: other threads run eagerly meanwhile.
_RECORDING = threading.Lock()


class TraceError(TypeError):
    """A function cannot be traced: it does something a replay would not repeat."""


def trace_backward(fn):
    """Make ``step(*inputs)`` do ``fn(*inputs).backward()`` by replaying a recorded plan.

    Parameters
    ----------
    fn : callable
        Maps tensors (the inputs, as given to ``step``) to a scalar tensor, typically the
        loss of a batch under the model's parameters, which ``fn`` reaches by closure; or
        to a tuple ``(loss, *aux)`` of tensors, where ``aux`` are values wanted beside the
        loss (the model's output, say) and only ``loss`` is differentiated.

    Returns
    -------
    Traced
        ``step(*inputs)`` takes arrays or tensors (data: an input that requires a gradient
        is refused) or numbers, and hands ``fn`` each input as a tensor: a list or tuple
        of integers keeps the integer dtype NumPy gives it (class labels), other Python
        numbers become float32, as in ``cr.tensor``. It accumulates d fn / d leaf into
        ``.grad`` of every leaf tensor that requires a gradient, exactly as
        ``fn(*inputs).backward()`` would, and returns the value of ``fn`` (each tensor
        without a graph). The first call with a given signature (shapes and dtypes of the
        inputs) runs ``fn`` eagerly and records it; later calls replay the record once a
        second call has recorded the same program (see the module docstring). Under
        ``detect_anomaly`` every call runs eagerly.

    Raises
    ------
    TraceError
        At the first call, if ``fn`` uses an op that cannot be replayed, or at the second,
        if its program differs from the first call's (see the module docstring); nothing
        has been changed then.
    TypeError, ValueError
        At any call, as ``backward()`` does, if a leaf's ``grad`` cannot take its gradient
        (:func:`~chainrule.autodiff.graph.check_grad`); no gradient has been stored.
    """
    return Traced(fn)


class Traced:
    """A function traced by :func:`trace_backward`: one :class:`_Plan` per signature."""

    def __init__(self, fn):
        self.fn = _checks.function("trace_backward", "fn", fn)
        self._plans: dict[tuple, _Plan] = {}

    def __call__(self, *inputs) -> Tensor | tuple[Tensor, ...]:
        arrays = [_input_array(i, x) for i, x in enumerate(inputs)]
        if MODE.tape is not None:  # this thread's
            raise TraceError("trace_backward: a traced function cannot be called while tracing")
        if MODE.anomaly:
            return self._eager(arrays)
        key = (
            tuple((a.shape, a.dtype) for a in arrays),
            MODE.grad_enabled,
            MODE.compiled,
        )
        plan = self._plans.get(key)
        if plan is not None and plan.current():
            if plan.confirmed:
                values = plan.replay(arrays)
                return tuple(map(Tensor, values)) if plan.aux else Tensor(values[0])
            again, out = self._record(arrays)
            if again is None:
                return self._backward(out)
            if not plan.same_program(again):
                del self._plans[key]
                raise TraceError(
                    "trace_backward: cannot replay this function: its second call applied "
                    "other primitives, arguments, constants or tensors from outside it than "
                    "its first (it depends on its inputs' values outside the primitives: a "
                    "branch, or a Python number computed from them; or it reads another "
                    "outside tensor from call to call); run it eagerly"
                )
            plan.confirmed = True
            return self._backward(out)
        plan, out = self._record(arrays)
        return self._backward(out, plan, key)

    def _record(self, arrays):
        """Run ``fn`` eagerly on ``arrays`` while recording it: (the plan, ``fn``'s value),
        or (None, ``fn``'s value) unrecorded if another thread is recording."""
        tensors = [Tensor(a) for a in arrays]
        plan = _Plan(tensors)
        if not _RECORDING.acquire(blocking=False):
            return None, self.fn(*tensors)  # the tape is another thread's
        MODE.tape = plan
        try:
            out = self.fn(*tensors)
        finally:
            MODE.tape = None
            _RECORDING.release()
        plan.finish(out)
        return plan, out

    def _eager(self, arrays):
        return self._backward(self.fn(*(Tensor(a) for a in arrays)))

    def _backward(self, out, plan=None, key=None):
        outputs = _outputs(out)
        outputs[0].backward()  # raises as the eager pass does (a non-scalar output, no graph)
        if plan is not None:
            self._plans[key] = plan
        detached = tuple(t.detach() for t in outputs)
        return detached if isinstance(out, tuple) else detached[0]


def _outputs(out) -> tuple[Tensor, ...]:
    """``fn``'s value as a tuple ``(loss, *aux)`` of tensors, or a ``TypeError``."""
    outputs = out if isinstance(out, tuple) else (out,)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        got = ", ".join(type(t).__name__ for t in outputs) or "an empty tuple"
        raise TypeError(
            "trace_backward: the function must return a Tensor or a tuple of tensors "
            f"(loss, *aux), got {got}"
        )
    return outputs


def _input_array(i: int, x):
    if isinstance(x, Tensor):
        if x.requires_grad:
            raise TraceError(
                f"trace_backward: input {i} requires a gradient; inputs are data (reach "
                "parameters by closure)"
            )
        return x.data
    if type(x) is np.ndarray:
        return x
    data = (numbers.Number, np.ndarray, np.generic, list, tuple)
    if isinstance(x, bool | np.bool_) or not isinstance(x, data):
        # a flag or an object would become a float32 value whose reading a replay freezes
        raise TypeError(
            f"trace_backward: input {i}: expected an array, a tensor or numbers, got "
            f"{type(x).__name__} {x!r}; pass settings by closure"
        )
    if isinstance(x, list | tuple):
        array = np.asarray(x)
        if array.dtype.kind in "iu":  # integers (class labels) stay integers, as fn sees them
            return array
    return Tensor(x).data  # other Python numbers become float32, as in cr.tensor


class _Plan:
    """The record of one trace: kernels over numbered slots, and what fills the slots.

    While tracing it is ``MODE.tape``: :func:`~chainrule.autodiff.tensor.apply` calls
    :meth:`record` for every primitive and :func:`~chainrule.autodiff.tensor.node` calls
    :meth:`refuse`.
    """

    def __init__(self, inputs: list[Tensor]) -> None:
        # slots 0 .. n-1 are the inputs'; tensors numbered from ``start`` on are the trace's
        self.slots: dict[Tensor, int] = {t: i for i, t in enumerate(inputs)}  # by identity
        self.n_inputs = len(inputs)
        self.start = next(_sequence)
        self.steps: list[tuple] = []  # (kernel, input slots, static, output slot, recorded)
        self.captured: list[tuple] = []  # (slot, tensor, shape, dtype, requires_grad)
        self.guards: list = []  # checks that must hold for a replay (mode.trace_guard)
        self.numbers: set[Tensor] = set()  # made inside of a number, not an array (constant)
        self.confirmed = False  # by a second record of the same program (Traced.__call__)

    # -- recording ---------------------------------------------------------------------
    def refuse(self, why: str) -> None:
        raise TraceError(f"trace_backward: cannot replay this function: {why}")

    def guard(self, check) -> None:
        self.guards.append(check)

    def constant(self, t: Tensor) -> None:
        """Take ``t``, made while tracing of a Python or NumPy number (``x * 2.0``), for a
        constant: the second call compares its value, a replay reuses it."""
        self.numbers.add(t)

    def record(self, kernel, parents, static, out: Tensor) -> None:
        for s in static:
            if _holds_array(s):
                self.refuse(
                    f"{kernel.__name__} was given an array outside its tensor inputs "
                    "(a replay would reuse its values); pass it as a tensor, an input of "
                    "the function or one made before tracing"
                )
        ins = tuple(self._slot(p) for p in parents)
        self.slots[out] = len(self.slots)
        self.steps.append((kernel, ins, static, self.slots[out], out.requires_grad))

    def _slot(self, t: Tensor) -> int:
        slot = self.slots.get(t)
        if slot is not None:
            return slot
        if t._seq >= self.start and t not in self.numbers:
            self.refuse(
                f"a tensor of shape {t.shape} was made from an array inside the function "
                "(cr.tensor(...) of an array or a list, or an array operand of an op: a "
                "replay would reuse its values, whatever its size); make it an input of the "
                "function, or make it before tracing"
            )
        if t.requires_grad and t._vjp is not None:
            self.refuse(
                f"a tensor of shape {t.shape} computed outside the function (op {t._op!r}) "
                "carries a graph; backpropagate through it eagerly"
            )
        slot = self.slots[t] = len(self.slots)
        self.captured.append((slot, t, t.data.shape, t.data.dtype, t.requires_grad))
        return slot

    def finish(self, out) -> None:
        """Close the record: name the outputs and plan the backward."""
        self.aux = isinstance(out, tuple)
        outputs = _outputs(out)
        self.outputs = [self._slot(t) for t in outputs]
        self.root = self.outputs[0]
        needs = {slot for slot, t, *_ in self.captured if t.requires_grad}
        for *_, out_slot, differentiable in self.steps:
            if differentiable:
                needs.add(out_slot)
        # the backward: each recorded rule whose output needs a gradient, last first, with
        # the positions and slots of the parents that take one
        self.rules = [
            (k, out_slot, tuple((pos, s) for pos, s in enumerate(ins) if s in needs))
            for k, (_, ins, _, out_slot, differentiable) in reversed(list(enumerate(self.steps)))
            if differentiable
        ]
        self.leaves = [(slot, t) for slot, t, *_ in self.captured if t.requires_grad]
        self.fills = [(slot, t) for slot, t, *_ in self.captured]
        self.n_slots = len(self.slots)
        self.seed = np.ones(outputs[0].data.shape, outputs[0].data.dtype)  # d loss / d loss
        del self.slots, self.numbers  # the tensors of the trace are not needed to replay it

    def same_program(self, other: _Plan) -> bool:
        """Whether ``other`` recorded the same program: the same steps (kernels, slots,
        static arguments), the same tensors captured from outside and constants made
        inside with the same values, the same outputs."""
        if self.steps != other.steps or (self.outputs, self.aux) != (other.outputs, other.aux):
            return False
        # the same steps and outputs capture the same slots, in the same order
        for (_, t, *_), (_, t2, *_) in zip(self.captured, other.captured, strict=True):
            inside, inside2 = t._seq >= self.start, t2._seq >= other.start
            if inside != inside2:
                return False
            if not inside and t is not t2:
                return False
            if inside and not (
                t.data.dtype == t2.data.dtype and np.array_equal(t.data, t2.data, equal_nan=True)
            ):
                return False
        return True

    # -- replaying ---------------------------------------------------------------------
    def current(self) -> bool:
        """Whether every captured tensor still has the shape, dtype and flag it was traced
        with, and every guard still holds."""
        for _, t, shape, dtype, requires_grad in self.captured:
            d = t.data
            if d.shape != shape or d.dtype != dtype or t.requires_grad != requires_grad:
                return False
        return not self.guards or all(check() for check in self.guards)

    def replay(self, arrays) -> list[np.ndarray]:
        """The values of the outputs, after accumulating the gradients into the leaves."""
        values = [*arrays, *[None] * (self.n_slots - self.n_inputs)]
        for slot, t in self.fills:
            values[slot] = t.data
        vjps = []
        for kernel, ins, static, out, _ in self.steps:
            values[out], vjp = kernel(*[values[i] for i in ins], *static)
            vjps.append(vjp)
        outputs = [values[i] for i in self.outputs]
        del values  # the rules keep what they need, as in the eager pass
        grads = [None] * self.n_slots
        grads[self.root] = self.seed.copy()  # a rule may hand it on to a leaf's grad
        for k, out, targets in self.rules:
            g = grads[out]
            if g is None:
                continue
            grads[out] = None
            parent_grads = vjps[k](g)
            vjps[k] = None
            for pos, slot in targets:
                pg = parent_grads[pos]
                if pg is not None:
                    previous = grads[slot]
                    grads[slot] = pg if previous is None else previous + pg
        for slot, leaf in self.leaves:  # as store_gradients, without building its pairs
            if leaf.grad is not None and grads[slot] is not None:
                check_grad(leaf)
        for slot, leaf in self.leaves:
            g = grads[slot]
            if g is not None:
                _accumulate(leaf, g)
        return outputs


def _holds_array(x) -> bool:
    """Whether a static argument holds an array, 0-d included (a tensor index's values):
    a replay would reuse it."""
    if isinstance(x, tuple | list):
        return any(_holds_array(i) for i in x)
    if isinstance(x, slice):
        return any(_holds_array(i) for i in (x.start, x.stop, x.step))
    return isinstance(x, np.ndarray)

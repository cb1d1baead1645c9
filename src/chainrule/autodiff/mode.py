"""Switches of the engine, each thread's own: gradients, anomaly detection, compiled
rules (and the recorder of a trace in progress, set only by
:mod:`chainrule.autodiff.trace`).

They are context managers (never bare globals that users flip), restore the previous
value on exit, and nest. A block sets the switch for the thread that enters it only, as
PyTorch's grad mode does: a thread that predicts under ``no_grad`` while another trains
leaves the other's graph recorded. A new thread starts with the defaults (gradients
recorded, no anomaly detection, compiled rules), whatever blocks other threads are in.
"""

from __future__ import annotations

import collections
import threading


class _Mode(threading.local):
    """The switches, each thread's own (``__init__`` runs in each thread at its first
    read: about 0.06 us a read, a few reads an op)."""

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.compiled = True
        self.tape = None  # the recorder of a trace in progress (autodiff.trace), or None
        # what each open block of this thread found, one stack per switch (see _Switch)
        self.saved = collections.defaultdict(list)


MODE = _Mode()


class _Switch:
    """Set one attribute of ``MODE`` for the duration of a ``with`` block: its entry saves
    what it found on the thread's stack for that attribute (``MODE.saved[attr]``), its exit
    puts back the last value saved there. An instance may be entered again inside its own
    block, and by several threads at once. Blocks of different switches may close in any
    order (a generator that opened ``no_grad``, closed inside ``detect_anomaly``): each
    restores its own attribute. Once every block of a thread has closed, in whatever order,
    each switch has the value it had before the first opened (the bottom of its stack)."""

    _attr = ""
    _value = False

    def __enter__(self):
        MODE.saved[self._attr].append(getattr(MODE, self._attr))
        setattr(MODE, self._attr, self._value)
        return self

    def __exit__(self, *exc) -> None:
        setattr(MODE, self._attr, MODE.saved[self._attr].pop())


class no_grad(_Switch):  # noqa: N801 - named like the context managers users know
    """Do not record operations: results carry no graph and ``requires_grad=False``.

    Use it for evaluation and for parameter updates.
    """

    _attr, _value = "grad_enabled", False


class enable_grad(_Switch):  # noqa: N801
    """Record operations again inside a :class:`no_grad` block."""

    _attr, _value = "grad_enabled", True


class detect_anomaly(_Switch):  # noqa: N801
    """Raise :class:`~chainrule.autodiff.graph.NonFiniteValueError` (a ``FloatingPointError``)
    at the first NaN/Inf produced by any op.

    In the forward pass the error names the op whose output is not finite; in the
    backward pass it names the op whose gradient rule produced the non-finite gradient.
    It checks every array, so it is slow: use it to debug, not to train.
    """

    _attr, _value = "anomaly", True


class numpy_rules(_Switch):  # noqa: N801
    """Run every rule with NumPy alone, even where numba (the ``fast`` extra) is installed.

    With numba, a few of the hottest rules run as compiled passes that give the same
    values (the NumPy rule's operations in fewer passes over memory):

    * ``linear`` with an activation and a bias, on a floating NumPy matrix with more than
      one output unit: dZ and db in one pass (relu, sigmoid, tanh); for relu also the bias
      and the activation in one pass; for sigmoid the bias and the negation in one pass
      and 1 / (1 + e) in another, around NumPy's exp;
    * ``softmax_cross_entropy`` (``losses.cross_entropy``) with integer labels and no
      label smoothing, on a NumPy batch: the label check, the shift, the per-example
      losses and the gradient, around NumPy's exp, sum and log.

    This switch runs the NumPy reference instead (to compare, or to measure the core).
    Optimizers choose on their own (``fused=``).
    """

    _attr, _value = "compiled", False


def trace_guard(check) -> None:
    """Inside :func:`~chainrule.autodiff.trace.trace_backward`, replay the plan being
    recorded only while ``check()`` is true: for a Python value the function reads and a
    replay would not read again (a layer's mode, when the layer does nothing in one of
    them). When it turns false, the next call records a new plan."""
    tape = MODE.tape
    if tape is not None:
        tape.guard(check)


def untraceable(why: str) -> None:
    """Inside :func:`~chainrule.autodiff.trace.trace_backward`, raise its ``TraceError``.

    For ops with side effects a replay would not repeat (drawing a random mask, updating
    running statistics, a backward pass of its own): call it before the first of them,
    so a refused trace changes nothing. ``why`` names what would be missed.
    """
    tape = MODE.tape
    if tape is not None:
        tape.refuse(why)


def is_grad_enabled() -> bool:
    """Whether operations are being recorded for backpropagation."""
    return MODE.grad_enabled

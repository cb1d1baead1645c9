"""The registry of primitives: every op with a hand-written gradient rule is listed here.

A primitive is a function that checks its arguments and hands their arrays to its kernel
through :func:`~chainrule.autodiff.tensor.apply`; the kernel computes the forward value and
defines the vector-Jacobian product (VJP) right below it. Because the kernel is the whole
computation, :func:`~chainrule.autodiff.trace.trace_backward` can replay it. These are the
engine's (``ops_math``, ``ops_shape``, ``ops_nn``) and the fused losses of
:mod:`chainrule.functional`. Two rules there, ``dropout`` and ``batch_norm``, make their
node with :func:`~chainrule.autodiff.tensor.node` instead, the forward computed in the
function itself: they draw a random mask or update running statistics, which a replay
would not repeat (a trace refuses them).
Registering a rule makes it part of the test contract: the table-driven gradient check
asserts that every registered primitive is checked.
"""

from __future__ import annotations

from collections.abc import Callable

PRIMITIVES: dict[str, Callable] = {}


def primitive(fn: Callable) -> Callable:
    """Register ``fn`` under its name and return it unchanged (no wrapper, no overhead)."""
    name = fn.__name__.rstrip("_")
    if name in PRIMITIVES:
        raise ValueError(f"primitive {name!r} is registered twice")
    PRIMITIVES[name] = fn
    return fn


def binary_shapes_error(op: str, a, b) -> ValueError:
    return ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together")

"""Arithmetic and elementwise primitives, each forward beside its VJP.

Notation: ``g`` is the upstream gradient dL/d(out); each rule returns dL/d(input) for
every input, ``None`` where an input needs no gradient. Binary rules undo broadcasting
with :func:`unbroadcast`.
"""

from __future__ import annotations

from chainrule.autodiff.backend import array_module
from chainrule.autodiff.broadcast import unbroadcast
from chainrule.autodiff.registry import binary_shapes_error, primitive
from chainrule.autodiff.tensor import Tensor, as_dtype, lift, node


def _pair(a, b, op: str) -> tuple[Tensor, Tensor]:
    """Lift both operands to tensors; refuse mixed dtypes instead of upcasting silently."""
    if isinstance(a, Tensor):
        b = lift(b, a)
    else:
        b = lift(b)
        a = lift(a, b)
    if a.data.dtype != b.data.dtype:
        raise TypeError(
            f"{op}: operands have dtypes {a.data.dtype} and {b.data.dtype}; chainrule never "
            "changes a dtype silently: cast one with .astype()"
        )
    return a, b


def _binary(op: str, compute, a, b):
    try:
        return compute(a.data, b.data)
    except ValueError:
        raise binary_shapes_error(op, a, b) from None


@primitive
def add(a, b):
    a, b = _pair(a, b, "add")
    out = _binary("add", array_module(a.data).add, a, b)
    sa, sb, ra, rb = a.shape, b.shape, a.requires_grad, b.requires_grad

    def vjp(g):
        return (unbroadcast(g, sa) if ra else None, unbroadcast(g, sb) if rb else None)

    return node(out, (a, b), vjp, "add")


@primitive
def sub(a, b):
    a, b = _pair(a, b, "sub")
    out = _binary("sub", array_module(a.data).subtract, a, b)
    sa, sb, ra, rb = a.shape, b.shape, a.requires_grad, b.requires_grad

    def vjp(g):
        return (unbroadcast(g, sa) if ra else None, unbroadcast(-g, sb) if rb else None)

    return node(out, (a, b), vjp, "sub")


@primitive
def mul(a, b):
    a, b = _pair(a, b, "mul")
    x, y = a.data, b.data
    out = _binary("mul", array_module(x).multiply, a, b)
    ra, rb = a.requires_grad, b.requires_grad

    def vjp(g):
        return (
            unbroadcast(g * y, x.shape) if ra else None,
            unbroadcast(g * x, y.shape) if rb else None,
        )

    return node(out, (a, b), vjp, "mul")


@primitive
def div(a, b):
    a, b = _pair(a, b, "div")
    x, y = a.data, b.data
    out = _binary("div", array_module(x).divide, a, b)
    ra, rb = a.requires_grad, b.requires_grad

    def vjp(g):
        return (
            unbroadcast(g / y, x.shape) if ra else None,
            unbroadcast(-g * out / y, y.shape) if rb else None,
        )

    return node(out, (a, b), vjp, "div")


@primitive
def pow_(a, b):
    """``a ** b``. d/da = b a^(b-1); d/db = a^b log(a) (defined for a > 0)."""
    a, b = _pair(a, b, "pow")
    x, y = a.data, b.data
    xp = array_module(x)
    out = _binary("pow", xp.power, a, b)
    ra, rb = a.requires_grad, b.requires_grad

    def vjp(g):
        return (
            unbroadcast(g * y * xp.power(x, y - 1), x.shape) if ra else None,
            unbroadcast(g * out * xp.log(x), y.shape) if rb else None,
        )

    return node(out, (a, b), vjp, "pow")


@primitive
def matmul(a, b):
    """``a @ b`` for 1-D and (batched) N-D operands.

    d/da = g @ b^T, d/db = a^T @ g, with 1-D operands promoted to matrices and batch axes
    summed back to each operand's shape.
    """
    a, b = _pair(a, b, "matmul")
    x, y = a.data, b.data
    if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[0 if y.ndim == 1 else -2]:
        raise ValueError(
            f"matmul: shapes {x.shape} and {y.shape} are not aligned (the last axis of the "
            "first must equal the second-to-last axis of the second)"
        )
    xp = array_module(x)
    try:
        out = xp.matmul(x, y)
    except ValueError:
        raise binary_shapes_error("matmul", a, b) from None
    ra, rb = a.requires_grad, b.requires_grad

    if x.ndim == 2 and y.ndim == 2:

        def vjp(g):
            return (g @ y.T if ra else None, x.T @ g if rb else None)

        return node(out, (a, b), vjp, "matmul")

    x2 = x if x.ndim > 1 else x[None, :]
    y2 = y if y.ndim > 1 else y[:, None]
    out2_shape = xp.broadcast_shapes(x2.shape[:-2], y2.shape[:-2]) + (x2.shape[-2], y2.shape[-1])

    def vjp_nd(g):
        g2 = g.reshape(out2_shape)
        da = db = None
        if ra:
            da = unbroadcast(g2 @ xp.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
        if rb:
            db = unbroadcast(xp.swapaxes(x2, -1, -2) @ g2, y2.shape).reshape(y.shape)
        return da, db

    return node(out, (a, b), vjp_nd, "matmul")


@primitive
def neg(a):
    a = lift(a)
    return node(-a.data, (a,), lambda g: (-g,), "neg")


@primitive
def exp(a):
    a = lift(a)
    xp = array_module(a.data)
    with xp.errstate(under="ignore"):
        out = xp.exp(a.data)
    return node(out, (a,), lambda g: (g * out,), "exp")


@primitive
def log(a):
    a = lift(a)
    x = a.data
    return node(array_module(x).log(x), (a,), lambda g: (g / x,), "log")


@primitive
def sqrt(a):
    a = lift(a)
    out = array_module(a.data).sqrt(a.data)
    return node(out, (a,), lambda g: (g * 0.5 / out,), "sqrt")


@primitive
def abs_(a):
    """|a|; the subgradient at 0 is taken as 0 (sign(0) = 0)."""
    a = lift(a)
    x = a.data
    xp = array_module(x)
    return node(xp.abs(x), (a,), lambda g: (g * xp.sign(x),), "abs")


def _extremum(a, b, op: str, compute, pick_a):
    """Elementwise max or min; the gradient flows to the operand picked (``a`` at ties)."""
    a, b = _pair(a, b, op)
    x, y = a.data, b.data
    xp = array_module(x)
    out = _binary(op, compute, a, b)
    ra, rb = a.requires_grad, b.requires_grad

    def vjp(g):
        picked = pick_a(x, y)
        return (
            unbroadcast(xp.where(picked, g, 0), x.shape) if ra else None,
            unbroadcast(xp.where(picked, 0, g), y.shape) if rb else None,
        )

    return node(out, (a, b), vjp, op)


@primitive
def maximum(a, b):
    """Elementwise max; at ties the gradient goes to ``a``."""
    xp = array_module(getattr(a, "data", a))
    return _extremum(a, b, "maximum", xp.maximum, xp.greater_equal)


@primitive
def minimum(a, b):
    """Elementwise min; at ties the gradient goes to ``a``."""
    xp = array_module(getattr(a, "data", a))
    return _extremum(a, b, "minimum", xp.minimum, xp.less_equal)


@primitive
def clip(a, lo=None, hi=None):
    """Clamp to [lo, hi] (constants); the gradient passes where lo <= a <= hi."""
    a = lift(a)
    x = a.data
    xp = array_module(x)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: expected lo <= hi, got lo={lo}, hi={hi}")
    out = xp.clip(x, lo, hi)

    def vjp(g):
        inside = out == x
        return (xp.where(inside, g, 0),)

    return node(out, (a,), vjp, "clip")


@primitive
def where(condition, a, b):
    """``a`` where ``condition`` else ``b``; the condition is a constant boolean mask."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    a, b = _pair(a, b, "where")
    x, y = a.data, b.data
    xp = array_module(x)
    cond = xp.asarray(cond, dtype=bool)
    try:
        out = xp.where(cond, x, y)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape} (condition), {x.shape} and {y.shape} cannot be "
            "broadcast together"
        ) from None
    ra, rb = a.requires_grad, b.requires_grad

    def vjp(g):
        return (
            unbroadcast(xp.where(cond, g, 0), x.shape) if ra else None,
            unbroadcast(xp.where(cond, 0, g), y.shape) if rb else None,
        )

    return node(out, (a, b), vjp, "where")


@primitive
def astype(a, dtype):
    """Explicit dtype conversion; the gradient is converted back to the input's dtype."""
    a = lift(a)
    target = as_dtype(dtype)
    source = a.data.dtype
    if a.requires_grad and target.kind != "f":
        raise TypeError(f"astype: cannot cast a tensor that requires grad to {target.name}")
    return node(a.data.astype(target), (a,), lambda g: (g.astype(source),), "astype")

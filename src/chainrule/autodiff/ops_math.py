"""Arithmetic and elementwise primitives, each forward beside its VJP.

Notation: ``g`` is the upstream gradient dL/d(out); each rule returns dL/d(input) for
every input, ``None`` where an input needs no gradient. Binary rules undo broadcasting
with :func:`unbroadcast`.
"""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from chainrule.autodiff.backend import array_module
from chainrule.autodiff.blas import two_products
from chainrule.autodiff.broadcast import unbroadcast
from chainrule.autodiff.registry import binary_shapes_error, primitive
from chainrule.autodiff.tensor import (
    DTYPES,
    Tensor,
    _converted,
    apply,
    as_dtype,
    as_scalar,
    floating,
    lift,
)

# what takes the other operand's dtype (see :func:`_pair`)
_PYTHON_OPERANDS = (numbers.Number, np.generic, list, tuple)


def _pair(a, b, op: str) -> tuple[Tensor, Tensor]:
    """Lift both operands to tensors, a scalar or list to the other's dtype whichever side
    it is on (see :func:`lift`): a list or tuple follows an operand that is none of these
    (a tensor, an array), a scalar any operand; refuse mixed dtypes instead of upcasting
    silently."""
    a_follows_b = isinstance(a, numbers.Number | np.generic) or (
        isinstance(a, list | tuple) and not isinstance(b, _PYTHON_OPERANDS)
    )
    if a_follows_b:
        b = lift(b)
        a = lift(a, b)
    else:
        a = lift(a)
        b = lift(b, a)
    if a.data.dtype != b.data.dtype:
        raise mixed_dtypes_error(op, (a, b))
    return a, b


def bool_data_error(op: str) -> TypeError:
    """The error of an op whose arithmetic means nothing on bools: NumPy would compute
    logic (``+`` an OR, ``*`` an AND, ``@`` an OR of ANDs), change the dtype (``**`` to
    int8, ``clip`` to int64) or refuse it in its own words (unary ``-``)."""
    return TypeError(f"{op}: expected a numeric tensor, got bool; cast with .astype()")


def mixed_dtypes_error(op: str, tensors) -> TypeError:
    """The error for operands of different dtypes, each named once, in order."""
    names = list(dict.fromkeys(t.data.dtype.name for t in tensors))
    listed = f"{', '.join(names[:-1])} and {names[-1]}"
    return TypeError(
        f"{op}: operands have dtypes {listed}; chainrule never changes a dtype silently: "
        "cast with .astype()"
    )


def _binary(op: str, kernel, a, b, *static):
    """``apply`` a two-operand kernel (``kernel(x, y, *static, ra, rb)``); a ValueError
    from shapes that do not broadcast becomes an error naming both, any other (a kernel's
    own) passes as it is. The shapes are checked only then: 1.3 us a call otherwise. Bool
    operands (the same dtype, after :func:`_pair`) are refused: see :func:`bool_data_error`."""
    if a.data.dtype == np.bool_:
        raise bool_data_error(op)
    try:
        return apply(op, kernel, (a, b), *static, a.requires_grad, b.requires_grad)
    except ValueError:
        if not _broadcast(a.shape, b.shape):
            raise binary_shapes_error(op, a, b) from None
        raise


def _broadcast(*shapes) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


@primitive
def add(a, b):
    """``a + b``; bool data is refused (see :func:`bool_data_error`). d/da = g, d/db = g,
    each summed back to its operand's shape (broadcasting undone)."""
    a, b = _pair(a, b, "add")
    return _binary("add", _add_kernel, a, b)


def _add_kernel(x, y, ra, rb):
    sa, sb = x.shape, y.shape

    def vjp(g):
        ga = unbroadcast(g, sa) if ra else None
        gb = unbroadcast(g, sb) if rb else None
        if gb is ga and gb is not None:  # one array each: a leaf's .grad may be changed in place
            gb = gb.copy()
        return ga, gb

    return array_module(x).add(x, y), vjp


@primitive
def sub(a, b):
    """``a - b``; bool data is refused. d/da = g, d/db = -g, each summed back to its
    operand's shape (broadcasting undone)."""
    a, b = _pair(a, b, "sub")
    return _binary("sub", _sub_kernel, a, b)


def _sub_kernel(x, y, ra, rb):
    sa, sb = x.shape, y.shape

    def vjp(g):
        return (unbroadcast(g, sa) if ra else None, unbroadcast(-g, sb) if rb else None)

    return array_module(x).subtract(x, y), vjp


@primitive
def mul(a, b):
    """``a * b``; bool data is refused. d/da = g b, d/db = g a, each summed back to its
    operand's shape (broadcasting undone)."""
    a, b = _pair(a, b, "mul")
    return _binary("mul", _mul_kernel, a, b)


def _mul_kernel(x, y, ra, rb):
    def vjp(g):
        return (
            unbroadcast(g * y, x.shape) if ra else None,
            unbroadcast(g * x, y.shape) if rb else None,
        )

    return array_module(x).multiply(x, y), vjp


@primitive
def div(a, b):
    """``a / b`` for float data (``TypeError`` otherwise). d/da = g / b, d/db = -g a / b^2
    (as -g out / b, the output reused), each summed back to its operand's shape
    (broadcasting undone)."""
    a, b = _pair(a, b, "div")
    floating(a, "div")  # the operands share a dtype
    return _binary("div", _div_kernel, a, b)


def _div_kernel(x, y, ra, rb):
    out = array_module(x).divide(x, y)

    def vjp(g):
        return (
            unbroadcast(g / y, x.shape) if ra else None,
            unbroadcast(-g * out / y, y.shape) if rb else None,
        )

    return out, vjp


@primitive
def pow_(a, b):
    """``a ** b``. d/da = b a^(b-1), and 0 where b = 0 (a^0 is constant, so a = 0 or inf
    gives 0, not 0 * inf); d/db = a^b log(a) (defined for a > 0), and 0 where a = 0 and
    b >= 0 (0^b is constant there, as in PyTorch: not 0 * log 0). Integer data takes
    exponents >= 0 only (``ValueError`` otherwise, at every replay of a trace too)."""
    a, b = _pair(a, b, "pow")
    return _binary("pow", _pow_kernel, a, b)


def _pow_kernel(x, y, ra, rb):
    xp = array_module(x)
    try:
        out = xp.power(x, y)
    except ValueError:  # NumPy: "Integers to negative integer powers are not allowed."
        if x.dtype.kind in "iu" and _broadcast(x.shape, y.shape) and (y < 0).any():
            raise ValueError(
                f"pow: expected exponents >= 0 for {x.dtype} data, got {y.min()}; cast to a float "
                "dtype with .astype('float32') for a negative power"
            ) from None
        raise

    def vjp(g):
        da = db = None
        if ra:
            slope = xp.zeros_like(out)
            xp.multiply(y, xp.power(x, xp.where(y == 0, 1, y - 1)), out=slope, where=y != 0)
            da = unbroadcast(g * slope, x.shape)
        if rb:
            constant = (x == 0) & (y >= 0)
            slope = xp.zeros_like(out)
            xp.multiply(out, xp.log(xp.where(constant, 1, x)), out=slope, where=~constant)
            db = unbroadcast(g * slope, y.shape)
        return da, db

    return out, vjp


@primitive
def matmul(a, b):
    """``a @ b`` for 1-D and (batched) N-D operands.

    d/da = g @ b^T, d/db = a^T @ g, with 1-D operands promoted to matrices and batch axes
    summed back to each operand's shape. For two matrices that both need a gradient, the
    two products run side by side where both are large and OpenBLAS runs on 2 threads
    (:func:`~chainrule.autodiff.blas.two_products`).
    """
    a, b = _pair(a, b, "matmul")
    x, y = a.data, b.data
    if x.dtype == np.bool_:
        raise bool_data_error("matmul")
    if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[0 if y.ndim == 1 else -2]:
        raise ValueError(
            f"matmul: shapes {x.shape} and {y.shape} are not aligned (the last axis of the "
            "first must equal the second-to-last axis of the second)"
        )
    try:
        return apply("matmul", _matmul_kernel, (a, b), a.requires_grad, b.requires_grad)
    except ValueError:
        if not _broadcast(x.shape[:-2], y.shape[:-2]):
            raise ValueError(
                f"matmul: the batch axes of shapes {x.shape} and {y.shape} cannot be "
                "broadcast together"
            ) from None
        raise


def _matmul_kernel(x, y, ra, rb):
    xp = array_module(x)
    out = xp.matmul(x, y)
    if x.ndim == 2 and y.ndim == 2:

        def vjp(g):
            if ra and rb:  # NOTE: side by side where both are large (see blas.py)
                return two_products(g, y.T, x.T, g)
            return (g @ y.T if ra else None, x.T @ g if rb else None)

        return out, vjp

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

    return out, vjp_nd


@primitive
def neg(a):
    """-a; bool data is refused (see :func:`bool_data_error`)."""
    a = lift(a)
    if a.data.dtype == np.bool_:
        raise bool_data_error("neg")
    return apply("neg", _neg_kernel, (a,))


def _neg_kernel(x):
    return -x, lambda g: (-g,)


@primitive
def exp(a):
    """e^a for float data (``TypeError`` otherwise), underflowing to 0 silently.
    d/da = g e^a, the output reused."""
    return apply("exp", _exp_kernel, (floating(a, "exp"),))


def _exp_kernel(x):
    xp = array_module(x)
    with xp.errstate(under="ignore"):
        out = xp.exp(x)
    return out, lambda g: (_exp_vjp(g, out),)


# a decorator costs half a ``with`` block per call (see ops_shape._sum_in_range)
@np.errstate(under="ignore")
def _exp_vjp(g, out):
    """g * exp(x): subnormal where exp(x) is (x below about -87 in float32), no error."""
    return g * out


@primitive
def log(a):
    """The natural logarithm of float data (``TypeError`` otherwise). d/da = g / a."""
    return apply("log", _log_kernel, (floating(a, "log"),))


def _log_kernel(x):
    return array_module(x).log(x), lambda g: (g / x,)


@primitive
def sqrt(a):
    """The square root of float data (``TypeError`` otherwise). d/da = g / (2 sqrt(a)),
    the output reused."""
    return apply("sqrt", _sqrt_kernel, (floating(a, "sqrt"),))


def _sqrt_kernel(x):
    out = array_module(x).sqrt(x)
    return out, lambda g: (g * 0.5 / out,)


@primitive
def abs_(a):
    """|a|; the subgradient at 0 is taken as 0 (sign(0) = 0)."""
    return apply("abs", _abs_kernel, (lift(a),))


def _abs_kernel(x):
    xp = array_module(x)
    return xp.abs(x), lambda g: (g * xp.sign(x),)


def _extremum(a, b, op: str, pick: str):
    """Elementwise max or min, the function ``op`` of the operands' array module (taken
    once both are tensors); the gradient flows to the operand picked: ``a`` where
    ``pick(a, b)`` holds (ties included) or ``a`` is NaN, ``b`` elsewhere. ``op``
    propagates NaN, so a NaN output's gradient goes to the NaN operand whichever side it
    is on (``a`` if both are, as at a tie), as the ``max`` reduction's goes to its NaN
    entries."""
    a, b = _pair(a, b, op)
    xp = array_module(a.data)
    return _binary(op, _extremum_kernel, a, b, getattr(xp, op), getattr(xp, pick))


def _extremum_kernel(x, y, compute, pick_a, ra, rb):
    xp = array_module(x)

    def vjp(g):
        picked = pick_a(x, y) | xp.isnan(x)
        return (
            unbroadcast(xp.where(picked, g, 0), x.shape) if ra else None,
            unbroadcast(xp.where(picked, 0, g), y.shape) if rb else None,
        )

    return compute(x, y), vjp


@primitive
def maximum(a, b):
    """Elementwise max; at ties the gradient goes to ``a``, and where the output is NaN
    to the NaN operand (``a`` if both are): see :func:`_extremum`."""
    return _extremum(a, b, "maximum", "greater_equal")


@primitive
def minimum(a, b):
    """Elementwise min; at ties the gradient goes to ``a``, and where the output is NaN
    to the NaN operand (``a`` if both are): see :func:`_extremum`."""
    return _extremum(a, b, "minimum", "less_equal")


@primitive
def clip(a, lo=None, hi=None):
    """Clamp to [lo, hi]; the gradient passes where lo <= a <= hi.

    ``lo`` and ``hi`` are None (no bound) or real numbers other than NaN (``ValueError``:
    NumPy would make every value NaN), Python or NumPy, which take the dtype of ``a``
    (``float32`` data stays ``float32``); integer data takes integer bounds only
    (``TypeError`` otherwise: NumPy would return floats) within its dtype's range
    (``OverflowError`` naming it otherwise, 300 for uint8), and bool data is refused
    (``TypeError``: NumPy would return int64). A bound beyond the range of float data's
    dtype (``1e39`` for ``float32``) rounds to that side's infinity, as NumPy's cast
    rounds it, without NumPy's overflow warning (or its ``OverflowError``, for an int
    beyond ``float64``'s range)."""
    lo = None if lo is None else as_scalar(lo, "clip", "lo")
    hi = None if hi is None else as_scalar(hi, "clip", "hi")
    if lo != lo or hi != hi:  # NaN (None equals itself)
        name = "lo" if lo != lo else "hi"
        raise ValueError(f"clip: expected {name} to be a number or None, got nan")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: expected lo <= hi, got lo={lo}, hi={hi}")
    a = lift(a)
    if a.data.dtype.kind != "f":
        if a.data.dtype == np.bool_:
            raise bool_data_error("clip")
        info = np.iinfo(a.data.dtype)
        for name, bound in (("lo", lo), ("hi", hi)):
            if bound is not None and not isinstance(bound, int):
                raise TypeError(
                    f"clip: {a.data.dtype} data takes integer bounds, got {name}={bound!r}"
                )
            if bound is not None and not info.min <= bound <= info.max:
                raise OverflowError(
                    f"clip: {name}={bound} does not fit {a.data.dtype} data, expected a bound "
                    f"in [{info.min}, {info.max}]"
                )
    else:
        lo, hi = _rounded(lo, a.data.dtype), _rounded(hi, a.data.dtype)
    return apply("clip", _clip_kernel, (a,), lo, hi)


def _rounded(bound, dtype):
    """``bound`` (None or a real number) rounded to the float ``dtype`` as NumPy's cast
    rounds it, where one beyond the dtype's range gives that side's infinity silently."""
    if bound is None:
        return None
    if abs(bound) > sys.float_info.max:  # an int beyond float64's range
        return math.inf if bound > 0 else -math.inf
    with np.errstate(over="ignore"):
        return np.asarray(bound, dtype).item()


def _clip_kernel(x, lo, hi):
    xp = array_module(x)
    out = xp.clip(x, lo, hi)

    def vjp(g):
        inside = out == x
        return (xp.where(inside, g, 0),)

    return out, vjp


@primitive
def where(condition, a, b):
    """``a`` where ``condition`` else ``b``; the condition is a constant boolean mask
    (a comparison such as ``h > 0``, or a bool array, NumPy's or another library's as NumPy
    reads it, the latter copied): ``TypeError`` for any other dtype,
    whose truthiness would select (0.5 and NaN as True), and for a lone ``True`` or
    ``False``, which is what a tensor's ``==`` and ``!=`` give (they compare identity)."""
    if isinstance(condition, bool | np.bool_):
        raise TypeError(
            "where: condition expected a boolean mask (a comparison such as h > 0), got "
            f"the bool {condition}; a tensor's == and != compare identity, so compare its "
            "values (x.data == 0)"
        )
    if isinstance(condition, Tensor):
        mask = condition.data
    elif isinstance(condition, np.ndarray | list | tuple):
        mask = np.asarray(condition)
    else:  # another library's array (a torch mask) as NumPy reads it, copied
        mask = np.asarray(condition).copy()
    if mask.dtype != bool:
        got = f"dtype {mask.dtype}" if mask.dtype != object else type(condition).__name__
        raise TypeError(
            f"where: condition expected a boolean mask (a comparison such as h > 0), got {got}"
        )
    if not isinstance(condition, Tensor):
        condition = Tensor(mask)
    a, b = _pair(a, b, "where")
    try:
        return apply("where", _where_kernel, (condition, a, b), a.requires_grad, b.requires_grad)
    except ValueError:
        raise ValueError(
            f"where: shapes {condition.shape} (condition), {a.shape} and {b.shape} cannot be "
            "broadcast together"
        ) from None


def _where_kernel(c, x, y, ra, rb):
    xp = array_module(x)
    cond = xp.asarray(c, dtype=bool)

    def vjp(g):
        return (
            None,
            unbroadcast(xp.where(cond, g, 0), x.shape) if ra else None,
            unbroadcast(xp.where(cond, 0, g), y.shape) if rb else None,
        )

    return xp.where(cond, x, y), vjp


# (source, target) dtype pairs whose every value the target holds: a wider dtype, or an
# integer (or bool) to a float, whose range is far beyond int64's (a table: np.can_cast
# takes 0.7 us a call)
_CASTS_IN_RANGE = frozenset(
    (source, target)
    for source in map(np.dtype, DTYPES)
    for target in map(np.dtype, DTYPES)
    if np.can_cast(source, target) or (source.kind in "biu" and target.kind == "f")
)


@primitive
def astype(a, dtype):
    """Explicit dtype conversion; the gradient is converted back to the input's dtype.

    The values are checked as those of a :class:`Tensor` converted to ``dtype`` are
    (where NumPy wraps or warns): one beyond ``dtype``'s range (300 for uint8, 1e40 for
    float32) is an ``OverflowError`` naming it, NaN or Inf to an integer dtype a
    ``ValueError``, by the kernel, so that a replay checks them too. A cast that cannot
    meet such a value (a wider dtype, an integer to a float) is not checked."""
    a = lift(a)
    target = as_dtype(dtype)
    if a.requires_grad and target.kind != "f":
        raise TypeError(f"astype: cannot cast a tensor that requires grad to {target.name}")
    checked = (a.data.dtype, target) not in _CASTS_IN_RANGE
    return apply("astype", _astype_kernel, (a,), target, checked)


def _astype_kernel(x, target, checked):
    source = x.dtype
    out = _converted(x, target, "astype") if checked else x.astype(target)
    return out, lambda g: (g.astype(source),)

"""Primitives that move, select, combine or reduce values, each forward beside its VJP."""

from __future__ import annotations

import builtins

from chainrule.autodiff.backend import array_module
from chainrule.autodiff.broadcast import unbroadcast
from chainrule.autodiff.registry import primitive
from chainrule.autodiff.tensor import Tensor, lift, node


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:
        return (axis % ndim,)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for ax in axes:
        if not -ndim <= ax < builtins.max(ndim, 1):
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(ax % builtins.max(ndim, 1) for ax in axes))


def _kept(shape, axes) -> tuple[int, ...]:
    """``shape`` with the reduced axes kept as size 1 (the shape of a keepdims reduction)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@primitive
def sum_(a, axis=None, keepdims: bool = False):
    """Sum over axes; the VJP broadcasts ``g`` back over the summed axes."""
    a = lift(a)
    shape = a.shape
    axes = _axes(axis, a.ndim)
    kept = _kept(shape, axes)
    xp = array_module(a.data)
    out = a.data.sum(axis=axes, keepdims=keepdims)
    return node(out, (a,), lambda g: (xp.broadcast_to(g.reshape(kept), shape),), "sum")


@primitive
def mean(a, axis=None, keepdims: bool = False):
    """Mean over axes (sum / count); the VJP spreads ``g / count`` over the averaged axes."""
    a = lift(a)
    shape = a.shape
    axes = _axes(axis, a.ndim)
    kept = _kept(shape, axes)
    count = 1
    for ax in axes:
        count *= shape[ax]
    xp = array_module(a.data)
    out = a.data.sum(axis=axes, keepdims=keepdims) / count
    return node(out, (a,), lambda g: (xp.broadcast_to(g.reshape(kept) / count, shape),), "mean")


@primitive
def max_(a, axis=None, keepdims: bool = False):
    """Maximum over axes; tied maxima share the gradient equally."""
    a = lift(a)
    x = a.data
    axes = _axes(axis, a.ndim)
    out = x.max(axis=axes, keepdims=True)

    kept = out.shape

    def vjp(g):
        mask = (x == out).astype(x.dtype)
        mask /= mask.sum(axis=axes, keepdims=True)
        return (g.reshape(kept) * mask,)

    result = out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    return node(result, (a,), vjp, "max")


@primitive
def reshape(a, shape):
    a = lift(a)
    source = a.shape
    try:
        out = a.data.reshape(shape)
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {source} ({a.size} values) to {shape}"
        ) from None
    return node(out, (a,), lambda g: (g.reshape(source),), "reshape")


@primitive
def transpose(a, axes=None):
    """Permute axes (reverse them when ``axes`` is None); the VJP applies the inverse."""
    a = lift(a)
    xp = array_module(a.data)
    out = xp.transpose(a.data, axes)
    inverse = None if axes is None else tuple(xp.argsort(axes))
    return node(out, (a,), lambda g: (xp.transpose(g, inverse),), "transpose")


@primitive
def broadcast_to(a, shape):
    a = lift(a)
    source = a.shape
    xp = array_module(a.data)
    try:
        out = xp.broadcast_to(a.data, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {source} to {shape}") from None
    return node(out, (a,), lambda g: (unbroadcast(g, source),), "broadcast_to")


def _is_basic(index) -> bool:
    """True for indices made of ints, slices, None and Ellipsis only (no repeats possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, int | slice) for i in items)


@primitive
def getitem(a, index):
    """``a[index]``, basic or advanced. The VJP scatters ``g`` into zeros, adding at
    repeated indices (``np.add.at``), so gathering a row twice gives it twice the gradient."""
    a = lift(a)
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    x = a.data
    xp = array_module(x)
    out = x[index]
    basic = _is_basic(index)

    def vjp(g):
        full = xp.zeros_like(x)
        if basic:
            full[index] = g
        else:
            xp.add.at(full, index, g)
        return (full,)

    return node(out, (a,), vjp, "getitem")


@primitive
def concatenate(tensors, axis: int = 0):
    tensors = [lift(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: expected at least one tensor, got none")
    xp = array_module(tensors[0].data)
    try:
        out = xp.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concatenate: shapes {shapes} do not match off axis {axis}") from None
    bounds = xp.cumsum([t.shape[axis] for t in tensors])[:-1].tolist()
    return node(out, tuple(tensors), lambda g: tuple(xp.split(g, bounds, axis=axis)), "concatenate")


@primitive
def stack(tensors, axis: int = 0):
    tensors = [lift(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected at least one tensor, got none")
    xp = array_module(tensors[0].data)
    try:
        out = xp.stack([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"stack: expected tensors of one shape, got {shapes}") from None
    n = len(tensors)
    return node(
        out,
        tuple(tensors),
        lambda g: tuple(xp.take(g, i, axis=axis) for i in range(n)),
        "stack",
    )

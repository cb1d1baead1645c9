"""Primitives that move, select, combine or reduce values, each forward beside its VJP."""

from __future__ import annotations

import contextlib
import numbers
import operator

import numpy as np

from chainrule import _checks
from chainrule.autodiff.backend import array_module
from chainrule.autodiff.broadcast import unbroadcast
from chainrule.autodiff.mode import MODE, untraceable
from chainrule.autodiff.ops_math import mixed_dtypes_error
from chainrule.autodiff.registry import primitive
from chainrule.autodiff.tensor import Tensor, apply, floating, lift


def normalize_axis(axis, ndim: int, op: str, of: str = "a tensor") -> int:
    """``axis`` as an index from 0: an integer (Python or NumPy) in [-ndim, ndim), counted
    from the end when negative, an axis of ``of`` (with ``ndim`` dimensions). Anything
    else raises, naming ``op``, the axis, ``of`` and ``ndim``: ``TypeError`` for a
    non-integer (a bool included, as in NumPy), ``ValueError`` out of range."""
    try:
        index = None if isinstance(axis, bool) else operator.index(axis)
    except TypeError:
        index = None
    if index is None:
        raise TypeError(f"{op}: expected an integer axis, got {axis!r}")
    if not -ndim <= index < ndim:
        raise ValueError(f"{op}: axis {index} is out of range for {of} with {ndim} dimensions")
    return index % ndim


def _axes(axis, ndim: int, op: str) -> tuple[int, ...]:
    """The axes a reduction runs over, as sorted indices from 0: all of them for None, else
    the integer ``axis`` or the distinct integers of a tuple or list (see
    :func:`normalize_axis`)."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case
        return (axis % ndim,)
    items = axis if isinstance(axis, tuple | list) else (axis,)
    axes = sorted(normalize_axis(ax, ndim, op) for ax in items)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: expected distinct axes, got {axis!r}")
    return tuple(axes)


def _shape(shape, op: str) -> tuple[int, ...]:
    """``shape``, an integer or a tuple, list or 1-D array of them (Python's or NumPy's, as
    NumPy takes a shape), as a tuple of ints; anything else (text, a float, a bool, as in
    NumPy) is a ``TypeError`` naming ``op``. The values themselves are NumPy's to judge."""
    if type(shape) is tuple and all(type(n) is int for n in shape):  # the common case
        return shape
    sequence = isinstance(shape, tuple | list) or getattr(shape, "ndim", 0) == 1
    try:
        dims = tuple(
            None if isinstance(n, bool | np.bool_) else operator.index(n)
            for n in (shape if sequence else (shape,))
        )
    except TypeError:  # not an integer
        dims = (None,)
    if None in dims:
        raise TypeError(
            f"{op}: expected a shape (an integer or a tuple of integers), got {shape!r}"
        )
    return dims


def _kept(shape, axes) -> tuple[int, ...]:
    """``shape`` with the reduced axes kept as size 1 (the shape of a keepdims reduction)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@primitive
def sum_(a, axis=None, keepdims: bool = False):
    """Sum over axes; the VJP broadcasts ``g`` back over the summed axes. A float tensor
    sums in its dtype; integers and bools sum in int64 (as NumPy accumulates signed ones;
    its uint64 for unsigned ones is no tensor dtype), so that the narrower ones (int8 to
    int32, uint8) never wrap at their own range; a sum beyond int64's range wraps
    silently, as NumPy's does (``[2**62, 2**62]`` sums to ``-2**63``)."""
    a = lift(a)
    keepdims = _checks.boolean("sum", "keepdims", keepdims)
    return apply("sum", _sum_kernel, (a,), _axes(axis, a.ndim, "sum"), keepdims)


def _sum_kernel(x, axes, keepdims):
    shape = x.shape
    kept = _kept(shape, axes)
    xp = array_module(x)
    out = x.sum(axis=axes, keepdims=keepdims, dtype=np.int64 if x.dtype.kind in "biu" else None)
    return out, lambda g: (xp.broadcast_to(g.reshape(kept), shape),)


@primitive
def mean(a, axis=None, keepdims: bool = False):
    """Mean over axes (sum / count); the VJP spreads ``g / count`` over the averaged axes.

    Where the sum of finite values overflows the dtype (float32 ``[3e38] * 4``), the mean
    is ``sum(x * 2^-k) / count * 2^k`` with ``2^k > count`` instead: no partial sum can
    overflow, and scaling by a power of two is exact (but for subnormals), so the mean
    is the sum / count an unbounded exponent would give. Otherwise sum / count as it is."""
    a = floating(a, "mean")
    keepdims = _checks.boolean("mean", "keepdims", keepdims)
    return apply("mean", _mean_kernel, (a,), _axes(axis, a.ndim, "mean"), keepdims)


def _mean_kernel(x, axes, keepdims):
    shape = x.shape
    kept = _kept(shape, axes)
    count = 1
    for ax in axes:
        count *= shape[ax]
    out = mean_in_range(x, axes, keepdims, count)
    return out, lambda g: (array_module(x).broadcast_to(g.reshape(kept) / count, shape),)


def mean_in_range(x, axes, keepdims, count):
    """The mean of array ``x`` over ``axes`` (``count`` entries each): ``sum / count``,
    or, where finite values sum beyond the dtype, ``sum(x * 2^-k) / count * 2^k`` with
    ``2^k > count`` (see :func:`mean`)."""
    try:
        return _sum_in_range(x, axes, keepdims) / count
    except FloatingPointError:
        scale = 2.0 ** count.bit_length()
        with array_module(x).errstate(under="ignore"):
            return (x * (1 / scale)).sum(axis=axes, keepdims=keepdims) / count * scale


# a decorator costs a third of a ``with`` block per call; NumPy >= 2 (the floor of
# pyproject.toml) keeps its state per thread, where 1.x's object swapped threads' settings
@np.errstate(over="raise")
def _sum_in_range(x, axes, keepdims):
    """``x.sum``, raising ``FloatingPointError`` where finite values sum beyond the range
    (NumPy's flag: an inf among the values raises nothing)."""
    return x.sum(axis=axes, keepdims=keepdims)


@primitive
def max_(a, axis=None, keepdims: bool = False):
    """Maximum over axes; tied maxima share the gradient equally. A slice holding NaN has
    maximum NaN (as in NumPy), and its NaN entries are its tied maxima. An axis reduced
    over must have at least one entry (``ValueError`` otherwise: a maximum of nothing)."""
    a = lift(a)
    axes = _axes(axis, a.ndim, "max")
    keepdims = _checks.boolean("max", "keepdims", keepdims)
    if a.data.size == 0 and any(a.shape[ax] == 0 for ax in axes):  # NumPy: a bare error
        where = f"axis {axes[0]}" if len(axes) == 1 else f"axes {axes}"
        raise ValueError(f"max: expected at least one entry along {where}, got shape {a.shape}")
    return apply("max", _max_kernel, (a,), axes, keepdims)


def _max_kernel(x, axes, keepdims):
    out = x.max(axis=axes, keepdims=True)
    kept = out.shape

    def vjp(g):
        hit = x == out
        if x.dtype.kind == "f":  # a NaN is its slice's maximum (max propagates it)
            hit |= array_module(x).isnan(x)
        mask = hit.astype(x.dtype)
        mask /= mask.sum(axis=axes, keepdims=True)
        return (g.reshape(kept) * mask,)

    result = out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    return result, vjp


@primitive
def reshape(a, shape):
    """``a``'s values in ``shape`` (an integer or a tuple of them, one of them -1 for the
    size the others leave; see :func:`_shape`); the VJP reshapes ``g`` back."""
    a = lift(a)
    shape = _shape(shape, "reshape")
    try:
        return apply("reshape", _reshape_kernel, (a,), shape)
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} values) to {shape}"
        ) from None


def _reshape_kernel(x, shape):
    source = x.shape
    return x.reshape(shape), lambda g: (g.reshape(source),)


@primitive
def transpose(a, axes=None):
    """Permute axes (reverse them when ``axes`` is None); the VJP applies the inverse.

    ``axes`` is a permutation of the axes, each as an index or counted from the end
    (-1 the last); anything else raises ``ValueError`` before any work."""
    a = lift(a)
    if axes is not None:
        axes = _permutation(axes, a)
    return apply("transpose", _transpose_kernel, (a,), axes)


def _permutation(axes, a) -> tuple[int, ...]:
    """``axes`` as indices from 0 if they permute the axes of ``a``; else ValueError, but
    ``TypeError`` for a bool among them, as :func:`normalize_axis` refuses one."""
    with contextlib.suppress(TypeError):  # no axes at all: refused below
        axes = tuple(axes)  # read once: a generator too
    if isinstance(axes, tuple) and any(isinstance(i, bool | np.bool_) for i in axes):
        raise TypeError(f"transpose: expected axes as integers, got {axes!r} (a bool among them)")
    try:
        indices = [operator.index(i) for i in axes]
    except TypeError:
        indices = None
    if (
        indices is None
        or not all(-a.ndim <= i < a.ndim for i in indices)
        or sorted(i % a.ndim for i in indices) != list(range(a.ndim))
    ):
        raise ValueError(
            f"transpose: expected a permutation of the {a.ndim} axes of a tensor of shape "
            f"{a.shape} (indices in [-{a.ndim}, {a.ndim})), got {axes!r}"
        )
    return tuple(i % a.ndim for i in indices)


def _transpose_kernel(x, axes):
    xp = array_module(x)
    inverse = None if axes is None else tuple(xp.argsort(axes))
    return xp.transpose(x, axes), lambda g: (xp.transpose(g, inverse),)


@primitive
def broadcast_to(a, shape):
    """``a`` broadcast to ``shape`` (an integer or a tuple of them; see :func:`_shape`);
    the VJP sums ``g`` over the broadcast axes."""
    a = lift(a)
    shape = _shape(shape, "broadcast_to")
    try:
        return apply("broadcast_to", _broadcast_to_kernel, (a,), shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {a.shape} to {shape}") from None


def _broadcast_to_kernel(x, shape):
    source = x.shape
    return array_module(x).broadcast_to(x, shape), lambda g: (unbroadcast(g, source),)


def _is_basic(index) -> bool:
    """True for indices made of ints, slices, None and Ellipsis only (no repeats possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, int | slice) for i in items)


@primitive
def getitem(a, index):
    """``a[index]``, basic or advanced. The VJP scatters ``g`` into zeros, adding at
    repeated indices (``np.add.at``), so gathering a row twice gives it twice the gradient.

    The tensors of an index (``a[i]``, ``a[rows, labels]``) are the op's parents, so
    :func:`~chainrule.autodiff.trace.trace_backward` replays it with their new values;
    an array in an index would be reused by a replay, which refuses it, and so is a
    boolean tensor there (the result's shape depends on its values). A list holding
    tensors is refused (``TypeError``): NumPy reads a list of arrays as one index array,
    PyTorch a list of tensors as a tuple, one per axis; ``a[cr.stack([i, j])]`` and
    ``a[i, j]`` say which."""
    a = lift(a)
    if isinstance(index, Tensor):
        return _gather(a, (index,), None)
    if isinstance(index, tuple):
        positions = tuple(k for k, i in enumerate(index) if isinstance(i, Tensor))
        if positions:  # the tensors' places hold None in the static part
            template = tuple(None if k in positions else i for k, i in enumerate(index))
            return _gather(a, tuple(index[k] for k in positions), (template, positions))
    try:
        return apply("getitem", _getitem_kernel, (a,), index)
    except (IndexError, ValueError):
        if _lists_tensors(index):  # NumPy's errors name only ints, slices, arrays and shapes
            raise TypeError(
                "getitem: expected index tensors alone or in a tuple, got a list holding "
                "tensors, which NumPy would read as one index array and PyTorch as one per "
                "axis; write a[cr.stack([i, j])] for the first, a[i, j] for the second"
            ) from None
        raise


def _lists_tensors(index) -> bool:
    """Whether ``index`` is a list holding a tensor (at any depth), or a tuple with one."""
    if isinstance(index, tuple):
        return any(isinstance(i, list) and _holds_tensor(i) for i in index)
    return isinstance(index, list) and _holds_tensor(index)


def _holds_tensor(items: list | tuple) -> bool:
    """Whether ``items`` holds a tensor, in it or in its nested lists and tuples."""
    return any(
        isinstance(i, Tensor) or (isinstance(i, list | tuple) and _holds_tensor(i)) for i in items
    )


def _gather(a, tensors, layout):
    """``a`` indexed by the tensors of an index, as parents: alone (``layout`` None) or at
    ``positions`` of ``template``, the rest of the index (``layout``). Each must hold
    integers or bools (``IndexError`` otherwise, as in NumPy, naming the cast to make: a
    Python list becomes a float32 tensor)."""
    for t in tensors:
        if t.data.dtype.kind not in "biu":
            raise IndexError(
                f"getitem: index tensor expected an integer or bool dtype, got "
                f"{t.data.dtype}; cast with .astype('int64')"
            )
    if MODE.tape is not None and any(t.data.dtype == np.bool_ for t in tensors):
        untraceable(
            "indexing with a boolean tensor gives a result whose shape depends on its "
            "values; use where(mask, x, 0) instead"
        )
    return apply("getitem", _gather_kernel, (a, *tensors), layout)


def _gather_kernel(x, *rest):
    *arrays, layout = rest
    if layout is None:
        index = arrays[0]
    else:
        template, positions = layout
        index = list(template)
        for k, array in zip(positions, arrays, strict=True):
            index[k] = array
        index = tuple(index)
    out, vjp = _getitem_kernel(x, index)
    missing = (None,) * len(arrays)  # an index takes no gradient
    return out, lambda g: vjp(g) + missing


def _getitem_kernel(x, index):
    xp = array_module(x)
    basic = _is_basic(index)

    def vjp(g):
        full = xp.zeros_like(x)
        if basic:
            full[index] = g
        else:
            xp.add.at(full, index, g)
        return (full,)

    return x[index], vjp


def _to_join(tensors, op: str) -> tuple[Tensor, ...]:
    """The tensors to join: at least one, all of one dtype (never promoted, as in
    :func:`~chainrule.autodiff.ops_math.add`). As there, Python numbers, NumPy scalars,
    lists and tuples take the dtype of the first operand that is none of these (see
    :func:`~chainrule.autodiff.tensor.lift`); tensors and arrays keep their own. Anything
    that cannot be iterated (a number, None, a 0-d array), or iterates in no fixed order
    (a set, a dict), is a ``TypeError`` naming ``op``."""
    try:
        items = iter(tensors)
    except TypeError:
        raise TypeError(
            f"{op}: expected a sequence of tensors, got {type(tensors).__name__} {tensors!r:.80}"
        ) from None
    _checks.ordered(op, "tensors", tensors, "a sequence of tensors")
    follows = (numbers.Number, np.generic, list, tuple)
    tensors = [t if isinstance(t, follows) else lift(t) for t in items]
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    tensors = tuple(lift(t, like) for t in tensors)
    if not tensors:
        raise ValueError(f"{op}: expected at least one tensor, got none")
    dtype = tensors[0].data.dtype
    for t in tensors:
        if t.data.dtype != dtype:
            raise mixed_dtypes_error(op, tensors)
    return tensors


@primitive
def concatenate(tensors, axis: int = 0):
    """Join tensors of one dtype along an existing ``axis``; the VJP splits ``g`` back
    into their slices."""
    tensors = _to_join(tensors, "concatenate")
    axis = normalize_axis(axis, tensors[0].ndim, "concatenate")
    try:
        return apply("concatenate", _concatenate_kernel, tensors, axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concatenate: shapes {shapes} do not match off axis {axis}") from None


def _concatenate_kernel(*args):
    *arrays, axis = args
    xp = array_module(arrays[0])
    bounds = xp.cumsum([a.shape[axis] for a in arrays])[:-1].tolist()
    return xp.concatenate(arrays, axis=axis), lambda g: tuple(xp.split(g, bounds, axis=axis))


@primitive
def stack(tensors, axis: int = 0):
    """Join tensors of one shape and dtype along a new ``axis`` (in [-ndim - 1, ndim]);
    the VJP takes each one's slice of ``g``."""
    tensors = _to_join(tensors, "stack")
    axis = normalize_axis(axis, tensors[0].ndim + 1, "stack", "the stacked result")
    try:
        return apply("stack", _stack_kernel, tensors, axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"stack: expected tensors of one shape, got {shapes}") from None


def _stack_kernel(*args):
    *arrays, axis = args
    xp = array_module(arrays[0])
    n = len(arrays)
    return xp.stack(arrays, axis=axis), lambda g: tuple(xp.take(g, i, axis=axis) for i in range(n))

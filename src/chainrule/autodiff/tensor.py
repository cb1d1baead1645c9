"""The ``Tensor``: an array, its gradient, and the node of the graph that produced it."""

from __future__ import annotations

import itertools
import numbers
import operator
import reprlib

import numpy as np

from chainrule import _checks
from chainrule.autodiff.mode import MODE, untraceable
from chainrule.autodiff.registry import binary_shapes_error

FLOAT_DTYPES = ("float32", "float64")
DTYPES = (*FLOAT_DTYPES, "int8", "int16", "int32", "int64", "uint8", "bool")
DEFAULT_DTYPE = np.dtype("float32")
_FLOAT64 = np.dtype("float64")

# Creation order: every op's inputs exist before its output, so sorting the nodes of a
# graph by this number is a topological order (see graph.toposort).
_sequence = itertools.count()


_ALLOWED = frozenset(np.dtype(name) for name in DTYPES)
_FLOAT_MAX = {d: float(np.finfo(d).max) for d in _ALLOWED if d.kind == "f"}
# Python's own data: it takes DEFAULT_DTYPE without asking NumPy what it holds
_PYTHON_DATA = frozenset((bool, int, float, complex, list, tuple))
# how an object hands NumPy an array (a torch tensor, a pandas Series, NumPy's own)
_ARRAY_HOOKS = ("__array__", "__array_interface__", "__array_struct__")


def as_dtype(dtype) -> np.dtype:
    """Resolve a dtype name or object to one of :data:`DTYPES`, or raise ``ValueError``.

    Only the machine's native byte order is supported: a dtype of another (``'>f4'``,
    from ``np.fromfile`` or a file format) is refused with the conversion to make, which
    copies the values (NumPy's own results are in the native order anyway). ``None``,
    which NumPy reads as float64, is refused too: where a dtype may be left out (a
    :class:`Tensor`'s), None is handled before this is called."""
    try:
        if dtype in _ALLOWED:  # the fast path: already a supported numpy dtype
            return dtype
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:  # unhashable (a list), or nothing NumPy reads as a dtype
        resolved = None
    if resolved not in _ALLOWED:
        if resolved is not None and resolved.newbyteorder("=") in _ALLOWED:
            raise ValueError(
                f"unknown dtype {dtype!r}: {resolved.name} in non-native byte order; convert "
                "it with a.astype(a.dtype.newbyteorder('=')), or pass the dtype by name"
            )
        raise ValueError(f"unknown dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    return resolved


def float_dtype(owner: str, dtype) -> np.dtype:
    """``dtype`` resolved by :func:`as_dtype`, when it is float32 or float64: ``TypeError``
    for another of :data:`DTYPES`, ``ValueError`` for anything else (None included), both
    ``"<owner>: dtype expected float32 or float64, got ..."`` (layers and initializers)."""
    expected = " or ".join(FLOAT_DTYPES)
    try:
        resolved = as_dtype(dtype)
    except ValueError:
        raise ValueError(f"{owner}: dtype expected {expected}, got {dtype!r:.80}") from None
    if resolved.kind != "f":
        raise TypeError(f"{owner}: dtype expected {expected}, got {resolved}")
    return resolved


class Tensor:
    """An array that can record the operations applied to it, for reverse-mode autodiff.

    Parameters
    ----------
    data : array_like
        The values. Python numbers and lists become ``float32`` unless ``dtype`` says
        otherwise; NumPy arrays keep their dtype (``float64`` stays ``float64``), in the
        machine's byte order (another, ``'>f4'``, is refused: see :func:`as_dtype`). Other
        array-likes whose values NumPy reads as float64, through ``__array__`` or the
        array interface (a float64 torch tensor) or the buffer protocol
        (``array.array('d')``, a memoryview of format ``'d'``), stay ``float64`` (in the
        machine's byte order); any other becomes ``float32`` as Python data does. A NumPy
        array of an allowed dtype is held as it is, not copied (an optimizer's in-place
        step on the tensor writes into it); another library's array-like is copied. Data
        that is not numbers is a ``TypeError``: ``None`` or text, alone or anywhere in a
        list or in an array converted to ``dtype`` (NumPy would make ``None`` NaN and
        parse ``"2"`` as 2), and a list holding tensors (join tensors with ``cr.stack``);
        a ragged list (rows of different lengths) is a ``ValueError``; a number outside
        ``dtype``'s range (300 for uint8, 1e40 for float32) is an ``OverflowError``, and
        NaN or Inf converted to an integer ``dtype`` a ``ValueError``. A tensor gives a
        tensor of its values (in its dtype, or converted to ``dtype``) outside its graph,
        as :meth:`detach`; inside
        :func:`~chainrule.autodiff.trace.trace_backward` that is a recorded step (the
        conversion's checks of values made at every replay), and
        ``requires_grad=True`` refuses the trace (the new leaf's gradient would exist
        only in the traced calls); there a tensor made of a Python or NumPy number is a
        constant of the trace, and one made of an array or a list refuses it where an op
        takes it (a replay would reuse its values).
    requires_grad : bool
        Whether gradients should flow to this tensor. Only floating tensors can. A value
        other than ``True`` or ``False`` (NumPy's bools too) is a ``TypeError``.
    dtype : str or numpy.dtype, optional
        One of :data:`DTYPES`.

    Attributes
    ----------
    data : numpy.ndarray
        The values (read them freely; write them only outside of recorded computations).
    grad : numpy.ndarray or None
        The accumulated gradient after ``backward()``, for tensors that require it.
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_vjp", "_op", "_seq")
    __array_ufunc__ = None  # make ``ndarray op Tensor`` defer to the Tensor's reflected op

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if requires_grad is not False:  # the default costs one identity test
            requires_grad = _checks.boolean("Tensor", "requires_grad", requires_grad)
        source, given = None, data
        if isinstance(data, Tensor):
            source = data
            data = data.data
            if requires_grad:
                untraceable(
                    "a tensor made from a tensor with requires_grad=True inside the function "
                    "would take its gradient only in the traced calls"
                )
        if dtype is None and isinstance(data, np.ndarray | np.generic):
            data = np.asarray(data)
            as_dtype(data.dtype)
        else:
            if data is None or isinstance(data, str | bytes):  # NumPy: NaN, or parsed text
                raise TypeError(f"Tensor: expected numbers or an array, got {data!r}")
            if not isinstance(data, np.ndarray | np.generic) and _array_like(data):
                # a copy: the tensor never writes into a foreign buffer
                data = np.asarray(data).copy()
            if dtype is not None:
                dtype = as_dtype(dtype)
            elif isinstance(data, np.ndarray) and data.dtype.newbyteorder("=") == _FLOAT64:
                dtype = _FLOAT64
            else:
                dtype = DEFAULT_DTYPE
            data = _converted(data, dtype)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad=True needs floating data (float32 or float64), got {data.dtype}"
            )
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self._parents = ()
        self._vjp = None
        self._op = "leaf"
        self._seq = next(_sequence)
        tape = MODE.tape
        if tape is None:
            return
        if source is not None:
            # a copy of a traced tensor (of a comparison, say) must be read again by a replay
            if data.dtype == source.data.dtype:
                tape.record(_detach_kernel, (source,), (), self)
            else:
                tape.record(_convert_kernel, (source,), (data.dtype,), self)
        elif isinstance(given, numbers.Number | np.generic):
            tape.constant(self)  # a number, not an array: a constant of the trace

    # -- description -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op."""
        return self._vjp is None and self._parents == ()

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        """The tensor's rows, as ``self[i]``; a 0-d tensor has none (``TypeError``, as in
        NumPy: without this, iteration would stop at once on ``self[0]``'s error)."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self) -> bool:
        """The truth of a one-element tensor (``if loss < best:``); NumPy's ``ValueError``
        for more elements (without this, Python would ask ``len``: true for any row).
        Inside :func:`~chainrule.autodiff.trace.trace_backward` it refuses the trace: a
        replay would take the branch of the traced call whatever the values."""
        untraceable("a tensor's value read in Python (bool) would not be read again")
        return bool(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._op}" if self._op != "leaf" else ""
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype.name}{grad}{op})"

    def item(self) -> float:
        """The value of a one-element tensor as a Python number; inside
        :func:`~chainrule.autodiff.trace.trace_backward` it refuses the trace, as ``bool``."""
        untraceable("a tensor's value read in Python (item) would not be read again")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The values as an array (the same array: copy it before changing it); inside
        :func:`~chainrule.autodiff.trace.trace_backward` it refuses the trace, as ``item``
        (``t.data`` is the same array without the refusal: what a function computes from
        it is checked only as that function's docstring says)."""
        untraceable("a tensor's value read in Python (numpy) would not be read again")
        return self.data

    def detach(self) -> Tensor:
        """A tensor sharing the values but cut from the graph (inside
        :func:`~chainrule.autodiff.trace.trace_backward`, a recorded step of the replay)."""
        return _constant(_detach_kernel, (self,))

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor; see :func:`chainrule.autodiff.graph.backward`."""
        _graph.backward(self, grad, retain_graph=retain_graph)

    def __reduce__(self):
        """Copies and pickles (``copy.copy``, ``copy.deepcopy``, ``pickle``) rebuild a leaf
        of the same ``data``, ``grad`` and ``requires_grad`` (arrays shared by a shallow
        copy, copied by the others) with a creation number of its own process, taken when
        it is rebuilt: the number held in another process would put it after the ops
        applied to it (``backward`` would reach it before its gradient, and a trace would
        take it for a tensor made inside the function). A tensor computed with a graph
        (``is_leaf`` false) is refused (``TypeError``): its graph would not come along;
        copy ``t.detach()``, as PyTorch's ``deepcopy`` refuses it."""
        if not self.is_leaf:
            raise TypeError(
                f"Tensor: copy or pickle expected a leaf tensor, got the output of op "
                f"{self._op!r} with a graph, which would not come along; copy t.detach()"
            )
        return _rebuilt, (self.data, self.grad, self.requires_grad, self._op)

    # -- operators ---------------------------------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # Comparisons give boolean tensors outside the graph (no gradient), which a trace
    # records as steps of its replay: ``where(h > 0, ...)`` compares the new values at every
    # replay. ``==`` keeps identity semantics so tensors stay hashable, as in micrograd.
    def __lt__(self, other):
        return _compare(self, other, operator.lt)

    def __le__(self, other):
        return _compare(self, other, operator.le)

    def __gt__(self, other):
        return _compare(self, other, operator.gt)

    def __ge__(self, other):
        return _compare(self, other, operator.ge)

    # -- methods -----------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False):
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        return _ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims: bool = False):
        return _ops.max(self, axis, keepdims)

    def reshape(self, *shape):
        return _ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return _ops.transpose(self, None)

    def broadcast_to(self, shape):
        return _ops.broadcast_to(self, shape)

    def astype(self, dtype):
        return _ops.astype(self, dtype)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def clip(self, lo=None, hi=None):
        return _ops.clip(self, lo, hi)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def softmax(self, axis: int = -1):
        return _ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1):
        return _ops.log_softmax(self, axis)


def _convert_kernel(x, dtype):
    """``x`` converted to ``dtype`` with the checks of values of a :class:`Tensor` made
    from a tensor (a value beyond the range, NaN to an integer): a replay makes them too."""
    return _converted(x, dtype), None


def _compare(a: Tensor, other, compare) -> Tensor:
    """``compare(a, other)`` (an ``operator`` function) as a boolean tensor without a
    gradient. A tensor ``other`` is a parent; anything else (a number, an array) is passed
    to the kernel as it is, which keeps NumPy's comparison of Python numbers (``int8``
    data against 1000), and a trace refuses an array there as for any primitive; another
    library's array that refuses NumPy's comparison (a torch tensor) is read as the array
    it hands NumPy. Shapes that do not broadcast (a tensor, array or list ``other``) are a
    ``ValueError`` naming them, as for ``add``, and so is a ragged list; what is no number
    (``None``, text, a list holding them) is a ``TypeError`` naming it. The errors are told
    apart only once the comparison has failed."""
    try:
        if isinstance(other, Tensor):
            return _constant(_compare_kernel, (a, other), compare)
        return _constant(_compare_kernel, (a,), other, compare)
    except ValueError:
        shaped = other
        if isinstance(other, list | tuple):  # as the comparison read it
            if _checks.ragged(other):
                raise ValueError(
                    f"{compare.__name__}: expected a rectangular array, got a ragged "
                    f"{type(other).__name__} {reprlib.repr(other)}"
                ) from None
            shaped = np.asarray(other)
        if isinstance(shaped, Tensor | np.ndarray) and not _ops_math._broadcast(
            a.shape, shaped.shape
        ):
            raise binary_shapes_error(compare.__name__, a, shaped) from None
        raise
    except TypeError as error:
        if isinstance(error, _trace.TraceError):  # the trace refused the step: that stands
            raise
        if not isinstance(other, np.ndarray | np.generic) and _array_like(other):
            return _compare(a, np.asarray(other), compare)
        raise TypeError(
            f"{compare.__name__}: expected a tensor, an array or numbers, got "
            f"{type(other).__name__} {reprlib.repr(other)}"
        ) from None


def _compare_kernel(x, y, compare):
    return compare(x, y), None


def _converted(data, dtype: np.dtype, owner: str = "Tensor") -> np.ndarray:
    """``data`` as an array of ``dtype``; NumPy's error for data that is not one becomes
    one naming ``owner`` (the Tensor, or the op converting): a ``TypeError`` for non-numbers
    (a list holding a string or a tensor), a ``ValueError`` for a ragged list (rows of
    different lengths), an ``OverflowError`` naming ``dtype``'s range for a Python number
    beyond it (300 for uint8) or a float beyond it (1e40 for float32, NaN or not among the
    values), where NumPy warns and gives Inf, and a ``ValueError`` for NaN or Inf converted
    to an integer dtype, where NumPy warns and gives some integer (from an array) or
    refuses in its own words (from Python data). ``None`` and text in a
    list, tuple or array, which NumPy converts (to NaN or ``False``, or the number the text
    spells), and complex numbers, alone (Python's or NumPy's), in a list or tuple or in an
    array, whose imaginary part NumPy drops (or refuses in its own words), are a
    ``TypeError`` too; an integer or float array with values beyond an integer ``dtype``,
    which NumPy wraps (300 to 44 in int8), an ``OverflowError``."""
    kind = _kind(data)
    if kind == "c":
        what = "number" if isinstance(data, numbers.Number | np.generic) else type(data).__name__
        raise TypeError(
            f"{owner}: expected real numbers, got a complex {what} {reprlib.repr(data)} "
            "(NumPy would drop its imaginary part)"
        )
    numeric = isinstance(data, np.ndarray | np.generic) and kind in "iuf"
    if numeric and dtype.kind in "iu" and data.size:
        _check_integer_range(data, dtype, owner)
    try:
        with np.errstate(over="raise", invalid="raise"):  # as errors, not warnings
            array = np.asarray(data, dtype=dtype)
    except (OverflowError, FloatingPointError) as error:
        # NumPy calls a cast to an integer dtype of an array's NaN or Inf, and of a finite
        # float beyond its range, both "invalid", and Inf in Python data an overflow, as a
        # number beyond the range: the values tell them apart (a float dtype holds NaN)
        if dtype.kind in "iu" and _holds_nan_or_inf(data):
            raise _not_finite(data, dtype, owner) from None
        raise _beyond(data, dtype, f"({error})", owner) from None
    except (TypeError, ValueError) as error:
        reason = f"{type(data).__name__} {reprlib.repr(data)} ({error})"
        if isinstance(data, list | tuple) and _holds_tensor(data):
            raise TypeError(
                f"{owner}: expected numbers or an array, got a list or tuple holding "
                "tensors; join them with cr.stack (or cr.concatenate)"
            ) from None
        if dtype.kind in "iu" and _holds_nan_or_inf(data):  # NumPy's ValueError for NaN
            raise _not_finite(data, dtype, owner) from None
        if _checks.ragged(data):
            raise ValueError(
                f"{owner}: expected numbers or a rectangular array, got a ragged {reason}"
            ) from None
        raise TypeError(f"{owner}: expected numbers or an array, got {reason}") from None
    if isinstance(data, list | tuple | np.ndarray):
        held = _non_number(data, kind)
        if held:
            raise TypeError(
                f"{owner}: expected numbers or an array, got {type(data).__name__} "
                f"{reprlib.repr(data)} holding {held[0]!r}, not a number"
            )
    return array


def _kind(data) -> str:
    """The kind of ``data``'s dtype where NumPy's reading of it tells what ``data`` is:
    an array's or a NumPy scalar's own, a list's or tuple's as ``numpy.asarray`` infers it
    (``"O"`` for objects such as ``None``, ``"c"`` for complex numbers; ``""`` for a list
    it cannot read, a ragged one), ``"c"`` for a Python complex, ``""`` for anything else.
    NumPy reads the cells of a list in C, one pass."""
    if isinstance(data, np.ndarray | np.generic):
        return data.dtype.kind
    if isinstance(data, list | tuple):
        try:
            return np.asarray(data).dtype.kind
        except (TypeError, ValueError):  # the conversion to the dtype will say why
            return ""
    return "c" if isinstance(data, complex) else ""


def _array_like(data) -> bool:
    """Whether ``data``, no NumPy array, hands NumPy an array: through ``__array__``, the
    array interface or the buffer protocol. Python numbers, lists and tuples, and other
    objects (a ``Fraction``, a ``deque`` of floats), are Python data."""
    if type(data) in _PYTHON_DATA:
        return False
    if any(hasattr(data, hook) for hook in _ARRAY_HOOKS):
        return True
    try:
        memoryview(data).release()
    except TypeError:  # no buffer either
        return False
    return True


def _check_integer_range(data: np.ndarray | np.generic, dtype: np.dtype, owner: str) -> None:
    """``OverflowError`` naming ``dtype``'s range unless every value of the numeric array
    ``data`` fits it, floats once truncated toward zero as the cast truncates them (255.9
    fits uint8, -1.0 does not); NaN and Inf are left to the cast, which calls them
    invalid."""
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        return
    info = np.iinfo(dtype)
    low, high = data.min(), data.max()
    # integers as they are, exact: NumPy before 2.1 truncated them to float64
    cut = (np.trunc(low), np.trunc(high)) if data.dtype.kind == "f" else (low, high)
    if cut[0] < info.min or cut[1] > info.max:
        raise _beyond(data, dtype, f"with values in [{low}, {high}]", owner)


def _beyond(data, dtype: np.dtype, detail: str, owner: str) -> OverflowError:
    """The ``OverflowError`` of ``data`` with values beyond ``dtype``'s range, naming it."""
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    return OverflowError(
        f"{owner}: expected values in [{info.min!s}, {info.max!s}] for dtype {dtype}, got "
        f"{type(data).__name__} {reprlib.repr(data)} {detail}"
    )


def _not_finite(data, dtype: np.dtype, owner: str) -> ValueError:
    """The ``ValueError`` of ``data`` holding NaN or Inf, converted to the integer
    ``dtype``."""
    return ValueError(
        f"{owner}: expected finite values for dtype {dtype}, got "
        f"{type(data).__name__} {reprlib.repr(data)} holding NaN or Inf"
    )


def _holds_nan_or_inf(data) -> bool:
    """Whether ``data`` (a number, list or array) is floats, as NumPy reads it, holding NaN
    or Inf; text (``"nan"``), objects (``None``, a Python int beyond float64) and a ragged
    list are not."""
    try:
        values = np.asarray(data)
    except (TypeError, ValueError):  # a ragged list
        return False
    return values.dtype.kind == "f" and not np.isfinite(values).all()


def _non_number(data, kind: str) -> tuple:
    """``(cell,)`` for the first ``None``, string or bytes among the cells of ``data`` (a
    list, tuple or array that NumPy converted to numbers, whose dtype, as NumPy reads it,
    has the kind ``kind``: see :func:`_kind`), ``()`` if there is none. Only objects and
    text are looked at one by one."""
    if kind not in ("O", "S", "U"):
        return ()
    for cell in np.asarray(data, dtype=object).flat:
        if cell is None or isinstance(cell, str | bytes):
            return (cell,)
    return ()


def _holds_tensor(data) -> bool:
    """Whether a (nested) list or tuple holds a tensor."""
    return any(
        isinstance(d, Tensor) or (isinstance(d, list | tuple) and _holds_tensor(d)) for d in data
    )


def array_of(x) -> np.ndarray:
    """``x``'s values as an array: a tensor's data (not copied), anything else through
    ``numpy.asarray`` (for functions that take arrays, lists and tensors alike)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Create a :class:`Tensor` (float32 by default for Python data, float64 kept for
    float64 arrays and array-likes; see ``Tensor``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def node(data, parents: tuple, vjp, op: str) -> Tensor:
    """Wrap an op's output array as a graph node.

    ``parents`` are the op's tensor inputs and ``vjp(g)`` returns one gradient per parent
    (``None`` for a parent that needs none). Nothing is recorded when gradient mode is off
    or no parent requires a gradient. This is also the door for user-defined primitives.

    What ``vjp`` returns is checked whenever it runs: a tuple or list of one entry per
    parent (``ValueError`` for another count, ``TypeError`` for another type), and for
    each parent that requires a gradient ``None`` or a NumPy array (or scalar) of that
    parent's dtype (``TypeError`` otherwise) and shape (``ValueError`` otherwise, as for a
    gradient whose broadcasting was not summed back), each naming ``op`` and the parent's
    position; the backward pass then stores no gradient, as when any rule raises.

    A node made here has no forward that could run again without its tensors, so a
    function that makes one cannot be replayed by
    :func:`~chainrule.autodiff.trace.trace_backward` (it raises ``TypeError`` there):
    write a primitive that should be replayable with :func:`apply`.
    """
    untraceable(f"op {op!r} is built with node(), so it has no kernel to replay")
    return _node(data, parents, _checked_rule(vjp, parents, op), op)


def _checked_rule(vjp, parents: tuple, op: str):
    """``vjp``, a rule given to :func:`node`, wrapped so that what it returns is checked
    against the shapes and dtypes ``parents`` have now (see :func:`node`). The engine's
    own rules, run by :func:`apply`, are not wrapped."""
    expected = [(p.data.shape, p.data.dtype) for p in parents]

    def checked(g):
        grads = vjp(g)
        if not isinstance(grads, tuple | list):
            raise TypeError(
                f"op {op!r}: its gradient rule returned {type(grads).__name__}, expected a "
                f"tuple of {len(parents)} gradients (one per parent, None where none is "
                "needed)"
            )
        if len(grads) != len(parents):
            raise ValueError(
                f"op {op!r}: its gradient rule returned {len(grads)} gradients, expected "
                f"{len(parents)} (one per parent, None where none is needed)"
            )
        for i, (parent, pg, (shape, dtype)) in enumerate(
            zip(parents, grads, expected, strict=True)
        ):
            if pg is None or not parent.requires_grad:
                continue
            if not isinstance(pg, np.ndarray | np.generic):
                raise TypeError(
                    f"op {op!r}: the gradient of parent {i} expected a NumPy array of shape "
                    f"{shape} and dtype {dtype} (or None), got {type(pg).__name__}"
                )
            if pg.dtype != dtype:
                raise TypeError(
                    f"op {op!r}: the gradient of parent {i} expected dtype {dtype} (the "
                    f"parent's), got {pg.dtype}; chainrule never changes a dtype silently"
                )
            if pg.shape != shape:
                raise ValueError(
                    f"op {op!r}: the gradient of parent {i} expected shape {shape} (the "
                    f"parent's), got {pg.shape}"
                )
        return grads

    return checked


_data = operator.attrgetter("data")


def apply(op: str, kernel, parents: tuple, *static) -> Tensor:
    """Run a primitive's kernel on the arrays of ``parents`` and wrap its output as a node.

    ``kernel(*arrays, *static)`` returns ``(out, vjp)``: the forward value and the rule
    ``vjp(g)``, one gradient per parent (``None`` where none is needed), written side by
    side. ``static`` holds the rest of the call: shapes, axes, flags such as which parents
    need a gradient, never arrays. The kernel is the whole computation, so
    :func:`~chainrule.autodiff.trace.trace_backward` can run it again on new arrays of the
    same shapes without the primitive's wrapper: checks of structure (shapes, dtypes)
    belong in the wrapper before ``apply``, checks of values (a label's range) in the
    kernel.
    """
    out, vjp = kernel(*map(_data, parents), *static)
    result = _node(out, parents, vjp, op)
    tape = MODE.tape
    if tape is not None:
        tape.record(kernel, parents, static, result)
    return result


def _constant(kernel, parents: tuple, *static) -> Tensor:
    """Run ``kernel`` as :func:`apply` does, but wrap its output as a tensor without a
    gradient (``kernel``'s rule is ``None``): :meth:`Tensor.detach`, comparisons. Inside
    :func:`~chainrule.autodiff.trace.trace_backward` it is recorded, so a replay computes
    the value anew (and never calls a rule for it)."""
    out = Tensor(kernel(*map(_data, parents), *static)[0])
    tape = MODE.tape
    if tape is not None:
        tape.record(kernel, parents, static, out)
    return out


def _detach_kernel(a):
    return a, None


def _rebuilt(data, grad, requires_grad: bool, op: str) -> Tensor:
    """A copy or an unpickled tensor (see :meth:`Tensor.__reduce__`), numbered now."""
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = grad
    out.requires_grad = requires_grad
    out._parents = ()
    out._vjp = None
    out._op = op
    out._seq = next(_sequence)
    return out


def _node(data, parents: tuple, vjp, op: str) -> Tensor:
    if isinstance(data, np.generic):  # NumPy's full reductions give read-only scalars
        data = np.asarray(data)
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = None
    out._op = op
    out._seq = next(_sequence)
    recorded = False
    if MODE.grad_enabled:
        for p in parents:
            if p.requires_grad:
                recorded = True
                break
    if recorded:
        out.requires_grad = True
        out._parents = parents
        out._vjp = vjp
    else:
        out.requires_grad = False
        out._parents = ()
        out._vjp = None
    if MODE.anomaly:
        _graph.check_forward(out, parents)
    return out


def lift(x, like: Tensor | None = None) -> Tensor:
    """Make a constant tensor of ``x``. Python and NumPy scalars, lists and tuples take the
    dtype of a floating ``like`` (``OverflowError`` where a value is beyond its range,
    ``TypeError`` for a complex number, as in :class:`Tensor`), and integer and bool
    scalars, and lists and tuples holding only them, that of an integer ``like``
    (``OverflowError`` where a value does not fit); without ``like``, and for floats
    beside an integer ``like`` (which the op then refuses as a mix of dtypes), Python data
    becomes float32, as in :class:`Tensor`. A bool operand is the number 0 or 1, as in
    NumPy (a parameter is no bool: see :func:`as_scalar`)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, list | tuple):
        kind = like.data.dtype.kind
        if kind == "f" or (kind in "iu" and _kind(x) in ("b", "i", "u")):
            return Tensor(x, dtype=like.data.dtype)
    if like is not None and isinstance(x, numbers.Number | np.generic):
        dtype = like.data.dtype
        if dtype.kind == "f":
            # compared as a Python number: a NumPy float32 against float64's largest value
            # would be a cast of that value to float32 (NumPy's rules), which overflows
            value = x.item() if isinstance(x, np.generic) else x
            if isinstance(value, int | float) and abs(value) <= _FLOAT_MAX[dtype]:  # fits
                return _number(np.asarray(x, dtype=dtype))
            return Tensor(x, dtype=dtype)  # Inf or NaN as they are; beyond, complex: raises
        if dtype.kind in "iu" and isinstance(x, numbers.Integral | np.bool_):
            if not np.iinfo(dtype).min <= x <= np.iinfo(dtype).max:
                raise OverflowError(f"the scalar {x} does not fit the operand's {dtype}")
            return _number(np.asarray(x, dtype=dtype))
    return Tensor(x)


def _number(array: np.ndarray) -> Tensor:
    """A tensor of ``array``, the 0-d array :func:`lift` made of a Python or NumPy number:
    inside :func:`~chainrule.autodiff.trace.trace_backward`, a constant of the trace, as a
    :class:`Tensor` made of the number itself is."""
    out = Tensor(array)
    tape = MODE.tape
    if tape is not None:
        tape.constant(out)
    return out


def floating(x, op: str) -> Tensor:
    """``x`` lifted to a tensor, which must be float32 or float64 (``TypeError``
    otherwise): the ops whose results are fractions never turn integers or bools into
    another dtype silently."""
    x = lift(x)
    if x.data.dtype.kind != "f":
        raise TypeError(
            f"{op}: expected a float32 or float64 tensor, got {x.data.dtype}; cast with "
            ".astype('float32')"
        )
    return x


def as_scalar(x, op: str, name: str):
    """``x``, a real number, as a Python number; anything else raises ``TypeError``, a
    bool too: a bool is a number as an operand (see :func:`lift`), never as a parameter.

    NumPy casts a Python number to the dtype of the array it meets, but lets a NumPy
    ``float64`` promote ``float32`` data to ``float64``: a scalar parameter goes through
    here so that both kinds keep the data's dtype."""
    if type(x) is float or type(x) is int:  # the common case, without the ABC check
        return x
    if not isinstance(x, numbers.Real) or isinstance(x, bool):  # True is no bound of 1.0
        raise TypeError(f"{op}: expected {name} to be a real number, got {type(x).__name__}")
    return x.item() if isinstance(x, np.generic) else x


def check_leaf(owner: str, name: str, value) -> None:
    """Refuse (``TypeError``, naming ``owner`` and the parameter ``name``) a ``value`` that
    is not what training updates: a leaf ``Tensor`` with ``requires_grad=True``. The check
    of :meth:`chainrule.nn.Module.register_parameter` and of the optimizers' parameters."""
    if isinstance(value, Tensor) and value.requires_grad and value.is_leaf:
        return
    got = (
        "a Tensor with requires_grad=False"
        if isinstance(value, Tensor) and not value.requires_grad
        else "a non-leaf Tensor (the output of an op)"
        if isinstance(value, Tensor)
        else type(value).__name__
    )
    raise TypeError(
        f"{owner}: parameter {name!r} expected a leaf cr.Tensor with requires_grad=True, got {got}"
    )


from chainrule.autodiff import graph as _graph  # noqa: E402  (cycle: graph checks nodes)
from chainrule.autodiff import ops as _ops  # noqa: E402  (cycle: ops build tensors)
from chainrule.autodiff import ops_math as _ops_math  # noqa: E402  (the same cycle)
from chainrule.autodiff import trace as _trace  # noqa: E402  (the same cycle)

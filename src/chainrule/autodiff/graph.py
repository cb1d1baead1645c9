"""The backward pass: reverse topological order over the recorded graph.

Backprop is dynamic programming over the computational graph (seed 004): the gradient
of the output with respect to each node is computed once, from the gradients of the
nodes that consume it, and reused by every path through that node.
"""

from __future__ import annotations

import operator
import reprlib

import numpy as np

from chainrule import _checks
from chainrule.autodiff.backend import array_module
from chainrule.autodiff.mode import MODE, untraceable
from chainrule.autodiff.tensor import Tensor, _array_like

_RELEASED = (
    "backward through a graph whose saved values were already released by an earlier "
    "backward() (op {op!r}); call the first backward(retain_graph=True) to backpropagate "
    "through it again"
)


def toposort(root) -> list:
    """Nodes that require a gradient and lead to ``root``, each after all of its parents.

    Every tensor carries its creation number, and an op's inputs always exist before its
    output, so the reachable nodes sorted by creation number are in topological order.
    The walk is iterative (no recursion limit) and the order deterministic, and with it
    every floating-point sum of the backward pass.
    """
    nodes = [root]
    seen = {root}  # tensors hash by identity
    for node in nodes:  # grows while it is walked: a breadth-first collection
        parents = node._parents
        if parents is None:
            raise RuntimeError(_RELEASED.format(op=node._op))
        for parent in parents:
            if parent.requires_grad and parent not in seen:
                seen.add(parent)
                nodes.append(parent)
    nodes.sort(key=_creation)
    return nodes


_creation = operator.attrgetter("_seq")


def backward(root, grad=None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient.

    Parameters
    ----------
    root : Tensor
        The output to differentiate. A non-scalar root needs ``grad``.
    grad : array_like, optional
        The upstream gradient (seed), shaped like ``root``; defaults to 1 for a scalar.
        An array, NumPy scalar or tensor must have ``root``'s dtype; Python numbers, and
        lists of them, take it. Another dtype (float64 for a float32 ``root``, bool, int),
        or anything that is not real numbers, is a ``TypeError``, a seed of another shape
        a ``ValueError``, both raised before any work.
    retain_graph : bool
        Keep the graph (and the values its rules saved) for another backward pass.
        Otherwise the nodes whose rules ran are released once every rule has run. A value
        other than ``True`` or ``False`` (NumPy's bools too) is a ``TypeError``, raised
        before any work.

    The leaves' gradients are stored, and the nodes released, after every rule has run,
    so a pass that raises (a rule's error, or ``detect_anomaly`` finding NaN/Inf) leaves
    every ``grad`` and the graph as they were: it can be run again. So does a leaf whose
    ``grad`` cannot take its gradient (see :func:`store_gradients`), checked before any is
    stored.
    """
    if retain_graph is not False:  # the default costs one identity test
        retain_graph = _checks.boolean("backward()", "retain_graph", retain_graph)
    untraceable("it calls backward() itself")
    if not root.requires_grad:
        raise RuntimeError(
            f"backward() on a tensor that does not require a gradient (op {root._op!r}): "
            "no input of its graph has requires_grad=True"
        )
    xp = array_module(root.data)
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() on a non-scalar tensor of shape {root.shape} needs a seed "
                "gradient of the same shape: call backward(grad=...) or reduce it first"
            )
        seed = xp.ones(root.shape, root.data.dtype)
    else:
        seed = _seed(root, grad, xp)
        if seed.shape != root.shape:
            raise ValueError(
                f"backward(): seed gradient of shape {seed.shape} for a tensor of shape "
                f"{root.shape}; expected the same shape"
            )
    order = toposort(root)  # raises before any work if the graph was released
    anomaly = MODE.anomaly
    grads = {root: seed}  # pending gradients, keyed by tensor (identity)
    # Leaves and nodes whose rules ran, stored and released once every rule has run: a
    # pass that raises changes no gradient and releases nothing.
    leaves = []
    walked = []
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:
            continue
        vjp = node._vjp
        if vjp is None:
            leaves.append((node, g))
            continue
        parent_grads = vjp(g)
        walked.append(node)
        if anomaly:
            _check_backward(node, parent_grads)
        for parent, pg in zip(node._parents, parent_grads):  # noqa: B905 - hot loop
            if pg is None or not parent.requires_grad:
                continue
            previous = grads.get(parent)
            grads[parent] = pg if previous is None else previous + pg
    store_gradients(leaves)
    if not retain_graph:
        for node in walked:
            node._vjp = None
            node._parents = None


def _seed(root, grad, xp):
    """``grad`` as a new array of ``root``'s dtype (a rule may hand the seed on to a leaf's
    grad, which must not be the caller's array, nor change when the caller reuses it).

    What has a dtype (an array, a NumPy scalar, a tensor, another library's array-like as
    NumPy reads it: a torch tensor, an ``array.array``) must have ``root``'s; Python
    numbers, and lists of them, take it (``OverflowError`` for a value beyond its range,
    as for a :class:`Tensor`: 1e40 into float32). Anything else is a ``TypeError``."""
    dtype = root.data.dtype
    array = grad.data if isinstance(grad, Tensor) else grad
    typed = isinstance(getattr(array, "dtype", None), np.dtype)  # a torch dtype is none
    if not typed and _array_like(array):
        array, typed = np.asarray(array), True
    if typed:
        if array.dtype != dtype:
            cast = f"; cast with .astype({dtype.name!r})" if array.dtype.kind in "fiu" else ""
            raise TypeError(
                f"backward(): grad expected a {dtype} array like the tensor (or Python "
                f"numbers), got {type(grad).__name__} of dtype {array.dtype}; chainrule "
                f"never changes a dtype silently{cast}"
            )
        return xp.array(array, copy=True)
    try:
        values = np.asarray(grad)
    except (TypeError, ValueError):  # a ragged list, say
        values = None
    if values is None or values.dtype.kind not in "fiu":
        raise TypeError(
            f"backward(): grad expected real numbers (not bools) or a {dtype} array like "
            f"the tensor, got {type(grad).__name__} {reprlib.repr(grad)}"
        )
    try:  # as a Tensor of the dtype takes them: a value beyond its range is refused
        return xp.asarray(Tensor(values, dtype=dtype).data)
    except (OverflowError, ValueError) as exc:
        raise type(exc)(f"backward(): grad does not fit the tensor's {dtype}: {exc}") from None


def store_gradients(leaves) -> None:
    """Add each gradient ``g`` of ``leaves``, pairs ``(leaf, g)``, into ``leaf.grad``
    (``grad = grad + g``, or ``g`` where ``grad`` is None), after :func:`check_grad` has
    passed every leaf: a leaf refused stores no gradient, nor does any other."""
    for leaf, _ in leaves:
        if leaf.grad is not None:
            check_grad(leaf)
    for leaf, g in leaves:
        _accumulate(leaf, g)


def check_grad(leaf) -> None:
    """Refuse a leaf whose ``grad`` (not None) cannot take its gradient: it must be an
    array of the leaf's kind (or a NumPy scalar, for a 0-d leaf) with its shape and dtype,
    as a pass leaves it; otherwise a ``TypeError`` (not an array) or ``ValueError``
    (another shape or dtype: the sum would broadcast, or change the dtype) naming the
    leaf. A few comparisons, no pass over the entries."""
    grad, data = leaf.grad, leaf.data
    if not isinstance(grad, (type(data), np.generic)):
        raise TypeError(f"{_grad_expected(data)}, got {type(grad).__name__}; {_GRAD_FIX}")
    if grad.shape != data.shape or grad.dtype != data.dtype:
        raise ValueError(
            f"{_grad_expected(data)}, got shape {grad.shape} and dtype {grad.dtype}; {_GRAD_FIX}"
        )


_GRAD_FIX = "no gradient was stored; set its grad to None, or to such an array, and run it again"


def _grad_expected(data) -> str:
    return (
        f"backward(): the grad of a leaf tensor of shape {data.shape} and dtype {data.dtype} "
        f"expected an array of that shape and dtype (to add its gradient into)"
    )


def _accumulate(leaf, g) -> None:
    if leaf.grad is not None:
        g = leaf.grad + g
    # Rules may hand back read-only views (broadcast_to), and NumPy turns 0-d results into
    # read-only scalars: store an array of our own.
    if not g.flags.writeable:
        g = array_module(g).array(g)
    leaf.grad = g


class NonFiniteValueError(FloatingPointError):
    """A value of a forward or backward pass is NaN or Inf where chainrule refuses it:
    :class:`~chainrule.autodiff.detect_anomaly`'s checks of an op's output and of the
    gradients its rule gives, a training batch that would make batch norm's running
    statistics NaN or Inf (:func:`chainrule.functional.batch_norm`), and an optimizer's
    refusal of a NaN or Inf gradient. Raised before the side effects of the op or step;
    ``fit`` ends a run with it as ``NonFiniteLossError`` or ``NonFiniteStepError``, naming
    the step."""


def check_forward(out, parents) -> None:
    """Anomaly mode: raise :class:`NonFiniteValueError` if an op's output is not finite."""
    xp = array_module(out.data)
    if out.data.dtype.kind == "f" and not xp.isfinite(out.data).all():
        inputs = "finite" if all(_finite(p.data) for p in parents) else "already non-finite"
        raise NonFiniteValueError(
            f"detect_anomaly: op {out._op!r} produced NaN/Inf in its forward output "
            f"(its inputs were {inputs})"
        )


def _check_backward(node, parent_grads) -> None:
    for i, g in enumerate(parent_grads):
        if g is not None and not _finite(g):
            raise NonFiniteValueError(
                f"detect_anomaly: the gradient rule of op {node._op!r} produced NaN/Inf "
                f"in the gradient of its input {i}"
            )


def _finite(a) -> bool:
    return a.dtype.kind != "f" or bool(array_module(a).isfinite(a).all())

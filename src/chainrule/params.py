"""The one reading of a ``params`` argument, shared by the optimizers and the penalties."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from chainrule import _checks
from chainrule.autodiff.tensor import Tensor


def named_tensors(owner: str, params, *, unnamed_prefix: str | None = None) -> list[tuple]:
    """``params`` as a list of ``(name, value)`` pairs, in the order given.

    ``params`` is a module (anything with ``named_parameters()`` but a class), a mapping
    name -> Tensor, or an iterable of ``(name, Tensor)`` pairs; with ``unnamed_prefix`` the
    iterable may also hold bare items, named ``f"{unnamed_prefix}{i}"`` by their position ``i``
    (``model.parameters()``). Only the structure is checked here: what a value must be (a
    Tensor, a trainable leaf) is the caller's check.

    Raises
    ------
    TypeError
        Naming ``owner``: if ``params`` is none of these (a single Tensor, a str, a
        number, a module class rather than an instance), or a set (its order changes
        between processes, and an optimizer's state and a checkpoint match parameters by
        position) or a 0-d array, an item is a bare value where ``unnamed_prefix`` is
        None (a 2-tuple is always read as a pair: a Tensor is never a tuple), or a pair's
        name is not a str.
    ValueError
        Naming ``owner``: if a value is given twice (an optimizer would update it twice, a
        penalty count it twice) or two pairs have one name.
    """
    pairs = _pairs(owner, params, unnamed_prefix)
    names, ids = set(), set()
    for name, value in pairs:
        if id(value) in ids:
            raise ValueError(f"{owner}: parameter {name!r} is given twice; expected each once")
        if name in names:
            raise ValueError(f"{owner}: two parameters are named {name!r}; expected unique names")
        names.add(name)
        ids.add(id(value))
    return pairs


def _pairs(owner: str, params, unnamed_prefix: str | None) -> list[tuple]:
    """The pairs of :func:`named_tensors`, before the check that they are unique."""
    unnamed = unnamed_prefix is not None
    if hasattr(params, "named_parameters") and not isinstance(params, type):
        return list(params.named_parameters())
    items = "Tensors or (name, Tensor) pairs" if unnamed else "(name, Tensor) pairs"
    expected = f"an iterable of {items}, a dict of name -> Tensor or a module"
    if isinstance(params, Mapping):
        params = params.items()
    elif isinstance(params, Tensor | str | type) or not isinstance(params, Iterable):
        got = type(params).__name__
        if isinstance(params, Tensor):
            got = "a single Tensor; " + ("wrap it in a list" if unnamed else "name it: [(name, t)]")
        elif isinstance(params, type):  # a module class has an unbound named_parameters
            got = f"the class {params.__name__}: an instance is needed"
        raise TypeError(f"{owner}: params expected {expected}, got {got}")
    else:  # a set's order changes between processes, and checkpoints match by position
        _checks.ordered(owner, "params", params, expected)
    pairs = []
    for i, item in enumerate(params):
        if isinstance(item, tuple) and len(item) == 2:
            name, value = item
            if not isinstance(name, str):
                raise TypeError(
                    f"{owner}: item {i} of params: name expected str, got "
                    f"{type(name).__name__} {name!r:.80}"
                )
            pairs.append((name, value))
        elif unnamed:
            pairs.append((f"{unnamed_prefix}{i}", item))
        else:
            got = type(item).__name__ + (
                " (unnamed: use named_parameters())" if isinstance(item, Tensor) else ""
            )
            raise TypeError(
                f"{owner}: item {i} of params expected a (name, Tensor) pair, got {got}"
            )
    return pairs


__all__ = ["named_tensors"]

"""What a model's layers tell about it: its output layer, input width and output width.

Each function reads the modules :func:`modules` lists and matches layer types with
``isinstance``, so that a subclass of a layer counts as that layer. An object that is no
:class:`~chainrule.nn.Module` but calls one (a plain callable wrapping a network, say) has
no layers to read; anything else (None, a layer class, a path) is refused with
``TypeError`` (:func:`check_model`). What a
``forward`` computes beyond its registered layers (a sigmoid applied by hand) is not seen.
"""

from __future__ import annotations

from chainrule.nn.activation import Identity, LogSoftmax, Sigmoid, Softmax
from chainrule.nn.batchnorm import BatchNorm1d
from chainrule.nn.dropout import Dropout
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module

__all__ = ["ends_in_probabilities", "input_width", "modules", "output_layer", "output_width"]


def check_model(owner: str, model, *, wrapper: bool = False, needs: tuple = ()):
    """``model``, after checking that it is a :class:`~chainrule.nn.Module` (an instance:
    not a layer class), or with ``wrapper`` any other callable that is no class and has
    the methods ``needs`` names (a network's wrapper); ``TypeError`` naming ``owner``
    otherwise."""
    if isinstance(model, Module):
        return model
    if (
        wrapper
        and callable(model)
        and not isinstance(model, type)
        and all(callable(getattr(model, name, None)) for name in needs)
    ):
        return model
    expected = "a chainrule.nn.Module"
    if wrapper:
        methods = ", ".join(f"{name}()" for name in needs)
        expected += f" (or a callable wrapping one{' with ' + methods if needs else ''})"
    raise TypeError(f"{owner}: model expected {expected}, got {type(model).__name__} {model!r:.80}")


def modules(model) -> list[Module]:
    """Every module of ``model`` (itself first), depth first in registration order, as
    ``named_modules`` lists them but for a module registered in several places, which is
    listed at each (``Sequential(Linear, act, Linear, act)`` with one ``act`` ends in it;
    ``named_modules`` lists it once, under its first place). A module that holds one of
    its ancestors is not walked into again. Empty for a wrapper (see :func:`check_model`)."""
    return _modules(check_model("modules", model, wrapper=True))


def _modules(model) -> list[Module]:
    """:func:`modules` of a checked ``model``."""
    if not isinstance(model, Module):
        return []
    found: list[Module] = []

    def walk(module: Module, above: frozenset) -> None:
        found.append(module)
        for child in module.children():
            if id(child) not in above:
                walk(child, above | {id(child)})

    walk(model, frozenset({id(model)}))
    return found


def output_layer(model) -> str:
    """The kind of ``model``'s last registered layer (its last module without children),
    trailing ``Identity`` and ``Dropout`` layers skipped (they pass values on unchanged in
    evaluation mode: ``Sequential(Linear, Softmax, Identity)`` ends in its softmax), as
    :data:`chainrule.nn.OUTPUTS` names it: ``"log_softmax"`` for a ``LogSoftmax``,
    ``"softmax"`` for another ``Softmax``, ``"sigmoid"`` for a ``Sigmoid``, and
    ``"linear"`` for any other layer or a model without layers (its outputs are logits or
    scores)."""
    return _output_layer(check_model("output_layer", model, wrapper=True))


def _output_layer(model: Module) -> str:
    """:func:`output_layer` of a checked ``model``."""
    leaves = [
        m for m in _modules(model) if not m.children() and not isinstance(m, Identity | Dropout)
    ]
    if not leaves:
        return "linear"
    last = leaves[-1]
    if isinstance(last, LogSoftmax):  # a subclass of Softmax: tested first
        return "log_softmax"
    if isinstance(last, Softmax):
        return "softmax"
    if isinstance(last, Sigmoid):
        return "sigmoid"
    return "linear"


def ends_in_probabilities(model) -> bool:
    """Whether ``model``'s last registered layer (trailing ``Identity`` and ``Dropout``
    skipped) is a ``Sigmoid`` or a ``Softmax`` (not a ``LogSoftmax``), so that its outputs
    are probabilities (see :func:`output_layer`)."""
    return _output_layer(check_model("ends_in_probabilities", model, wrapper=True)) in (
        "sigmoid",
        "softmax",
    )


def input_width(model) -> int | None:
    """The number of input features of ``model``, from its first ``Linear`` or
    ``BatchNorm1d`` (every other registered layer keeps the width); None without one."""
    for m in _modules(check_model("input_width", model, wrapper=True)):
        if isinstance(m, Linear):
            return m.in_features
        if isinstance(m, BatchNorm1d):
            return m.num_features
    return None


def output_width(model) -> int | None:
    """The number of outputs of ``model``, from its last ``Linear`` (every registered
    layer after it keeps the width); None without one."""
    widths = [
        m.out_features
        for m in _modules(check_model("output_width", model, wrapper=True))
        if isinstance(m, Linear)
    ]
    return widths[-1] if widths else None

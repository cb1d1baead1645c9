"""The closed registry of layer types: configs name a type, this table says which class.

``from_config`` is a dictionary lookup and nothing else (no import, no eval), so a model
file can only ever build the classes listed here.
"""

from __future__ import annotations

from chainrule.nn.activation import (
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from chainrule.nn.batchnorm import BatchNorm1d
from chainrule.nn.dropout import Dropout
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.sequential import MLP, Sequential

__all__ = ["LAYERS", "from_config", "layer_class", "layers_needed", "values_needed"]

LAYERS: dict[str, type[Module]] = {
    cls.__name__: cls
    for cls in (
        Linear,
        Sigmoid,
        Tanh,
        ReLU,
        LeakyReLU,
        Softmax,
        LogSoftmax,
        Identity,
        Dropout,
        BatchNorm1d,
        Sequential,
        MLP,
    )
}


def from_config(config: dict, rng=None) -> Module:
    """Rebuild a module from :meth:`Module.get_config` output.

    ``rng`` (a Generator or an int seed) feeds the layers that draw at random (``Linear``
    weights, ``Dropout`` masks); ``MLP`` uses the seed stored in its config. Load the
    weights afterwards with :meth:`Module.load_state_dict`: the result then computes
    bit for bit what the original did in eval mode. In training mode, dropout masks come
    from the generators made here, not from the original's (their states are not part of
    a state dict).

    Raises
    ------
    ValueError
        ``config`` is not a dict with a registered ``"type"`` (the message lists the valid
        names), or its keys do not fit that type.
    """
    return layer_class(config).from_config(config, rng)


def layer_class(config) -> type[Module]:
    """The class of :data:`LAYERS` that ``config``'s ``"type"`` names, building nothing;
    ``ValueError`` for a ``config`` that is not a dict with a registered ``"type"`` (the
    message lists the valid names)."""
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"expected a layer config dict with a 'type' key, got {config!r}")
    name = config["type"]
    cls = LAYERS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown layer type {name!r}; expected one of {', '.join(LAYERS)}")
    return cls


def values_needed(config) -> int | None:
    """How many parameter and buffer values :func:`from_config` builds from ``config``,
    without building (see :meth:`Module.values_needed`); None for a ``config`` that is not
    a dict with a registered ``"type"`` (which :func:`from_config` refuses), or one its
    class cannot count. A deeply nested ``Sequential`` config raises ``RecursionError``,
    as it does in :func:`from_config`."""
    if not isinstance(config, dict):
        return None
    name = config.get("type")
    cls = LAYERS.get(name) if isinstance(name, str) else None
    return None if cls is None else cls.values_needed(config)


def layers_needed(config) -> int | None:
    """How many modules :func:`from_config` builds from ``config``, without building (see
    :meth:`Module.layers_needed`); None for a ``config`` that is not a dict with a
    registered ``"type"`` (which :func:`from_config` refuses), or one its class cannot
    count. A deeply nested ``Sequential`` config raises ``RecursionError``, as it does in
    :func:`from_config`."""
    if not isinstance(config, dict):
        return None
    name = config.get("type")
    cls = LAYERS.get(name) if isinstance(name, str) else None
    return None if cls is None else cls.layers_needed(config)

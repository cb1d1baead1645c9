"""``Sequential`` chains layers; ``MLP`` builds the common fully connected network."""

from __future__ import annotations

import numbers

import numpy as np

from chainrule import _checks
from chainrule.autodiff.ops_nn import FUSED_ACTIVATIONS
from chainrule.autodiff.tensor import float_dtype
from chainrule.functional import check_keep_prob
from chainrule.init import check_spec
from chainrule.nn.activation import ACTIVATIONS, get_activation
from chainrule.nn.batchnorm import BatchNorm1d
from chainrule.nn.dropout import Dropout
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module, check_config_type, config_size

__all__ = ["DEFAULT_INIT", "MLP", "OUTPUTS", "Sequential"]


#: Activation layers whose function a ``Linear`` just before them applies in its own node:
#: the layer of each activation :func:`~chainrule.autodiff.ops_nn.linear` can apply.
_FUSABLE = {ACTIVATIONS[name]: name for name in FUSED_ACTIVATIONS}


class Sequential(Module):
    """Apply layers in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    The layers are named ``"0"``, ``"1"``, ... (so parameters are ``"0.weight"``...).
    :meth:`append` adds the next one; ``register_module`` is refused (``ValueError``): a
    layer under another name would be trained and saved but not run.

    A ``Linear`` directly followed by ``ReLU``, ``Sigmoid`` or ``Tanh`` runs as one fused
    graph node (``Linear.forward(x, activation)``): the same function and gradient, with
    one node, one array and one pass over memory less. The layers stay as they were built
    (names, configs and state dicts do not change). A pair where either layer has a
    ``forward`` set on the instance (a wrapper that records activations, say) runs
    unfused, as ``act.forward(linear.forward(x))``, so that the wrapper is called as any
    layer's ``forward`` is, with the input alone. ``fit`` replays its traced steps without
    calling any ``forward``: a wrapper that records runs only in the steps that record
    (pass ``trace=False`` to ``fit`` to have it called at every step).

    ``net[i]`` is layer ``i`` (an integer, negative from the end; ``IndexError`` out of
    range) and ``net[a:b]`` a new ``Sequential`` of those same layer objects, which share
    their parameters with ``net`` (``net[:-1]`` computes the last hidden activations).
    Another index is a ``TypeError``.
    """

    #: The model whose config rebuilds these layers (MLP), which :meth:`append` refuses.
    _built_by: str | None = None

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            super().register_module(str(i), layer)
        self._layers = tuple(layers)
        self._steps = _fuse(self._layers)

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` after the last one, named by its index (``str(len(self))``), and
        return ``self``: it runs last, and ``len``, iteration, :meth:`get_config` (so
        save/load) and the state dict include it. ``TypeError`` for a non-module;
        ``ValueError`` for the layers of an :class:`MLP`, whose config (sizes,
        activation, ...) would not hold the new layer: ``Sequential(*mlp.layers, layer)``
        is a model that does."""
        if not isinstance(layer, Module):
            raise TypeError(
                f"Sequential.append: expected a Module, got {type(layer).__name__} {layer!r}"
            )
        if self._built_by is not None:
            raise ValueError(
                f"Sequential.append: these are the layers of a {self._built_by}, which its "
                f"config rebuilds without the new one; append to "
                f"nn.Sequential(*model.layers) instead"
            )
        super().register_module(str(len(self._layers)), layer)
        self._layers += (layer,)
        self._steps = _fuse(self._layers)
        return self

    def register_module(self, name: str, value: Module) -> Module:
        """Refused (``ValueError``): a Sequential runs its layers by index; add one with
        :meth:`append`."""
        raise ValueError(
            f"Sequential.register_module: a Sequential runs the layers it was built with "
            f"and those added by append(layer), named by index; got {name!r} (use append)"
        )

    def __setattr__(self, name: str, value) -> None:
        """Refuse (``TypeError``) replacing a layer by assignment (``setattr(net, "0",
        layer)``): forward runs the layers the Sequential was built with; other
        attributes are assigned as on any :class:`Module`."""
        if self._registered.get(name) == "module":
            raise TypeError(
                f"Sequential: layer {name!r} cannot be replaced by assignment (forward runs "
                f"the layers it was built with); expected a new nn.Sequential(...) holding "
                f"the {type(value).__name__}, got an assignment to {name!r}"
            )
        super().__setattr__(name, value)

    def forward(self, x):
        for layer, activation, after in self._steps:  # forward, not __call__: one call less
            if activation is None:
                x = layer.forward(x)
            elif "forward" in layer.__dict__ or "forward" in after.__dict__:
                x = after.forward(layer.forward(x))  # a forward set on an instance: unfused
            else:
                x = layer.forward(x, activation)
        return x

    def __getitem__(self, i: int | slice) -> Module:
        if isinstance(i, slice):
            part = Sequential(*self._layers[i])
            part.training = self.training
            return part
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise TypeError(
                f"Sequential: index expected an int or a slice, got {type(i).__name__} {i!r}"
            )
        n = len(self._layers)
        if not -n <= i < n:
            raise IndexError(f"Sequential: index {i} is out of range for {n} layers")
        return self._layers[i]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self):
        return iter(self._layers)

    def get_config(self) -> dict:
        return {"type": "Sequential", "layers": [layer.get_config() for layer in self._layers]}

    @classmethod
    def from_config(cls, config: dict, rng=None) -> Sequential:
        """Build ``config["layers"]`` in order, all drawing from one generator (``rng``, a
        Generator or an int seed) in that order, so that a seed is reproducible.

        Layer configs malformed in what sizes them (no registered ``type``, sizes a class
        cannot count) are refused before any layer is built (see :func:`_refuse_malformed`),
        so that :func:`chainrule.io.load` can bound what it builds: no architecture is made
        uncountable by a malformed layer. Other faults of a layer's config (an unknown key,
        an activation name) are refused when its turn to be built comes, after the layers
        before it.
        ``ValueError`` for a ``type`` other than ``"Sequential"`` (see
        :func:`~chainrule.nn.module.check_config_type`), keys other than ``type`` and
        ``layers``, or ``layers`` not a list; a malformed layer raises what its class
        raises for it.
        """
        check_config_type(cls, config)
        layers = _layer_configs(config)
        if rng is not None:
            rng = _checks.generator(f"{cls.__name__}.from_config", "rng", rng)
        kinds = _refuse_malformed(layers)
        return cls(
            *(kind.from_config(layer, rng) for kind, layer in zip(kinds, layers, strict=True))
        )

    @classmethod
    def values_needed(cls, config: dict) -> int | None:
        """The sum of its layers' counts (:func:`chainrule.nn.registry.values_needed`);
        None when ``layers`` is not a list or a layer's count is None (see
        :meth:`Module.values_needed`)."""
        from chainrule.nn.registry import values_needed  # cycle, as in from_config

        layers = config.get("layers")
        if not isinstance(layers, list):
            return None
        counts = [values_needed(layer) for layer in layers]
        return None if None in counts else sum(counts)

    @classmethod
    def layers_needed(cls, config: dict) -> int | None:
        """1 (itself) plus the sum of its layers' counts
        (:func:`chainrule.nn.registry.layers_needed`); None when ``layers`` is not a list or
        a layer's count is None (see :meth:`Module.layers_needed`)."""
        from chainrule.nn.registry import layers_needed  # cycle, as in from_config

        layers = config.get("layers")
        if not isinstance(layers, list):
            return None
        counts = [layers_needed(layer) for layer in layers]
        return None if None in counts else 1 + sum(counts)


def _layer_configs(config: dict) -> list:
    """The ``layers`` list of a Sequential config; ``ValueError`` for keys other than
    ``type`` and ``layers``, or ``layers`` not a list."""
    layers = config.get("layers")
    if set(config) - {"type", "layers"} or not isinstance(layers, list):
        raise ValueError(
            f"bad Sequential config: expected {{'type': 'Sequential', 'layers': [...]}}, "
            f"got keys {sorted(config)}"
        )
    return layers


def _refuse_malformed(layers: list) -> list[type[Module]]:
    """The registered class of each of the layer configs ``layers``, after refusing every
    malformed one, building nothing: a config that is not a dict with a registered
    ``"type"`` (``ValueError``), a nested Sequential's malformed layers (checked the same
    way), and a config that its class counts but cannot count (its ``values_needed`` is
    None: a size is missing or not an integer >= 1), which that class's ``from_config``
    refuses before allocating (see :meth:`Module.values_needed`). A layer whose class does
    not count at all (it keeps the default ``values_needed``, as a layer the user
    registers may) is checked when its turn to be built comes."""
    from chainrule.nn.registry import layer_class  # cycle: the registry lists Sequential

    kinds = [layer_class(layer) for layer in layers]
    for kind, layer in zip(kinds, layers, strict=True):
        if issubclass(kind, Sequential):
            _refuse_malformed(_layer_configs(layer))
        elif _counts(kind) and kind.values_needed(layer) is None:
            kind.from_config(layer)  # raises, before allocating or drawing
    return kinds


def _counts(kind: type[Module]) -> bool:
    """Whether ``kind`` counts the values its configs build: it overrides the default
    :meth:`Module.values_needed`, whose None says nothing about a config."""
    return kind.values_needed.__func__ is not Module.values_needed.__func__


def _fuse(layers) -> tuple:
    """(layer, activation name or None, activation layer or None) per step, pairing a
    Linear with a fusable activation.

    Exact types only: a subclass may override ``forward`` with another signature.
    """
    steps = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        after = layers[i + 1] if i + 1 < len(layers) else None
        if type(layer) is Linear and type(after) in _FUSABLE:
            steps.append((layer, _FUSABLE[type(after)], after))
            i += 2
        else:
            steps.append((layer, None, None))
            i += 1
    return tuple(steps)


#: Initializer chosen by ``MLP(init=None)`` for each hidden activation; others use Xavier.
DEFAULT_INIT = {
    "relu": "he_normal",
    "leaky_relu": "he_normal",
    "tanh": "xavier_normal",
    "sigmoid": "xavier_normal",
}

#: Output layers of an ``MLP``: None/"linear" emit logits (for the losses that take logits).
OUTPUTS = (None, "linear", "sigmoid", "softmax", "log_softmax")


class MLP(Module):
    """A multilayer perceptron: ``len(sizes) - 1`` fully connected layers.

    Each hidden layer is ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``; the last
    is ``Linear -> [output]``. All layers live in one :class:`Sequential` named ``layers``
    (parameters ``"layers.0.weight"``, ``"layers.0.bias"``, ...), which refuses
    :meth:`Sequential.append`: the MLP's config would not rebuild an added layer. For the
    same reason ``layers`` and the constructor's arguments, the attributes of the same
    names, cannot be assigned or deleted once built (``AttributeError``): build a new MLP.

    Parameters
    ----------
    sizes : list or tuple of int
        Units per layer, input first: ``[784, 30, 10]`` is Nielsen's network. Another
        type (a set, a dict, an array, a range) is a ``TypeError``.
    activation : str
        Hidden activation, a name from :data:`chainrule.nn.ACTIVATIONS`.
    output : {None, "linear", "sigmoid", "softmax", "log_softmax"}
        None or "linear" leaves logits (pair with ``cross_entropy`` / ``bce_with_logits``);
        otherwise that layer is appended (Nielsen: ``output="sigmoid"`` with ``quadratic``).
    dropout : float or list of float, optional
        ``keep_prob`` after every hidden layer, or one per hidden layer; 1 adds no layer.
        Each is in (0, 1] and at least the step of the draws a mask of ``dtype`` is made
        from, 2**-24 for float32 and 2**-53 for float64 (``ValueError`` naming ``MLP``, as
        :class:`Dropout` raises at its first float32 call).
    batch_norm : bool
        Insert ``BatchNorm1d`` before each hidden activation; those ``Linear`` layers then
        have no bias (beta plays its part). With no hidden layer (two ``sizes``), a
        ``dropout`` below 1 or ``batch_norm=True`` is a ``ValueError``: there is nothing
        to apply them to.
    init : str or dict, optional
        Weight initializer of every ``Linear``. None picks :data:`DEFAULT_INIT` for the
        activation: He normal for relu/leaky_relu, Xavier normal for tanh/sigmoid (and for
        any other activation).
    seed : int or None
        Seeds everything random: layer i's weights and dropout masks come from children
        ``2i`` and ``2i + 1`` of ``numpy.random.SeedSequence(seed)``, so one seed gives
        bit-identical models and masks, and adding dropout leaves the weights unchanged.
    dtype : str
        ``"float32"`` (default) or ``"float64"`` (anything else raises, naming ``MLP``).
    """

    #: The attributes the constructor sets once: ``get_config`` reports them and
    #: ``layers`` is built from them, so a later assignment would leave the two apart.
    FIXED = frozenset(
        (
            "sizes",
            "activation",
            "output",
            "dropout",
            "batch_norm",
            "init",
            "seed",
            "dtype",
            "layers",
        )
    )

    def __init__(
        self,
        sizes,
        activation: str = "relu",
        output: str | None = None,
        dropout=None,
        batch_norm: bool = False,
        init=None,
        seed: int | None = 0,
        dtype="float32",
    ) -> None:
        super().__init__()
        if not isinstance(sizes, list | tuple):  # a set or dict would reorder the layers
            raise TypeError(
                f"MLP: expected sizes as a list of at least two positive ints (or a tuple), "
                f"got {type(sizes).__name__} {sizes!r:.80}"
            )
        if len(sizes) < 2 or any(
            isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 for n in sizes
        ):
            raise ValueError(f"MLP: expected at least two positive int sizes, got {sizes}")
        if not isinstance(activation, str):
            raise TypeError(f"MLP: expected activation to be a name, got {activation!r}")
        if activation not in ACTIVATIONS:
            get_activation(activation, owner="MLP")  # raises, listing the valid names
        if output not in OUTPUTS:
            raise ValueError(
                f"MLP: unknown output {output!r}; expected one of {OUTPUTS}"
                + _checks.did_you_mean(str(output), [o for o in OUTPUTS if o is not None])
            )
        n_hidden = len(sizes) - 2
        self.dtype = float_dtype("MLP", dtype)
        keep, dropout = _keep_probs(dropout, n_hidden, self.dtype)
        self.batch_norm = _checks.boolean("MLP", "batch_norm", batch_norm)
        drops = isinstance(dropout, float) and dropout < 1.0  # a list here is one per layer
        if n_hidden == 0 and (drops or self.batch_norm):
            raise ValueError(
                f"MLP: sizes {sizes} have no hidden layer to apply dropout or batch_norm to; "
                f"expected dropout=None and batch_norm=False, got dropout={dropout} and "
                f"batch_norm={self.batch_norm}"
            )
        init = check_spec(DEFAULT_INIT.get(activation, "xavier_normal") if init is None else init)
        self.sizes = [int(n) for n in sizes]
        self.activation = activation
        self.output = output
        self.dropout = dropout
        self.init = init
        self.seed = None if seed is None else _checks.integer("MLP", "seed", seed, low=0)

        streams = np.random.SeedSequence(seed).spawn(2 * (len(sizes) - 1))
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(self.sizes, self.sizes[1:], strict=False)):
            hidden = i < n_hidden
            rng = np.random.default_rng(streams[2 * i])
            use_bn = hidden and self.batch_norm
            layers.append(Linear(n_in, n_out, init, not use_bn, rng, self.dtype))
            if not hidden:
                break
            if use_bn:
                layers.append(BatchNorm1d(n_out, dtype=self.dtype))
            layers.append(get_activation(activation))
            if keep[i] < 1.0:
                layers.append(Dropout(keep[i], np.random.default_rng(streams[2 * i + 1])))
        if output not in (None, "linear"):
            layers.append(get_activation(output))
        self.register_module("layers", Sequential(*layers))
        self.layers._built_by = type(self).__name__  # its config rebuilds them: no append

    @classmethod
    def values_needed(cls, config: dict) -> int | None:
        """The counts of the ``Linear`` and ``BatchNorm1d`` layers the constructor builds
        from ``sizes`` and ``batch_norm`` (activations and dropout own none); None when
        ``sizes`` is not a list or tuple of at least two integers >= 1 or ``batch_norm``
        is not a bool (see :meth:`Module.values_needed`)."""
        sizes, batch_norm = config.get("sizes"), config.get("batch_norm", False)
        if not isinstance(sizes, list | tuple) or not isinstance(batch_norm, bool | np.bool_):
            return None
        sizes = [config_size(n) for n in sizes]
        if len(sizes) < 2 or None in sizes:
            return None
        total = 0
        for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
            use_bn = batch_norm and i < len(sizes) - 2  # a hidden layer: BatchNorm1d, no bias
            linear = {"in_features": n_in, "out_features": n_out, "bias": not use_bn}
            total += Linear.values_needed(linear)
            total += BatchNorm1d.values_needed({"num_features": n_out}) if use_bn else 0
        return total

    @classmethod
    def layers_needed(cls, config: dict) -> int | None:
        """The MLP, its ``Sequential`` and the layers the constructor builds: a ``Linear``
        per pair of ``sizes``, and per hidden layer an activation, a ``BatchNorm1d`` with
        ``batch_norm`` and a ``Dropout`` for a keep probability below 1, then the
        ``output`` layer; None when ``sizes`` is not a list or tuple of at least two
        entries (see :meth:`Module.layers_needed`)."""
        sizes, dropout = config.get("sizes"), config.get("dropout")
        if not isinstance(sizes, list | tuple) or len(sizes) < 2:
            return None
        hidden = len(sizes) - 2
        if isinstance(dropout, list | tuple):  # one keep probability per hidden layer
            drops = sum(isinstance(p, numbers.Real) and p < 1.0 for p in dropout)
        else:
            drops = hidden if isinstance(dropout, numbers.Real) and dropout < 1.0 else 0
        batch_norm = config.get("batch_norm", False)
        per_hidden = 2 if isinstance(batch_norm, bool | np.bool_) and batch_norm else 1
        output = config.get("output") not in (None, "linear")
        return 2 + len(sizes) - 1 + hidden * per_hidden + drops + output

    @property
    def in_features(self) -> int:
        return self.sizes[0]

    @property
    def out_features(self) -> int:
        return self.sizes[-1]

    def __setattr__(self, name: str, value) -> None:
        if name in self.FIXED and name in vars(self):
            raise self._fixed(name, "assign")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in self.FIXED:
            raise self._fixed(name, "delete")
        super().__delattr__(name)

    def _fixed(self, name: str, verb: str) -> AttributeError:
        return AttributeError(
            f"MLP: cannot {verb} {name!r}, which the constructor set (get_config reports it "
            f"and the layers follow it); expected a new MLP(..., {name}=...) instead"
            if name != "layers"
            else f"MLP: cannot {verb} 'layers', which the constructor built from its "
            "arguments (get_config would not rebuild others); expected a new MLP or a "
            "Sequential of the layers you want instead"
        )

    def forward(self, x):
        return self.layers.forward(x)

    def get_config(self) -> dict:
        return {
            "type": "MLP",
            "sizes": list(self.sizes),
            "activation": self.activation,
            "output": self.output,
            "dropout": list(self.dropout) if isinstance(self.dropout, list) else self.dropout,
            "batch_norm": self.batch_norm,
            "init": dict(self.init) if isinstance(self.init, dict) else self.init,
            "seed": self.seed,
            "dtype": self.dtype.name,
        }

    def extra_repr(self) -> str:
        parts = [str(self.sizes), f"activation={self.activation!r}", f"output={self.output!r}"]
        if self.dropout is not None:
            parts.append(f"dropout={self.dropout}")
        if self.batch_norm:
            parts.append("batch_norm=True")
        return ", ".join(parts)


def _keep_probs(
    dropout, n_hidden: int, dtype: np.dtype
) -> tuple[list[float], list[float] | float | None]:
    """The keep probability of each hidden layer, and ``dropout`` as given but checked and
    made of Python floats (``get_config`` must stay JSON-able)."""
    if dropout is None:
        return [1.0] * n_hidden, None
    if isinstance(dropout, list | tuple):
        if len(dropout) != n_hidden:
            raise ValueError(
                f"MLP: expected one keep_prob per hidden layer ({n_hidden}), got {len(dropout)}"
            )
        probs = [check_keep_prob("MLP", "dropout", p, dtype) for p in dropout]
        return probs, list(probs)
    p = check_keep_prob("MLP", "dropout", dropout, dtype)
    return [p] * n_hidden, p

"""``Module``: the container that owns parameters, buffers, generators and child modules.

The math lives in :mod:`chainrule.functional` and the engine; a module only holds state
and says which function to apply. Everything it owns is registered by name, so that
parameters, buffers (state that is saved but not trained, such as batch-norm running
statistics) and random generators are enumerated in one deterministic order: the order
in which they were registered, a module's own entries before its children's.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import numbers
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import numpy as np

from chainrule import _checks
from chainrule.autodiff.tensor import Tensor, array_of, check_leaf

__all__ = ["Module"]

#: The classmethods of a module class that read a config dict (``get_config`` output).
_CONFIG_READERS = ("from_config", "values_needed", "layers_needed")


def _takes_config(method: classmethod) -> classmethod:
    """``method``, a classmethod whose first argument is a config, preceded by a check that
    the config is a dict: ``ValueError`` (as :func:`chainrule.nn.from_config` gives)
    naming the class and the method otherwise, before the method reads it."""
    function = method.__func__

    @functools.wraps(function)
    def checked(cls, config, *args, **kwargs):
        if not isinstance(config, dict):
            raise ValueError(
                f"{cls.__name__}.{function.__name__}: expected a layer config dict, got "
                f"{type(config).__name__} {config!r:.80}"
            )
        return function(cls, config, *args, **kwargs)

    return classmethod(checked)


class Module:
    """Base class of layers and networks.

    Subclasses call ``super().__init__()``, register what they own with
    :meth:`register_parameter`, :meth:`register_buffer`, :meth:`register_generator` and
    :meth:`register_module`, and implement :meth:`forward` and :meth:`get_config`.

    Attributes
    ----------
    training : bool
        Training mode (the default) or evaluation mode; set with :meth:`train` / :meth:`eval`.
        Dropout and batch norm behave differently in the two.
    """

    #: Whether the constructor takes ``rng`` (a config never stores generators).
    _random = False

    #: The keys of :meth:`get_config` that act only in training mode (a dropout's keep
    #: probability): a model file may rebuild them at another value, as evaluation, which
    #: a loaded model is for, does not read them (see :func:`chainrule.io.check_saveable`).
    TRAINING_SETTINGS: tuple[str, ...] = ()

    #: Registered name -> its kind ("parameter", "buffer", "generator" or "module"): an
    #: instance's own dict, made by ``__init__``; this empty default lets ``__setattr__``
    #: look names up before it is made.
    _registered: Mapping[str, str] = MappingProxyType({})

    def __init__(self) -> None:
        self.training = True
        self._parameter_names: list[str] = []
        self._buffer_names: list[str] = []
        self._generator_names: list[str] = []
        self._module_names: list[str] = []
        self._registered = {}

    def __init_subclass__(cls, **kwargs) -> None:
        """Give a subclass's own ``from_config``, ``values_needed`` and ``layers_needed``
        the check of their ``config`` argument that Module's have (see
        :func:`_takes_config`), so that no override repeats it."""
        super().__init_subclass__(**kwargs)
        for name in _CONFIG_READERS:
            method = vars(cls).get(name)
            if isinstance(method, classmethod):
                setattr(cls, name, _takes_config(method))

    # -- registration ------------------------------------------------------------------------
    def register_parameter(self, name: str, value: Tensor) -> Tensor:
        """Own a trainable tensor under ``name``; returns it. ``TypeError`` unless it is a
        leaf ``Tensor`` with ``requires_grad=True`` (the output of an op gets no ``grad``
        from ``backward``, and no optimizer takes it)."""
        return self._register("parameter", name, value)

    def register_buffer(self, name: str, value: np.ndarray) -> np.ndarray:
        """Own an array that is saved in :meth:`state_dict` but not trained; returns it.
        Update it in place (``self.count += 1``, ``np.copyto``), as the library's layers
        do: what puts buffers back after an evaluation (:class:`SideState`: a gradient
        check, a traced step refused) writes into the array registered, which an attribute
        rebound to a new array (``self.count = self.count + 1``) no longer is."""
        return self._register("buffer", name, value)

    def register_generator(self, name: str, value: np.random.Generator) -> np.random.Generator:
        """Own a random generator (a checkpoint saves its ``bit_generator.state``)."""
        return self._register("generator", name, value)

    def register_module(self, name: str, value: Module) -> Module:
        """Own a child module; its entries are named ``"<name>.<entry>"``."""
        return self._register("module", name, value)

    def _register(self, kind: str, name: str, value):
        owner = type(self).__name__
        if "_registered" not in vars(self):
            raise TypeError(
                f"{owner}: register_{kind}({name!r}) before Module.__init__ ran; expected "
                f"{owner}.__init__ to call super().__init__() first"
            )
        _check_entry(owner, kind, name, value)
        if not isinstance(name, str):
            raise TypeError(f"{owner}: expected a str name, got {type(name).__name__} {name!r}")
        if not name or "." in name:
            raise ValueError(
                f"{owner}: expected a non-empty name without '.' (dots join the names of "
                f"nested entries), got {name!r}"
            )
        if name in self._registered:  # of any kind: setattr would replace the other entry
            raise ValueError(f"{owner}: {name!r} is registered twice")
        attribute = vars(self).get(name)  # None: a placeholder, as Linear's bias
        if hasattr(type(self), name) or attribute is not None or name.startswith("_"):
            raise ValueError(
                f"{owner}: expected a name that is not an attribute of the module or its "
                f"bookkeeping, got {name!r}"
            )
        getattr(self, f"_{kind}_names").append(name)
        self._registered[name] = kind
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value) -> None:
        """Assign an attribute; a registered entry takes only what its ``register_*`` call
        takes (``TypeError`` otherwise, None included: an entry cannot be removed), so that
        what is enumerated, trained and saved stays of its kind. O(1): one lookup for a
        name that is not registered."""
        if name in self._registered:
            _check_entry(type(self).__name__, self._registered[name], name, value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        """Delete an attribute; ``TypeError`` for a registered entry, which stays enumerated
        and saved under its name (an entry cannot be removed)."""
        if name in self._registered:
            raise TypeError(
                f"{type(self).__name__}: cannot delete the registered {self._registered[name]} "
                f"{name!r}; expected an attribute that was not registered"
            )
        object.__delattr__(self, name)

    # -- the computation ---------------------------------------------------------------------
    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    # -- enumeration -------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (named ``prefix``, "" by default) and
        all descendants (``"layers"``, ``"layers.0"``, ...; under a prefix ``"net"``:
        ``"net.layers.0"``).

        A module reachable by two paths (one layer used twice) is listed once, under the
        first: its parameters are trained, counted and saved once. ``TypeError`` for a
        ``prefix`` that is not a str.
        """
        if not isinstance(prefix, str):
            raise TypeError(
                f"{type(self).__name__}.named_modules: prefix expected a str, got "
                f"{type(prefix).__name__} {prefix!r}"
            )
        seen: set[int] = set()

        def walk(module: Module, path: str) -> Iterator[tuple[str, Module]]:
            if id(module) in seen:
                return
            seen.add(id(module))
            yield path, module
            for name in module._module_names:
                yield from walk(getattr(module, name), f"{path}.{name}" if path else name)

        return walk(self, prefix)

    def _named(self, kind: str) -> Iterator[tuple[str, object]]:
        seen: set[int] = set()  # one tensor registered by two modules is listed once too
        for path, module in self.named_modules():
            for name in getattr(module, kind):
                value = getattr(module, name)
                if id(value) not in seen:
                    seen.add(id(value))
                    yield f"{path}.{name}" if path else name, value

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """``("layers.0.weight", Tensor)`` pairs in registration order, depth first."""
        return self._named("_parameter_names")

    def parameters(self) -> list[Tensor]:
        """The trainable tensors, in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(name, array)`` for saved, untrained state (never among the parameters)."""
        return self._named("_buffer_names")

    def named_generators(self) -> Iterator[tuple[str, np.random.Generator]]:
        """``(name, Generator)`` for every random generator the module tree owns."""
        return self._named("_generator_names")

    def shared_entries(self) -> list[str]:
        """The state reachable by more than one path, as ``"path (= first path)"``: a layer
        with parameters or buffers used twice, a tensor or buffer registered by two modules.
        Empty when nothing is shared. Random generators (two dropout layers drawing from one
        ``rng``, as ``from_config(..., rng=seed)`` builds them) and modules without state
        are left out: a model file holds neither."""
        first: dict[int, str] = {}
        shared: list[str] = []

        def seen(value, path: str) -> bool:
            if id(value) in first:
                shared.append(f"{path} (= {first[id(value)]})")
                return True
            first[id(value)] = path
            return False

        def walk(module: Module, prefix: str) -> None:
            for kind in ("_parameter_names", "_buffer_names"):
                for name in getattr(module, kind):
                    seen(getattr(module, name), prefix + name)
            for name in module._module_names:
                child = getattr(module, name)
                stateful = next(child.named_parameters(), None) or next(child.named_buffers(), None)
                if stateful is None:
                    continue
                if not seen(child, prefix + name):
                    walk(child, f"{prefix}{name}.")

        walk(self, "")
        return shared

    def children(self) -> list[Module]:
        return [getattr(self, name) for name in self._module_names]

    def num_parameters(self) -> int:
        """The number of trainable scalars."""
        return sum(p.size for _, p in self.named_parameters())

    def zero_grad(self) -> None:
        """Forget accumulated gradients (``grad = None`` on every parameter)."""
        for _, p in self.named_parameters():
            p.grad = None

    # -- modes -------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (or evaluation mode for ``mode=False``) on the whole tree."""
        mode = _checks.boolean(f"{type(self).__name__}.train", "mode", mode)
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout is the identity, batch norm uses running statistics."""
        return self.train(False)

    # -- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer value, by dotted name (parameters first)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, b.copy()) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict) -> None:
        """Copy values in place into the parameters and buffers, keeping their dtypes.

        Values may be arrays, Tensors or nested lists, the module's own included (those in
        the module's memory are read into copies before any is written, so two weights can
        be swapped). All keys are checked before anything is written: ``ValueError`` lists
        the missing, unexpected and mis-shaped keys, those whose dtype does not cast to
        the target's (NumPy's ``same_kind``: float64 into float32 is allowed, complex or
        strings into float are not) and those whose target is read-only (a ``p.data``
        replaced by a memory-mapped or ``np.frombuffer`` array), then the keys with finite
        values the cast would turn into inf (1e300 into float32) or integers it would wrap
        (2**31 into int32), then the keys whose values, cast, a layer refuses (see
        :meth:`invalid_state`: NaN or inf anywhere, a negative batch-norm running
        variance).
        """
        owner = f"load_state_dict into {type(self).__name__}"
        values = _state_arrays(owner, state)
        targets = self.live_state()
        _check_state_keys(owner, targets, values, writing=True)
        cast = _cast_state(owner, targets, values)
        invalid = self.invalid_state(cast)
        if invalid:
            raise ValueError(f"{owner}: invalid keys {invalid}")
        # a value in the module's own memory (two weights swapped, a view of one) is copied
        # before anything is written; the others are read as they are, not copied (a copy
        # of a whole model is memory the allocator may keep)
        for k, v in cast.items():
            if any(np.may_share_memory(v, t) for t in targets.values()):
                cast[k] = v.copy()
        for name, target in targets.items():
            np.copyto(target, cast[name])

    def live_state(self) -> dict[str, np.ndarray]:
        """The arrays of the parameters and buffers themselves (not copies: writing into one
        writes into the module), by :meth:`state_dict` key, in its order. A caller that must
        undo a change of the state copies them and copies the copies back."""
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers())
        return targets

    def invalid_state(self, state: Mapping[str, np.ndarray] | None = None) -> list[str]:
        """The keys of ``state`` that a layer refuses to hold, each as ``"key (expected
        ..., got ...)"``; empty when every layer takes its values.

        ``state`` maps every key of :meth:`state_dict` to an array of the dtype and shape
        of that entry (:meth:`load_state_dict` passes the values it is about to write); by
        default, the module's own values. A ``state`` that is not a mapping is a
        ``TypeError``; one with missing, unexpected or mis-shaped keys, or values of a
        dtype that does not cast to the entry's, a ``ValueError`` listing them, as
        :meth:`load_state_dict` gives. Each module of the tree (each once, as in
        :meth:`named_modules`) judges its own entries with :meth:`state_problems`; an entry
        registered by two modules is judged by both, and listed under its first key.
        O(total state size).
        """
        if state is None:
            state = self.live_state()
        else:
            owner = f"{type(self).__name__}.invalid_state"
            state = _state_arrays(owner, state)
            _check_state_keys(owner, self.live_state(), state, writing=False)
        first: dict[int, str] = {}  # an entry's key: the first path to it, as in state_dict
        invalid: dict[str, str] = {}
        for path, module in self.named_modules():
            keys = {}
            for name in (*module._parameter_names, *module._buffer_names):
                key = f"{path}.{name}" if path else name
                keys[name] = first.setdefault(id(getattr(module, name)), key)
            problems = module.state_problems({name: state[key] for name, key in keys.items()})
            for name, problem in problems.items():
                invalid.setdefault(keys[name], f"{keys[name]} ({problem})")
        return list(invalid.values())

    def state_problems(self, state: dict[str, np.ndarray]) -> dict[str, str]:
        """Why this module cannot hold the values ``state``: its own parameters and buffers
        (not its children's), by their names in it, as arrays of their dtypes and shapes.
        Returns ``{name: "expected ..., got ..."}`` for each refused entry, empty when all
        are fine.

        This default refuses NaN and inf in every floating-point entry: no training step
        makes them (the training loop stops at a non-finite cost), and a model holding them
        predicts NaN. A layer whose state has more constraints overrides this, adding to
        ``super().state_problems(state)`` (see :class:`~chainrule.nn.BatchNorm1d`).
        """
        return {
            name: f"expected finite values, got {_non_finite(value)}"
            for name, value in state.items()
            if value.dtype.kind in "fc" and not np.isfinite(value).all()
        }

    # -- configuration -----------------------------------------------------------------------
    def get_config(self) -> dict:
        """Plain JSON-able data that rebuilds this module with :func:`chainrule.nn.from_config`:
        ``{"type": "<registered name>", **constructor arguments}`` (weights not included)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @_takes_config
    @classmethod
    def from_config(cls, config: dict, rng=None) -> Module:
        """Build from :meth:`get_config` output; ``rng`` seeds layers that draw at random.
        A module that draws nothing ignores it, but checks it as they do (``TypeError`` for
        what is no Generator, int seed or None). A config that is not a dict, or whose
        ``"type"`` names another class, is a ``ValueError`` (see :func:`_takes_config` and
        :func:`check_config_type`)."""
        check_config_type(cls, config)
        params = {k: v for k, v in config.items() if k != "type"}
        signature = inspect.signature(cls)
        if "rng" in params:
            raise ValueError(
                f"bad {cls.__name__} config {config}: a config holds no generator; pass "
                "rng= to from_config instead"
            )
        if cls._random:
            params["rng"] = rng
        elif rng is not None:
            _checks.generator(f"{cls.__name__}.from_config", "rng", rng)
        try:
            signature.bind(**params)
        except TypeError as exc:
            valid = [p for p in signature.parameters if p != "rng"]
            raise ValueError(
                f"bad {cls.__name__} config {config}: {exc}; valid keys: {valid}"
            ) from None
        return cls(**params)

    @_takes_config
    @classmethod
    def values_needed(cls, config: dict) -> int | None:
        """How many parameter and buffer values ``from_config(config)`` builds, read from
        the config dict alone, without allocating anything (:func:`chainrule.io.load`
        compares it with a file's tensors before building).

        None where it cannot tell: the class does not say (this default), or a size the
        count needs is missing or not an integer >= 1, so that ``from_config`` refuses the
        config before allocating it (a ``Sequential`` refuses it before building any of its
        layers). A config refused for another reason gets the count its sizes name. Layers
        that build state override this beside their constructor. A config that is not a
        dict is a ``ValueError``, in every class (see :func:`_takes_config`).
        """
        return None

    @_takes_config
    @classmethod
    def layers_needed(cls, config: dict) -> int | None:
        """How many modules ``from_config(config)`` builds, this one included (as
        :meth:`named_modules` lists them), read from the config dict alone:
        :func:`chainrule.io.load` bounds it before building. 1 for a module without children
        (this default); a container overrides it. None where it cannot tell, for a config
        that ``from_config`` refuses before building any layer. A config that is not a dict
        is a ``ValueError``, in every class (see :func:`_takes_config`).
        """
        return 1

    # -- description -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of the module's line in ``repr``."""
        return ""

    def __repr__(self) -> str:
        count = self.num_parameters()
        line = f"{type(self).__name__}({self.extra_repr()})"
        if count:
            line += f"  # {count:,} parameters"
        for name in self._module_names:
            child = repr(getattr(self, name)).replace("\n", "\n  ")
            line += f"\n  ({name}): {child}"
        return line


#: What each kind of registered entry must be, besides a parameter (see :func:`check_leaf`).
_KINDS = {
    "buffer": (np.ndarray, "an ndarray"),
    "generator": (np.random.Generator, "a numpy.random.Generator"),
    "module": (Module, "a Module"),
}


def _check_entry(owner: str, kind: str, name: str, value) -> None:
    """``TypeError`` (naming ``owner``, the ``kind`` and ``name`` of the entry) unless
    ``value`` is what :meth:`Module.register_parameter` (a leaf Tensor with
    ``requires_grad=True``, so of a float dtype), ``register_buffer``, ``register_generator``
    or ``register_module`` takes."""
    if kind == "parameter":
        check_leaf(owner, name, value)
        return
    cls, expected = _KINDS[kind]
    if not isinstance(value, cls):
        raise TypeError(f"{owner}: {kind} {name!r} expected {expected}, got {type(value).__name__}")


def check_config_type(cls: type[Module], config) -> None:
    """``ValueError`` when the config dict ``config`` has a ``"type"`` that is not
    ``cls``'s own name (under which :data:`chainrule.nn.LAYERS` lists it), which
    ``cls.from_config`` would otherwise ignore: ``Softmax.from_config`` would build a
    Softmax of a LogSoftmax's config. A config without ``"type"`` passes."""
    name = config.get("type", cls.__name__)
    if not (isinstance(name, str) and name == cls.__name__):
        raise ValueError(
            f"{cls.__name__}.from_config: expected a config of type {cls.__name__!r}, got "
            f"type {name!r:.80}; nn.from_config builds the type a config names"
        )


def config_size(value) -> int | None:
    """``value`` as an int when it is a size the layer constructors take (an integer >= 1,
    not a bool), else None: what :meth:`Module.values_needed` reads a config's sizes with."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        return None
    return int(value)


def _non_finite(value: np.ndarray) -> str:
    """How many NaN and infinite values ``value``, a float array holding some, has."""
    nan = int(np.isnan(value).sum())
    inf = int(np.isinf(value).sum())
    counts = [f"{n} {kind}" for n, kind in ((nan, "NaN"), (inf, "inf")) if n]
    return f"{' and '.join(counts)} among {value.size} values"


def _state_arrays(owner: str, state) -> dict[str, np.ndarray]:
    """The values of the mapping ``state`` as arrays (not copied), by key; ``TypeError``
    for a ``state`` that is no mapping, ``ValueError`` for a value that is no array."""
    if not isinstance(state, Mapping):
        raise TypeError(
            f"{owner}: expected a mapping of name -> array (a state_dict()), got "
            f"{type(state).__name__}"
        )
    values = {}
    for k, v in state.items():
        try:
            values[k] = array_of(v)
        except ValueError as exc:  # e.g. ragged nested lists
            raise ValueError(f"{owner}: key {k!r} is not an array: {exc}") from None
    return values


def _check_state_keys(owner: str, targets: dict, values: dict, writing: bool) -> None:
    """One ``ValueError`` listing the missing, unexpected, mis-shaped and mis-typed keys of
    ``values`` against ``targets`` (and, when ``values`` are to be written into them, the
    read-only ``targets``), when there is any."""
    missing = [k for k in targets if k not in values]
    unexpected = [k for k in values if k not in targets]
    misshaped = [
        f"{k} (expected {targets[k].shape}, got {v.shape})"
        for k, v in values.items()
        if k in targets and v.shape != targets[k].shape
    ]
    mistyped = [
        f"{k} (expected a dtype that casts to {targets[k].dtype}, got {v.dtype})"
        for k, v in values.items()
        if k in targets and not np.can_cast(v.dtype, targets[k].dtype, "same_kind")
    ]
    read_only = [k for k, t in targets.items() if writing and not t.flags.writeable]
    if missing or unexpected or misshaped or mistyped or read_only:
        raise ValueError(
            f"{owner}: missing keys {missing}; "
            f"unexpected keys {unexpected}; mis-shaped keys {misshaped}; "
            f"mis-typed keys {mistyped}" + (f"; read-only keys {read_only}" if writing else "")
        )


def _cast_state(owner: str, targets: dict, values: dict) -> dict[str, np.ndarray]:
    """``values`` cast to their targets' dtypes (not copied when already in it);
    ``ValueError`` listing the keys whose finite values the cast turns into inf, and those
    whose integers lie beyond an integer target's range (which the cast would wrap)."""
    with np.errstate(over="ignore"):
        cast = {k: v.astype(targets[k].dtype, copy=False) for k, v in values.items()}
    overflowing = [
        f"{k} (finite values beyond the range of {targets[k].dtype})"
        for k, v in values.items()
        if v.dtype != cast[k].dtype
        and v.dtype.kind == "f"
        and (np.isinf(cast[k]) > np.isinf(v)).any()
    ]
    overflowing += [
        f"{k} (integers beyond the range of {targets[k].dtype}: {v.min()} to {v.max()})"
        for k, v in values.items()
        if v.dtype != cast[k].dtype
        and v.dtype.kind in "iu"
        and cast[k].dtype.kind in "iu"
        and v.size
        and not _fits(v, cast[k].dtype)
    ]
    if overflowing:
        raise ValueError(f"{owner}: overflowing keys {overflowing}")
    return cast


def _fits(values: np.ndarray, dtype: np.dtype) -> bool:
    """Whether every integer of ``values`` (not empty) lies in the range of the integer
    ``dtype``, compared as Python ints (exact for every pair of integer dtypes)."""
    limits = np.iinfo(dtype)
    return int(limits.min) <= int(values.min()) and int(values.max()) <= int(limits.max)


class SideState:
    """What evaluating a module tree changes besides its output: its buffers (batch-norm
    running statistics) and its random generators (dropout's draws). Found once, at
    construction; :meth:`save` copies their values and :meth:`restore` puts saved values
    back, bit for bit, for callers that must undo an evaluation (a gradient check, a
    traced step that was refused and runs again eagerly)."""

    __slots__ = ("_bit_generators", "_buffers")

    def __init__(self, module: Module):
        self._bit_generators = [g.bit_generator for _, g in module.named_generators()]
        self._buffers = [b for _, b in module.named_buffers()]

    def save(self) -> tuple[list, list]:
        """The generators' states and copies of the buffers."""
        return [g.state for g in self._bit_generators], [b.copy() for b in self._buffers]

    @contextlib.contextmanager
    def kept(self):
        """Inside, the buffers and generators may change: on exit, an error's too, they
        are put back as they were on entry (:meth:`save`, then :meth:`restore`)."""
        saved = self.save()
        try:
            yield
        finally:
            self.restore(saved)

    def restore(self, saved: tuple[list, list]) -> None:
        """Put back values :meth:`save` returned."""
        states, values = saved
        for g, state in zip(self._bit_generators, states, strict=True):
            g.state = state
        for b, value in zip(self._buffers, values, strict=True):
            np.copyto(b, value)

    def changed(self, saved: tuple[list, list]) -> bool:
        """Whether a generator or a buffer holds another value than when :meth:`save`
        returned ``saved`` (a draw, an update; NaN in a buffer equals NaN)."""
        states, values = saved
        return not (
            all(_same(g.state, s) for g, s in zip(self._bit_generators, states, strict=True))
            and all(
                np.array_equal(b, v, equal_nan=b.dtype.kind in "fc")
                for b, v in zip(self._buffers, values, strict=True)
            )
        )


def _same(a, b) -> bool:
    """Whether two bit generator states (dicts of ints, strings and arrays) are equal."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b

"""Model files: ``chainrule.save(model, path)`` and ``chainrule.load(path)``.

A model file is one safetensors file (see :mod:`chainrule.files`): the weights and
buffers as tensors, and as JSON the architecture (the model's ``get_config()``), the
fitted input scaler (type, config and statistics), class label names and free-form
metadata. Loading maps the architecture through the closed registry of layer names of
:mod:`chainrule.nn` and the closed registry of scalers below: nothing is imported,
unpickled or evaluated, so loading a file from a stranger is safe.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainrule import _checks, nn
from chainrule.data.normalize import MinMaxScaler, Standardizer
from chainrule.files import (
    FormatError,
    check_storable,
    check_text,
    read_tree,
    split_tree,
    write_tree,
)
from chainrule.files.tree import check_tree_header, is_leaf
from chainrule.nn.inspect import check_model
from chainrule.nn.registry import LAYERS, layers_needed, values_needed

FORMAT = "chainrule.model"
VERSION = 1
#: The entries of a model file's tree, every one required and no other allowed.
ENTRIES = ("format", "version", "architecture", "state", "scaler", "labels", "metadata")
SCALERS = {"Standardizer": Standardizer, "MinMaxScaler": MinMaxScaler}
#: The integers metadata may hold: int64's, the widest that most JSON libraries of other
#: languages than Python read (a model file is read by other tools too), and the widest a
#: tensor of the file holds.
INT_RANGE = (-(2**63), 2**63 - 1)
#: The most modules a model file's architecture may build (as ``named_modules`` lists
#: them: containers and layers without state included). A layer costs tens of
#: microseconds and a kilobyte or more to build, for a few bytes of architecture: a file
#: of millions of ``{"type": "ReLU"}`` would take minutes and gigabytes to load.
MAX_LAYERS = 10_000


@dataclass
class SavedModel:
    """Everything a model file holds."""

    model: nn.Module
    scaler: Standardizer | MinMaxScaler | None = None
    labels: list[str] | None = None
    metadata: dict = field(default_factory=dict)


def check_saveable(model, *, scaler=None, labels=None, metadata=None) -> None:
    """Raise, before anything is written, when a model file could not hold ``model`` and
    the extras :func:`save` takes with it (see :func:`check_extras` for those).

    ``TypeError``: ``model`` is not a :class:`~chainrule.nn.Module`. ``ValueError``: it uses
    one layer or tensor in two places (see :meth:`~chainrule.nn.Module.shared_entries`),
    which its architecture would rebuild as separate ones, has a layer of a type that
    ``load`` cannot build (one outside :data:`chainrule.nn.registry.LAYERS`, a subclass
    included), an architecture (its ``get_config()``) holding an array, which ``load``
    refuses, more than :data:`MAX_LAYERS` modules, or holds values that ``load`` refuses (see
    :meth:`~chainrule.nn.Module.invalid_state`: NaN or inf, a negative batch-norm running
    variance), or has a ``get_config()`` that does not rebuild it: the model ``load``
    builds from it (built here once and dropped) has other keys, or keys of other shapes or
    dtypes, than the model's state, each named with the shape and dtype expected (the
    rebuilt model's) and received (the model's), or layers of other settings (their
    ``get_config()``: an :class:`~chainrule.nn.MLP`'s config holds its constructor's
    arguments, not a setting changed on one of its layers since, such as a ``LeakyReLU``'s
    ``alpha``; ``nn.Sequential(*mlp.layers)`` holds each layer's; the settings only
    training reads may differ, see :attr:`~chainrule.nn.Module.TRAINING_SETTINGS`); a
    config that does not build, or counts more values than the model holds (refused
    unbuilt), is refused too.
    """
    check_model("save", model)
    foreign = [
        f"{name or 'the model'} ({type(m).__name__})"
        for name, m in model.named_modules()
        if LAYERS.get(type(m).__name__) is not type(m)
    ]
    if foreign:
        raise ValueError(
            f"save: expected layers of the types load can build ({', '.join(LAYERS)}), got "
            f"{', '.join(foreign)}; save its state_dict() instead"
        )
    configs = _module_configs(model)
    config = configs[""]
    problem = _architecture_problem(config)
    if problem:
        raise ValueError(f"save: the architecture (model.get_config()) {problem}")
    layers = layers_needed(config)
    if layers > MAX_LAYERS:
        raise ValueError(
            f"save: expected a model of at most MAX_LAYERS = {MAX_LAYERS:,} modules, which "
            f"load builds, got {layers:,}"
        )
    shared = model.shared_entries()
    if shared:
        raise ValueError(
            f"save: the model shares layers or tensors ({', '.join(shared)}); a model file's "
            "architecture describes every layer on its own and cannot tie them"
        )
    invalid = model.invalid_state()
    if invalid:
        raise ValueError(f"save: the model holds values that load refuses, in keys {invalid}")
    problem = _rebuild_problem(model, configs)
    if problem:
        raise ValueError(
            "save: expected model.get_config() to rebuild the model's state and the settings "
            "of its layers, as load builds the model from it (a file whose state does not "
            f"fit is unreadable; other settings would compute other outputs), but {problem}"
        )
    check_extras(model, scaler=scaler, labels=labels, metadata=metadata)


def _rebuild_problem(model, configs: dict[str, dict]) -> str | None:
    """How the model that ``model.get_config()`` builds, as :func:`load_bundle` builds it,
    differs from ``model`` in the keys, shapes and dtypes of its state, then in the configs
    of its modules (see :func:`_setting_differences`); None when it does not. Not built
    when its config counts more parameter and buffer values than ``model`` holds (see
    :func:`chainrule.nn.registry.values_needed`), so that a wrong config cannot allocate
    more than the model's own size; otherwise built once and dropped on return (before
    :func:`save` copies the state), its weights never compared. A model found to rebuild
    is not built again while the configs of its modules and its layout stay the same (the
    saves of :class:`~chainrule.train.ModelCheckpoint`, epoch after epoch). ``configs``:
    the configs of ``model``'s modules (see :func:`_module_configs`)."""
    config, received = configs[""], model.live_state()
    seen = (repr(configs), [(key, _entry(value)) for key, value in received.items()])
    remembered = type(model).__hash__ is not None  # a weak key must hash
    if remembered and _REBUILT.get(model) == seen:
        return None
    needed = values_needed(config)
    held = sum(value.size for value in received.values())
    if needed is not None and needed > held:
        return f"it builds {needed:,} parameter and buffer values, the model holds {held:,}"
    try:
        rebuilt = nn.from_config(config, rng=LOAD_SEED)
    except (ValueError, TypeError, KeyError, MemoryError, RecursionError) as exc:
        return f"it does not build: {exc!r:.300}"
    expected = rebuilt.live_state()
    mismatched = [
        f"{key} (expected {_entry(expected.get(key))}, got {_entry(received.get(key))})"
        for key in {**expected, **received}
        if _entry(expected.get(key)) != _entry(received.get(key))
    ]
    if mismatched:
        return f"got mismatching keys: {', '.join(mismatched)}"
    training = {name: module.TRAINING_SETTINGS for name, module in model.named_modules()}
    differences = _setting_differences(_module_configs(rebuilt), configs, training)
    if differences:
        return (
            f"got layers of other settings: {'; '.join(differences)} (an MLP's config holds "
            "its constructor's arguments, not a change made to one of its layers since: "
            "save nn.Sequential(*mlp.layers), whose config holds each layer's, instead)"
        )
    if remembered:
        _REBUILT[model] = seen
    return None


#: The config and layout each live model was last found to rebuild (see _rebuild_problem).
_REBUILT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _module_configs(model) -> dict[str, dict]:
    """The ``get_config()`` of each module of ``model``, by its name in
    :meth:`~chainrule.nn.Module.named_modules` (``""`` for ``model`` itself)."""
    return {name: module.get_config() for name, module in model.named_modules()}


def _setting_differences(
    expected: dict[str, dict], received: dict[str, dict], training: dict[str, tuple]
) -> list[str]:
    """The settings in which the modules of a model (``received``, as
    :func:`_module_configs` gives them) differ from those of the model its config rebuilds
    (``expected``), each as ``"<name> (<type>) <key> expected <value>, got <value>"``, in
    the order of :meth:`~chainrule.nn.Module.named_modules`; a module is named only when
    none of its descendants differs (a container's config holds its layers'). A module of
    ``expected`` that ``received`` does not name is a layer without state used twice in
    the model, listed once there (see :meth:`~chainrule.nn.Module.named_modules`). The
    settings ``training`` names for a module (its ``TRAINING_SETTINGS``: a dropout's keep
    probability, annealed by a callback) may differ: evaluation does not read them (nor
    is a container named for them, which its config holds)."""
    changed: dict[str, list] = {}  # the keys each module differs in, training's too
    for name, got in received.items():
        want = expected.get(name)
        changed[name] = (
            [None]  # no such layer
            if want is None
            else [k for k in {**want, **got} if want.get(k, _MISSING) != got.get(k, _MISSING)]
        )
    differing = [name for name, keys in changed.items() if keys]
    found = []
    for name in differing:
        shown = [key for key in changed[name] if key not in training[name]]
        if not shown or any(  # a container's config holds its layers': the layer is named
            other != name and (not name or other.startswith(f"{name}.")) for other in differing
        ):
            continue
        detail = (
            "expected no such layer"
            if shown == [None]
            else ", ".join(
                f"{key} expected {_setting(expected[name], key)}, got "
                f"{_setting(received[name], key)}"
                for key in shown
            )
        )
        found.append(f"{name or 'the model'} ({received[name].get('type')}) {detail}")
    return found


#: A setting absent from a config (see _setting_differences).
_MISSING = object()


def _setting(config: dict, key: str) -> str:
    """The value of ``key`` in a module's config, as :func:`_setting_differences` names it."""
    return f"{config[key]!r:.40}" if key in config else "no such key"


def _entry(value: np.ndarray | None) -> str:
    """A state entry's shape and dtype, as :func:`_rebuild_problem` names them."""
    return "no such key" if value is None else f"{value.shape} {value.dtype}"


def check_extras(model, *, scaler=None, labels=None, metadata=None, owner: str = "save") -> None:
    """Raise when :func:`save` could not store these extras with ``model``; messages start
    with ``owner``.

    ``TypeError``: ``scaler`` is not a :class:`Standardizer` or :class:`MinMaxScaler`
    (exactly: ``load`` builds those classes, not subclasses), or holds statistics of a
    dtype the file cannot store (a :class:`MinMaxScaler` fitted on ``np.longdouble`` data
    keeps its ``min`` and ``max`` in it; checked as for metadata arrays); ``labels`` is
    not a list, tuple or array of str (a str, a dict or numbers are not); ``metadata`` is
    not a dict of pure data (see :func:`chainrule.files.split_tree`) or holds an array of a
    dtype the file cannot store (see :func:`chainrule.files.check_storable`: uint32, str,
    complex and object arrays, for example, and masked arrays).

    ``ValueError``: a label UTF-8 cannot encode (see :func:`chainrule.files.check_text`:
    a lone surrogate, as ``os.fsdecode`` makes of a byte that is not UTF-8); the labels do
    not name the model's classes (see :func:`labels_problem`); the scaler is not fitted,
    holds statistics of a shape the file cannot hold (more than 32 dimensions), or was
    fitted on features of another shape than ``(n,)`` for the model's ``n`` inputs
    (the ``in_features`` of its first ``Linear`` or the ``num_features`` of its first
    ``BatchNorm1d``, when it has one); the metadata holds an integer outside
    :data:`INT_RANGE` (int64's), a key or string UTF-8 cannot encode, an array of a shape
    the file cannot hold (more than 32 dimensions, or an empty one whose other dimensions
    span more than 2**48 bytes), or nests dicts and lists more than
    ``chainrule.files.tree.MAX_DEPTH - 1`` (99) deep (a model file's tree holds it one
    level down; a dict or list that holds itself included), or more than a file's header
    holds: encoded as the header holds it, more than 100 MiB or
    :data:`~chainrule.files.safetensors.MAX_MARKS` of the characters ``{``, ``[`` and
    ``,`` (a list of millions of numbers: keep it in an array), the bounds
    :func:`save` applies (see :func:`chainrule.files.tree.check_tree_header`; the rest of the
    file, a few marks a layer, is not counted). Each metadata error but the last names
    the path of keys to the value (``metadata.run.id``).
    """
    if labels is not None:
        if (
            not isinstance(labels, list | tuple | np.ndarray)
            or (isinstance(labels, np.ndarray) and labels.ndim != 1)
            or not all(isinstance(x, str) for x in labels)
        ):
            raise TypeError(
                f"{owner}: labels expected a list of str, one class name per output, got "
                f"{type(labels).__name__} {labels!r:.80}"
            )
        try:
            for i, label in enumerate(labels):
                check_text(label, f"the string at labels.{i}")
        except ValueError as exc:
            raise ValueError(f"{owner}: labels expected text, but {exc}") from None
        problem = labels_problem(labels, model)
        if problem:
            raise ValueError(f"{owner}: labels {problem}")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(
                f"{owner}: metadata expected a dict, got {type(metadata).__name__} {metadata!r:.80}"
            )
        _check_metadata(metadata, owner)
    if scaler is not None:
        if SCALERS.get(type(scaler).__name__) is not type(scaler):
            raise TypeError(
                f"{owner}: scaler expected a {' or '.join(SCALERS)}, got "
                f"{type(scaler).__name__} ({type(scaler).__module__}."
                f"{type(scaler).__qualname__}): load could not build it"
            )
        try:
            state = scaler.state_dict()
        except RuntimeError as exc:  # not fitted
            raise ValueError(f"{owner}: scaler expected a fitted scaler, got {exc}") from None
        try:  # as save names them in the file
            check_storable({f"scaler.state.{key}": value for key, value in state.items()})
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{owner}: scaler expected statistics a file can store, but {exc}"
            ) from None
        problem = _scaler_problem(state, model)
        if problem:
            raise ValueError(f"{owner}: scaler {problem}")


def _check_metadata(metadata: dict, owner: str) -> None:
    """Raise (see :func:`check_extras`) when a model file could not hold ``metadata``, a
    dict: split as the file's tree holds it, so that its paths and depth are those
    :func:`save` meets, and encoded as the file's header holds it, so that the writer's
    bounds on a header apply (see :func:`chainrule.files.tree.check_tree_header`)."""
    try:
        skeleton, arrays = split_tree({"metadata": metadata})
        check_storable(arrays)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{owner}: metadata expected pure data, but {exc}") from None
    try:  # pure data, and yet too much of it for a header
        check_tree_header(skeleton, arrays)
    except ValueError as exc:
        raise ValueError(
            f"{owner}: metadata expected what a file's header holds, but {exc}"
        ) from None
    problem = _int_problem(skeleton["metadata"], "metadata")
    if problem:
        raise ValueError(f"{owner}: metadata {problem}")


def _int_problem(value, root: str) -> str | None:
    """Where ``value``, the entry ``root`` of a file's tree (``"metadata"``,
    ``"architecture"``), holds an integer (not a bool) outside :data:`INT_RANGE`:
    ``"expected integers within int64's range [low, high], got <value> at
    <root>.<keys>"`` for the first one; None when it holds none."""
    found = int_outside_range(value)
    if found is None:
        return None
    keys, integer = found
    low, high = INT_RANGE
    return (
        f"expected integers within int64's range [{low}, {high}], got {integer!r:.40} at "
        f"{_where(root, keys)}"
    )


def _architecture_problem(architecture) -> str | None:
    """Why a model file cannot hold ``architecture`` (a model's ``get_config()``, or the
    entry a file holds, joined with its tensors): an array anywhere in it (a layer's
    config holds numbers, strings, lists and dicts; an array there escapes the counts
    :func:`load_bundle` bounds a file with before building, as an MLP's ``sizes``); None
    when there is none. (Integers beyond :data:`INT_RANGE` are let be, unlike in the
    metadata: an MLP takes any seed >= 0, and files hold such seeds.) Any other value that
    is not plain data (a ``fractions.Fraction`` a layer kept) is named too: the file's
    writer would refuse it."""
    found = _first(architecture, lambda item: not is_leaf(item))
    if found is None:
        return None
    keys, item = found
    got = (
        f"a tensor of shape {item.shape}"
        if isinstance(item, np.ndarray)
        else f"{type(item).__name__} {item!r:.80}"
    )
    return (
        f"expected JSON data (numbers, strings, lists and objects), got {got} at "
        f"{_where('architecture', keys)}"
    )


def _where(root: str, keys: tuple) -> str:
    """The dotted path to a value of a file's entry ``root``: ``metadata.run.id``."""
    return ".".join(str(k) for k in (root, *keys))


def int_outside_range(value) -> tuple[tuple, int] | None:
    """The first integer (a NumPy one included, not a bool) of ``value``, itself or held in
    its dicts, lists and tuples, outside :data:`INT_RANGE`, which files hold: its path
    (dict keys and list indices, ``()`` for ``value`` itself) and the integer; None when
    there is none (see :func:`_first`)."""
    low, high = INT_RANGE
    return _first(
        value,
        lambda item: (
            isinstance(item, int | np.integer)
            and not isinstance(item, bool)
            and not low <= int(item) <= high
        ),
    )


def _first(value, found) -> tuple[tuple, object] | None:
    """The first item of ``value`` (itself, or held in its dicts, lists and tuples, which
    are walked, not tested) for which ``found(item)`` is true: its path (dict keys and list
    indices, ``()`` for ``value`` itself) and the item; None when there is none. Walked
    with a stack of iterators, not recursion: a file's JSON may nest deeply, and the path
    is built only for the item reported."""

    def entries(node):
        return iter(node.items() if isinstance(node, dict) else enumerate(node))

    if not isinstance(value, dict | list | tuple):
        return ((), value) if found(value) else None
    keys: list = []  # the path to the node of each iterator but the first
    stack = [entries(value)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            if keys:
                keys.pop()
            continue
        key, item = entry
        if isinstance(item, dict | list | tuple):
            keys.append(key)
            stack.append(entries(item))
        elif found(item):
            return (*keys, key), item
    return None


def save(model, path, *, scaler=None, labels=None, metadata=None) -> Path:
    """Write ``model`` (and optionally its input scaler, label names, metadata) atomically.

    Parameters
    ----------
    model : chainrule.nn.Module
    path : str or Path
        Conventionally ``*.safetensors``.
    scaler : Standardizer or MinMaxScaler, optional
        The input normalization to apply before the model at prediction time, fitted on
        features of shape ``(n,)`` for a model of ``n`` inputs.
    labels : list, tuple or array of str, optional
        Class names, in output order: one per output, or the two classes of a single
        binary output. Saved as a list.
    metadata : dict, optional
        JSON-able extra data (e.g. the training config and test metrics): integers within
        int64's range, dicts and lists nested at most 99 deep (see :func:`check_extras`).

    A ``path`` that is not a ``str`` or ``os.PathLike`` (``TypeError``) or is a ``str``
    ending in a path separator (``"models/"``: ``ValueError``), one where no file can be
    written (see :func:`chainrule.files.atomic_write`), and everything
    :func:`check_saveable` refuses, are refused before anything is written: a model that
    uses one layer or tensor in two places (its architecture would rebuild them as
    separate layers), has more than :data:`MAX_LAYERS` modules, holds NaN, inf or a
    negative batch-norm running variance or has a ``get_config()`` that holds an array
    or does not rebuild its state's keys, shapes and dtypes and its layers' settings (an
    :class:`~chainrule.nn.MLP` whose layer was changed after it was built: save
    ``nn.Sequential(*mlp.layers)``; a setting only training reads, a dropout's
    ``keep_prob``, may differ: see :attr:`~chainrule.nn.Module.TRAINING_SETTINGS`),
    extras of another type or a scaler whose statistics are of a dtype the file cannot
    store (``TypeError``), labels
    that do not name the model's classes, an unfitted scaler or one fitted on another
    number of features, metadata holding an integer beyond int64 or nested too deep
    (``ValueError``).
    """
    path = _checks.path("save", "path", path, file=True)
    check_saveable(model, scaler=scaler, labels=labels, metadata=metadata)
    tree = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": model.get_config(),
        "state": model.state_dict(),
        "scaler": None,
        "labels": None if labels is None else [str(label) for label in labels],
        "metadata": {} if metadata is None else dict(metadata),
    }
    if scaler is not None:
        tree["scaler"] = {
            "type": type(scaler).__name__,
            "config": scaler.get_config(),
            "state": scaler.state_dict(),
        }
    write_tree(path, tree)
    return path


#: The seed :func:`load` and :func:`load_bundle` build a model's generators from by default.
LOAD_SEED = 0


def load_bundle(path, *, seed: int = LOAD_SEED) -> SavedModel:
    """Read a model file with everything it holds; :class:`FormatError` if it is invalid
    (another format, a version that is not the int :data:`VERSION`, a missing or unknown
    entry, see :data:`ENTRIES`, a tensor its tree does not refer to or refers to twice, an
    architecture holding a tensor, one of more than
    :data:`MAX_LAYERS` modules or one its tensors do not fit,
    tensors holding values the model refuses, named by key (NaN or inf, a negative
    batch-norm running variance: see :meth:`~chainrule.nn.Module.load_state_dict`), a
    scaler that does not load or was fitted on another number of features than the
    model's input, metadata holding an integer outside :data:`INT_RANGE`, all of which
    :func:`save` refuses), ``TypeError`` when ``path`` is not a ``str`` or
    ``os.PathLike``, ``IsADirectoryError`` when it is a directory, ``FileNotFoundError``
    when no file is there.

    An architecture that needs more parameter and buffer values than the file's state
    tensors hold is refused before it is built; each tensor is one the file stores (none
    is referred to twice), so a file builds at most as many values as it stores, each
    of at most 8 bytes (float64): at most 8 times the bytes of its tensors (a file of
    uint8 or bool tensors loads into a float64 model).

    ``seed`` (an int >= 0, default :data:`LOAD_SEED`, 0; ``TypeError`` / ``ValueError``
    otherwise, before the file is read) seeds the generators of the layers whose config
    holds no seed, as ``nn.from_config(architecture, rng=seed)`` does: the dropout masks of
    a loaded :class:`~chainrule.nn.Sequential` in training mode, so that fine-tuning a
    loaded model with ``fit(seed=...)`` gives the same model in every process. An
    :class:`~chainrule.nn.MLP` draws from the seed of its config, as when it was built (one
    built with ``seed=None`` from fresh entropy, as it did then). A file holds no
    generator state: the masks are not those the saved model would have drawn next."""
    seed = _checks.integer("load_bundle", "seed", seed, low=0)
    path = _checks.path("load_bundle", "path", path)
    tree = read_tree(path)
    _check_entries(path, tree)
    state, labels, metadata = tree["state"], tree["labels"], tree["metadata"]
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise FormatError(f"{path}: expected the state to map names to tensors, got {state!r:.80}")
    if labels is not None and not (
        isinstance(labels, list) and all(isinstance(label, str) for label in labels)
    ):
        raise FormatError(f"{path}: expected labels to be a list of strings, got {labels!r:.80}")
    if not isinstance(metadata, dict):
        raise FormatError(f"{path}: expected metadata to be an object, got {metadata!r:.80}")
    problem = _int_problem(metadata, "metadata")
    if problem:
        raise FormatError(f"{path}: metadata {problem}")
    problem = _architecture_problem(tree["architecture"])
    if problem:
        raise FormatError(f"{path}: the architecture {problem}")
    try:
        needed = values_needed(tree["architecture"])
        layers = layers_needed(tree["architecture"])
    except RecursionError as exc:
        raise FormatError(f"{path}: the architecture is nested too deeply ({exc!r})") from None
    if layers is not None and layers > MAX_LAYERS:
        raise FormatError(
            f"{path}: the architecture builds {layers:,} modules, expected at most "
            f"MAX_LAYERS = {MAX_LAYERS:,}"
        )
    held = sum(v.size for v in state.values())  # each a tensor of its own (see read_tree)
    if needed is not None and needed > held:
        # refused before building: a few hundred bytes of config could ask for gigabytes of
        # weights (a file holding more values than needed builds at most what it holds)
        raise FormatError(
            f"{path}: the architecture needs {needed:,} parameter and buffer values, "
            f"the file's tensors hold {held:,}"
        )
    try:
        model = nn.from_config(tree["architecture"], rng=seed)
        model.load_state_dict(state)
    except (ValueError, TypeError, KeyError, MemoryError, RecursionError) as exc:
        raise FormatError(f"{path}: the architecture or weights do not fit: {exc!r:.300}") from None
    model.eval()
    scaler = _load_scaler(path, tree["scaler"])
    problem = None if scaler is None else _scaler_problem(scaler.state_dict(), model)
    if problem:
        raise FormatError(f"{path}: scaler {problem}")
    return SavedModel(model, scaler, labels, metadata)


def _check_entries(path, tree: dict) -> None:
    """FormatError unless ``tree`` is a model file's: its format, the int :data:`VERSION`
    (not 1.0 or True, which equal it), exactly the :data:`ENTRIES`."""
    if tree.get("format") != FORMAT:
        raise FormatError(f"{path}: not a chainrule model file (format {tree.get('format')!r})")
    version = tree.get("version")
    if type(version) is not int or version != VERSION:
        raise FormatError(f"{path}: model file version {version!r:.40}, expected {VERSION}")
    missing = [k for k in ENTRIES if k not in tree]
    if missing:
        raise FormatError(f"{path}: model file lacks {missing}")
    unknown = sorted(set(tree) - set(ENTRIES))
    if unknown:
        raise FormatError(
            f"{path}: model file has unknown entries {unknown!r:.300}; expected only "
            f"{list(ENTRIES)}"
        )


def load(path, *, seed: int = LOAD_SEED) -> nn.Module:
    """Read a model file and return the model, in eval mode (see :func:`load_bundle`, for
    ``seed`` too)."""
    seed = _checks.integer("load", "seed", seed, low=0)
    return load_bundle(_checks.path("load", "path", path), seed=seed).model


def labels_problem(labels, model) -> str | None:
    """Why ``labels`` do not name the model's classes (one per output, or the two classes of
    a single binary output), or None when they do or the model has no ``Linear`` to tell
    its width (see :func:`chainrule.nn.output_width`).

    :func:`save` refuses such labels; a file written before it did still loads (its
    weights are the user's), and ``chainrule predict`` refuses it before predicting."""
    n_out = nn.output_width(model)
    if labels is None or n_out is None:
        return None
    if len(labels) == max(n_out, 2):
        return None
    expected = (
        "2 labels, the classes of the model's one (binary) output"
        if n_out == 1
        else f"{n_out} labels, one per output of the model"
    )
    return f"expected {expected}, got {len(labels)}"


def _scaler_problem(state: dict, model) -> str | None:
    """Why a scaler of fitted statistics ``state`` (its ``state_dict()``) cannot scale the
    input of ``model``: fitted on features of another shape than ``(n,)`` for the model's
    ``n`` inputs (see :func:`chainrule.nn.input_width`); None when it can or the model
    cannot tell."""
    width = nn.input_width(model)
    shape = next(iter(state.values())).shape
    if width is None or shape == (width,):
        return None
    return (
        f"expected one fitted on {width} features (the model's input), got one fitted on "
        f"features of shape {shape}"
    )


def _load_scaler(path, spec):
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) != {"type", "config", "state"}:
        raise FormatError(f"{path}: malformed scaler entry")
    cls = SCALERS.get(spec["type"]) if isinstance(spec["type"], str) else None
    if cls is None:
        raise FormatError(
            f"{path}: unknown scaler {spec['type']!r}; expected one of {sorted(SCALERS)}"
        )
    try:
        scaler = cls.from_config(spec["config"])
        scaler.load_state_dict(spec["state"])
    except (ValueError, TypeError, KeyError) as exc:
        raise FormatError(f"{path}: the scaler does not load: {exc}") from None
    return scaler

"""Resume checkpoints: everything a run needs to continue exactly where it stopped.

A checkpoint is one pure-data file (see :mod:`chainrule.files`) holding the weights and
buffers, the optimizer state (moments, step and epoch counters, hence the schedule's
position), the values of the tensors the optimizer holds beyond the model's parameters (a
loss's own learnable ones, :func:`extra_tensors`), the state of every random generator
(the shuffler's state at the start of the current epoch, each dropout layer's: its bit
generator's ``state``, any array in it, such as MT19937's uint32 key, as a list of ints,
which that ``state`` takes back), the position (epoch and batches done), the partial sums
of the running epoch, the callbacks' state (with each callback's type name), whether a
callback stopped the run, what decides the batches (``batch_size``, the number of
training examples, ``shuffle`` and ``drop_last``, which a resume must share) and the
history so far (its step losses one float64 array).
Every one of these keys is required: :func:`check_state` refuses a state without one, but
``extra_tensors``, which a file of an earlier chainrule lacks (a resume refuses it for a
run whose optimizer holds such tensors: see :func:`chainrule.train.resume.restore`). It
also holds the ``metadata`` the run's model files get (the Trainer's ``save_extras``; the
CLI's holds the run's resolved config, which ``chainrule train --resume`` compares with
the run's ``config.toml``); a file of an earlier chainrule may lack it.

:class:`CheckpointDir` keeps the newest ``keep`` files of a run. Writes are atomic, so a
crash mid-write leaves the previous file intact; if the newest file is unreadable anyway
(a damaged disk, a truncated copy), loading falls back to the previous one with a warning
instead of silently starting over.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from pathlib import Path

import numpy as np

from chainrule import _checks
from chainrule.files import FormatError, read_tree, split_tree, write_tree
from chainrule.train.history import History
from chainrule.train.position import Position, is_a

FORMAT = "chainrule.checkpoint"
#: 2: the running epoch's loss is a sum over examples (with their count), no longer over
#: batch means; a version-1 file's partial sums would be misread, so it is refused.
#: 3: the keys version 2 came to write later are required: ``callback_types``,
#: ``stop_training``, the batch settings ``n_train``, ``shuffle`` and ``drop_last``, and in
#: the callbacks' states ``monitor``, ``mode`` and (early stopping) ``stopped_epoch``.
VERSION = 3
_NAME = re.compile(r"^checkpoint-(\d{8})\.safetensors$")


def save_checkpoint(path, state: dict) -> Path:
    """Write a checkpoint atomically; refuses NaN and inf in its float arrays so none is ever
    saved (and, before any work, a ``path`` that is not a ``str`` or ``os.PathLike``,
    ``TypeError``, or is a ``str`` ending in a path separator, ``ValueError``)."""
    path = _checks.path("save_checkpoint", "path", path, file=True)
    _, arrays = split_tree(state)
    bad = nonfinite(arrays)
    if bad:
        raise FloatingPointError(f"refusing to write a checkpoint with non-finite values in {bad}")
    write_tree(path, {"format": FORMAT, "version": VERSION, **state})
    return path


def nonfinite(arrays: dict[str, np.ndarray]) -> list[str]:
    """The names of the float arrays of ``arrays`` holding NaN or inf, which no checkpoint
    holds (see :func:`save_checkpoint`)."""
    return [name for name, a in arrays.items() if a.dtype.kind == "f" and not np.isfinite(a).all()]


def load_checkpoint(path) -> dict:
    """Read a checkpoint file; :class:`~chainrule.files.FormatError` if it is not one, or it
    holds what :func:`save_checkpoint` never writes (damage to its bytes): a float array
    holding NaN or inf (its JSON part may hold them, a regression run's infinite dev loss),
    or what :func:`~chainrule.files.split_tree` refuses to write (dicts and lists nested
    too deep, text UTF-8 cannot encode) (``TypeError`` for a ``path`` that is not a ``str``
    or ``os.PathLike``)."""
    path = _checks.path("load_checkpoint", "path", path)
    tree = read_tree(path)
    version = tree.get("version")  # the int: 3.0 and True equal an int too
    if tree.get("format") != FORMAT or type(version) is not int or version != VERSION:
        raise FormatError(
            f"{path}: expected a {FORMAT} file of version {VERSION}, got "
            f"{tree.get('format')!r} version {tree.get('version')!r}"
        )
    try:
        arrays = split_tree(tree)[1]
    except (TypeError, ValueError) as exc:  # what save_checkpoint never writes, refused
        raise FormatError(
            f"{path}: expected what save_checkpoint writes, got what its writer refuses "
            f"({exc}): the file is damaged"
        ) from None
    bad = nonfinite(arrays)
    if bad:
        raise FormatError(
            f"{path}: expected finite values, which every checkpoint is written with, got NaN "
            f"or inf in {bad}: the file is damaged"
        )
    return tree


#: The file of a checkpoint directory whose lock a run holds while it trains (see
#: :meth:`CheckpointDir.claimed`).
LOCK = ".chainrule-run.lock"


class CheckpointDir:
    """The numbered checkpoints of one run in ``directory`` (a ``str`` or ``os.PathLike``),
    keeping the newest ``keep``."""

    def __init__(self, directory, keep: int = 2):
        self.directory = _checks.path("CheckpointDir", "directory", directory)
        self.keep = _checks.integer("CheckpointDir", "keep", keep, low=1)

    def files(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if _NAME.match(p.name))

    def save(self, state: dict) -> Path:
        existing = self.files()
        serial = int(_NAME.match(existing[-1].name).group(1)) + 1 if existing else 0
        path = save_checkpoint(self.directory / f"checkpoint-{serial:08d}.safetensors", state)
        for old in self.files()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    @contextlib.contextmanager
    def claimed(self):
        """Hold this run's claim on the directory inside (made if missing): an exclusive
        ``flock`` on its :data:`LOCK` file, taken without waiting. ``ValueError`` when
        another run, of this process or another, holds it: two runs in one directory
        number their checkpoints from one listing and delete each other's. The file goes
        at the end. Where there is no ``flock`` (Windows) or the filesystem refuses one
        (some network filesystems), nothing is claimed."""
        try:
            import fcntl
        except ImportError:  # no flock on this platform
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = self.directory / LOCK
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                raise ValueError(
                    f"checkpoint_dir {self.directory} is in use by another run (its {LOCK} is "
                    "locked); give each run a directory of its own"
                ) from None
            except OSError:  # a filesystem without locks: run unclaimed
                held = False
            try:
                yield
            finally:
                if held:
                    lock.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def load_latest(self) -> tuple[Path, dict]:
        """The newest readable checkpoint, warning about each newer one that is not."""
        files = self.files()
        if not files:
            raise FileNotFoundError(f"no checkpoint-*.safetensors in {self.directory}")
        problems = []
        for path in reversed(files):
            try:
                state = load_checkpoint(path)
            except (FormatError, OSError) as exc:
                problems.append(f"{path.name}: {exc}")
                if path == files[0]:  # none older: the FormatError below lists them all
                    break
                warnings.warn(
                    f"checkpoint {path} is unreadable ({exc}); falling back to the previous one",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            return path, state
        raise FormatError(f"no readable checkpoint in {self.directory}: " + "; ".join(problems))


def resolve_resume(source) -> tuple[Path, dict]:
    """``source`` is a checkpoint file or a directory of them (newest readable wins), as a
    ``str`` or ``os.PathLike`` (``TypeError`` otherwise)."""
    source = _checks.path("resolve_resume", "source", source)
    if source.is_dir():
        return CheckpointDir(source).load_latest()
    if not source.exists():
        raise FileNotFoundError(f"resume_from: no such file or directory: {source}")
    return source, load_checkpoint(source)


#: The keys every checkpoint of ``fit`` holds, with their types.
_STATE = {
    "epoch": int,
    "batch_size": int,
    "n_train": int,
    "shuffle": bool,
    "drop_last": bool,
    "position": dict,
    "model": dict,
    "generators": dict,
    "optimizer": dict,
    "callbacks": list,
    "callback_types": list,
    "stop_training": bool,
    "history": dict,
}


def extra_tensors(model, optimizer) -> dict:
    """The tensors ``optimizer`` holds beyond ``model``'s parameters (a loss's own
    learnable ones, say), by the optimizer's names for them, in its order: a checkpoint
    keeps their values under these names, apart from the model's state, whose keys they
    may share. Empty without an optimizer (a Trainer built to evaluate)."""
    if optimizer is None:
        return {}
    owned = {id(p) for _, p in model.named_parameters()}
    pairs = zip(optimizer.param_names, optimizer.params, strict=True)
    return {name: p for name, p in pairs if id(p) not in owned}


def extra_values(model, optimizer) -> dict[str, np.ndarray]:
    """Copies of the values of :func:`extra_tensors`, by the same names: what a checkpoint
    or a snapshot of the best weights keeps of them."""
    return {name: t.data.copy() for name, t in extra_tensors(model, optimizer).items()}


def layout(arrays: dict) -> dict:
    """``{name: (shape, dtype name)}`` of ``arrays`` (arrays or tensors, by name): what a
    saved set of them must match to load into another."""
    return {name: (a.shape, a.dtype.name) for name, a in arrays.items()}


def progress(state: dict) -> tuple[int, int] | None:
    """How far the run of the checkpoint ``state`` went: the epochs it finished and the
    batches it did of the next; None where they are not ints (:func:`check_state` says
    what is wrong with them)."""
    done, position = state.get("epoch"), state.get("position")
    batch = position.get("batch") if isinstance(position, dict) else None
    return (done, batch) if is_a(done, int) and is_a(batch, int) else None


def too_few_epochs(epochs: int, state: dict) -> str | None:
    """Why a run of ``epochs`` epochs cannot continue the checkpoint ``state``, or None: it
    ran more epochs than that, or stopped inside the last of them, which the run would
    then leave unfinished (its logs missing, its weights ahead of them)."""
    ran = progress(state)
    if ran is None:
        return None
    done, batch = ran
    if epochs < done or (epochs == done and batch > 0):
        where = f"inside epoch {done + 1} (after {batch} of its batches)" if batch else ""
        return f"expected at least {done + bool(batch)}, as the checkpoint is " + (
            where or f"after epoch {done}"
        )
    return None


def _setting(key: str, value) -> str:
    """One batch setting as an error message names it."""
    return f"{value!r} training examples" if key == "n_train" else f"{key}={value!r}"


def _listed(history):
    """A checkpoint's history with its step losses as the list :meth:`History.from_dict`
    takes: they are a 1-D float64 array since that array replaced the list (which an older
    file holds, taken as it is)."""
    losses = history.get("step_losses") if isinstance(history, dict) else None
    if isinstance(losses, np.ndarray) and losses.ndim == 1 and losses.dtype == np.float64:
        return {**history, "step_losses": losses.tolist()}
    return history


def check_state(
    path, state: dict, batches_per_epoch: int, batching: dict, parameters, classification: bool
) -> tuple[History, Position]:
    """The checkpoint's history and position, after checking that ``state`` has the
    structure ``fit`` writes: every key of the right type, the settings that decide the
    batches those of this run (``batching``: ``batch_size``, ``n_train``, ``shuffle``,
    ``drop_last``), the epoch counting the history's rows, the gradient norms of the
    history those of some of the model's ``parameters``, the position one that
    :meth:`Position.from_dict` takes for this run's ``batches_per_epoch``, its model's
    ``parameters`` (their names) and its task (``classification`` or not), and one recorded
    type per saved callback state (the generators' and callbacks' states are checked as
    they are loaded, which is undone when one is refused). ``ValueError`` names the field,
    what was expected and what was found, before anything is loaded."""

    def refuse(field: str, expected: str, got) -> ValueError:
        return ValueError(
            f"resume_from {path}: {field} expected {expected}, got {got!r}; not a checkpoint "
            "fit can resume"
        )

    for key, kind in _STATE.items():
        value = state.get(key)
        if not is_a(value, kind):
            article = "an" if kind.__name__[0] in "aeiou" else "a"
            raise refuse(key, f"{article} {kind.__name__}", value if key in state else "nothing")
    other = [key for key, value in batching.items() if state[key] != value]
    if other:
        saved, given = ([_setting(key, s[key]) for key in other] for s in (state, batching))
        raise ValueError(
            f"resume_from {path}: expected the run's {', '.join(saved)}, got "
            f"{', '.join(given)}; a resume must walk the batches of the run it continues"
        )
    try:
        history = History.from_dict(_listed(state["history"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise refuse("history", "a training history", f"{type(exc).__name__}: {exc}") from None
    if state["epoch"] != len(history.epochs):
        raise refuse("epoch", f"the {len(history.epochs)} epochs of its history", state["epoch"])
    parameters = list(parameters)
    unknown = [name for name in history.grad_norms if name not in parameters]
    if unknown:  # the loop goes on logging these names' norms, from the model's gradients
        raise refuse("history grad_norms", f"names of parameters among {parameters}", unknown)
    try:
        position = Position.from_dict(
            state["position"],
            batches_per_epoch,
            parameters,
            batch_size=batching["batch_size"],
            n_train=batching["n_train"],
            classification=classification,
        )
    except ValueError as exc:
        raise ValueError(f"resume_from {path}: {exc}; not a checkpoint fit can resume") from None
    types = state["callback_types"]
    if len(types) != len(state["callbacks"]) or not all(isinstance(t, str) for t in types):
        raise refuse("callback_types", f"{len(state['callbacks'])} type names", types)
    return history, position

"""Callbacks: small objects the training loop calls at fixed points of a run.

Write your own by subclassing :class:`Callback` and overriding any hook; every hook gets
the running :class:`~chainrule.train.loop.Trainer`, whose ``model``, ``optimizer``,
``history`` and ``stop_training`` attributes are yours to read (and, for
``stop_training``, to set: the run ends at the epoch's end, and the history's
``stopped_reason`` is ``"stopped"`` unless the callback set one of its own, as
:class:`EarlyStopping` sets ``"early_stopping"``); from ``on_train_begin`` on,
``log_keys`` names the keys of every epoch's logs, ``resumed`` says whether the run
continues from a checkpoint and ``restored_callbacks`` holds the callbacks that took back
a saved state (the others start afresh, also when they served an earlier run); from
``on_epoch_begin`` on, ``start_batch`` is the number of the epoch's batches done before
it (0, but for an epoch a run resumes part-way through: see
:meth:`Callback.on_epoch_begin`); within an epoch, ``running_loss`` is the epoch's cost
so far (a mean over examples).
A callback with state that matters for an exact resume returns it from ``state_dict()``
(pure data) and takes it back in ``load_state_dict()``; a resumed run hands each
saved state to the callback of the same type (in order, among callbacks of one type).
"""

from __future__ import annotations

import inspect
import json
import math
import sys
import time

import numpy as np

from chainrule import _checks
from chainrule.files import atomic_write, check_text, directory_blocker, file_blocker, json_text
from chainrule.io import check_saveable, save
from chainrule.train import metrics
from chainrule.train.checkpoint import extra_tensors, extra_values, layout, nonfinite


def _restored(callback, trainer) -> bool:
    """Whether ``callback`` took back a saved state in this run (else it starts afresh)."""
    return any(cb is callback for cb in trainer.restored_callbacks)


class Callback:
    """Base class: every hook does nothing.

    ``on_train_begin`` and ``on_train_end`` frame a run that ends (it completed its
    epochs or a callback stopped it); ``on_epoch_begin``, ``on_batch_end`` and
    ``on_epoch_end`` come with every epoch and step. Their ``epoch`` and ``batch`` count
    from 0: ``epoch`` is the index of the epoch's row in ``trainer.history.epochs``, so
    ``on_epoch_end`` gets ``logs["epoch"] == epoch + 1`` (the logs, the history and the
    progress lines count from 1, as the notes do). On the first Ctrl-C, ``fit``
    finishes the current step, saves its checkpoint (with a ``checkpoint_dir``), sets the
    history's ``stopped_reason`` to ``"interrupted"``, calls every ``on_interrupt`` and raises
    :class:`~chainrule.train.interrupt.TrainingInterrupted`: an interrupted run gets no
    ``on_train_end`` (nor the end of its epoch, when the Ctrl-C came mid-epoch). Only a
    ``fit`` in the main thread hears Ctrl-C (Python delivers signals there); one in another
    thread runs on, and stops at an epoch's end when a callback sets ``stop_training``.

    Any other exception (``BaseException``) that escapes the epochs, after every
    ``on_train_begin`` ran and before the first ``on_train_end``, ends the run in
    ``on_exception(trainer, error)``: say a
    :class:`~chainrule.train.loop.NonFiniteLossError`, an error of a layer or of a
    callback's ``on_epoch_begin``, ``on_batch_end`` or ``on_epoch_end``, or the
    ``KeyboardInterrupt`` of a second Ctrl-C. ``fit`` sets the history's ``stopped_reason``
    to ``"error"``, calls every ``on_exception`` with the error, and then the error goes on
    as it was raised (the same object, with its traceback); the run gets no
    ``on_train_end`` and writes no checkpoint after it. An error of ``on_train_begin`` (the
    run has not started) or of ``on_train_end`` (its epochs are over) calls no
    ``on_exception``.

    When an ``on_interrupt`` or ``on_exception`` hook raises an ``Exception``, the later
    hooks run all the same, and the exception that ends the run gets a note (see
    :meth:`BaseException.add_note`; on Python 3.10, appended to its ``__notes__``, which
    its tracebacks do not show) naming the callback's type, the hook and its error;
    the first failing ``on_interrupt``'s error is also the ``TrainingInterrupted``'s
    ``__cause__``. A ``KeyboardInterrupt`` raised in a hook (a Ctrl-C while the hooks
    run) is not caught: it stops the hooks and goes on in place of the run's exception
    (out of ``on_interrupt``, it is an error that escapes the epochs, as above)."""

    def on_train_begin(self, trainer) -> None: ...

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        """Called before the epoch's first step, and again before the first step of an
        epoch a resumed run goes on with part-way (from a checkpoint written mid-epoch, as
        a Ctrl-C's is): then ``trainer.start_batch``, the batches done before, is > 0 (it
        is 0 at the start of an epoch). An action that must happen once per epoch (a
        multiplicative learning-rate decay, say) computes its value from ``epoch`` or
        skips when ``trainer.start_batch > 0``."""

    def on_batch_end(self, trainer, batch: int, loss: float) -> None: ...

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None: ...

    def on_train_end(self, trainer) -> None: ...

    def on_interrupt(self, trainer) -> None: ...

    def on_exception(self, trainer, error: BaseException) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


_HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
    "on_interrupt",
    "on_exception",
)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda t, e, logs: ...)``.

    Each hook takes the arguments of :class:`Callback`'s method of its name, positionally:
    ``on_epoch_end(trainer, epoch, logs)``, ``on_batch_end(trainer, batch, loss)`` and so
    on. ``ValueError`` for a name that is not a hook; ``TypeError``, naming the hook and
    its arguments, for a hook that is not callable or cannot be called with them (say a
    one-argument ``on_epoch_end=lambda logs: ...``), when it is built. A callable whose
    signature cannot be read (some builtins) is taken as it is."""

    def __init__(self, **hooks):
        unknown = sorted(set(hooks) - set(_HOOKS))
        if unknown:
            raise ValueError(
                f"LambdaCallback: unknown hooks {unknown}; expected some of {sorted(_HOOKS)}"
            )
        for name, fn in hooks.items():
            arguments = list(inspect.signature(getattr(Callback, name)).parameters)[1:]
            signature = f"({', '.join(arguments)})"
            fn = _checks.function("LambdaCallback", name, fn, signature, args=len(arguments))
            setattr(self, name, fn)


def resolve_mode(owner: str, monitor: str, mode: str) -> str:
    """``"min"`` or ``"max"``; ``"auto"`` takes the direction of the metric the key ends in
    (``dev_accuracy``: ``metrics.METRICS["accuracy"].mode``; ``acc`` counts as accuracy)
    and minimizes the rest, losses included (``ValueError``, naming ``owner``, for another
    ``mode``)."""
    _checks.choice(owner, "mode", mode, ("auto", "min", "max"))
    if mode != "auto":
        return mode
    suffix = monitor.rsplit("_", 1)[-1]
    metric = metrics.METRICS.get("accuracy" if suffix == "acc" else suffix)
    return "min" if metric is None else metric.mode


def _check_saved(owner: str, state, keys: tuple[str, ...]) -> None:
    """``ValueError`` naming ``owner`` unless its saved ``state`` is a dict with ``keys``."""
    if not isinstance(state, dict):
        raise ValueError(
            f"{owner}: expected a saved state (a dict), got {type(state).__name__} {state!r:.80}"
        )
    missing = [key for key in keys if key not in state]
    if missing:
        raise ValueError(
            f"{owner}: expected a saved state with the keys {list(keys)}, got one without {missing}"
        )


class _Monitor:
    """Tracks the best value of one logged key (shared by early stopping and checkpoints)."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float):
        if not isinstance(monitor, str):
            raise TypeError(
                f"{owner}: monitor expected the name of a logged key (str), got "
                f"{type(monitor).__name__} {monitor!r}"
            )
        min_delta = _checks.real(owner, "min_delta", min_delta, low=0.0)
        self.monitor = monitor
        self.mode = resolve_mode(owner, monitor, mode)
        self.min_delta = min_delta
        self.reset()

    def reset(self) -> None:
        """Forget the best value (a new run)."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1

    def check(self, keys) -> None:
        """KeyError unless the logs with these keys have the monitored one."""
        if self.monitor not in keys:
            raise KeyError(
                f"cannot monitor {self.monitor!r}: the epoch logs have {sorted(keys)} "
                "(dev_* keys need dev data)"
            )

    def value(self, logs: dict) -> float:
        self.check(logs)
        return float(logs[self.monitor])

    def update(self, value: float, epoch: int) -> bool:
        """Whether ``value`` beats the best by more than ``min_delta`` (below it in mode
        ``"min"``, above it in mode ``"max"``); if so, it becomes the best, at ``epoch``."""
        if self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch = value, epoch
        return improved

    def state_dict(self) -> dict:
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "best": self.best,
            "best_epoch": self.best_epoch,
        }

    def load_state_dict(self, owner: str, state: dict) -> None:
        """Take back ``state``; ``ValueError`` if it lacks a key of :meth:`state_dict`'s or
        tracked another key or direction."""
        self.best, self.best_epoch = self.checked(owner, state)

    def checked(self, owner: str, state: dict) -> tuple[float, int]:
        """The best value and epoch of the saved ``state`` of this tracker's key and
        direction (see :meth:`load_state_dict`), which changes nothing: ``ValueError``
        or ``TypeError`` naming ``owner`` and the field."""
        _check_saved(owner, state, ("monitor", "mode", "best", "best_epoch"))
        saved = state["monitor"], state["mode"]
        if saved != (self.monitor, self.mode):
            raise ValueError(
                f"{owner}(monitor={self.monitor!r}, mode={self.mode!r}) cannot take the saved "
                f"state of one with monitor={saved[0]!r}, mode={saved[1]!r}; resume with the "
                "callbacks of the run that saved it (those of one type in the same order)"
            )
        best = _checks.real(owner, "saved best", state["best"], infinite=True)
        return best, _checks.integer(owner, "saved best_epoch", state["best_epoch"], low=-1)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Early stopping (seed 002) watches the dev curve: training cost keeps falling while dev
    cost turns up once the network starts to overfit. Training stops at the end of the
    ``patience``-th epoch in a row without improvement (as Keras 3 does): with the best
    value at epoch ``b``, after epoch ``b + patience``; ``patience=0`` stops at the first
    epoch without improvement, as ``patience=1`` does. As in Keras 3, never at the end of
    the first epoch (index 0), whose value improves on no best value unless it is NaN (or
    inf in mode ``"min"``, -inf in mode ``"max"``). With ``restore_best_weights`` the model
    ends with the parameters and buffers of its best epoch (:attr:`best_weights`), and the
    tensors the optimizer holds beyond them (a loss's own learnable ones) with their values
    of that epoch (:attr:`best_extra_tensors`, by the optimizer's names); until an epoch
    improves (the first values are NaN), it keeps those of the run's first epoch, as Keras
    3 does, and :attr:`best_epoch` names that epoch. A run that does not resume from a
    checkpoint starts afresh (no best value, no weights kept from an earlier run); one
    whose logs lack ``monitor`` is refused before its first step (KeyError).

    :attr:`best_epoch` and :attr:`stopped_epoch` count from 0, as the hooks' ``epoch``:
    ``trainer.history.epochs[stop.best_epoch]`` is the best epoch's row (its
    ``"epoch"`` is ``best_epoch + 1``); ``best_epoch`` is -1 until an epoch improves or,
    with ``restore_best_weights``, has its weights kept.
    """

    def __init__(
        self,
        monitor: str = "dev_loss",
        mode: str = "auto",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ):
        self.patience = _checks.integer("EarlyStopping", "patience", patience, low=0)
        self._tracker = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.restore_best_weights = _checks.boolean(
            "EarlyStopping", "restore_best_weights", restore_best_weights
        )
        self.wait = 0
        self.best_weights: dict | None = None
        self.best_extra_tensors: dict = {}
        self.stopped_epoch: int | None = None

    @property
    def best(self) -> float:
        return self._tracker.best

    @property
    def best_epoch(self) -> int:
        """The 0-based index of the best epoch in ``history.epochs`` (see the class)."""
        return self._tracker.best_epoch

    def on_train_begin(self, trainer):
        self._tracker.check(trainer.log_keys)
        if not _restored(self, trainer):
            self._tracker.reset()
            self.wait = 0
            self.best_weights, self.best_extra_tensors = None, {}
            self.stopped_epoch = None
        elif self.best_weights is not None:  # refused now, not when the run ends
            model = trainer.model.live_state()
            _check_weights("best_weights", self.best_weights, model, "the model's state")
            extras = extra_tensors(trainer.model, trainer.optimizer)
            whose = "the optimizer's tensors beyond the model's"
            _check_weights("best_extra_tensors", self.best_extra_tensors, extras, whose)
            invalid = trainer.model.invalid_state(self.best_weights)
            if invalid:  # what a layer refuses to hold: a negative running variance, say
                raise ValueError(
                    f"EarlyStopping: saved best_weights expected values the model takes, got "
                    f"invalid keys {invalid}; not the best weights of this model"
                )

    def on_epoch_end(self, trainer, epoch, logs):
        improved = self._tracker.update(self._tracker.value(logs), epoch)
        if self.restore_best_weights and (improved or self.best_weights is None):
            if not improved:  # no best yet (a first value of NaN): this epoch's, as Keras
                self._tracker.best_epoch = epoch
            self.best_weights = trainer.model.state_dict()
            self.best_extra_tensors = extra_values(trainer.model, trainer.optimizer)
        if improved:
            self.wait = 0
        else:
            self.wait += 1
            if self.wait >= self.patience and epoch > 0:
                self.stopped_epoch = epoch
                trainer.stop_training = True
                trainer.history.stopped_reason = "early_stopping"

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            for name, t in extra_tensors(trainer.model, trainer.optimizer).items():
                np.copyto(t.data, self.best_extra_tensors[name])

    def state_dict(self):
        return {
            **self._tracker.state_dict(),
            "wait": self.wait,
            "best_weights": self.best_weights,
            "best_extra_tensors": self.best_extra_tensors,
            "stopped_epoch": self.stopped_epoch,
        }

    def load_state_dict(self, state):
        """Take back ``state``; ``ValueError``, before anything changes, if it lacks a key
        of :meth:`state_dict`'s (but ``best_extra_tensors``, which a state of an earlier
        chainrule lacks: none held), tracked another key or direction, or holds NaN or inf
        in ``best_weights`` or ``best_extra_tensors``. The resumed run's
        :meth:`on_train_begin` refuses, before its first step, best weights that are not
        the model's (their names, shapes and dtypes) or hold values it refuses (see
        :meth:`~chainrule.nn.Module.invalid_state`: a negative running variance, say)."""
        owner = "EarlyStopping"
        _check_saved(owner, state, ("wait", "best_weights", "stopped_epoch"))
        best = self._tracker.checked(owner, state)
        wait = _checks.integer(owner, "saved wait", state["wait"], low=0)
        stopped = _checks.integer(
            owner, "saved stopped_epoch", state["stopped_epoch"], low=0, none=True
        )
        weights = state["best_weights"]
        if weights is not None:
            _check_arrays("best_weights", weights, "None or a dict")
        extras = state.get("best_extra_tensors", {})
        _check_arrays("best_extra_tensors", extras, "a dict")
        self._tracker.best, self._tracker.best_epoch = best
        self.wait, self.best_weights, self.stopped_epoch = wait, weights, stopped
        self.best_extra_tensors = extras


def _check_arrays(key: str, value, expected: str) -> None:
    """``TypeError`` unless EarlyStopping's saved ``key`` is a dict of arrays by name;
    ``ValueError`` naming the arrays with NaN or inf, which no checkpoint holds (see
    :func:`~chainrule.train.checkpoint.save_checkpoint`)."""
    if not (
        isinstance(value, dict)
        and all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in value.items())
    ):
        raise TypeError(
            f"EarlyStopping: saved {key} expected {expected} of arrays by name, got "
            f"{type(value).__name__} {value!r:.80}"
        )
    bad = nonfinite(value)
    if bad:
        raise ValueError(
            f"EarlyStopping: saved {key} expected finite values, got NaN or inf in {bad}"
        )


def _check_weights(key: str, weights: dict, expected: dict, whose: str) -> None:
    """``ValueError`` unless EarlyStopping's saved ``key``, best ``weights`` (the model's,
    or the optimizer's tensors beyond them), have the names, shapes and dtypes of the
    arrays or tensors ``expected``, ``whose`` they are."""
    wanted, saved = layout(expected), layout(weights)
    if saved != wanted:
        raise ValueError(
            f"EarlyStopping: saved {key} expected {whose} {wanted}, got {saved}; not the best "
            "weights of this model"
        )


class ModelCheckpoint(Callback):
    """Save model files (see :func:`chainrule.save`): ``best.safetensors`` whenever
    ``monitor`` improves, and ``last.safetensors`` after every epoch. As with
    :class:`EarlyStopping`, a run that does not resume starts with no best value, and one
    whose logs lack ``monitor`` is refused before its first step.

    Before the first step, ``ValueError`` also refuses a ``directory`` that cannot be made
    or written in, and each file the run would write (the best one with ``save_best``, the
    last one with ``save_last``) that cannot be written (see
    :func:`chainrule.files.file_blocker`) or that already exists: another run's model
    files are never replaced. Only a run in which this callback took back its saved state
    (it resumes from a checkpoint that holds it, which names the directory: the state is
    refused in another) writes over them, as the run that wrote them would have. A run
    with a ``checkpoint_dir`` also refuses a ``directory`` whose resolved path UTF-8
    cannot encode (see :func:`chainrule.files.check_text`), which no checkpoint holds."""

    def __init__(
        self,
        directory,
        monitor: str = "dev_loss",
        mode: str = "auto",
        save_best: bool = True,
        save_last: bool = True,
    ):
        save_best = _checks.boolean("ModelCheckpoint", "save_best", save_best)
        save_last = _checks.boolean("ModelCheckpoint", "save_last", save_last)
        if not (save_best or save_last):
            raise ValueError("ModelCheckpoint: expected save_best or save_last to be True")
        self.directory = _checks.path("ModelCheckpoint", "directory", directory)
        self._tracker = _Monitor("ModelCheckpoint", monitor, mode, 0.0)
        self.save_best, self.save_last = save_best, save_last

    def on_train_begin(self, trainer):
        if self.save_best:
            self._tracker.check(trainer.log_keys)
        check_saveable(trainer.model)
        blocked = directory_blocker(self.directory)
        if blocked is not None:
            raise ValueError(f"ModelCheckpoint: {blocked}")
        names = [
            name
            for name, saved in (
                ("best.safetensors", self.save_best),
                ("last.safetensors", self.save_last),
            )
            if saved
        ]
        for name in names:
            blocked = file_blocker(self.directory / name)
            if blocked is not None:
                raise ValueError(f"ModelCheckpoint: expected a file path, but {blocked}")
        if trainer.checkpoints is not None:  # its checkpoints hold the directory, resolved
            try:
                check_text(str(self.directory.resolve()), "the directory in its state")
            except ValueError as exc:
                raise ValueError(
                    f"ModelCheckpoint: {exc}; a checkpoint_dir's checkpoints record it, so "
                    "expected a directory whose path UTF-8 can encode"
                ) from None
        if _restored(self, trainer):
            return
        held = [name for name in names if (self.directory / name).exists()]
        if held:
            raise ValueError(
                f"ModelCheckpoint: {self.directory} holds {' and '.join(held)} of another "
                "run, which this run would replace; move them away or choose another "
                "directory (a run resumed from a checkpoint with this callback's state "
                "continues them)"
            )
        self._tracker.reset()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.save_best and self._tracker.update(self._tracker.value(logs), epoch):
            save(trainer.model, self.directory / "best.safetensors", **trainer.save_extras)
        if self.save_last:
            save(trainer.model, self.directory / "last.safetensors", **trainer.save_extras)

    def state_dict(self):
        # the directory of the files its best value stands for: a resume writes on there
        return {**self._tracker.state_dict(), "directory": str(self.directory.resolve())}

    def load_state_dict(self, state):
        """Take back ``state``; ``ValueError``, before anything changes, if it lacks a key
        of :meth:`state_dict`'s (but ``directory``, which a checkpoint of an earlier
        chainrule lacks), tracked another key or direction, or saved into another
        directory: a resume that took it would write over the model files there, another
        run's, from the best value of files elsewhere."""
        _check_saved("ModelCheckpoint", state, ())
        saved, here = state.get("directory", None), str(self.directory.resolve())
        if saved is not None and saved != here:
            raise ValueError(
                f"ModelCheckpoint(directory={here!r}) cannot take the saved state of one "
                f"that wrote into {saved!r}; resume with that directory"
            )
        self._tracker.load_state_dict("ModelCheckpoint", state)


class HistoryLogger(Callback):
    """Write the history after every epoch, when training ends, on a Ctrl-C and on an
    error that ends the run (see :class:`Callback`): ``.csv``
    as a table of the epoch logs, ``.json`` as the whole :class:`History` (step losses and
    gradient norms too). The file at the end has the run's final ``stopped_reason``, also
    when a callback after this one in the list stopped the run, and is written for a
    resumed run that was already stopped too (it trains no epoch); the end's write is
    skipped when the text is the one the last epoch's wrote. After a Ctrl-C the file holds
    the history the :class:`~chainrule.train.interrupt.TrainingInterrupted` carries: the
    finished epochs' logs, the step losses so far and ``stopped_reason`` ``"interrupted"``
    (a ``.csv`` has the epoch logs only); after an error, the same with ``"error"``.

    A ``.csv`` has a header of the run's log keys, also before the first epoch ends.

    ``ValueError`` refuses a ``path`` of another suffix or a ``str`` ending in a path
    separator when the logger is built, and before the first step one where the file
    cannot be written (see :func:`chainrule.files.file_blocker`: a directory, a special
    file, a read-only file, a folder this process may not write in) or that exists,
    unless the run resumes from a checkpoint and the file holds that run's history so far
    (the epochs of the checkpoint's history, as this logger wrote them, first; for a
    checkpoint without a finished epoch, a file without epochs): as with
    :class:`ModelCheckpoint`, another run's file is never replaced."""

    def __init__(self, path):
        self.path = _checks.path("HistoryLogger", "path", path, file=True)
        if self.path.suffix not in (".csv", ".json"):
            raise ValueError(f"HistoryLogger: expected a .csv or .json path, got {self.path}")
        self._written: str | None = None  # the text of this run's last write
        self._keys: list[str] = []  # the run's log keys, the header of a .csv

    def on_train_begin(self, trainer):
        blocked = file_blocker(self.path)
        if blocked is not None:
            raise ValueError(f"HistoryLogger: expected a file path, but {blocked}")
        self._written, self._keys = None, list(trainer.log_keys)
        if not self.path.exists():
            return
        if not trainer.resumed:
            raise ValueError(
                f"HistoryLogger: {self.path} holds the history of another run, which this "
                "run would replace; move it away or choose another path (a run resumed from "
                "a checkpoint writes on in the file of its history)"
            )
        if not self.continues(trainer.history, self._keys):
            raise ValueError(
                f"HistoryLogger: {self.path} holds the history of another run, or of this "
                "one edited since: not the resumed run's history up to its checkpoint (its "
                "epochs as this logger wrote them), which the resume would replace; move it "
                "away (the resume then writes it anew from the checkpoint's history) or "
                "choose another path"
            )

    def continues(self, history, keys) -> bool:
        """Whether the file at ``path`` holds ``history`` (a resumed run's, from its
        checkpoint) so far, as :meth:`_write` writes it under the log keys ``keys`` (the
        columns of a ``.csv``, see :meth:`History.to_csv`): its epochs first (a file
        written after a later checkpoint, which a damaged one made the resume skip, has
        more). A history without epochs (a Ctrl-C in the first epoch) has nothing to tell
        its file by: only a file without epochs continues it (the bare header of a
        ``.csv``, a ``.json`` document whose ``epochs`` are empty), not any file that
        starts with the same header. The rule by which :meth:`on_train_begin` takes a
        resumed run's existing file as its own (``chainrule train --resume`` checks the
        run's ``history.csv`` by it before reading any data)."""
        csv = self.path.suffix == ".csv"
        # outside the try: keys that to_csv refuses are refused, not taken for another file
        ours = history.to_csv(keys) if csv else json.loads(json_text(history.to_dict()))["epochs"]
        try:
            text = self.path.read_text(encoding="utf-8")
            if csv:
                return text.startswith(ours) if history.epochs else text == ours
            saved = json.loads(text)
            rows = saved.get("epochs") if isinstance(saved, dict) else None
            return isinstance(rows, list) and (rows[: len(ours)] == ours if ours else not rows)
        except (OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError):
            return False  # RecursionError: JSON nested deeper than the parser recurses

    def on_epoch_end(self, trainer, epoch, logs):
        self._write(trainer.history)

    def on_train_end(self, trainer):
        self._write(trainer.history)

    def on_interrupt(self, trainer):
        self._write(trainer.history)

    def on_exception(self, trainer, error):
        self._write(trainer.history)

    def _write(self, history) -> None:
        """Write the history's text, unless this run's last write wrote the same."""
        csv = self.path.suffix == ".csv"
        text = history.to_csv(self._keys) if csv else json_text(history.to_dict())
        if text != self._written:
            atomic_write(self.path, text.encode())
            self._written = text


class ProgressBar(Callback):
    """A one-line live progress bar: epoch, batches done, elapsed time, running loss.

    The running loss is the trainer's ``running_loss``, the epoch's cost so far as a mean
    over examples, so that it ends at the epoch's logged ``train_loss`` even when the last
    batch is smaller.

    Quiet when ``quiet=True``, and by default when the stream is not a terminal (logs and
    CI output get one summary line per epoch instead). ``stream`` (default ``sys.stderr``)
    needs ``write`` and ``flush``; ``width``, the bar's characters, is an integer >= 1.
    Quiet too without a stream: the default where ``sys.stderr`` is None (Python's when
    the standard error was closed, as ``2>&-`` does).

    The live line is redrawn at most every 0.1 s and at the epoch's last step, and the
    epoch's summary line replaces it. On a Ctrl-C that comes mid-epoch, or an error that
    ends the run (see :class:`Callback`), an open live line is redrawn at the last step
    taken and ended with a newline, as there is no summary; a summary-only stream gets
    nothing for the unfinished epoch.

    ``fit``'s ``progress=True`` adds a default one unless the callbacks hold a
    ProgressBar already.
    """

    def __init__(self, quiet: bool | None = None, stream=None, width: int = 24):
        if quiet is not None:
            quiet = _checks.boolean("ProgressBar", "quiet", quiet)
        if stream is not None and not (hasattr(stream, "write") and hasattr(stream, "flush")):
            raise TypeError(
                "ProgressBar: stream expected a text stream (with write and flush), got "
                f"{type(stream).__name__} {stream!r}"
            )
        self.width = _checks.integer("ProgressBar", "width", width, low=1)
        self.stream = stream if stream is not None else sys.stderr
        if self.stream is None:  # nowhere to write
            quiet = True
        interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.live = not quiet and (quiet is False or interactive)
        self.summary = not quiet
        self._open = False  # whether a live line is drawn and not yet ended
        self._shown = 0  # the characters on the live line

    def on_train_begin(self, trainer):
        # a line an earlier run left open (an error mid-epoch) is not this run's to cover
        self._open, self._shown = False, 0

    def on_epoch_begin(self, trainer, epoch):
        self._start = self._last = time.perf_counter()

    def on_batch_end(self, trainer, batch, loss):
        self._batch = batch
        now = time.perf_counter()
        if self.live and (now - self._last > 0.1 or batch + 1 == trainer.batches_per_epoch):
            self._draw(trainer, now)

    def _draw(self, trainer, now) -> None:
        """(Re)draw the live line at the last step taken, ``_batch``."""
        self._last = now
        total = trainer.batches_per_epoch
        done = int(self.width * (self._batch + 1) / total)
        bar = "#" * done + "." * (self.width - done)
        self._overwrite(
            f"epoch {trainer.epoch + 1}/{trainer.epochs} [{bar}] {self._batch + 1}/{total} "
            f"{now - self._start:5.1f}s loss {trainer.running_loss:.4f}"
        )
        self.stream.flush()
        self._open = True

    def _overwrite(self, line: str) -> None:
        """Write ``line`` over the live line, padded to cover all of the one it replaces."""
        self.stream.write("\r" + line.ljust(self._shown))
        self._shown = len(line)

    def on_interrupt(self, trainer):
        self._end_line(trainer)

    def on_exception(self, trainer, error):
        self._end_line(trainer)

    def _end_line(self, trainer) -> None:
        """End an open live line, redrawn at the last step taken, with a newline."""
        if self._open:
            self._draw(trainer, time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
            self._open, self._shown = False, 0

    def on_epoch_end(self, trainer, epoch, logs):
        if not self.summary:
            return
        self._open = False
        parts = [f"{k} {v:.4f}" for k, v in logs.items() if k not in ("epoch", "time", "lr")]
        line = (
            f"epoch {epoch + 1}/{trainer.epochs} {logs['time']:.1f}s lr {logs['lr']:.3g} "
            + " ".join(parts)
        )
        if self.live:
            self._overwrite(line)
            self._shown = 0  # the next line starts empty
            self.stream.write("\n")
        else:  # one write: a line of a run in another thread cannot come between
            self.stream.write(line + "\n")
        self.stream.flush()

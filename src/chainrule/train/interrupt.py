"""Ending a run early: Ctrl-C, and the hooks that hear of an error that ends it.

The first Ctrl-C asks the loop to stop at the next step boundary (:func:`sigint_guard`);
the loop then saves a checkpoint and raises :class:`TrainingInterrupted`
(:func:`stop_interrupted`). A second Ctrl-C is Python's own ``KeyboardInterrupt``, at once.
:func:`call_hooks` calls every callback's ``on_interrupt`` or ``on_exception``, noting the
errors they raise on the exception that ends the run.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from typing import NoReturn

from chainrule.train.history import History
from chainrule.train.position import Position
from chainrule.train.resume import state_of


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training at a step boundary; ``checkpoint`` is where it was saved."""

    def __init__(self, message: str, checkpoint=None, history: History | None = None):
        super().__init__(message)
        self.checkpoint = checkpoint
        self.history = history


@contextlib.contextmanager
def sigint_guard(on_first: Callable[[], None]):
    """Inside, the first Ctrl-C calls ``on_first`` and gives SIGINT back to the handler it
    had, so that a second one stops at once. Outside the main thread (where no signal
    handler can be set), and where SIGINT is ignored (``SIG_IGN``: a shell's background
    job, say, which Ctrl-C should not stop), a no-op."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        on_first()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def stop_interrupted(trainer, position: Position, saved) -> NoReturn:
    """Raise :class:`TrainingInterrupted` for ``trainer``'s run, saving a checkpoint of
    ``position`` first (with a ``checkpoint_dir``) unless ``saved`` is the one just written
    for it (with the run's ``stopped_reason`` as it stood: a resume goes on from there),
    then setting the history's to ``"interrupted"`` and calling every callback's
    ``on_interrupt`` (see :func:`call_hooks`); the first hook error is the exception's
    cause."""
    path = None
    if trainer.checkpoints is not None:
        path = saved if saved is not None else trainer.checkpoints.save(state_of(trainer, position))
    trainer.history.stopped_reason = "interrupted"
    if position.batch:
        where = f"epoch {trainer.epoch + 1}, after batch {position.batch}"
    else:
        where = f"the end of epoch {trainer.epoch}"
    if path is None:
        message = (
            f"training interrupted at {where}; no checkpoint_dir was given, so nothing was saved"
        )
    else:
        message = (
            f"training interrupted at {where}; checkpoint saved to {path}. Resume with "
            f"fit(..., resume_from={str(trainer.checkpoints.directory)!r})"
        )  # told by the exception (a script's traceback shows it); the CLI words its own
    interrupted = TrainingInterrupted(message, checkpoint=path, history=trainer.history)
    failed = call_hooks(trainer, "on_interrupt", interrupted)
    raise interrupted from failed


def call_hooks(trainer, hook: str, error: BaseException, *args) -> Exception | None:
    """Call every callback's ``hook`` (``on_interrupt``, ``on_exception``) of ``trainer``
    with ``args`` for ``error``, the exception that ends the run: a hook that raises an
    ``Exception`` does not stop the later ones, and ``error`` gets a note naming the
    callback's type, the hook and its error. Returns the first such error (None if none)."""
    first = None
    for cb in trainer.callbacks:
        try:
            getattr(cb, hook)(trainer, *args)
        except Exception as exc:
            add_note(error, f"{type(cb).__name__}.{hook} raised {type(exc).__name__}: {exc}")
            if first is None:
                first = exc
    return first


def add_note(error: BaseException, text: str) -> None:
    """Add the note ``text`` to ``error``: :meth:`BaseException.add_note` where it exists
    (Python 3.11 and later), else appended to ``error.__notes__``, the list where
    ``add_note`` keeps its notes (made if missing; Python 3.10's tracebacks do not show
    it)."""
    if hasattr(error, "add_note"):
        error.add_note(text)
    else:
        error.__notes__ = [*getattr(error, "__notes__", ()), text]

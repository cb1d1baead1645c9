"""A run's state as a checkpoint holds it, and a run put back from one.

:func:`state_of` gathers what :mod:`chainrule.train.checkpoint` describes from a
:class:`~chainrule.train.loop.Trainer` at a :class:`~chainrule.train.position.Position`;
:func:`restore` checks a checkpoint's state (:func:`~chainrule.train.checkpoint.check_state`)
and loads it into the trainer's model, generators, optimizer and callbacks: all of it, or
none of it when one part refuses its saved state.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chainrule.train.callbacks import Callback
from chainrule.train.checkpoint import (
    check_state,
    extra_tensors,
    extra_values,
    layout,
    too_few_epochs,
)
from chainrule.train.position import Position


def batching(trainer) -> dict:
    """What decides every epoch's batches, which a resume must share with its run."""
    return {
        "batch_size": trainer.batch_size,
        "n_train": trainer.n_train,
        "shuffle": trainer.shuffle,
        "drop_last": trainer.drop_last,
    }


def state_of(trainer, position: Position) -> dict:
    """The checkpoint of ``trainer``'s run at ``position`` (see
    :mod:`chainrule.train.checkpoint`)."""
    return {
        "epoch": trainer.epoch,
        "epochs": trainer.epochs,
        **batching(trainer),
        "position": position.to_dict(),
        "model": trainer.model.state_dict(),
        "generators": {
            name: _plain(g.bit_generator.state) for name, g in trainer.model.named_generators()
        },
        "optimizer": trainer.optimizer.state_dict(),
        "extra_tensors": extra_values(trainer.model, trainer.optimizer),
        "callbacks": [cb.state_dict() for cb in trainer.callbacks],
        "callback_types": [type(cb).__name__ for cb in trainer.callbacks],
        "stop_training": bool(trainer.stop_training),  # a callback may set any truthy value
        "history": _history(trainer.history),
        "metadata": trainer.save_extras.get("metadata", {}),
    }


def _history(history) -> dict:
    """The history as a checkpoint stores it: its step losses as one float64 array (a
    tensor of the file; as a list of the header's they would make a run of more than
    about two million steps unsavable, see ``chainrule.files.safetensors.MAX_MARKS``)."""
    return {**history.to_dict(), "step_losses": np.array(history.step_losses, dtype=np.float64)}


def _plain(state):
    """A bit generator's ``state`` as a checkpoint stores it: its arrays (MT19937's uint32
    key, Philox's and SFC64's uint64 words, which a file's tensors cannot hold) as lists of
    the ints they hold, which every NumPy bit generator's ``state`` setter takes back
    exactly; a state without arrays (PCG64's ints) is stored as it is."""
    if isinstance(state, dict):
        return {key: _plain(value) for key, value in state.items()}
    return state.tolist() if isinstance(state, np.ndarray) else state


def restore(trainer, path, state: dict) -> tuple[Position, Callable[[], None]]:
    """Load the checkpoint ``state`` (read from ``path``) into ``trainer``: its model, the
    model's generators, the optimizer, the tensors it holds beyond the model's
    (:func:`_extra_values`) and the callbacks, then its history, epoch, stop flag
    and ``restored_callbacks``. All of it or, if any part is refused, none of it (the error
    is raised with everything as it was). Returns the position to go on from and a
    function that puts everything back as it was before (for a run that a callback's
    ``on_train_begin`` refuses after the resume)."""
    names = [name for name, _ in trainer.model.named_parameters()]
    classification = trainer.task == "classification"
    history, position = check_state(
        path, state, trainer.batches_per_epoch, batching(trainer), names, classification
    )
    fewer = too_few_epochs(trainer.epochs, state)
    if fewer is not None:
        raise ValueError(f"resume_from {path}: epochs={trainer.epochs}: {fewer}")
    generators = dict(trainer.model.named_generators())
    if set(generators) != set(state["generators"]):
        raise ValueError(
            f"resume_from {path}: the checkpoint has generators {sorted(state['generators'])}"
            f" but the model has {sorted(generators)}"
        )
    extras = extra_tensors(trainer.model, trainer.optimizer)
    values = _extra_values(path, state, extras)
    loads = _match_callbacks(path, state, trainer.callbacks)
    before = _snapshot(trainer, generators, [cb for cb, _ in loads], extras)
    try:
        _load_own(path, "model", trainer.model, state["model"])
        _load_own(path, "optimizer", trainer.optimizer, state["optimizer"])
        for name, t in extras.items():
            np.copyto(t.data, values[name])
        for name, g in generators.items():
            _load_part(path, f"generator {name!r}", g.bit_generator, state["generators"][name])
        for cb, cb_state in loads:
            _load_part(path, f"callback {type(cb).__name__}", cb, cb_state)
    except Exception:
        _put_back(trainer, before, generators)
        raise
    # A run that a callback stopped stays stopped (once the epoch it stopped in, which a
    # mid-epoch checkpoint leaves unfinished, is done); one that goes on ends its own way.
    trainer.stop_training = state["stop_training"]
    if not trainer.stop_training:
        history.stopped_reason = "completed"
    was = trainer.history, trainer.epoch
    trainer.history = history
    trainer.restored_callbacks = tuple(cb for cb, _ in loads)
    trainer.epoch = state["epoch"]

    def undo() -> None:
        _put_back(trainer, before, generators)
        trainer.history, trainer.epoch = was
        trainer.stop_training, trainer.restored_callbacks = False, ()

    return position, undo


def _match_callbacks(path, state: dict, callbacks: list) -> list[tuple[Callback, dict]]:
    """Pair each saved callback with the callback of ``callbacks`` that takes its state
    back: by type, and in order among callbacks of one type (the i-th saved
    EarlyStopping goes to the i-th EarlyStopping). ``ValueError`` when a saved state has
    no callback of its type to go to; a callback without a saved state starts afresh."""
    states = state["callbacks"]  # one per callback, in the order state_of wrote them
    pools: dict[str, list[Callback]] = {}
    for cb in callbacks:
        pools.setdefault(type(cb).__name__, []).append(cb)
    loads, homeless = [], []
    for t, s in zip(state["callback_types"], states, strict=True):
        pool = pools.get(t)
        cb = pool.pop(0) if pool else None
        if s and cb is None:
            homeless.append(t)
        elif s:
            loads.append((cb, s))
    if homeless:
        saved = [t for t, s in zip(state["callback_types"], states, strict=True) if s]
        raise ValueError(
            f"resume_from {path}: the run saved the state of the callbacks {saved}, "
            f"this one has the callbacks {[type(cb).__name__ for cb in callbacks]}, "
            f"none of them left to take back the state of {homeless}; resume with "
            "callbacks of the saved types (in any order, but those of one type in the "
            "order they were saved)"
        )
    return loads


def _extra_values(path, state: dict, tensors: dict) -> dict:
    """The values of ``tensors`` (those the optimizer holds beyond the model's, by name:
    :func:`~chainrule.train.checkpoint.extra_tensors`) in the checkpoint ``state``'s
    ``extra_tensors``, checked before anything is loaded: a dict of arrays by name, one of
    each tensor's shape and dtype for each of them and no other (finite:
    :func:`~chainrule.train.checkpoint.load_checkpoint` refuses NaN and inf in a file).
    ``ValueError`` otherwise, also for a checkpoint without ``extra_tensors`` (an earlier
    chainrule's, which did not save them) when there are such tensors: resumed, they would
    restart from their values now instead of going on from the run's."""
    if "extra_tensors" not in state:
        if tensors:
            raise ValueError(
                f"resume_from {path}: the optimizer holds tensors beyond the model's parameters "
                f"({list(tensors)}), whose values the checkpoint lacks (it has no "
                "'extra_tensors': an earlier chainrule did not save them); resumed, they would "
                "restart from their values now instead of going on from the run's; start the "
                "run afresh (this chainrule's checkpoints save them)"
            )
        return {}
    saved = state["extra_tensors"]

    def refuse(expected: str, got: str) -> ValueError:
        return ValueError(
            f"resume_from {path}: extra_tensors expected {expected}, got {got:.300}; not a "
            "checkpoint fit can resume"
        )

    if not isinstance(saved, dict) or not all(isinstance(a, np.ndarray) for a in saved.values()):
        raise refuse("a dict of arrays by name", repr(saved))
    expected, got = layout(tensors), layout(saved)
    if got != expected:
        whose = f"the values of the tensors the optimizer holds beyond the model's {expected}"
        raise refuse(whose, repr(got))
    return saved


def _snapshot(trainer, generators: dict, callbacks: list, extras: dict) -> tuple:
    """What :func:`restore` loads into, as it is now (for :func:`_put_back`): the model's
    parameter and buffer arrays (:meth:`~chainrule.nn.Module.live_state`, which
    ``load_state_dict`` writes into) and the data of the ``extras`` (the optimizer's
    tensors beyond them), with a copy of each, the optimizer's, generators' and callbacks'
    states."""
    arrays = [*trainer.model.live_state().values(), *(t.data for t in extras.values())]
    return (
        [(array, array.copy()) for array in arrays],
        trainer.optimizer.state_dict(),
        {name: g.bit_generator.state for name, g in generators.items()},
        [(cb, cb.state_dict()) for cb in callbacks],
    )


def _put_back(trainer, snapshot: tuple, generators: dict) -> None:
    model, optimizer, states, callbacks = snapshot
    for array, saved in model:  # copied back as they were, NaN included: nothing to refuse
        np.copyto(array, saved)
    trainer.optimizer.load_state_dict(optimizer)
    for name, g in generators.items():
        g.bit_generator.state = states[name]
    for cb, cb_state in callbacks:
        cb.load_state_dict(cb_state)


def _load_own(path, what: str, owner, saved) -> None:
    """``owner.load_state_dict(saved)``, ``owner`` the run's model or optimizer (``what``):
    its ``TypeError`` or ``ValueError`` is raised again, of its kind, naming the checkpoint
    and ``what`` (the owner's own words name the caller's model or optimizer, say its
    ``Adam(...)``, not the file). Raised once the handler is done, so that the load's own
    error is not its ``__context__``: a refused resume shows one error."""
    try:
        owner.load_state_dict(saved)
    except (TypeError, ValueError) as exc:
        refused = exc
    else:
        return
    kind = TypeError if isinstance(refused, TypeError) else ValueError
    raise kind(f"resume_from {path}: the {what} cannot take the saved state: {refused}")


def _load_part(path, what: str, owner, saved) -> None:
    """``owner``'s state set from a checkpoint's ``saved`` (a bit generator's ``state``,
    or ``load_state_dict``): a state it cannot take is a ``ValueError`` naming the part."""
    try:
        if isinstance(owner, np.random.BitGenerator):
            owner.state = saved
        else:
            owner.load_state_dict(saved)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        raise ValueError(
            f"resume_from {path}: {what} cannot take the saved state ({type(exc).__name__}: "
            f"{exc}); not a checkpoint fit can resume"
        ) from None

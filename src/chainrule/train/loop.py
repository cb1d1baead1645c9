"""The training loop: the notes' recipe, once, for every model.

Each epoch walks the shuffled mini-batches; each step runs forward, the cost (plus the
regularization term), backward and the optimizer's update. After each epoch the loop logs
train and dev cost and metrics, the learning rate and the gradient norms per parameter,
and lets callbacks stop early or save files. Batch size m = n is batch gradient descent,
1 is stochastic gradient descent, anything between is mini-batch (seeds 001, 002, 003).

The loop's parts live beside it: the checks of the arrays it takes in
:mod:`~chainrule.train.inputs`, the running epoch's position and partial sums in
:mod:`~chainrule.train.position`, the check of single samples before training in
:mod:`~chainrule.train.probe`, writing a checkpoint and resuming from one in
:mod:`~chainrule.train.resume` (the file format: :mod:`~chainrule.train.checkpoint`), and
Ctrl-C and the hooks of a run that ends on an error in :mod:`~chainrule.train.interrupt`.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from chainrule import _checks, losses
from chainrule._checks import boolean, function, integer
from chainrule.autodiff import (
    DTYPES,
    NonFiniteValueError,
    Tensor,
    TraceError,
    no_grad,
    trace_backward,
)
from chainrule.data.batches import BatchLoader
from chainrule.files import directory_blocker
from chainrule.io import check_extras
from chainrule.nn import BatchNorm1d
from chainrule.nn.inspect import check_model, ends_in_probabilities, modules
from chainrule.nn.module import SideState
from chainrule.optim import Optimizer
from chainrule.threads import shared_threads
from chainrule.train import metrics as metrics_mod
from chainrule.train.callbacks import Callback, ProgressBar
from chainrule.train.checkpoint import CheckpointDir, resolve_resume
from chainrule.train.diagnostics import gradient_health
from chainrule.train.history import History
from chainrule.train.inputs import (
    TASKS,
    class_indices,
    dtype_name,
    finite_pair,
    inputs,
    pair,
    task_of,
)
from chainrule.train.interrupt import (
    TrainingInterrupted,
    call_hooks,
    sigint_guard,
    stop_interrupted,
)
from chainrule.train.position import Position, is_real
from chainrule.train.probe import check_cost, probe, refuse_single_output, unreadable
from chainrule.train.resume import restore, state_of


class NonFiniteLossError(FloatingPointError):
    """The training cost became NaN or Inf, or the model's outputs of a classification run
    did (their classes cannot be read): for a training batch (its cost may be finite, a
    logit of -inf in a class that is not the target's), or for the dev set at an epoch's
    end; or the library refused values of a training batch, or of the dev set at an
    epoch's end, as non-finite (:class:`~chainrule.autodiff.NonFiniteValueError`: batch
    norm's variance beyond the dtype, ``detect_anomaly``'s checks; chained and quoted).
    Nothing was updated or saved after it: a training batch's step leaves the parameters,
    and the buffers and generators of the model's layers (batch norm's running
    statistics, dropout's draws), as it found them, as does a step that raises any other
    error."""


#: What the errors of a diverged step's update advise.
_STEP_ADVICE = (
    "try a smaller learning rate or regularization strength, input normalization, or "
    "gradient clipping (no checkpoint was written after it)"
)

#: What the errors of a diverged run advise.
_DIVERGED_ADVICE = (
    "try a smaller learning rate, input normalization, or gradient clipping (no checkpoint "
    "was written after it)"
)


class NonFiniteStepError(FloatingPointError):
    """A training step's gradient held NaN or Inf (the optimizer refused it: nothing was
    updated), or its update left a parameter, or the optimizer's state for one, NaN or Inf
    (a gradient entry whose square is beyond the dtype's range, in Adam's or RMSprop's
    average of squares); nothing was saved after it. A refused step also leaves the
    buffers and generators of the model's layers as it found them."""


def _resolve_loss(loss):
    if isinstance(loss, str):
        return losses.get_loss(loss)
    return function("Trainer", "loss", loss, "(outputs, targets) -> Tensor, or a loss name")


def _loss_name(loss) -> str | None:
    """The name :data:`chainrule.losses.LOSSES` gives the function ``loss``, or the one a
    ``functools.partial`` of keyword arguments only wraps (``label_smoothing=0.1``: its
    inputs and targets are the loss's own); None for any other callable (a user's loss,
    or one of them wrapped otherwise)."""
    if isinstance(loss, functools.partial) and not loss.args:
        loss = loss.func
    return next((name for name, fn in losses.LOSSES.items() if fn is loss), None)


def _loss_reads_logits(name: str | None) -> bool | None:
    """How the loss ``name`` (see :func:`_loss_name`) reads a single output, where the loss
    alone says: as a logit (True: BCE with logits), or on a [0, 1] scale (False: BCE's
    probabilities, and the quadratic cost's, MSE's and MAE's values on the targets' scale;
    see :data:`chainrule.losses.INPUTS`). None for the losses of class-index targets, whose
    one output per class gives the same argmax either way, and for any other loss: the
    model's last layer decides."""
    if name is None or name in losses.CLASS_INDEX_TARGETS:
        return None
    return losses.INPUTS[name] == "logits"


_SAVE_EXTRAS = ("scaler", "labels", "metadata")


def _targets(name: str, y: np.ndarray) -> np.ndarray:
    """``y`` in a dtype a tensor holds (:data:`~chainrule.autodiff.DTYPES`), since the loss
    takes the targets as a tensor: unsigned labels of another (uint16, uint32, uint64)
    become int64, the dtype the class losses hold them in (``ValueError`` naming ``name``
    for a label beyond its range, as given); any other dtype (float16), or the other byte
    order, is refused (``TypeError`` naming ``name``)."""
    if y.dtype.name in DTYPES and y.dtype.isnative:
        return y
    if y.dtype.kind == "u" and y.dtype.isnative:
        beyond = np.flatnonzero(y > np.iinfo(np.int64).max)
        if beyond.size:
            position = int(beyond[0])
            raise ValueError(
                f"{name}: label {int(y.reshape(-1)[position])} at position {position} is "
                "beyond int64, the dtype class labels are held in; expected labels in "
                "[0, number of classes)"
            )
        return y.astype(np.int64)
    raise TypeError(
        f"{name}: expected targets of dtype {', '.join(DTYPES)} (or unsigned integer labels), "
        f"in the machine's byte order, got {dtype_name(y)}; cast them: class labels to int64 "
        f"({name}.astype('int64')), values to the model's dtype"
    )


def _save_extras(extras, model) -> dict:
    """``extras`` (None: none) as a dict of :func:`chainrule.save`'s keyword arguments.
    Other keys, and extras ``save`` could not store with ``model``
    (:func:`chainrule.io.check_extras`), are refused (``TypeError``, ``ValueError``) when
    the Trainer is built, not at ModelCheckpoint's first save after an epoch of training."""
    if extras is None:
        return {}
    if not isinstance(extras, dict):
        raise TypeError(
            "Trainer: save_extras expected a dict of chainrule.save's keyword arguments "
            f"({', '.join(_SAVE_EXTRAS)}), got {type(extras).__name__} {extras!r}"
        )
    unknown = [key for key in extras if key not in _SAVE_EXTRAS]
    if unknown:
        raise ValueError(
            f"Trainer: save_extras expected keys among {list(_SAVE_EXTRAS)}, got {unknown}"
        )
    check_extras(model, **extras, owner="Trainer: save_extras")
    return dict(extras)


class Trainer:
    """Runs :meth:`fit`; holds the state of one training run (see :func:`fit` for arguments).

    The attributes callbacks may read are listed in :mod:`~chainrule.train.callbacks`;
    among them ``start_batch`` (int), the number of the running epoch's batches done
    before its ``on_epoch_begin`` was called: 0 at the start of an epoch, and for the
    epoch a run resumes part-way through (from a checkpoint a Ctrl-C wrote mid-epoch),
    the batches that checkpoint had done, since ``on_epoch_begin`` is called again for
    that epoch.
    """

    def __init__(
        self,
        model,
        loss,
        optimizer,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        regularization=None,
        metrics=None,
        callbacks=(),
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
        checkpoint_dir=None,
        progress: bool = True,
        from_logits: bool | None = None,
        save_extras: dict | None = None,
        trace: bool = True,
        share_threads: bool = True,
    ):
        model = check_model("Trainer", model)
        epochs = integer("Trainer", "epochs", epochs, low=0)
        batch_size = integer("Trainer", "batch_size", batch_size, low=1)
        trace = boolean("Trainer", "trace", trace)
        share_threads = boolean("Trainer", "share_threads", share_threads)
        shuffle = boolean("Trainer", "shuffle", shuffle)
        drop_last = boolean("Trainer", "drop_last", drop_last)
        progress = boolean("Trainer", "progress", progress)
        if checkpoint_dir is not None:
            checkpoint_dir = _checks.path("Trainer", "checkpoint_dir", checkpoint_dir)
        if regularization is not None:
            signature = "(model, n_train) -> Tensor"
            function("Trainer", "regularization", regularization, signature, args=2)
        if from_logits is not None:
            from_logits = boolean("Trainer", "from_logits", from_logits)
        if isinstance(metrics, str):
            raise TypeError(
                f"Trainer: metrics expected a list of metric names, got the string {metrics!r}; "
                f"write [{metrics!r}]"
            )
        if metrics is not None and not isinstance(metrics, Iterable):
            raise TypeError(
                "Trainer: metrics expected a list of metric names, got "
                f"{type(metrics).__name__} {metrics!r}"
            )
        if metrics is not None:  # a set's order, the logs' columns, changes by process
            _checks.ordered("Trainer", "metrics", metrics, "a list of metric names")
        save_extras = _save_extras(save_extras, model)
        if not isinstance(callbacks, Iterable):
            raise TypeError(
                "Trainer: callbacks expected a list of Callback instances, got "
                f"{type(callbacks).__name__} {callbacks!r}"
            )
        # the order they run in, which a resume matches saved states by
        _checks.ordered("Trainer", "callbacks", callbacks, "a list of Callback instances")
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    "Trainer: callbacks expected a list of Callback instances, got one "
                    f"{type(cb).__name__} {cb!r:.80}"
                )
        self.model = model
        self.loss = _resolve_loss(loss)
        self._loss_name = _loss_name(self.loss)
        self._target_scale = (
            self._loss_name is not None and losses.INPUTS[self._loss_name] == "target_scale"
        )
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.regularization = regularization
        self.metric_names = list(metrics) if metrics is not None else None
        self.seed = integer("Trainer", "seed", seed, low=0)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.checkpoints = CheckpointDir(checkpoint_dir) if checkpoint_dir is not None else None
        self.from_logits = from_logits
        self.save_extras = save_extras
        self.trace = trace
        self.share_threads = share_threads
        if progress and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            callbacks.append(ProgressBar())
        self.callbacks = callbacks
        self.history = History()
        self.stop_training = False
        self.epoch = 0
        self.start_batch = 0
        self.resumed = False
        self.restored_callbacks = ()
        self.batches_per_epoch = 0
        self._position: Position | None = None
        self._interrupt = False
        self._gradients_warned = False
        self._ran = False

    # -- public -------------------------------------------------------------------------
    def fit(self, X, y, dev=None, resume_from=None) -> History:
        """The one run of this Trainer (see :func:`fit`); a second call raises
        ``RuntimeError`` once a run has started, since the first one's state (epoch, history,
        callbacks) is spent. A call refused by its checks of the optimizer, the data, the
        metrics, the checkpoints (another run's claim on ``checkpoint_dir`` included, which
        is checked before any callback runs) or a resume changes nothing and may be
        retried, as does one that a callback's ``on_train_begin`` refuses after a resume
        had put the checkpoint in place: the model, its generators, the optimizer and the
        restored callbacks are put back as they were. An exception that ends the run after
        every ``on_train_begin`` ran (``TrainingInterrupted`` aside) sets the history's
        ``stopped_reason`` to ``"error"`` and calls every callback's ``on_exception`` before
        it goes on (see :class:`~chainrule.train.callbacks.Callback`). A new Trainer over
        the same model and optimizer starts a new run: its epochs count from 1 again (a
        schedule of unit ``"epoch"`` starts over), the optimizer's step count goes on;
        ``resume_from`` continues a run."""
        if resume_from is not None:
            resume_from = _checks.path("fit", "resume_from", resume_from)
        self._check_can_start()
        loader, dev, position = self._prepare(X, y, dev, resume_from)
        with contextlib.ExitStack() as claim:  # held until the epochs end
            self._begin(claim, resume_from)
            self._ran = True
            self._run_epochs(loader, dev, position)
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def _refuse_if_claimed(self) -> None:
        """``ValueError`` (see :meth:`CheckpointDir.claimed`) if another run holds the claim
        on an existing ``checkpoint_dir``: probed, not kept."""
        if self.checkpoints is not None and self.checkpoints.directory.is_dir():
            with self.checkpoints.claimed():
                pass

    def _begin(self, claim: contextlib.ExitStack, resume_from: Path | None) -> None:
        """Claim the checkpoint directory into ``claim`` (see :meth:`CheckpointDir.claimed`)
        and check it again, then call every callback's ``on_train_begin``. Where either
        refuses, the claim and the folders it made go, and a resume's checkpoint is taken
        out again, before the error goes on."""
        made = [] if self.checkpoints is None else _missing(self.checkpoints.directory)
        cb = None
        try:
            if self.checkpoints is not None:
                claim.enter_context(self.checkpoints.claimed())
                # another run that checked the directory before this one claimed it
                self._check_checkpoint_dir(self._resumed_from)
            for cb in self.callbacks:
                cb.on_train_begin(self)
        except BaseException as exc:
            claim.close()
            for folder in made:  # deepest first; one that a callback wrote into stays
                with contextlib.suppress(OSError):
                    folder.rmdir()
            restored = cb in self.restored_callbacks
            if self._undo_resume is not None:  # the checkpoint is taken out again
                self._undo_resume()
                self.resumed = False
            if restored and isinstance(exc, ValueError):  # a saved state unfit for this run
                raise ValueError(f"resume_from {resume_from}: {exc}") from exc
            raise

    def _check_can_start(self) -> None:
        """``RuntimeError`` once a run has started; ``TypeError`` for an optimizer that is
        not a :mod:`chainrule.optim` one (a Trainer built to evaluate)."""
        if self._ran:
            hint = ""
            if self.checkpoints is not None:
                hint = f" (resume_from={str(self.checkpoints.directory)!r} continues this run)"
            raise RuntimeError(
                f"this Trainer has finished its run (epochs logged: {len(self.history.epochs)}, "
                f"stopped_reason: {self.history.stopped_reason!r}); build a new Trainer to "
                f"train again{hint}"
            )
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(
                "Trainer: optimizer expected a chainrule.optim optimizer, got "
                f"{type(self.optimizer).__name__} {self.optimizer!r}"
            )

    def _prepare(self, X, y, dev, resume_from) -> tuple[BatchLoader, tuple | None, Position]:
        """Check the optimizer, the data, the model, the metrics, the checkpoints and a
        resume, each before any of them changes anything, then set the run up: fresh, or
        from the checkpoint ``resume_from`` names. Returns the training batches, the dev
        pair (None without one) and the position the first epoch starts from."""
        self._unheld = self._unheld_parameters()
        self._beside = self._tensors_beside_the_model()
        if resume_from is None:  # a resume's weights are the checkpoint's, finite ones
            self._check_finite_parameters()
        X, y = pair("X", "y", X, y)
        y = _targets("y", y)
        # the loader refuses NaN or inf in X as finite_pair does (ValueError naming X): the
        # training inputs are scanned once
        loader = BatchLoader(X, y, self.batch_size, shuffle=self.shuffle, drop_last=self.drop_last)
        dev = self._check_dev(X, dev)
        self._set_task(task_of(y, self._loss_name))  # the probe reads outputs as the run will
        with _evaluating(self.model), no_grad():
            probe(
                self.model,
                self.loss,
                X,
                y,
                dev,
                loss_name=self._loss_name,
                task=self.task,
                predicted=self._predicted,
            )
        try:
            checkpoint = resolve_resume(resume_from) if resume_from is not None else None
        except FileNotFoundError:  # the run training in checkpoint_dir may have deleted it
            self._refuse_if_claimed()
            raise
        # checked again once the run has claimed the directory (see _begin)
        self._resumed_from = None if checkpoint is None else checkpoint[0]
        self._check_checkpoint_dir(self._resumed_from)
        self._check_batch_norm(X.shape[0])
        self.batches_per_epoch = len(loader)
        self.n_train = X.shape[0]
        traceable = self.trace and X.dtype.name in DTYPES
        self._traced = trace_backward(self._cost) if traceable else None
        # what a step changes besides the parameters (see _forward_backward)
        self._side_state = SideState(self.model)
        self.shuffler = np.random.default_rng(np.random.SeedSequence(self.seed))
        position = self._fresh_position()
        self.resumed, self.restored_callbacks, self._undo_resume = False, (), None
        if checkpoint is not None:
            position, self._undo_resume = restore(self, *checkpoint)
            self.resumed = True
        else:
            self.history, self.epoch, self.stop_training = History(), 0, False
        self.log_keys = self._log_keys(dev is not None)
        return loader, dev, position

    def _run_epochs(self, loader: BatchLoader, dev, position: Position) -> None:
        """Train from ``position`` until the last epoch, a callback's stop at an epoch's
        end, a Ctrl-C (see :mod:`chainrule.train.interrupt`) or an error; an error sets the
        history's ``stopped_reason`` to ``"error"`` and calls every ``on_exception``."""
        threads = shared_threads() if self.share_threads else contextlib.nullcontext()
        try:
            with sigint_guard(self._request_interrupt), threads:
                # a stop waits for the epoch's end, also one a mid-epoch checkpoint left
                while self.epoch < self.epochs and (position.batch or not self.stop_training):
                    position, ended = self._run_epoch(loader, dev, position)
                    saved = None
                    if ended:  # its logs are in the history: a resume starts the next epoch
                        position = self._fresh_position()
                        self.epoch += 1
                        self._name_stop()  # before the checkpoint, which a resume reads
                        if self.checkpoints is not None:
                            saved = self.checkpoints.save(state_of(self, position))
                    if self._interrupt:
                        stop_interrupted(self, position, saved)
                # also a stop set in on_train_begin, or saved by an earlier chainrule
                self._name_stop()
        except BaseException as error:
            if not isinstance(error, TrainingInterrupted):  # the first Ctrl-C's had its hooks
                self.history.stopped_reason = "error"
                call_hooks(self, "on_exception", error, error)
            raise

    def _name_stop(self) -> None:
        """A stop that a callback set without a reason of its own (EarlyStopping's is
        ``"early_stopping"``) makes the history's ``stopped_reason`` ``"stopped"``."""
        if self.stop_training and self.history.stopped_reason == "completed":
            self.history.stopped_reason = "stopped"

    def _request_interrupt(self) -> None:
        """The first Ctrl-C: stop at the next step boundary."""
        self._interrupt = True

    def _fresh_position(self) -> Position:
        """The position at the start of an epoch, whose batches the shuffler draws now."""
        return Position(shuffler=self.shuffler.bit_generator.state)

    @property
    def running_loss(self) -> float:
        """The current epoch's training cost so far, a mean over its examples: the sum of
        each batch's cost times its size, over the examples seen (NaN before the first
        epoch starts). At the epoch's end it is the ``train_loss`` that ``fit`` logs."""
        return math.nan if self._position is None else self._position.mean_loss

    def _log_keys(self, has_dev: bool) -> list[str]:
        """The keys of every epoch's logs (what callbacks may monitor), in their order."""
        keys = ["epoch", "lr", "train_loss", *(f"train_{name}" for name in self._metric_fns)]
        if has_dev:
            keys += ["dev_loss", *(f"dev_{name}" for name in self._metric_fns)]
        return [*keys, "time"]

    # -- one epoch ----------------------------------------------------------------------
    def _run_epoch(self, loader, dev, position: Position) -> tuple[Position, bool]:
        """Train from ``position`` to the end of the epoch, or to the step a Ctrl-C
        interrupts; returns the position and whether the epoch ended (its logs written)."""
        epoch = self.epoch
        self._position = position
        self.optimizer.set_epoch(epoch + 1)  # optimizers count epochs from 1, as the notes do
        self.start_batch = position.batch  # > 0: a resume goes on part-way through the epoch
        for cb in self.callbacks:
            cb.on_epoch_begin(self, epoch)
        if position.batch == 0:  # the rate the epoch starts with, a callback's included
            position.lr = float(self.optimizer.current_lr)
        self.shuffler.bit_generator.state = position.shuffler
        batches = loader.epoch(self.shuffler if self.shuffle else None, start=position.batch)
        start = time.perf_counter()
        self.model.train()
        logged = set(self._logged(position))
        params = [  # those a gradient can reach, and those the run logs
            (name, p)
            for name, p in self.model.named_parameters()
            if p.requires_grad or name in logged
        ]
        sq_norms = position.sq_norms
        for name, _ in params:
            sq_norms.setdefault(name, 0.0)
        unheld = self._unheld
        for xb, yb in batches:
            self.optimizer.zero_grad()
            for p in unheld:  # frozen parameters: their gradients must not pile up either
                p.grad = None
            side = self._side_state.save()  # what a diverged step puts back
            try:
                cost, out = self._forward_backward(xb, yb, side)
                value = cost.item()
                if not math.isfinite(value):
                    raise NonFiniteLossError(
                        f"the training cost became {value} at epoch {epoch + 1}, step "
                        f"{position.batch + 1}; {_DIVERGED_ADVICE}"
                    )
                if self.task == "classification":  # before the update: see NonFiniteLossError
                    pred = self._batch_predictions(out.data)
            except NonFiniteValueError as exc:  # a layer refused the batch's values
                self._side_state.restore(side)
                raise NonFiniteLossError(  # the layer's message gives its own advice
                    f"at epoch {epoch + 1}, step {position.batch + 1}: {exc} (no checkpoint "
                    "was written after it)"
                ) from exc
            except BaseException:  # a step that raises leaves the layers as it found them
                self._side_state.restore(side)
                raise
            try:
                squares, beside = _squares(params), _squares(self._beside)
            except FloatingPointError:  # the caller's errstate(all="raise"): no error here
                with np.errstate(all="ignore"):
                    squares, beside = _squares(params), _squares(self._beside)
            step_sq = 0.0
            for name, sq in squares:
                sq_norms[name] += sq
                step_sq += sq
            for _, sq in beside:  # a tensor beside the model: checked, not logged
                step_sq += sq
            try:
                self.optimizer.step()
            except NonFiniteValueError as exc:  # a NaN or Inf gradient: nothing was updated
                self._side_state.restore(side)
                raise NonFiniteStepError(
                    f"at epoch {epoch + 1}, step {position.batch + 1}: {exc}; {_STEP_ADVICE}"
                ) from exc
            except BaseException:
                self._side_state.restore(side)
                raise
            if not math.isfinite(step_sq):  # NaN, Inf or squares beyond the dtype's range
                self._check_update(params + self._beside, epoch + 1, position.batch + 1)
            if position.batch + 1 == self.batches_per_epoch:  # no next step's cost to see it
                self._check_parameters(epoch + 1, position.batch + 1)
            position.batch += 1
            position.examples += len(yb)
            position.loss_sum += value * len(yb)  # the epoch's cost: a mean over examples
            self.history.step_losses.append(value)
            if self.task == "classification":
                position.pred.append(pred)
                position.true.append(class_indices(yb))
            else:
                position.pred.append(out.data)
                position.true.append(yb)
            for cb in self.callbacks:
                cb.on_batch_end(self, position.batch - 1, value)
            if self._interrupt:  # its checkpoint is written next: as at an epoch's end
                self._check_parameters(epoch + 1, position.batch)
                position.elapsed += time.perf_counter() - start
                return position, False
        position.elapsed += time.perf_counter() - start
        self._end_epoch(dev, position)
        return position, True

    def _check_update(self, params: list, epoch: int, step: int) -> None:
        """After an update whose gradients' sum of squares was not finite (the optimizer
        took them: a NaN or Inf one it refuses, see :meth:`_run_epoch`): a
        ``NonFiniteStepError`` naming the epoch, the step and the parameter when the update
        left a parameter it holds, or its state for that parameter, NaN or Inf. A sum of
        squares that merely overflowed, of a gradient the update takes, trains on (its
        logged norm is inf)."""
        where = f"at epoch {epoch}, step {step}"
        held = {id(p): i for i, p in enumerate(self.optimizer.params)}
        states = self.optimizer.state_dict()["params"]
        for name, p in params:
            broken = [] if np.isfinite(p.data).all() else ["its values"]
            if id(p) in held:
                state = states[held[id(p)]]["state"]
                broken += [
                    f"{type(self.optimizer).__name__}'s state {key!r}"
                    for key, value in state.items()
                    if not np.isfinite(value).all()
                ]
            if broken:
                peak = float(np.abs(p.grad).max()) if p.grad is not None else math.nan
                squares = math.sqrt(np.finfo(p.dtype).max)
                raise NonFiniteStepError(
                    f"the update {where} left {' and '.join(broken)} of parameter {name!r} "
                    f"NaN or Inf (its gradient's largest entry is {peak:.3g}; {p.dtype} holds "
                    f"the squares of entries up to {squares:.3g}); {_STEP_ADVICE}"
                )

    def _cost(self, x, y):
        """The step's cost (the loss plus the regularization term) and the model's output."""
        out = self.model(x)
        cost = self.loss(out, y)
        if self.regularization is not None:
            cost = cost + self.regularization(self.model, self.n_train)
        return cost, out

    def _forward_backward(self, xb, yb, saved):
        """``_cost`` of a batch with its gradients accumulated, and the model's output:
        replayed by the traced step when the model allows it, else (dropout, batch norm,
        ``trace=False``) eagerly. ``saved`` holds the model's buffers and generators as
        they were before the step (:meth:`SideState.save`: a copy of each buffer and each
        generator's state, empty lists for a model without them), which a refused trace
        and a diverged step put back."""
        if self._traced is not None:
            try:
                cost, out = self._traced(xb, yb)
            except TraceError:  # the library's layers refuse before any side effect;
                self._traced = None  # a user's may have drawn or updated: put them back
                self._side_state.restore(saved)
            else:
                # a user layer that drew from its generator or updated a buffer outside the
                # primitives ran eagerly in this recording call; a replay would not: eager
                # from now on
                if self._side_state.changed(saved):
                    self._traced = None
                return cost, out
        cost, out = self._cost(Tensor(xb), Tensor(yb))  # the targets as the trace hands them
        cost.backward()
        return cost, out

    def _set_task(self, task: str) -> None:
        """Take the task :func:`task_of` infers from the targets, with its metrics; a named
        metric of the other task is refused (``ValueError``) before anything runs."""
        names = self.metric_names
        if names is None:
            names = ["accuracy"] if task == "classification" else ["mse"]
        fns = {name: metrics_mod.get_metric(name) for name in names}
        wrong = [name for name, fn in fns.items() if fn.task != task]
        if wrong:
            fitting = [m.name for m in metrics_mod.METRICS.values() if m.task == task]
            raise ValueError(
                f"metrics {wrong} need {fns[wrong[0]].task} targets, but the targets are "
                f"{task} targets ({TASKS[task]}); expected metrics among {fitting}"
            )
        self.task = task
        self._metric_fns = fns
        if self.from_logits is None:
            reads_logits = _loss_reads_logits(self._loss_name)
            if reads_logits is None:
                reads_logits = not ends_in_probabilities(self.model)
            self.from_logits = reads_logits

    def _predicted(self, outputs: np.ndarray) -> np.ndarray:
        """Class labels from ``outputs``, refusing probabilities outside [0, 1] unless the
        loss reads them on the targets' scale (see
        :func:`~chainrule.train.metrics.predictions_from_outputs`)."""
        return metrics_mod.predictions_from_outputs(
            outputs, from_logits=self.from_logits, target_scale=self._target_scale
        )

    def _batch_predictions(self, outputs: np.ndarray) -> np.ndarray:
        """:meth:`_predicted` of the outputs of the batch at ``self._position``;
        :class:`NonFiniteLossError` naming its epoch and step (both counted from 1) where
        they hold NaN or Inf."""
        try:
            return self._predicted(outputs)
        except ValueError:
            bad = metrics_mod.nonfinite_rows(outputs)
            if not bad.any():
                raise
        count = np.count_nonzero(bad)
        raise NonFiniteLossError(
            "the model's outputs for the training batch held NaN or Inf at epoch "
            f"{self.epoch + 1}, step {self._position.batch + 1} ({count} of {len(outputs)} "
            "samples), so their classes cannot be "
            f"read; {_DIVERGED_ADVICE}"
        )

    def _end_epoch(self, dev, position: Position) -> None:
        epoch, done = self.epoch, position.batch
        logs = {"epoch": epoch + 1, "lr": position.lr}
        logs["train_loss"] = position.mean_loss
        if position.pred:
            pred, true = np.concatenate(position.pred), np.concatenate(position.true)
            for name, fn in self._metric_fns.items():
                logs[f"train_{name}"] = float(fn(true, pred))
        if dev is not None:
            try:
                results = self._evaluate(*dev, batch_size=1024, epoch=epoch + 1)
            except NonFiniteValueError as exc:  # detect_anomaly's, in the dev set's forward
                raise NonFiniteLossError(
                    f"at the end of epoch {epoch + 1}, for the dev set (X_dev): {exc} (no "
                    "checkpoint was written after it)"
                ) from exc
            logs.update({f"dev_{k}": v for k, v in results.items()})
        logs["time"] = position.elapsed
        logged = self._logged(position)  # before the row: the first epoch's are position's
        self.history.epochs.append(logs)
        for name in logged:
            total = position.sq_norms[name]
            self.history.grad_norms.setdefault(name, []).append(math.sqrt(total / max(done, 1)))
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)
            _check_logs(logs, cb)
        self._check_gradients()  # after a progress bar's summary ended its live line

    def _check_finite_parameters(self) -> None:
        """``ValueError`` naming the first parameter the optimizer updates that holds NaN or
        Inf before a fresh run (a model's state holds finite values only: its file refuses
        the others), so that :meth:`_check_parameters` finds only what an update made."""
        found = self._nonfinite_parameter()
        if found is not None:
            name, p = found
            raise ValueError(
                f"parameter {name!r} expected finite values to train from, got "
                f"{np.count_nonzero(~np.isfinite(p.data))} NaN or Inf among {p.data.size}"
            )

    def _check_parameters(self, epoch: int, step: int) -> None:
        """After an epoch's last update, or the one a Ctrl-C stops after:
        ``NonFiniteStepError`` naming the first parameter the optimizer updates that it
        left NaN or Inf from finite gradients (a step beyond the dtype; the run refuses
        such parameters before it starts). A step's cost finds such a parameter at the next
        step, mostly; the last one before the epoch's logs, checkpoints and the end of the
        run must not pass it on. One pass over the parameters an epoch."""
        found = self._nonfinite_parameter()
        if found is not None:
            name, p = found
            raise NonFiniteStepError(
                f"the update at epoch {epoch}, step {step} left parameter {name!r} NaN or "
                f"Inf from finite gradients (a step beyond what {p.dtype} holds); "
                f"{_STEP_ADVICE}"
            )

    def _nonfinite_parameter(self) -> tuple | None:
        """(name, tensor) of the first parameter the optimizer updates (one that requires a
        gradient) that holds NaN or Inf, by the optimizer's names; None if there is none."""
        for name, p in zip(self.optimizer.param_names, self.optimizer.params, strict=True):
            if p.requires_grad and not np.isfinite(p.data).all():
                return name, p
        return None

    def _logged(self, position: Position) -> list[str]:
        """The parameters whose gradient norms the run logs: those the history logs, or in
        the first epoch, those whose squared norms ``position`` sums (the parameters that
        required a gradient when it started; an earlier chainrule's checkpoint: every
        one). Fixed for the run, resumes included, so that each of the history's lists
        has one value per epoch."""
        return list(self.history.grad_norms if self.history.epochs else position.sq_norms)

    def _check_gradients(self) -> None:
        """Warn once per run when the weights' gradient norms vanish or explode with depth;
        a weight frozen with ``requires_grad=False`` gets no gradient and is not judged
        (its 0 is no vanished gradient), nor is an epoch whose norms hold a NaN: that of a
        step the optimizer's ``nonfinite="skip"`` skipped, no reading of the gradients'
        size (the warning stays for a later epoch)."""
        if self._gradients_warned:
            return
        weights = {
            name: self.history.grad_norms[name][-1]
            for name, p in self.model.named_parameters()
            if p.ndim >= 2 and p.requires_grad and name in self.history.grad_norms
        }
        if len(weights) >= 2 and not any(math.isnan(norm) for norm in weights.values()):
            reading = gradient_health(weights)
            if not reading.healthy:
                reading.warn(stacklevel=_outside_chainrule())
                self._gradients_warned = True

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, X, y, batch_size: int = 1024) -> dict:
        """Mean cost and metrics over ``(X, y)`` in eval mode, without recording a graph.

        The metrics are those of the run's task, the one :meth:`fit` took from the training
        targets; before a run sets one, the task :func:`task_of` infers from ``y``. ``X``
        and ``y`` are checked as :func:`fit`'s are (``ValueError`` for inputs without a
        feature axis, other numbers of samples, NaN or inf) before the model runs."""
        batch_size = integer("evaluate", "batch_size", batch_size, low=1)
        X, y = finite_pair("X", "y", X, y)
        y = _targets("y", y)
        if not hasattr(self, "task"):
            self._set_task(task_of(y, self._loss_name))
        return self._evaluate(X, y, batch_size)

    def _evaluate(
        self, X: np.ndarray, y: np.ndarray, batch_size: int, epoch: int | None = None
    ) -> dict:
        """:meth:`evaluate` of a checked pair, or of the dev set at the end of ``epoch``
        (counted from 1), where outputs of a classification run that hold NaN or Inf
        raise :class:`NonFiniteLossError`: they have no classes to score (of
        :meth:`evaluate`'s, ``ValueError``). Those of a regression run are scored as they
        are (NaN or inf logged, as an infinite dev loss of finite outputs is)."""
        outputs = predict(self.model, X, batch_size=batch_size)
        output = f"the model's output for {'X' if epoch is None else 'X_dev'}"
        refuse_single_output(self._loss_name, outputs.shape, output)
        if self.task == "classification":
            unread = unreadable(self._predicted, outputs.shape, outputs.dtype)
            if unread is not None:
                raise ValueError(f"{output} has shape {outputs.shape}: {unread}") from None
            bad = metrics_mod.nonfinite_rows(outputs)
            if bad.any():
                count = f"{np.count_nonzero(bad)} of {len(outputs)} samples"
                if epoch is None:
                    raise ValueError(
                        f"evaluate: the model's outputs for X held NaN or Inf ({count}), so "
                        "their classes cannot be read (did training diverge?)"
                    )
                raise NonFiniteLossError(
                    "the model's outputs for the dev set (X_dev) held NaN or Inf at the end "
                    f"of epoch {epoch} ({count}), so their classes cannot be read; "
                    f"{_DIVERGED_ADVICE}"
                )
        with no_grad():
            cost = self.loss(Tensor(outputs), Tensor(y))
        check_cost(cost, self.loss, "X" if epoch is None else "the dev set (X_dev)")
        results = {"loss": float(cost.item())}
        if self.task == "classification":
            pred = self._predicted(outputs)
            for name, fn in self._metric_fns.items():
                results[name] = float(fn(class_indices(y), pred))
        else:
            for name, fn in self._metric_fns.items():
                results[name] = float(fn(y, outputs))
        return results

    # -- checks -------------------------------------------------------------------------
    def _check_dev(self, X, dev):
        if dev is None:
            return None
        if not isinstance(dev, tuple | list) or len(dev) != 2:
            raise TypeError(f"dev expected a pair (X_dev, y_dev), got {type(dev).__name__}")
        Xd, yd = finite_pair("X_dev", "y_dev", *dev)
        yd = _targets("y_dev", yd)
        if Xd.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"dev set has feature shape {Xd.shape[1:]} but the training set has {X.shape[1:]}"
            )
        return Xd, yd

    def _tensors_beside_the_model(self) -> list:
        """(name, tensor) for each tensor the optimizer holds that the model does not (a
        loss's own learnable ones), by the optimizer's names: their gradients' squares join
        the check of each step's update, not the logged norms."""
        model = {id(p) for p in self.model.parameters()}
        pairs = zip(self.optimizer.param_names, self.optimizer.params, strict=True)
        return [(name, p) for name, p in pairs if id(p) not in model]

    def _unheld_parameters(self) -> list:
        """The model's parameters that the optimizer does not hold (frozen ones), whose
        gradients each step drops with the optimizer's; ``ValueError`` when it holds none
        of them, as an optimizer built over another model's parameters does. The optimizer
        may hold tensors the model does not (say, a loss's own learnable ones)."""
        held = {id(p) for p in self.optimizer.params}
        named = list(self.model.named_parameters())
        unheld = [p for _, p in named if id(p) not in held]
        if named and len(unheld) == len(named):
            raise ValueError(
                f"the optimizer holds none of the model's {len(named)} parameters "
                f"({', '.join(name for name, _ in named)}), so training would change nothing; "
                "expected an optimizer built over model.named_parameters()"
            )
        return unheld

    def _check_batch_norm(self, n: int) -> None:
        """Refuse training batches of one example for a model with batch normalization,
        which needs two to have a variance: ``batch_size=1``, or a last batch of one
        (``n % batch_size == 1`` without ``drop_last``). A resumed run has the same batches."""
        if not any(isinstance(m, BatchNorm1d) for _, m in self.model.named_modules()):
            return
        if self.batch_size == 1:
            raise ValueError(
                "the model has batch normalization, which needs training batches of at least "
                "2 examples, but batch_size=1 makes every batch a single example; expected a "
                "batch_size >= 2"
            )
        if not self.drop_last and n % self.batch_size == 1:
            raise ValueError(
                "the model has batch normalization, which needs training batches of at least "
                f"2 examples, but {n} training examples in batches of {self.batch_size} leave "
                "a last batch of 1; pass drop_last=True or another batch_size"
            )

    def _check_checkpoint_dir(self, resumed: Path | None) -> None:
        """Refuse a ``checkpoint_dir`` that cannot be a directory (it, or a folder above it,
        exists and is not one), or that holds the checkpoints of another run than the one
        resumed (from the checkpoint file ``resumed``): this run's would be numbered after
        them, and keeping the newest deletes them."""
        if self.checkpoints is None:
            return
        directory = self.checkpoints.directory
        blocked = directory_blocker(directory)
        if blocked is not None:
            raise ValueError(f"checkpoint_dir {directory}: {blocked}")
        files = self.checkpoints.files()
        if not files or (resumed is not None and resumed.parent.samefile(directory)):
            return
        raise ValueError(
            f"checkpoint_dir {directory} holds another run's checkpoints ({files[0].name} .. "
            f"{files[-1].name}), which this run's would replace; pass "
            f"resume_from={str(directory)!r} to continue that run, or choose an empty directory"
        )


def predict(model, X, batch_size: int = 1024) -> np.ndarray:
    """Model outputs for ``X`` in eval mode, in batches, without recording a graph.

    ``X`` holds samples on its first axis, shape ``(m, n_features)``: an ``X`` without a
    feature axis is refused (``ValueError``; one sample is ``X[None]``), and a ``model``
    that is neither a :class:`~chainrule.nn.Module` nor a callable wrapping one with
    ``train()`` and ``eval()``, which set the modes inside it (``TypeError``)."""
    model = check_model("predict", model, wrapper=True, needs=("train", "eval"))
    batch_size = integer("predict", "batch_size", batch_size, low=1)
    X = inputs("X", X)
    with _evaluating(model), no_grad():
        parts = [model(Tensor(X[i : i + batch_size])).data for i in range(0, len(X), batch_size)]
    return np.concatenate(parts)


def _outside_chainrule() -> int:
    """The ``stacklevel`` that names, in a warning its caller issues, the first frame
    outside chainrule's package: the user's line that called ``fit`` (or a callback's
    code), whether through :func:`fit` or :meth:`Trainer.fit`."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level += 1
        frame = frame.f_back
    return level


#: The directory of chainrule's modules, which :func:`_outside_chainrule` walks out of.
_PACKAGE = str(Path(__file__).parent.parent) + os.sep  # as its frames name their files


def _squares(params: list) -> list:
    """(name, the sum of squares of its gradient) for each of ``params`` with one."""
    squares = []
    for name, p in params:
        if p.grad is not None:
            g = p.grad.reshape(-1)
            squares.append((name, float(np.dot(g, g))))
    return squares


def _missing(directory: Path) -> list[Path]:
    """``directory`` and the folders above it that do not exist, deepest first: those a
    claim on it makes (see :meth:`CheckpointDir.claimed`)."""
    missing = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    return missing


def _check_logs(logs: dict, callback: Callback) -> None:
    """``TypeError`` naming ``callback`` and the key unless every value of the epoch's
    ``logs`` (which ``callback``'s ``on_epoch_end`` may have added to) is a real number:
    an int or a float, NumPy's included where it holds a Python int or float (a long
    double does not, where it is wider than a double: no checkpoint stores it), not a
    bool, and within float64's range (an int beyond it is refused too). The history keeps
    the row, and a resume refuses a checkpoint whose rows hold anything else."""
    for key, value in logs.items():
        plain = value.item() if isinstance(value, np.integer | np.floating) else value
        if not is_real(plain):  # an int float() refuses would fail a resume and the CLI
            raise TypeError(
                f"{type(callback).__name__}.on_epoch_end set logs[{key!r}] to "
                f"{type(value).__name__} {value!r:.80}; the epoch's logs hold numbers (int or "
                "float within float64's range, not bool), as the history and its checkpoints "
                "keep them: convert it (e.g. float(x)) or keep it on the callback"
            )


@contextlib.contextmanager
def _evaluating(model):
    """``model`` in eval mode inside; after, every module back in the mode it had (for
    :func:`predict` and :func:`evaluate`, a layer a user put in eval mode on its own, a
    frozen batch norm say, stays so; ``fit`` trains every module at each epoch)."""
    modes = [(m, m.training) for m in modules(model)]
    was_training = getattr(model, "training", False)  # a wrapper's (see predict)
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)  # what a subclass's train() does besides the flags
        for module, mode in modes:  # then each module's own mode (the root's: the same)
            module.training = mode


def fit(model, loss, optimizer, X, y, *, dev=None, resume_from=None, **options) -> History:
    """Train ``model`` on ``(X, y)``; returns the :class:`History`.

    Each call is a run of its own: its epochs count from 1 again, so a schedule of unit
    ``"epoch"`` starts over (the optimizer's ``set_epoch(1)`` at the first epoch), while
    the optimizer's step count goes on from the updates of an earlier ``fit`` with it (a
    schedule of unit ``"step"``, Adam's bias correction). To continue a run, pass
    ``resume_from`` its checkpoint instead.

    Parameters
    ----------
    model : chainrule.nn.Module
        Anything else (None, a layer class) is refused (``TypeError``) before any work, as
        is (``ValueError``), for a fresh run, a parameter the optimizer updates that holds
        NaN or Inf. Put in training mode, every module of it, at the start of each epoch (a
        layer set to eval mode by hand is trained too; freeze a parameter by leaving it out
        of the optimizer), and in eval mode for the dev evaluations.
    loss : callable or str
        ``loss(outputs, targets) -> scalar Tensor`` or a name of :mod:`chainrule.losses`.
        A loss that returns anything else (the per-example values of
        ``reduction="none"``, a float) is refused before training (``TypeError`` for no
        Tensor, ``ValueError`` for more than one value; a Tensor of one value of shape
        ``(1,)`` is taken, as ``backward()`` takes it), when the check of single samples
        (and of the first two together) calls it; ``cross_entropy`` and ``nll`` (by name,
        or a keyword partial of them) over a model of 1 output, a single class with nothing
        to learn, are refused (``ValueError``) then too.
        The targets arrive as a Tensor without gradient (its ``.data`` the batch's array),
        in the traced and the eager step, in the check of single samples before training
        and in the dev evaluation alike (a replayed step substitutes each batch's targets,
        so they are a tensor there). Compute from them with tensor ops, which the traced
        step replays on each batch: index a tensor made before training
        (``class_w[targets]``), cast them (``targets.astype("float32")``). A tensor made
        inside the loss of their array (``cr.tensor(w[targets.data])``), or a
        ``targets.numpy()``, ends the trace: every step is eager then. A number read from
        ``targets.data`` (``w[targets.data[0]]``, ``targets.data.mean()``) does not: the
        trace takes it for a constant, compared only at the second step, and replays the
        first batch's value after that; use ``trace=False`` for such a loss.
        Unsigned labels of a dtype no Tensor holds (uint16, uint32, uint64) arrive as
        int64; other such dtypes (float16) are refused (``TypeError``) before any work.
    optimizer : chainrule.optim optimizer
        Over the model's parameters (``ValueError`` if it holds none of them; ``TypeError``
        for anything but an optimizer: a Trainer built without one only evaluates). Model
        parameters it leaves out stay as they are (frozen); their gradients are reset at
        every step with the optimizer's, so that their logged norms are per step too (a
        gradient still reaches them: the ``GradientWarning`` of vanishing or exploding
        weight gradients reads them too). A parameter with ``requires_grad=False`` gets
        none: its norm is neither logged nor read (see
        :attr:`History.grad_norms <chainrule.train.history.History>`). It may hold
        tensors the model does not (a loss's own learnable ones, say): checkpoints save
        their values, by the optimizer's names, and a resume takes them back, as
        EarlyStopping's ``restore_best_weights`` takes back those of the best epoch.
        A step whose gradient the optimizer refuses (NaN or Inf), or whose update leaves a
        parameter or the optimizer's state for it NaN or Inf (a gradient entry whose square
        overflows Adam's average of squares), ends the run with
        :class:`NonFiniteStepError` naming the epoch, the step and the parameter.
    X, y : arrays
        Training samples, shape ``(m, n_features)`` (a single sample is ``X[None]``; an
        ``X`` without a feature axis is refused), and one target per sample: integer
        labels, one-hot rows or values. ``X`` and ``y`` must be finite (NaN or inf is
        refused, ``ValueError``, before the model runs). Integer labels, one-hot rows and
        0/1 labels of shape ``(m,)`` or ``(m, 1)`` make a classification task, and so do
        probability rows (non-negative, each summing to 1: label smoothing done by hand)
        for ``cross_entropy`` and ``nll`` (or a ``functools.partial`` of them with keyword
        arguments only, ``label_smoothing=0.1``), a row's class being its argmax; anything
        else makes regression.
    dev : (X_dev, y_dev), optional
        Evaluated after every epoch (``dev_loss`` and ``dev_<metric>`` in the logs);
        checked as ``X`` and ``y`` are, and for the training set's feature shape. Before
        the first step, the first training sample and the first dev sample go through the
        model (in eval mode) and the loss with their targets, and so do the samples of each
        set holding its smallest and its largest target value (of any entry: a label, an
        entry of a one-hot or probability row, a value), so that inputs or targets either
        refuses are refused before any work: shapes, and targets out of the loss's range
        anywhere (a label out of range, a ``bce`` target outside [0, 1], a negative entry
        of a ``cross_entropy`` row). A loss of your own that refuses other values is
        probed at those samples alone.
        A classification run whose model outputs NaN or Inf for the dev set ends at that
        epoch's end with :class:`NonFiniteLossError` (there are no classes to score; for a
        training batch, at that step, before its update); a
        regression run logs its dev loss and metrics as they come (NaN or inf), as any
        run logs an infinite dev loss of finite outputs.
    resume_from : path, optional
        A checkpoint file or checkpoint directory to continue from, exactly. Each saved
        callback state goes back to a callback of the same type, in order among those of
        one type (their order across types may change); ``ValueError`` when none is left
        for it, and a callback without a saved state starts afresh. A run that a callback
        had stopped (early stopping, or another ``stop_training``) stays stopped, with its
        ``stopped_reason``: ``fit`` returns its history without training, or, from a
        checkpoint a Ctrl-C saved in the epoch the run was stopped in, after finishing
        that epoch (a stop is honoured at an epoch's end, as it was in the run that saved
        it). The run must walk the batches of the one it continues: another
        ``batch_size``, ``shuffle``, ``drop_last`` or number of training examples is
        refused (``ValueError``).
    epochs, batch_size : int
        Defaults 10 and 32. A model with batch normalization (``BatchNorm1d``) needs two
        examples in every training batch: ``batch_size=1``, or a last batch of one without
        ``drop_last``, is refused (``ValueError``) before the first step.
    regularization : callable, optional
        ``regularization(model, n_train) -> Tensor`` added to every step's cost, e.g.
        ``lambda m, n: chainrule.regularization.l2_penalty(m, lam, n)``.
    metrics : list of str, optional
        Names of :mod:`chainrule.train.metrics` of the task's kind (``ValueError``
        otherwise; a single string, or a set, dict or 0-d array, whose order is not fixed,
        ``TypeError``); default accuracy (classification) or mse (regression).
    callbacks : list of Callback
        In the order they run (a set, dict or 0-d array is refused, ``TypeError``).
        Called at fixed points of the run; see :class:`~chainrule.train.callbacks.Callback`
        for which hook comes when, on a Ctrl-C and on an error too. A callback that sets
        the trainer's ``stop_training`` ends the run at the epoch's end, with the history's
        ``stopped_reason`` ``"stopped"`` unless it set one of its own (EarlyStopping's:
        ``"early_stopping"``). A value that an ``on_epoch_end`` puts into the epoch's logs
        must be a real number (an int or a float, NumPy's included, not a bool): anything
        else ends the run with a ``TypeError`` naming the key, before the epoch's
        checkpoint is written.
    seed : int
        ``>= 0``, default 0: seeds the shuffling of the mini-batches (the model owns its own
        generators).
    shuffle, drop_last : bool
    checkpoint_dir : path, optional
        Write a resume checkpoint after every epoch (and on Ctrl-C) into this directory,
        keeping the newest two. It must be a directory or a path where one can be made,
        holding no checkpoints unless it is the directory of the one ``resume_from``
        continues (the new run's would replace them); ``ValueError`` otherwise, before the
        first step. A run claims the directory while it trains (a lock on a file in it,
        ``.chainrule-run.lock``, gone at the run's end), so a second run in it at the same
        time, from another thread or process, is refused too, before any callback runs:
        the call may be retried once the other run has ended (where the platform or
        filesystem has no ``flock``, nothing is claimed).
    progress : bool
        True: a live bar on terminals and a line per epoch otherwise, unless ``callbacks``
        hold a :class:`~chainrule.train.callbacks.ProgressBar` already (that one is the
        run's only bar); False: silent, but for a ProgressBar among the ``callbacks``.
    from_logits : bool, optional
        Whether single-output models emit logits (threshold 0) or probabilities (0.5).
        By default (None) the loss decides where it can: logits for ``bce_with_logits``,
        probabilities for ``bce`` (also from a model whose ``forward`` applies the sigmoid
        itself), and outputs on the targets' scale (0.5, clipped into [0, 1] first: see
        :func:`~chainrule.train.metrics.predictions_from_outputs`) for the quadratic
        cost, MSE and MAE, whatever the last layer. For any other loss, probabilities
        when the model's last registered layer is a Sigmoid or a Softmax, subclasses
        included (see :func:`chainrule.nn.ends_in_probabilities`), else logits.
    save_extras : dict, optional
        Keyword arguments of :func:`chainrule.save` (``scaler``, ``labels``, ``metadata``)
        for the model files that :class:`ModelCheckpoint` writes. Other keys, and extras
        ``save`` could not store with the model (see :func:`chainrule.io.check_extras`),
        are refused (``TypeError`` or ``ValueError``) when the Trainer is built.
    trace : bool
        True (the default): record the first steps' forward and backward and replay them
        (:func:`chainrule.trace_backward`; the same numbers as the eager step, faster),
        falling back to the eager step for models it cannot replay (dropout, batch norm).
        The Python values the step reads (a penalty's strength, a layer's setting) are
        those of the first steps: a callback that changes one mid-run needs
        ``trace=False``. The learning rate is the optimizer's, read at every step.
        A replay runs none of the model's Python, so a layer's Python side effects (a
        counter, a list it appends to, a ``forward`` wrapper that records activations)
        happen only in the steps that record, the first two of each batch shape. A step
        whose recording refuses the trace runs again eagerly, so its Python runs twice
        in that step: up to the refusing operation (dropout, a value read in Python)
        where a batch shape's first recording refuses (at its first step), and the
        whole step (model, loss, regularization) where the second recording differs
        from the first (the second step, or the second step of a new batch shape: the
        last, smaller batch's, in the second epoch); every later step runs eagerly.
        Buffers and generators registered on a layer are kept right (a refused recording
        puts them back; a step that changes them ends the trace); other side effects
        are not, and can make the weights differ from ``trace=False``'s: a model or loss
        with them needs ``trace=False``. The check of single samples before training and
        the dev evaluations run the model eagerly, in eval mode, either way.
        False: build and walk the graph anew at every step.
    share_threads : bool
        True (the default): train inside :func:`chainrule.shared_threads`, so that
        OpenBLAS's products and the compiled passes share one pool of threads (the same
        numbers; a no-op without numba). False: OpenBLAS keeps its own threads.
    """
    trainer = Trainer(model, loss, optimizer, **options)
    return trainer.fit(X, y, dev=dev, resume_from=resume_from)


def evaluate(model, loss, X, y, *, metrics=None, from_logits=None, batch_size: int = 1024):
    """Mean cost and metrics of ``model`` on ``(X, y)`` (eval mode, no graph); ``X``, ``y``
    and ``from_logits`` as :func:`fit` takes them (a bad pair is refused, ``ValueError``,
    before the model runs). What :func:`fit` refuses of the model's outputs (see its
    ``loss``) is refused here too, before the loss runs, and a loss that returns anything
    but a scalar Tensor once it has returned."""
    trainer = Trainer(model, loss, None, metrics=metrics, from_logits=from_logits, progress=False)
    return trainer.evaluate(X, y, batch_size=batch_size)

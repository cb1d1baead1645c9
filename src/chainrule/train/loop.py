"""The training loop: the notes' recipe, once, for every model.

Each epoch walks the shuffled mini-batches; each step runs forward, the cost (plus the
regularization term), backward and the optimizer's update. After each epoch the loop logs
train and dev cost and metrics, the learning rate and the gradient norms per parameter,
and lets callbacks stop early or save files. Batch size m = n is batch gradient descent,
1 is stochastic gradient descent, anything between is mini-batch (seeds 001, 002, 003).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Iterable

import numpy as np

from chainrule import _checks, losses
from chainrule._checks import boolean, function, integer
from chainrule.autodiff import DTYPES, Tensor, TraceError, no_grad, trace_backward
from chainrule.autodiff.tensor import array_of
from chainrule.data._checks import check_finite
from chainrule.data.batches import BatchLoader
from chainrule.files import directory_blocker
from chainrule.io import check_extras
from chainrule.nn import BatchNorm1d
from chainrule.nn.inspect import ends_in_probabilities, modules
from chainrule.nn.module import SideState
from chainrule.optim import Optimizer
from chainrule.threads import shared_threads
from chainrule.train import metrics as metrics_mod
from chainrule.train.callbacks import Callback, ProgressBar
from chainrule.train.checkpoint import CheckpointDir, check_state, resolve_resume
from chainrule.train.diagnostics import gradient_health
from chainrule.train.history import History


class NonFiniteLossError(FloatingPointError):
    """The training cost became NaN or Inf; nothing was updated or saved after it."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training at a step boundary; ``checkpoint`` is where it was saved."""

    def __init__(self, message: str, checkpoint=None, history: History | None = None):
        super().__init__(message)
        self.checkpoint = checkpoint
        self.history = history


def _resolve_loss(loss):
    if isinstance(loss, str):
        return losses.get_loss(loss)
    return function("Trainer", "loss", loss, "(outputs, targets) -> Tensor, or a loss name")


def _loss_name(loss) -> str | None:
    """The name :data:`chainrule.losses.LOSSES` gives the function ``loss``; None for any
    other callable (a user's loss, or one of them wrapped)."""
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


def _as_array(name: str, x) -> np.ndarray:
    x = array_of(x)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty array of samples, got shape {x.shape}")
    return x


def _inputs(name: str, X) -> np.ndarray:
    """``_as_array``, refusing an array without a feature axis: one sample of shape
    ``(n_features,)`` would be sliced as that many samples."""
    X = _as_array(name, X)
    if X.ndim < 2:
        raise ValueError(
            f"{name}: expected samples on the first axis, shape (m, n_features), got shape "
            f"{X.shape}; one sample is {name}[None]"
        )
    return X


def _targets(name: str, y) -> np.ndarray:
    """``_as_array``, refusing NaN and inf: they would turn the cost into NaN a few steps
    in, with advice about the learning rate that cannot help."""
    y = _as_array(name, y)
    if y.dtype.kind in "fc":
        bad = ~np.isfinite(y)
        if bad.any():
            first = np.argwhere(bad)[0]
            raise ValueError(
                f"{name}: expected finite targets, got {np.count_nonzero(bad)} NaN or inf "
                f"values (the first, {y[tuple(first)]}, in sample {first[0]})"
            )
    return y


def _pair(x_name: str, y_name: str, X, y) -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``y`` as arrays (:func:`_inputs`, :func:`_targets`) with one target per
    sample, else ``ValueError`` naming them."""
    X, y = _inputs(x_name, X), _targets(y_name, y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{x_name} has {X.shape[0]} samples but {y_name} has {y.shape[0]}")
    return X, y


def _check_pair(x_name: str, y_name: str, X, y) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_pair` with finite inputs, else ``ValueError`` naming them, before any
    prediction."""
    X, y = _pair(x_name, y_name, X, y)
    check_finite(X, x_name)
    return X, y


def task_of(y: np.ndarray) -> str:
    """``"classification"`` for integer labels, one-hot rows or float 0/1 labels of shape
    ``(m,)`` / ``(m, 1)`` (binary targets of BCE); ``"regression"`` for anything else."""
    if y.dtype.kind in "iub":
        return "classification"
    binary = np.isin(y, (0, 1)).all()
    if binary and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        return "classification"
    if binary and y.ndim == 2 and (y.sum(axis=1) == 1).all():
        return "classification"
    return "regression"


_TASKS = {
    "classification": "integer labels, one-hot rows or 0/1 labels of shape (m,) or (m, 1)",
    "regression": "real values other than class labels",
}


def _mean_loss(position: dict) -> float:
    """The epoch's cost so far as a mean over examples (the last batch may be smaller)."""
    return position["loss_sum"] / max(position["examples"], 1)


def _class_indices(y: np.ndarray) -> np.ndarray:
    """Class labels from integer labels, ``(m, 1)`` binary labels or one-hot rows."""
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(-1).astype(np.int64)


_SAVE_EXTRAS = ("scaler", "labels", "metadata")


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
    """Runs :meth:`fit`; holds the state of one training run (see :func:`fit` for arguments)."""

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
        save_extras = _save_extras(save_extras, model)
        if not isinstance(callbacks, Iterable):
            raise TypeError(
                "Trainer: callbacks expected a list of Callback instances, got "
                f"{type(callbacks).__name__} {callbacks!r}"
            )
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
        if progress:
            callbacks.append(ProgressBar())
        self.callbacks = callbacks
        self.history = History()
        self.stop_training = False
        self.epoch = 0
        self.batches_per_epoch = 0
        self._position: dict | None = None
        self._interrupt = False
        self._gradients_warned = False
        self._ran = False

    # -- public -------------------------------------------------------------------------
    def fit(self, X, y, dev=None, resume_from=None) -> History:
        """The one run of this Trainer (see :func:`fit`); a second call raises
        ``RuntimeError`` once a run has started, since the first one's state (epoch, history,
        callbacks) is spent. A call refused by its checks of the optimizer, the data, the
        metrics, the checkpoints or a resume changes nothing and may be retried; one that a
        callback's ``on_train_begin`` refuses after a resume has already put the checkpoint
        in place (a retry without ``resume_from`` is a fresh run from the model and
        optimizer as the checkpoint left them). An exception that ends the run after every
        ``on_train_begin`` ran (``TrainingInterrupted`` aside) sets the history's
        ``stopped_reason`` to ``"error"`` and calls every callback's ``on_exception`` before
        it goes on (see :class:`~chainrule.train.callbacks.Callback`)."""
        if resume_from is not None:
            resume_from = _checks.path("fit", "resume_from", resume_from)
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
        self._unheld = self._unheld_parameters()
        X, y = _pair("X", "y", X, y)
        # the loader refuses NaN or inf in X as _check_pair does (ValueError naming X): the
        # training inputs are scanned once
        loader = BatchLoader(X, y, self.batch_size, shuffle=self.shuffle, drop_last=self.drop_last)
        dev = self._check_dev(X, dev)
        self._check_model_accepts(X, y, dev)
        self._set_task(task_of(y))
        checkpoint = resolve_resume(resume_from) if resume_from is not None else None
        self._check_checkpoint_dir(checkpoint)
        self._check_batch_norm(X.shape[0])
        self.batches_per_epoch = len(loader)
        self.n_train = X.shape[0]
        traceable = self.trace and X.dtype.name in DTYPES and y.dtype.name in DTYPES
        self._traced = trace_backward(self._cost) if traceable else None
        # what a user layer may change before its node() refuses the trace
        self._side_state = SideState(self.model)
        self.shuffler = np.random.default_rng(np.random.SeedSequence(self.seed))
        position = self._fresh_position()
        self.resumed = checkpoint is not None
        self.restored_callbacks = ()
        if self.resumed:
            position = self._restore(*checkpoint)
        else:  # also after a resume that a callback refused had put its run in place
            self.history, self.epoch, self.stop_training = History(), 0, False
        self.log_keys = self._log_keys(dev is not None)

        for cb in self.callbacks:
            cb.on_train_begin(self)
        self._ran = True
        threads = shared_threads() if self.share_threads else contextlib.nullcontext()
        try:
            with self._sigint_guard(), threads:
                # a stop waits for the epoch's end, also one a mid-epoch checkpoint left
                while self.epoch < self.epochs and (position["batch"] or not self.stop_training):
                    position, ended = self._run_epoch(loader, dev, position)
                    saved = None
                    if ended:  # its logs are in the history: a resume starts the next epoch
                        position = self._fresh_position()
                        self.epoch += 1
                        if self.checkpoints is not None:
                            saved = self.checkpoints.save(self._state(position))
                    if self._interrupt:
                        self._stop_interrupted(position, saved)
        except BaseException as error:
            if not isinstance(error, TrainingInterrupted):  # the first Ctrl-C's had its hooks
                self.history.stopped_reason = "error"
                self._call_hooks("on_exception", error, error)
            raise
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    @property
    def running_loss(self) -> float:
        """The current epoch's training cost so far, a mean over its examples: the sum of
        each batch's cost times its size, over the examples seen (NaN before the first
        epoch starts). At the epoch's end it is the ``train_loss`` that ``fit`` logs."""
        return math.nan if self._position is None else _mean_loss(self._position)

    def _log_keys(self, has_dev: bool) -> list[str]:
        """The keys of every epoch's logs (what callbacks may monitor), in their order."""
        keys = ["epoch", "lr", "train_loss", *(f"train_{name}" for name in self._metric_fns)]
        if has_dev:
            keys += ["dev_loss", *(f"dev_{name}" for name in self._metric_fns)]
        return [*keys, "time"]

    # -- one epoch ----------------------------------------------------------------------
    def _fresh_position(self) -> dict:
        return {
            "batch": 0,
            "examples": 0,
            "shuffler": self.shuffler.bit_generator.state,
            "loss_sum": 0.0,
            "sq_norms": {},
            "pred": [],
            "true": [],
            "elapsed": 0.0,
            "lr": None,
        }

    def _run_epoch(self, loader, dev, position) -> tuple[dict, bool]:
        """Train from ``position`` to the end of the epoch, or to the step a Ctrl-C
        interrupts; returns the position and whether the epoch ended (its logs written)."""
        epoch = self.epoch
        self._position = position
        self.optimizer.set_epoch(epoch + 1)  # optimizers count epochs from 1, as the notes do
        for cb in self.callbacks:
            cb.on_epoch_begin(self, epoch)
        if position["batch"] == 0:  # the rate the epoch starts with, a callback's included
            position["lr"] = float(self.optimizer.current_lr)
        self.shuffler.bit_generator.state = position["shuffler"]
        batches = loader.epoch(self.shuffler if self.shuffle else None, start=position["batch"])
        start = time.perf_counter()
        self.model.train()
        params = list(self.model.named_parameters())
        sq_norms = position["sq_norms"]
        for name, _ in params:
            sq_norms.setdefault(name, 0.0)
        unheld = self._unheld
        for xb, yb in batches:
            self.optimizer.zero_grad()
            for p in unheld:  # frozen parameters: their gradients must not pile up either
                p.grad = None
            cost, out = self._forward_backward(xb, yb)
            value = cost.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"the training cost became {value} at epoch {epoch + 1}, step "
                    f"{position['batch'] + 1}; try a smaller learning rate, input "
                    "normalization, or gradient clipping (no checkpoint was written after it)"
                )
            for name, p in params:
                if p.grad is not None:
                    g = p.grad.reshape(-1)
                    sq_norms[name] += float(np.dot(g, g))
            self.optimizer.step()
            position["batch"] += 1
            position["examples"] += len(yb)
            position["loss_sum"] += value * len(yb)  # the epoch's cost: a mean over examples
            self.history.step_losses.append(value)
            if self.task == "classification":
                position["pred"].append(self._predicted(out.data))
                position["true"].append(_class_indices(yb))
            else:
                position["pred"].append(out.data)
                position["true"].append(yb)
            for cb in self.callbacks:
                cb.on_batch_end(self, position["batch"] - 1, value)
            if self._interrupt:
                position["elapsed"] += time.perf_counter() - start
                return position, False
        position["elapsed"] += time.perf_counter() - start
        self._end_epoch(dev, position)
        return position, True

    def _cost(self, x, y):
        """The step's cost (the loss plus the regularization term) and the model's output."""
        out = self.model(x)
        cost = self.loss(out, y)
        if self.regularization is not None:
            cost = cost + self.regularization(self.model, self.n_train)
        return cost, out

    def _forward_backward(self, xb, yb):
        """``_cost`` of a batch with its gradients accumulated: replayed by the traced step
        when the model allows it, else (dropout, batch norm, ``trace=False``) eagerly."""
        if self._traced is not None:
            saved = self._side_state.save()
            try:
                return self._traced(xb, yb)
            except TraceError:  # the library's layers refuse before any side effect;
                self._traced = None  # a user's may have drawn or updated: put them back
                self._side_state.restore(saved)
        cost, out = self._cost(Tensor(xb), yb)
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
                f"{task} targets ({_TASKS[task]}); expected metrics among {fitting}"
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

    def _end_epoch(self, dev, position) -> None:
        epoch, done = self.epoch, position["batch"]
        logs = {"epoch": epoch + 1, "lr": position["lr"]}
        logs["train_loss"] = _mean_loss(position)
        if position["pred"]:
            pred, true = np.concatenate(position["pred"]), np.concatenate(position["true"])
            for name, fn in self._metric_fns.items():
                logs[f"train_{name}"] = float(fn(true, pred))
        if dev is not None:
            results = self._evaluate(*dev, batch_size=1024)
            logs.update({f"dev_{k}": v for k, v in results.items()})
        logs["time"] = position["elapsed"]
        self.history.epochs.append(logs)
        for name, total in position["sq_norms"].items():
            self.history.grad_norms.setdefault(name, []).append(math.sqrt(total / max(done, 1)))
        self._check_gradients()
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)

    def _check_gradients(self) -> None:
        """Warn once per run when the weights' gradient norms vanish or explode with depth."""
        if self._gradients_warned:
            return
        weights = {
            name: self.history.grad_norms[name][-1]
            for name, p in self.model.named_parameters()
            if p.ndim >= 2 and name in self.history.grad_norms
        }
        if len(weights) >= 2:
            reading = gradient_health(weights)
            if not reading.healthy:
                reading.warn(stacklevel=4)
                self._gradients_warned = True

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, X, y, batch_size: int = 1024) -> dict:
        """Mean cost and metrics over ``(X, y)`` in eval mode, without recording a graph.

        The metrics are those of the run's task, the one :meth:`fit` took from the training
        targets; before a run sets one, the task :func:`task_of` infers from ``y``. ``X``
        and ``y`` are checked as :func:`fit`'s are (``ValueError`` for inputs without a
        feature axis, other numbers of samples, NaN or inf) before the model runs."""
        batch_size = integer("evaluate", "batch_size", batch_size, low=1)
        X, y = _check_pair("X", "y", X, y)
        if not hasattr(self, "task"):
            self._set_task(task_of(y))
        return self._evaluate(X, y, batch_size)

    def _evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict:
        """:meth:`evaluate` of a checked pair (the dev set, once per epoch)."""
        outputs = predict(self.model, X, batch_size=batch_size)
        with no_grad():
            loss = float(self.loss(Tensor(outputs), y).item())
        results = {"loss": loss}
        if self.task == "classification":
            pred = self._predicted(outputs)
            for name, fn in self._metric_fns.items():
                results[name] = float(fn(_class_indices(y), pred))
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
        Xd, yd = _check_pair("X_dev", "y_dev", *dev)
        if Xd.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"dev set has feature shape {Xd.shape[1:]} but the training set has {X.shape[1:]}"
            )
        return Xd, yd

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

    def _check_model_accepts(self, X, y, dev) -> None:
        """The first sample of the training set, and of the dev set, through the model in
        eval mode and the loss with its target, and for integer labels also the samples
        with the smallest and the largest label: shape errors and labels the loss refuses
        (out of range anywhere in either set) surface before training, not when a later
        batch or the first dev evaluation reaches them."""
        sets = [("y", X, y)] if dev is None else [("y", X, y), ("y_dev", *dev)]
        with _evaluating(self.model), no_grad():
            for name, inputs, targets in sets:
                rows = [0]
                if targets.dtype.kind in "iu":
                    flat = targets.reshape(len(targets), -1)
                    rows += [int(flat.min(axis=1).argmin()), int(flat.max(axis=1).argmax())]
                for row in dict.fromkeys(rows):
                    try:
                        self.loss(self.model(Tensor(inputs[row : row + 1])), targets[row : row + 1])
                    except ValueError as exc:
                        if row == 0:
                            raise
                        raise ValueError(f"{name}, sample {row}: {exc}") from exc

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

    def _check_checkpoint_dir(self, checkpoint: tuple | None) -> None:
        """Refuse a ``checkpoint_dir`` that cannot be a directory (it, or a folder above it,
        exists and is not one), or that holds the checkpoints of another run than the one
        resumed: this run's would be numbered after them, and keeping the newest deletes
        them."""
        if self.checkpoints is None:
            return
        directory = self.checkpoints.directory
        blocked = directory_blocker(directory)
        if blocked is not None:
            raise ValueError(f"checkpoint_dir {directory}: {blocked}")
        files = self.checkpoints.files()
        if not files or (checkpoint is not None and checkpoint[0].parent.samefile(directory)):
            return
        raise ValueError(
            f"checkpoint_dir {directory} holds another run's checkpoints ({files[0].name} .. "
            f"{files[-1].name}), which this run's would replace; pass "
            f"resume_from={str(directory)!r} to continue that run, or choose an empty directory"
        )

    # -- checkpoints --------------------------------------------------------------------
    def _batching(self) -> dict:
        """What decides every epoch's batches, which a resume must share with its run (in
        checkpoints, ``batch_size`` from the start, the others optional)."""
        return {
            "batch_size": self.batch_size,
            "n_train": self.n_train,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
        }

    def _state(self, position: dict) -> dict:
        return {
            "epoch": self.epoch,
            "epochs": self.epochs,
            **self._batching(),
            "position": {
                **position,
                # one array each instead of one per batch: fewer tensors in the file
                "pred": [np.concatenate(position["pred"])] if position["pred"] else [],
                "true": [np.concatenate(position["true"])] if position["true"] else [],
            },
            "model": self.model.state_dict(),
            "generators": {
                name: g.bit_generator.state for name, g in self.model.named_generators()
            },
            "optimizer": self.optimizer.state_dict(),
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            # optional keys (a checkpoint without them loads as before they were written)
            "callback_types": [type(cb).__name__ for cb in self.callbacks],
            "stop_training": self.stop_training,
            "history": self.history.to_dict(),
        }

    def _restore(self, path, state: dict) -> dict:
        """Load a checkpoint into the model, its generators, the optimizer and the
        callbacks: all of it or, if any part is refused, none of it (the error is raised
        with everything as it was)."""
        history = check_state(path, state, self.batches_per_epoch, self._batching())
        generators = dict(self.model.named_generators())
        if set(generators) != set(state["generators"]):
            raise ValueError(
                f"resume_from {path}: the checkpoint has generators {sorted(state['generators'])}"
                f" but the model has {sorted(generators)}"
            )
        loads = self._match_callbacks(path, state)
        before = self._snapshot(generators, [cb for cb, _ in loads])
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            for name, g in generators.items():
                _load_part(path, f"generator {name!r}", g.bit_generator, state["generators"][name])
            for cb, cb_state in loads:
                _load_part(path, f"callback {type(cb).__name__}", cb, cb_state)
        except Exception:
            self._put_back(before, generators)
            raise
        # A run that a callback stopped stays stopped (once the epoch it stopped in, which a
        # mid-epoch checkpoint leaves unfinished, is done); one that goes on ends its own way.
        # "interrupted", as files of older code recorded it mid-epoch, was the Ctrl-C's.
        self.stop_training = bool(
            state.get("stop_training", history.stopped_reason == "early_stopping")
        )
        if not self.stop_training or history.stopped_reason == "interrupted":
            history.stopped_reason = "completed"
        self.history = history
        self.restored_callbacks = tuple(cb for cb, _ in loads)
        self.epoch = int(state["epoch"])
        position = state["position"]
        position["pred"] = list(position["pred"])
        position["true"] = list(position["true"])
        return position

    def _match_callbacks(self, path, state: dict) -> list[tuple[Callback, dict]]:
        """Pair each saved callback with the callback of this run that takes its state
        back: by type, and in order among callbacks of one type (the i-th saved
        EarlyStopping goes to the i-th EarlyStopping). ``ValueError`` when a saved state has
        no callback of its type to go to; a callback without a saved state starts afresh."""
        states = state["callbacks"]  # one per callback, in the order _state wrote them
        if "callback_types" not in state:  # a checkpoint from before types were recorded
            return [(cb, s) for cb, s in zip(self.callbacks, states, strict=False) if s]
        pools: dict[str, list[Callback]] = {}
        for cb in self.callbacks:
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
                f"this one has the callbacks {[type(cb).__name__ for cb in self.callbacks]}, "
                f"none of them left to take back the state of {homeless}; resume with "
                "callbacks of the saved types (in any order, but those of one type in the "
                "order they were saved)"
            )
        return loads

    def _snapshot(self, generators: dict, callbacks: list) -> tuple:
        return (
            self.model.state_dict(),
            self.optimizer.state_dict(),
            {name: g.bit_generator.state for name, g in generators.items()},
            [(cb, cb.state_dict()) for cb in callbacks],
        )

    def _put_back(self, snapshot: tuple, generators: dict) -> None:
        model, optimizer, states, callbacks = snapshot
        self.model.load_state_dict(model)
        self.optimizer.load_state_dict(optimizer)
        for name, g in generators.items():
            g.bit_generator.state = states[name]
        for cb, cb_state in callbacks:
            cb.load_state_dict(cb_state)

    # -- Ctrl-C -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _sigint_guard(self):
        """First Ctrl-C: finish the current step, save, stop. Second: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            self._interrupt = True
            signal.signal(signal.SIGINT, previous)

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _stop_interrupted(self, position, saved) -> None:
        """Raise :class:`TrainingInterrupted`, saving a checkpoint of ``position`` first
        unless ``saved`` is the one just written for it (with the run's ``stopped_reason``
        as it stood: a resume goes on from there), then setting the history's to
        ``"interrupted"`` and calling every callback's ``on_interrupt`` (see
        :meth:`_call_hooks`); the first hook error is the exception's cause."""
        path = None
        if self.checkpoints is not None:
            path = saved if saved is not None else self.checkpoints.save(self._state(position))
        self.history.stopped_reason = "interrupted"
        if position["batch"]:
            where = f"epoch {self.epoch + 1}, after batch {position['batch']}"
        else:
            where = f"the end of epoch {self.epoch}"
        if path is None:
            message = (
                f"training interrupted at {where}; no checkpoint_dir was given, so nothing "
                "was saved"
            )
        else:
            message = (
                f"training interrupted at {where}; checkpoint saved to {path}. Resume with "
                f"fit(..., resume_from={str(self.checkpoints.directory)!r})"
            )  # told by the exception (a script's traceback shows it); the CLI words its own
        interrupted = TrainingInterrupted(message, checkpoint=path, history=self.history)
        failed = self._call_hooks("on_interrupt", interrupted)
        raise interrupted from failed

    def _call_hooks(self, hook: str, error: BaseException, *args) -> Exception | None:
        """Call every callback's ``hook`` (``on_interrupt``, ``on_exception``) with ``args``
        for ``error``, the exception that ends the run: a hook that raises an ``Exception``
        does not stop the later ones, and ``error`` gets a note naming the callback's type,
        the hook and its error. Returns the first such error (None if none)."""
        first = None
        for cb in self.callbacks:
            try:
                getattr(cb, hook)(self, *args)
            except Exception as exc:
                _add_note(error, f"{type(cb).__name__}.{hook} raised {type(exc).__name__}: {exc}")
                if first is None:
                    first = exc
        return first


def _add_note(error: BaseException, text: str) -> None:
    """Add the note ``text`` to ``error``: :meth:`BaseException.add_note` where it exists
    (Python 3.11 and later), else appended to ``error.__notes__``, the list where
    ``add_note`` keeps its notes (made if missing; Python 3.10's tracebacks do not show
    it)."""
    if hasattr(error, "add_note"):
        error.add_note(text)
    else:
        error.__notes__ = [*getattr(error, "__notes__", ()), text]


def predict(model, X, batch_size: int = 1024) -> np.ndarray:
    """Model outputs for ``X`` in eval mode, in batches, without recording a graph.

    ``X`` holds samples on its first axis, shape ``(m, n_features)``: an ``X`` without a
    feature axis is refused (``ValueError``; one sample is ``X[None]``)."""
    batch_size = integer("predict", "batch_size", batch_size, low=1)
    X = _inputs("X", X)
    with _evaluating(model), no_grad():
        parts = [model(Tensor(X[i : i + batch_size])).data for i in range(0, len(X), batch_size)]
    return np.concatenate(parts)


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


@contextlib.contextmanager
def _evaluating(model):
    """``model`` in eval mode inside; after, every module back in the mode it had (for
    :func:`predict` and :func:`evaluate`, a layer a user put in eval mode on its own, a
    frozen batch norm say, stays so; ``fit`` trains every module at each epoch)."""
    modes = [(m, m.training) for m in modules(model)]
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)  # what a subclass's train() does besides the flags
        for module, mode in modes:  # then each module's own mode (the root's: the same)
            module.training = mode


def fit(model, loss, optimizer, X, y, *, dev=None, resume_from=None, **options) -> History:
    """Train ``model`` on ``(X, y)``; returns the :class:`History`.

    Parameters
    ----------
    model : chainrule.nn.Module
        Put in training mode, every module of it, at the start of each epoch (a layer set
        to eval mode by hand is trained too; freeze a parameter by leaving it out of the
        optimizer), and in eval mode for the dev evaluations.
    loss : callable or str
        ``loss(outputs, targets) -> scalar Tensor`` or a name of :mod:`chainrule.losses`.
    optimizer : chainrule.optim optimizer
        Over the model's parameters (``ValueError`` if it holds none of them; ``TypeError``
        for anything but an optimizer: a Trainer built without one only evaluates). Model
        parameters it leaves out stay as they are (frozen); their gradients are reset at
        every step with the optimizer's, so that their logged norms are per step too.
    X, y : arrays
        Training samples, shape ``(m, n_features)`` (a single sample is ``X[None]``; an
        ``X`` without a feature axis is refused), and one target per sample: integer
        labels, one-hot rows or values. ``X`` and ``y`` must be finite (NaN or inf is
        refused, ``ValueError``, before the model runs). Integer labels, one-hot rows and
        0/1 labels of shape ``(m,)`` or ``(m, 1)`` make a classification task, anything
        else regression.
    dev : (X_dev, y_dev), optional
        Evaluated after every epoch (``dev_loss`` and ``dev_<metric>`` in the logs);
        checked as ``X`` and ``y`` are, and for the training set's feature shape. Before
        the first step, the first training sample and the first dev sample go through the
        model (in eval mode) and the loss with their targets, and for integer labels also
        the samples with the smallest and the largest label of each set, so that inputs or
        targets either refuses (a label out of range anywhere) are refused before any work.
    resume_from : path, optional
        A checkpoint file or checkpoint directory to continue from, exactly. Each saved
        callback state goes back to a callback of the same type, in order among those of
        one type (their order across types may change); ``ValueError`` when none is left
        for it, and a callback without a saved state starts afresh. A run that a callback
        had stopped (early stopping) stays stopped: ``fit`` returns its history without
        training, or, from a checkpoint a Ctrl-C saved in the epoch the run was stopped in,
        after finishing that epoch (a stop is honoured at an epoch's end, as it was in the
        run that saved it). The run must walk the batches of the one it continues: another
        ``batch_size``, ``shuffle``, ``drop_last`` or number of training examples is refused
        (``ValueError``; a checkpoint written before it recorded the last three is taken
        without checking them).
    epochs, batch_size : int
        Defaults 10 and 32. A model with batch normalization (``BatchNorm1d``) needs two
        examples in every training batch: ``batch_size=1``, or a last batch of one without
        ``drop_last``, is refused (``ValueError``) before the first step.
    regularization : callable, optional
        ``regularization(model, n_train) -> Tensor`` added to every step's cost, e.g.
        ``lambda m, n: chainrule.regularization.l2_penalty(m, lam, n)``.
    metrics : list of str, optional
        Names of :mod:`chainrule.train.metrics` of the task's kind (``ValueError``
        otherwise; a single string, ``TypeError``); default accuracy (classification) or
        mse (regression).
    callbacks : list of Callback
        Called at fixed points of the run; see :class:`~chainrule.train.callbacks.Callback`
        for which hook comes when, on a Ctrl-C and on an error too.
    seed : int
        ``>= 0``, default 0: seeds the shuffling of the mini-batches (the model owns its own
        generators).
    shuffle, drop_last : bool
    checkpoint_dir : path, optional
        Write a resume checkpoint after every epoch (and on Ctrl-C) into this directory,
        keeping the newest two. It must be a directory or a path where one can be made,
        holding no checkpoints unless it is the directory of the one ``resume_from``
        continues (the new run's would replace them); ``ValueError`` otherwise, before the
        first step.
    progress : bool
        True: a live bar on terminals and a line per epoch otherwise; False: silent.
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
    before the model runs)."""
    trainer = Trainer(model, loss, None, metrics=metrics, from_logits=from_logits, progress=False)
    return trainer.evaluate(X, y, batch_size=batch_size)

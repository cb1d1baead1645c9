"""The record of a training run: per-epoch logs, per-step losses, gradient norms, time."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from chainrule import _checks
from chainrule.train.position import fields_of, is_a, is_real

#: The ways ``fit`` ends a run, as a history's ``stopped_reason`` says them (a callback
#: that stops the run may set a reason of its own).
STOPPED_REASONS = ("completed", "early_stopping", "stopped", "interrupted", "error")


@dataclass
class History:
    """What :func:`chainrule.fit` returns.

    Attributes
    ----------
    epochs : list of dict
        One row per finished epoch: ``epoch``, ``lr``, ``train_loss``, ``train_<metric>``,
        ``dev_loss`` and ``dev_<metric>`` (when dev data was given), ``time`` (seconds).
    step_losses : list of float
        The training cost of every mini-batch (regularization included), in order.
    grad_norms : dict of str to list of float
        Per parameter (layer weight or bias), the root-mean-square over the epoch's steps
        of the gradient's L2 norm: one value per epoch, input layer first. The parameters
        are those that require a gradient when the first epoch starts (after the
        callbacks' ``on_epoch_begin``), the run's frozen ones left out of the optimizer
        included; one frozen with ``requires_grad=False`` gets no gradient and has no
        list. They stay the same for the whole run, resumes included (one frozen later
        logs 0.0, one unfrozen later nothing; a checkpoint of an earlier chainrule, which
        logged every parameter, goes on with its frozen ones' 0.0).
    stopped_reason : str
        ``"completed"``, ``"early_stopping"`` (:class:`~chainrule.train.callbacks.EarlyStopping`
        stopped the run), ``"stopped"`` (another callback set the trainer's
        ``stop_training``), ``"interrupted"`` (a Ctrl-C), ``"error"`` (an exception ended
        the run; see :class:`~chainrule.train.callbacks.Callback`), or a reason of its own
        (any non-empty ``str``) that a callback set with ``stop_training``. A run resumed
        from a checkpoint of a stopped run keeps its reason (one that an earlier chainrule
        saved as ``"completed"`` becomes ``"stopped"``).
    """

    epochs: list[dict] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    stopped_reason: str = "completed"

    def column(self, key: str) -> list:
        """The values of one per-epoch log key, e.g. ``history.column("dev_loss")``."""
        missing = [row["epoch"] for row in self.epochs if key not in row]
        if missing:
            known = sorted({k for row in self.epochs for k in row})
            raise KeyError(f"no {key!r} in the history; logged keys are {known}")
        return [row[key] for row in self.epochs]

    @property
    def last(self) -> dict:
        """The last epoch's log (empty before the first epoch ends)."""
        return self.epochs[-1] if self.epochs else {}

    def to_dict(self) -> dict:
        """Pure data (for checkpoints and JSON logs)."""
        return {
            "epochs": [dict(row) for row in self.epochs],
            "step_losses": list(self.step_losses),
            "grad_norms": {k: list(v) for k, v in self.grad_norms.items()},
            "stopped_reason": self.stopped_reason,
        }

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """The history ``data`` (see :meth:`to_dict`) holds, after checking that it is one
        ``fit`` writes: every key present; ``epochs`` rows of ``str`` keys to numbers (NaN
        and inf included: a dev loss may diverge) whose ``"epoch"`` counts 1, 2, ...;
        ``step_losses`` finite numbers (``fit`` stops at a non-finite cost); ``grad_norms``
        one number >= 0 (or NaN) per row for each parameter name, these two within
        float64's range (:func:`~chainrule.train.position.is_real`); ``stopped_reason`` a
        non-empty ``str`` (one of :data:`STOPPED_REASONS`, or a callback's own).
        ``ValueError`` names the key, what was expected and what was found; ``TypeError``
        refuses ``data`` that is not a ``dict``."""
        if not isinstance(data, dict):
            raise TypeError(
                "History.from_dict: data expected a dict (what to_dict returns), got "
                f"{type(data).__name__} {data!r:.80}"
            )
        refuse = fields_of("history", cls, data)
        rows, losses, norms = data["epochs"], data["step_losses"], data["grad_norms"]
        if not isinstance(rows, list):
            raise refuse("epochs", "a list of rows", rows)
        for number, row in enumerate(rows, 1):
            if not (
                isinstance(row, dict)
                and all(isinstance(k, str) and is_real(v) for k, v in row.items())
                and is_a(row.get("epoch"), int)
                and row["epoch"] == number
            ):
                expected = f"rows of str keys to numbers, row {number} with 'epoch' {number}"
                raise refuse("epochs", expected, row)
        if not isinstance(losses, list) or not all(is_real(x) and math.isfinite(x) for x in losses):
            raise refuse("step_losses", "a list of finite numbers", losses)
        per_row = f"lists of {len(rows)} numbers >= 0, one per row"
        if not isinstance(norms, dict) or not all(
            isinstance(name, str)
            and isinstance(values, list)
            and len(values) == len(rows)
            and all(is_real(x) and not x < 0 for x in values)  # NaN: a NaN gradient's norm
            for name, values in norms.items()
        ):
            raise refuse("grad_norms", f"a dict of parameter names to {per_row}", norms)
        reason = data["stopped_reason"]
        if not isinstance(reason, str) or not reason:
            expected = f"a non-empty str (one of {list(STOPPED_REASONS)}, or a callback's own)"
            raise refuse("stopped_reason", expected, reason)
        return cls(
            epochs=[dict(row) for row in rows],
            step_losses=[float(x) for x in losses],
            grad_norms={name: [float(x) for x in values] for name, values in norms.items()},
            stopped_reason=reason,
        )

    def to_csv(self, keys=()) -> str:
        """The per-epoch logs as CSV text, one column per key: ``keys`` first (the header
        of a history without rows: a run's log keys, say), then the others in first-seen
        order. A key of ``keys`` that no row holds is an empty column: a run's log keys
        head its file before its epochs hold them all (a run resumed with other metrics,
        see :class:`~chainrule.train.callbacks.HistoryLogger`). ``keys`` is a list (any
        iterable but a ``str``, a set, a dict or a 0-d array) of ``str``; anything else is
        refused (``TypeError``)."""
        if isinstance(keys, str):
            raise TypeError(
                "History.to_csv: keys expected a list of log keys (str), got the string "
                f"{keys!r:.80}; write [{keys!r:.80}]"
            )
        if not isinstance(keys, Iterable):
            raise TypeError(
                "History.to_csv: keys expected a list of log keys (str), got "
                f"{type(keys).__name__} {keys!r:.80}"
            )
        expected = "a list of log keys (str)"  # a set's columns come in no fixed order
        keys = list(_checks.ordered("History.to_csv", "keys", keys, expected))
        wrong = [key for key in keys if not isinstance(key, str)]
        if wrong:
            raise TypeError(
                f"History.to_csv: keys expected a list of log keys (str), got {wrong[0]!r:.80} "
                f"({type(wrong[0]).__name__}) among them"
            )
        for row in self.epochs:
            keys.extend(k for k in row if k not in keys)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.epochs)
        return out.getvalue()

"""The record of a training run: per-epoch logs, per-step losses, gradient norms, time."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field


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
        of the gradient's L2 norm: one value per epoch, input layer first.
    stopped_reason : str
        ``"completed"``, ``"early_stopping"``, ``"interrupted"`` (a Ctrl-C), or ``"error"``
        (an exception ended the run; see :class:`~chainrule.train.callbacks.Callback`).
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
        return cls(
            epochs=[dict(row) for row in data["epochs"]],
            step_losses=[float(x) for x in data["step_losses"]],
            grad_norms={k: [float(x) for x in v] for k, v in data["grad_norms"].items()},
            stopped_reason=str(data["stopped_reason"]),
        )

    def to_csv(self, keys=()) -> str:
        """The per-epoch logs as CSV text, one column per key: ``keys`` first (the header
        of a history without rows: a run's log keys, say), then the others in first-seen
        order."""
        keys = list(keys)
        for row in self.epochs:
            keys.extend(k for k in row if k not in keys)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.epochs)
        return out.getvalue()

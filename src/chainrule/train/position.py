"""Where a run stands inside its running epoch, and that epoch's partial sums.

:class:`Position` counts the batches and examples done, keeps the shuffler's state at the
epoch's start (the epoch's batches are drawn again from it on a resume) and what the
epoch's logs need: the cost summed over examples, the squared gradient norms per
parameter, the predictions and labels for the metrics, the time spent and the rate the
epoch started with. A checkpoint holds it as a dict (:meth:`Position.to_dict`), which
:meth:`Position.from_dict` checks and takes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


def is_a(x, kind=(int, float)) -> bool:
    """``isinstance(x, kind)``, a bool counting as a bool only, not as a number (JSON keeps
    them apart)."""
    return isinstance(x, kind) and (kind is bool or not isinstance(x, bool))


@dataclass(slots=True, kw_only=True)
class Position:
    """The running epoch's position (a fresh epoch's: zeros, empty lists, no rate yet).

    ``shuffler`` is the PCG64 state the epoch's batches are drawn from; ``loss_sum`` sums
    each batch's cost times its size; ``sq_norms`` sums, per parameter, the squared L2
    norm of every step's gradient; ``pred`` and ``true`` hold one array of predictions
    (class labels for classification) and targets per batch; ``elapsed`` is seconds of
    training; ``lr`` the learning rate at the epoch's first step (None before it)."""

    batch: int = 0
    examples: int = 0
    shuffler: dict
    loss_sum: float = 0.0
    sq_norms: dict[str, float] = field(default_factory=dict)
    pred: list[np.ndarray] = field(default_factory=list)
    true: list[np.ndarray] = field(default_factory=list)
    elapsed: float = 0.0
    lr: float | None = None

    @property
    def mean_loss(self) -> float:
        """The epoch's cost so far as a mean over examples (the last batch may be smaller)."""
        return self.loss_sum / max(self.examples, 1)

    def to_dict(self) -> dict:
        """Pure data for a checkpoint, with one array of predictions and one of targets
        instead of one per batch (fewer tensors in the file)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["pred"] = [np.concatenate(self.pred)] if self.pred else []
        data["true"] = [np.concatenate(self.true)] if self.true else []
        return data

    @classmethod
    def from_dict(cls, data: dict, batches_per_epoch: int, parameters) -> Position:
        """The position ``data`` (see :meth:`to_dict`) holds, after checking it: every key
        present, the counts numbers >= 0 with the batch one of the epoch's
        ``batches_per_epoch``, the cost sum a number, squared norms (numbers >= 0) of
        some of the model's ``parameters`` (their names), predictions and labels that
        count its examples, a rate once a batch is done and a state a PCG64 takes.
        ``ValueError`` names the key, what was expected and what was found."""

        def refuse(key: str, expected: str, got) -> ValueError:
            return ValueError(f"position {key!r} expected {expected}, got {got!r}")

        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in data]
        if missing:
            raise ValueError(f"position expected the keys {names}, got one without {missing}")
        for key in ("batch", "examples", "elapsed"):
            kind = (int, float) if key == "elapsed" else int
            if not is_a(data[key], kind) or data[key] < 0:
                raise refuse(key, "a number >= 0", data[key])
        if not is_a(data["loss_sum"]):
            raise refuse("loss_sum", "a number (a custom loss may be negative)", data["loss_sum"])
        if data["batch"] > batches_per_epoch:
            raise refuse("batch", f"a batch in [0, {batches_per_epoch}]", data["batch"])
        for key, kind in (("sq_norms", dict), ("pred", list), ("true", list)):
            if not isinstance(data[key], kind):
                raise refuse(key, f"a {kind.__name__}", data[key])
        norms, parameters = data["sq_norms"], list(parameters)
        if not all(name in parameters and is_a(v) and v >= 0 for name, v in norms.items()):
            expected = f"squared norms (numbers >= 0) of parameters among {parameters}"
            raise refuse("sq_norms", expected, norms)
        pred, true = data["pred"], data["true"]
        counts = [
            [len(a) if isinstance(a, np.ndarray) and a.ndim else None for a in v]
            for v in (pred, true)
        ]
        if None in counts[0] + counts[1] or (
            (pred or true) and not sum(counts[0]) == sum(counts[1]) == data["examples"]
        ):
            shapes = [[getattr(a, "shape", type(a).__name__) for a in v] for v in (pred, true)]
            raise ValueError(
                f"position 'pred' and 'true' expected arrays of {data['examples']} predictions "
                f"and labels, or none, got {f'{shapes[0]} and {shapes[1]}'!r}"
            )
        lr = data["lr"]
        if data["batch"] and not is_a(lr):  # mid-epoch: the rate the epoch started with
            raise refuse("lr", "a number (the epoch's rate) after its first batch", lr)
        if lr is not None and not is_a(lr):
            raise refuse("lr", "None or a number", lr)
        try:
            np.random.PCG64().state = data["shuffler"]
        except (TypeError, ValueError, KeyError, OverflowError, IndexError) as exc:
            raise refuse("shuffler", "a PCG64 state", f"{type(exc).__name__}: {exc}") from None
        kept = {name: data[name] for name in names}
        return cls(**{**kept, "pred": list(pred), "true": list(true)})

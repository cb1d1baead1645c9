"""Where a run stands inside its running epoch, and that epoch's partial sums.

:class:`Position` counts the batches and examples done, keeps the shuffler's state at the
epoch's start (the epoch's batches are drawn again from it on a resume) and what the
epoch's logs need: the cost summed over examples, the squared gradient norms per
parameter, the predictions and labels for the metrics, the time spent and the rate the
epoch started with. A checkpoint holds it as a dict (:meth:`Position.to_dict`), which
:meth:`Position.from_dict` checks and takes back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np


def is_a(x, kind=(int, float)) -> bool:
    """``isinstance(x, kind)``, a bool counting as a bool only, not as a number (JSON keeps
    them apart)."""
    return isinstance(x, kind) and (kind is bool or not isinstance(x, bool))


def is_real(x) -> bool:
    """Whether ``x`` is a number (:func:`is_a`) that ``float`` takes: not an int beyond
    float64's range (about 1.8e308), which a checkpoint's JSON may hold (``10**309``) and
    which the arithmetic a run does with floats refuses (``OverflowError``)."""
    if not is_a(x):
        return False
    try:
        float(x)
    except OverflowError:
        return False
    return True


def fields_of(owner: str, cls, data: dict):
    """Check that ``data`` has every field of the dataclass ``cls`` (``ValueError`` naming
    ``owner`` and the missing ones); returns ``refuse(key, expected, got)``, which makes
    the ``ValueError`` of one field that does not hold what it should."""
    names = [f.name for f in fields(cls)]
    missing = [name for name in names if name not in data]
    if missing:
        raise ValueError(f"{owner} expected the keys {names}, got one without {missing}")

    def refuse(key: str, expected: str, got) -> ValueError:
        return ValueError(f"{owner} {key!r} expected {expected}, got {got!r}")

    return refuse


@dataclass(slots=True, kw_only=True)
class Position:
    """The running epoch's position (a fresh epoch's: zeros, empty lists, no rate yet).

    ``shuffler`` is the PCG64 state the epoch's batches are drawn from; ``loss_sum`` sums
    each batch's cost times its size; ``sq_norms`` sums, per parameter, the squared L2
    norm of every step's gradient (NaN from a NaN gradient on, whose step was skipped);
    ``pred`` and ``true`` hold one array of predictions (class labels for classification)
    and targets per batch; ``elapsed`` is seconds of training; ``lr`` the learning rate at
    the epoch's first step (None before it)."""

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
    def from_dict(
        cls,
        data: dict,
        batches_per_epoch: int,
        parameters,
        *,
        batch_size: int,
        n_train: int,
        classification: bool,
    ) -> Position:
        """The position ``data`` (see :meth:`to_dict`) holds, after checking it against
        the run it continues: ``batches_per_epoch`` batches of ``batch_size`` out of
        ``n_train`` training examples, a model with the ``parameters`` (their names), of
        a ``classification`` run (class labels) or a regression run.

        Checked: every key present; the batch one of the epoch's (``[0,
        batches_per_epoch]``) and the examples those of its batches, ``min(batch *
        batch_size, n_train)``; the cost sum and the seconds finite numbers (the seconds
        >= 0); squared norms (numbers >= 0, or NaN: that of a NaN gradient, whose step
        the optimizer's ``nonfinite="skip"`` skipped) of some of the ``parameters``; a
        finite rate once a batch is done (None or a finite number before); these numbers
        within float64's range (:func:`is_real`: no int beyond it); a state a PCG64
        takes; predictions and labels as the loop gathers them, arrays of one entry per
        example in all (none before the first batch): for classification 1-D integer
        labels >= 0, for regression finite floats with samples on the first axis and one
        shape of sample per list. ``ValueError`` names the key, what was expected
        and what was found."""
        refuse = fields_of("position", cls, data)
        for key in ("batch", "examples", "elapsed"):
            kind = (int, float) if key == "elapsed" else int
            if not is_a(data[key], kind) or not data[key] >= 0:  # NaN is not >= 0
                raise refuse(key, "a number >= 0", data[key])
        if not is_real(data["elapsed"]) or not math.isfinite(data["elapsed"]):
            raise refuse("elapsed", "a finite number of seconds", data["elapsed"])
        if not is_real(data["loss_sum"]) or not math.isfinite(data["loss_sum"]):
            expected = "a finite number (a custom loss may be negative)"
            raise refuse("loss_sum", expected, data["loss_sum"])
        batch, examples, lr = data["batch"], data["examples"], data["lr"]
        if batch > batches_per_epoch:
            raise refuse("batch", f"a batch in [0, {batches_per_epoch}]", batch)
        if batch and not is_a(lr):  # mid-epoch: the rate the epoch started with
            raise refuse("lr", "a number (the epoch's rate) after its first batch", lr)
        if lr is not None and not (is_real(lr) and math.isfinite(lr)):
            raise refuse("lr", "None or a finite number", lr)
        done = min(batch * batch_size, n_train)
        if examples != done:
            expected = (
                f"the {done} examples of its {batch} batches of {batch_size} "
                f"(of {n_train} training examples)"
            )
            raise refuse("examples", expected, examples)
        for key, kind in (("sq_norms", dict), ("pred", list), ("true", list)):
            if not isinstance(data[key], kind):
                raise refuse(key, f"a {kind.__name__}", data[key])
        norms, parameters = data["sq_norms"], list(parameters)
        # NaN: the norm of a NaN gradient, whose step nonfinite="skip" skipped
        if not all(name in parameters and is_real(v) and not v < 0 for name, v in norms.items()):
            expected = f"squared norms (numbers >= 0, or NaN) of parameters among {parameters}"
            raise refuse("sq_norms", expected, norms)
        pred, true = data["pred"], data["true"]
        counts = [
            [len(a) if isinstance(a, np.ndarray) and a.ndim else None for a in v]
            for v in (pred, true)
        ]
        if None in counts[0] + counts[1] or not sum(counts[0]) == sum(counts[1]) == examples:
            shapes = [[getattr(a, "shape", type(a).__name__) for a in v] for v in (pred, true)]
            raise ValueError(
                f"position 'pred' and 'true' expected arrays of {examples} predictions and "
                f"labels, got {f'{shapes[0]} and {shapes[1]}'!r}"
            )
        for key in ("pred", "true"):
            _check_outputs(key, data[key], classification, refuse)
        try:
            np.random.PCG64().state = data["shuffler"]
        except (TypeError, ValueError, KeyError, OverflowError, IndexError) as exc:
            raise refuse("shuffler", "a PCG64 state", f"{type(exc).__name__}: {exc}") from None
        kept = {f.name: data[f.name] for f in fields(cls)}
        return cls(**{**kept, "pred": list(pred), "true": list(true)})


def _check_outputs(key: str, arrays: list[np.ndarray], classification: bool, refuse) -> None:
    """``ValueError`` (by ``refuse``) unless ``arrays`` are what the loop gathers as a
    position's ``key`` (``"pred"`` or ``"true"``): 1-D integer labels >= 0 for
    ``classification``; for regression, finite numbers of one sample shape (the outputs
    floats, the targets as given: integer or bool multi-hot rows make regression too), so
    that the epoch's metrics take them."""
    if classification:
        expected = "1-D arrays of integer class labels >= 0"
        for a in arrays:
            if a.ndim != 1 or a.dtype.kind not in "iu":
                raise refuse(key, expected, f"{a.dtype} array of shape {a.shape}")
            if a.size and a.min() < 0:
                raise refuse(key, expected, f"labels from {a.min()}")
        return
    kinds, numbers = ("f", "floats") if key == "pred" else ("fiub", "numbers")
    expected = f"arrays of finite {numbers}, samples on the first axis, of one sample shape"
    sample = arrays[0].shape[1:] if arrays else None
    for a in arrays:
        if a.dtype.kind not in kinds or a.shape[1:] != sample:
            raise refuse(key, expected, [f"{b.dtype} array of shape {b.shape}" for b in arrays])
        if not np.isfinite(a).all():
            raise refuse(key, expected, "NaN or inf")

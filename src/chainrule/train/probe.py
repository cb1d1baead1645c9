"""The probe: single samples through the model and the loss before training starts.

Before the first step, the first sample of the training set, and of the dev set, goes
through the model in eval mode and the loss with its target, and so do the samples
holding the smallest and the largest target value (:func:`probe`): shape errors and
targets the loss refuses by their range (a label out of range, a BCE target outside
[0, 1], a negative entry of a probability row, anywhere in either set) surface before
training, not when a later batch or the first dev evaluation reaches them. The probe also
reads what the run will: a loss that returns anything but a scalar Tensor
(:func:`check_cost`), a single output under ``cross_entropy`` or ``nll``
(:func:`refuse_single_output`), and outputs of a shape a classification run cannot read
classes from (:func:`unreadable`) are refused here, not at the first step; the dev
evaluations apply the same three checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NoReturn

import numpy as np

from chainrule import losses
from chainrule.autodiff import Tensor
from chainrule.train.interrupt import add_note


def probe(
    model,
    loss,
    X: np.ndarray,
    y: np.ndarray,
    dev: tuple | None,
    *,
    loss_name: str | None,
    task: str,
    predicted: Callable[[np.ndarray], np.ndarray],
) -> None:
    """The first sample of the training set, and of the dev set, through the model in
    eval mode and the loss with its target, and also the samples holding the smallest
    and the largest target value (of any entry: a label, a one-hot or probability row's
    entry, a value): shape errors and targets the loss refuses by their range (a label
    out of range, a BCE target outside [0, 1], a negative entry of a probability row,
    anywhere in either set; NaN and inf are refused before, by
    :func:`~chainrule.train.inputs.pair`) surface before training, not when a later
    batch or the first dev evaluation reaches them. Finding those samples reads each
    set's targets twice (an argmin and an argmax), once per run.

    The caller puts ``model`` in eval mode and records no graph around the call (the
    Trainer's ``_prepare`` does, as :func:`~chainrule.train.loop.predict` does);
    ``loss_name`` is the name :data:`chainrule.losses.LOSSES` gives ``loss`` (None for
    any other), ``task`` the run's task and ``predicted`` the run's reading of classes
    from outputs (the Trainer's ``_predicted``). ``dev`` is the checked pair
    ``(X_dev, y_dev)``, or None.

    A ``TypeError`` or ``ValueError`` of the model names the inputs (``X`` or
    ``X_dev``), one of the loss the targets (``y`` or ``y_dev``), or the model's output
    (``the model's output for X``) when the loss takes the target with a neutral
    prediction in its place (see :func:`target_refusal`; where it refuses both, the
    target is named, with the loss's error for it), and gives the whole arrays'
    shapes, since the shapes the model or the loss names are of the one sample
    probed: ``"y, sample 0: <the loss's message> (fit checks sample 0 alone before
    training; y has shape (500, 3), the model's output for X has shape (500, 2))"``.
    It is raised as a new exception of the same type, or for a subclass of either
    (which may take other arguments), as the same exception with that text as a note.

    The probe also reads what the run will: a loss that returns anything but a scalar
    Tensor (:func:`check_cost`), a single output under ``cross_entropy`` or ``nll``
    (:func:`refuse_single_output`, before the loss runs), and outputs of a shape a
    classification run cannot read classes from (:func:`unreadable`, named as the
    model's output) are refused here, not at the first step."""
    sets = [("X", "y", X, y)]
    if dev is not None:
        sets.append(("X_dev", "y_dev", *dev))
    for x_name, y_name, samples, targets in sets:
        rows = [0]
        flat = targets.reshape(len(targets), -1)
        if flat.size:  # the row of the smallest and of the largest entry
            rows += [
                int(flat.argmin()) // flat.shape[1],
                int(flat.argmax()) // flat.shape[1],
            ]
        for row in dict.fromkeys(rows):
            one = slice(row, row + 1)
            try:
                out = model(Tensor(samples[one]))
            except (TypeError, ValueError) as exc:
                refused_probe(exc, x_name, row, f"{x_name} has shape {samples.shape}")
            target = Tensor(targets[one])
            arrays = f"{y_name} has shape {targets.shape}"
            output = f"the model's output for {x_name}"
            if isinstance(out, Tensor):
                whole = (len(samples), *out.shape[1:])
                refuse_single_output(loss_name, whole, output)
                arrays += f", {output} has shape {whole}"
            try:
                cost = loss(out, target)
            except (TypeError, ValueError) as exc:
                if not isinstance(out, Tensor):
                    refused_probe(exc, y_name, row, arrays)
                refused = target_refusal(loss, out, target)
                if refused is None:  # the loss takes the target: the output is refused
                    refused_probe(exc, output, row, arrays)
                refused_probe(refused, y_name, row, arrays)
            checked = "fit checks it alone before training"
            check_cost(cost, loss, f"sample {row} of {x_name} ({checked})")
            if task != "classification" or not isinstance(out, Tensor):
                continue
            unread = unreadable(predicted, whole, out.dtype)
            if unread is not None:
                refused_probe(unread, output, row, arrays)
        if len(samples) > 1:  # per-example values: of one sample alone, one value
            two = slice(0, 2)
            cost = loss(model(Tensor(samples[two])), Tensor(targets[two]))
            checked = "fit checks them before training"
            check_cost(cost, loss, f"samples 0 and 1 of {x_name} ({checked})")


def check_cost(cost, loss, where: str) -> None:
    """What ``loss`` returned for ``where`` (the samples it scored), refused unless it is a
    Tensor of one value (shape ``()``, or ``(1,)`` and the like, as ``backward()`` and
    ``item()`` take it), the number fit's backward and evaluate's mean cost read:
    ``TypeError`` for anything but a Tensor, ``ValueError`` for more values (the
    per-example losses of ``reduction="none"``, say)."""
    if not isinstance(cost, Tensor):
        raise TypeError(
            f"the loss function {callable_name(loss)} returned {type(cost).__name__} "
            f"{cost!r:.80} for {where}; expected a scalar Tensor, computed from the outputs "
            "with tensor ops"
        )
    if cost.size != 1:
        raise ValueError(
            f"the loss function {callable_name(loss)} returned a Tensor of shape "
            f"{cost.shape} for {where}; expected a scalar Tensor (one value), the mean "
            "cost over the samples: reduce it (reduction='mean', or .mean())"
        )


def callable_name(fn) -> str:
    """How messages name the callable ``fn``: its qualified name (its type's for an object
    without one), a ``functools.partial`` spelled out with its arguments."""
    if isinstance(fn, functools.partial):
        args = [*map(repr, fn.args), *(f"{key}={value!r}" for key, value in fn.keywords.items())]
        return f"functools.partial({', '.join([callable_name(fn.func), *args])})"
    return getattr(fn, "__qualname__", type(fn).__name__)


def refuse_single_output(loss_name: str | None, shape: tuple, output: str) -> None:
    """``ValueError`` where the loss, by name (``loss_name``) one of
    :data:`~chainrule.losses.CLASS_INDEX_TARGETS` (``cross_entropy``, ``nll``), reads
    ``output``, of ``shape``, as the scores of one class (shape ``(m, 1)``): the softmax
    (or the probabilities ``nll`` reads the logarithms of) over a single class is 1
    whatever the output, so the loss has nothing to learn, and the accuracy would be
    read by thresholding that output, which the loss does not train."""
    if loss_name in losses.CLASS_INDEX_TARGETS and len(shape) == 2 and shape[1] == 1:
        raise ValueError(
            f"loss {loss_name!r} expected the model's outputs to hold one score per class, "
            f"k >= 2 of them, but {output} has shape {shape}: 1 output, a single class "
            "whose probability is 1 whatever the output, so the loss has nothing to learn; "
            f"use 1 output with 'bce_with_logits' (two classes), or k >= 2 outputs with "
            f"{loss_name!r}"
        )


def unreadable(
    predicted: Callable[[np.ndarray], np.ndarray], shape: tuple, dtype
) -> ValueError | None:
    """The error of ``predicted`` (the classification run's reading of classes: the
    Trainer's ``_predicted``) for outputs of ``shape`` and ``dtype``, 0.5 everywhere (a
    logit, a probability, a value on the targets' scale, read alike), so that only the
    shape and dtype are judged, not values that training changes; None where the run can
    read them."""
    try:
        predicted(np.full(shape, 0.5, dtype=dtype))
    except ValueError as exc:
        return ValueError(f"a classification run cannot read classes from it: {exc}")
    return None


def target_refusal(loss, out: Tensor, target: Tensor) -> TypeError | ValueError | None:
    """``loss``'s error for ``target`` with a neutral prediction in place of ``out``: of
    its shape and dtype, 0.5 everywhere (a probability, a logit, a value on the scale
    of 0/1 targets, which no loss of :data:`chainrule.losses.LOSSES` refuses); None
    when the loss takes it, so that the output was what it refused."""
    neutral = Tensor(np.full(out.shape, 0.5, dtype=out.data.dtype))
    try:
        loss(neutral, target)
    except (TypeError, ValueError) as exc:
        return exc
    return None


def refused_probe(exc: TypeError | ValueError, name: str, row: int, arrays: str) -> NoReturn:
    """Raise ``exc``, which the model or the loss raised on sample ``row`` alone, saying
    so: ``"<name>, sample <row>: <exc> (fit checks sample <row> alone before training;
    <arrays>)"``, as a new exception of its type (caused by it), or for a subclass of
    ``TypeError`` or ``ValueError``, as ``exc`` itself with that text as a note."""
    checked = f"fit checks sample {row} alone before training"
    message = f"{name}, sample {row}: {exc} ({checked}; {arrays})"
    if type(exc) in (TypeError, ValueError):
        raise type(exc)(message) from exc
    add_note(exc, message)  # Python 3.10 has no BaseException.add_note
    raise exc

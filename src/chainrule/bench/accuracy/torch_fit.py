"""PyTorch eager in the race: ``nn.Sequential``, ``F.cross_entropy``, ``torch.optim.Adam``
and a ``LambdaLR`` schedule stepped after every update.

The network holds copies of chainrule's initial weights; Adam gets the recipe's rate,
betas and epsilon (PyTorch's default implementation choice otherwise).

Training clock, per epoch: the batch loop, i.e. gathering each shuffled batch (the
recipe's ``BatchLoader``, as chainrule's ``Trainer``), ``torch.from_numpy``, ``zero_grad``,
forward, loss, backward, ``optimizer.step()`` and ``scheduler.step()``. The test
evaluation falls outside it.
"""

from __future__ import annotations

import functools
import math
import time

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention

from chainrule.bench.systems.torch_mlp import VERSION, build_model
from chainrule.optim import CosineDecay

__all__ = ["VERSION", "lr_factor", "train"]


def lr_factor(schedule):
    """``LambdaLR``'s factor of the base rate, as a function of the scheduler steps taken.

    chainrule evaluates a step schedule at the number of the update being made, counted
    from 1; ``LambdaLR`` at the number of ``scheduler.step()`` calls so far, from 0: so
    the factor at ``i`` is chainrule's rate at ``t = i + 1`` over ``alpha0``.
    """
    if not isinstance(schedule, CosineDecay):
        return lambda i: 1.0
    floor, duration = schedule.alpha_min / schedule.alpha0, schedule.duration

    def factor(i: int) -> float:
        t = min(i + 1, duration)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t / duration))

    return factor


def _predict(model, X):
    with torch.no_grad():
        return model(torch.from_numpy(X)).numpy()


def train(recipe, after_epoch) -> None:
    """Train ``recipe`` for its epochs; after each, ``after_epoch(seconds, predict)``.
    Nothing is compiled or checked before the first epoch: returns None."""
    model = build_model(recipe.initial_params(), recipe.activation)
    schedule = recipe.learning_rate
    base = schedule.alpha0 if isinstance(schedule, CosineDecay) else schedule
    optimizer = torch.optim.Adam(
        model.parameters(), lr=base, betas=(recipe.beta1, recipe.beta2), eps=recipe.eps
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(schedule))
    for batches in recipe.epoch_batches():
        start = time.perf_counter()
        for xb, yb in batches:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(torch.from_numpy(xb)), torch.from_numpy(yb))
            loss.backward()
            optimizer.step()
            scheduler.step()
        after_epoch(time.perf_counter() - start, functools.partial(_predict, model))

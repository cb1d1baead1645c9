"""JAX in the race: the whole step (forward, loss, gradient, optax Adam with the schedule,
update) under one ``jax.jit``, parameters and optimizer state donated.

The parameters start as copies of chainrule's initial weights; ``optax.adam`` gets the
recipe's betas and epsilon and a schedule matching chainrule's (:func:`learning_rate`).

Training clock, per epoch: the batch loop, i.e. gathering each shuffled batch (the
recipe's ``BatchLoader``, as chainrule's ``Trainer``), handing it to the jitted step,
and waiting for the epoch's last update (dispatch is asynchronous). The step is compiled
before the first epoch, for each batch shape the epochs have, outside the clock:
:func:`train` returns the seconds it took, which the race reports apart (a cost every
new process pays), as chainrule's set-up before its first epoch is. The test
evaluation falls outside the clock.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from chainrule.bench.systems.jax_mlp import ACTIVATIONS, VERSION, logits, make_step
from chainrule.optim import CosineDecay

__all__ = ["VERSION", "learning_rate", "train"]


def learning_rate(schedule):
    """optax's ``learning_rate`` for chainrule's rate or schedule.

    optax evaluates a schedule at the count of updates already made, from 0; chainrule at
    the number of the update being made, from 1: so this one is optax's cosine decay at
    ``count + 1``, which equals chainrule's ``CosineDecay`` at ``t = count + 1``.
    """
    if not isinstance(schedule, CosineDecay):
        return schedule
    cosine = optax.cosine_decay_schedule(
        schedule.alpha0, schedule.duration, alpha=schedule.alpha_min / schedule.alpha0
    )
    return lambda count: cosine(count + 1)


def _predict(forward, params, X):
    return np.asarray(forward(params, X))


def batch_sizes(n: int, batch_size: int) -> list[int]:
    """The sizes of the batches an epoch over ``n`` samples has: full ones, and the
    remainder where ``batch_size`` does not divide ``n``."""
    return sorted({min(batch_size, n), n % batch_size or min(batch_size, n)})


def compile_step(step, params, state, train, batch_size: int) -> float:
    """Compile ``step`` for every batch shape of an epoch over ``train`` = (X, y), on
    throwaway copies of ``params`` and ``state`` (the step donates them); the seconds."""
    X, y = train
    start = time.perf_counter()
    for m in batch_sizes(len(y), batch_size):
        copies = jax.tree.map(jnp.copy, (params, state))
        jax.block_until_ready(step(*copies, X[:m], y[:m]))
    return time.perf_counter() - start


def train(recipe, after_epoch) -> float:
    """Train ``recipe`` for its epochs; after each, ``after_epoch(seconds, predict)``.
    Returns the seconds spent compiling the step before the first epoch."""
    activation = ACTIVATIONS[recipe.activation]
    opt = optax.adam(
        learning_rate(recipe.learning_rate), b1=recipe.beta1, b2=recipe.beta2, eps=recipe.eps
    )
    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in recipe.initial_params()]
    state = opt.init(params)
    step, _ = make_step(activation, opt)
    compile_s = compile_step(step, params, state, recipe.train, recipe.batch_size)
    forward = jax.jit(functools.partial(logits, activation=activation))
    for batches in recipe.epoch_batches():
        start = time.perf_counter()
        for xb, yb in batches:
            params, state, _ = step(params, state, xb, yb)
        params, state = jax.block_until_ready((params, state))
        after_epoch(time.perf_counter() - start, functools.partial(_predict, forward, params))
    return compile_s

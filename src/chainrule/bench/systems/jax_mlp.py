"""JAX: the whole step (forward, loss, grad, optax Adam) under one ``jax.jit``.

Parameters and optimizer state are donated to the step, so XLA may update them in place.
Dispatch is asynchronous: ``run`` blocks on the final parameters before returning.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from chainrule.bench.configs import LEARNING_RATE, Config, init_params

VERSION = f"jax {jax.__version__}, optax {optax.__version__}"

ACTIVATIONS = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "tanh": jnp.tanh}


def logits(params, x, activation):
    """The MLP's output for ``x``: ``activation`` after every layer but the last."""
    *hidden, (w, b) = params
    for wk, bk in hidden:
        x = activation(x @ wk + bk)
    return x @ w + b


def make_step(activation, opt):
    """``(step, loss)``, both jitted: ``step(params, state, x, y) -> (params, state, loss)``
    donates ``params`` and ``state``; ``loss(params, x, y)`` is the mean cross-entropy."""

    def loss_fn(params, x, y):
        out = logits(params, x, activation)
        return optax.softmax_cross_entropy_with_integer_labels(out, y).mean()

    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    return jax.jit(step, donate_argnums=(0, 1)), jax.jit(loss_fn)


def prepare_batches(batches: list) -> list:
    """The batches as JAX arrays (labels int32): a copy, made once; batches prepared
    already are returned as they are (the same list)."""
    if all(isinstance(x, jax.Array) and y.dtype == jnp.int32 for x, y in batches):
        return batches
    return [(jnp.asarray(x), jnp.asarray(y, dtype=jnp.int32)) for x, y in batches]


class Trainer:
    def __init__(self, config: Config, batches, seed: int = 0):
        opt = optax.adam(LEARNING_RATE)
        self.params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in init_params(config, seed)]
        self.state = opt.init(self.params)
        self._step, self._loss = make_step(ACTIVATIONS[config.activation], opt)
        self.batches = prepare_batches(batches)
        self.i = 0

    def run(self, n_steps: int) -> None:
        batches, n = self.batches, len(self.batches)
        params, state = self.params, self.state
        for _ in range(n_steps):
            x, y = batches[self.i % n]
            self.i += 1
            params, state, _ = self._step(params, state, x, y)
        self.params, self.state = jax.block_until_ready((params, state))

    def loss(self) -> float:
        x, y = self.batches[0]
        return float(self._loss(self.params, x, y))


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed)

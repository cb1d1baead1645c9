"""chainrule, written with the engine's primitives directly.

``EngineMLP``, ``cross_entropy`` and ``InPlaceAdam`` stand in for ``chainrule.nn.MLP``,
``chainrule.losses`` and ``chainrule.optim.Adam`` until those land; ``Trainer.step`` is
the only place that wires them together, so swapping them is a local change.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from benchmarks.configs import LEARNING_RATE, Config, init_params
from benchmarks.systems.adam_inplace import InPlaceAdam

VERSION = f"chainrule {cr.__version__}"

_ACTIVATIONS = {"sigmoid": cr.sigmoid, "relu": cr.relu}


class EngineMLP:
    """Linear layers (fused ``cr.linear``) with one activation between them."""

    def __init__(self, config: Config, seed: int = 0):
        self.layers = [
            (cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True))
            for w, b in init_params(config, seed)
        ]
        self.activation = _ACTIVATIONS[config.activation]

    def parameters(self) -> list:
        return [t for pair in self.layers for t in pair]

    def __call__(self, x):
        *hidden, (w, b) = self.layers
        for wk, bk in hidden:
            x = self.activation(cr.linear(x, wk, bk))
        return cr.linear(x, w, b)


def cross_entropy(logits, y, rows):
    """Mean softmax cross-entropy from logits: -mean(log_softmax(z)[i, y_i])."""
    picked = cr.log_softmax(logits, axis=1)[rows, y]
    return picked.sum() * (-1.0 / len(y))


class Trainer:
    def __init__(self, config: Config, batches, seed: int = 0):
        self.model = EngineMLP(config, seed)
        self.params = self.model.parameters()
        self.adam = InPlaceAdam([p.data for p in self.params], lr=LEARNING_RATE)
        self.batches = [(cr.tensor(x), y) for x, y in batches]
        self.rows = np.arange(config.batch)
        self.i = 0

    def step(self, x, y):
        loss = cross_entropy(self.model(x), y, self.rows)
        loss.backward()
        self.update()
        return loss

    def update(self) -> None:
        params = self.params
        self.adam.step([p.grad for p in params])
        for p in params:
            p.grad = None

    def run(self, n_steps: int) -> None:
        batches, n = self.batches, len(self.batches)
        for _ in range(n_steps):
            x, y = batches[self.i % n]
            self.i += 1
            self.step(x, y)

    def loss(self) -> float:
        x, y = self.batches[0]
        with cr.no_grad():
            return cross_entropy(self.model(x), y, self.rows).item()


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed)

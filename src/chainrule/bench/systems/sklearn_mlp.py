"""scikit-learn: ``MLPClassifier.partial_fit``, one call per batch, solver Adam.

Sigmoid configurations use ``activation="logistic"`` (the same function); L2 is off
(``alpha=0``) so the update is plain Adam. ``partial_fit`` re-validates its input and
binarizes the labels on every call: that cost is part of what a user pays.
"""

from __future__ import annotations

import numpy as np
import sklearn
from sklearn.neural_network import MLPClassifier

from chainrule.bench.configs import LEARNING_RATE, N_CLASSES, Config
from chainrule.bench.systems.cycle import BatchCycler

VERSION = f"scikit-learn {sklearn.__version__}"

_ACTIVATIONS = {"sigmoid": "logistic", "relu": "relu"}


class Trainer(BatchCycler):
    def __init__(self, config: Config, batches, seed: int = 0):
        self.model = MLPClassifier(
            hidden_layer_sizes=config.sizes[1:-1],
            activation=_ACTIVATIONS[config.activation],
            solver="adam",
            alpha=0.0,
            batch_size=config.batch,
            learning_rate_init=LEARNING_RATE,
            shuffle=False,
            random_state=seed,
        )
        self.batches = batches
        self.classes = np.arange(N_CLASSES)
        x, y = batches[0]
        self.model.partial_fit(x, y, classes=self.classes)
        self.i = 1

    def step(self, x, y) -> None:
        self.model.partial_fit(x, y)

    def loss(self) -> float:
        x, y = self.batches[0]
        p = self.model.predict_proba(x)
        return float(-np.log(p[np.arange(len(y)), y]).mean())


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed)

"""The traced step (Trainer's default) against the eager one: a replay never runs a layer's
Python, so whatever changes outside the primitives must turn the trace off, not be frozen."""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.nn.module import Module
from chainrule.train import LambdaCallback, Trainer

X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
Y = np.random.default_rng(1).integers(0, 3, size=40)


class Counting(Module):
    """A user layer that updates its buffers with NumPy in forward, as it trains."""

    def __init__(self):
        super().__init__()
        self.register_module("a", nn.Linear(4, 3, rng=1))
        self.register_buffer("seen", np.zeros(1))
        self.register_buffer("x_mean", np.zeros(4))

    def forward(self, x):
        if self.training:
            self.seen += len(x.data)
            self.x_mean += 0.1 * (x.data.mean(0) - self.x_mean)
        return self.a(x)


class Skipping(Module):
    """A user layer that skips its block at random, drawing from its own generator (seeded
    so that its first two draws agree: the two recording calls apply the same primitives)."""

    def __init__(self):
        super().__init__()
        self.register_module("a", nn.Linear(4, 4, rng=1))
        self.register_module("b", nn.Linear(4, 3, rng=2))
        self.register_generator("rng", np.random.default_rng(7))

    def forward(self, x):
        if self.training and self.rng.random() < 0.5:
            return self.b(x)
        return self.b(self.a(x).tanh())


def _fit(model, trace: bool, callbacks=()):
    trainer = Trainer(model, "cross_entropy", optim.SGD(list(model.parameters()), lr=0.1),
                      epochs=2, batch_size=10, progress=False, trace=trace,
                      callbacks=list(callbacks))  # fmt: skip
    return trainer, trainer.fit(X, Y)


@pytest.mark.parametrize("make", [Counting, Skipping], ids=["buffers", "generator"])
def test_a_user_layers_updates_and_draws_end_the_trace(make):
    # the replay froze them after the two recording calls: 20 examples seen, not 80, and
    # the same block skipped or run at every later step
    traced, eager = make(), make()
    trainer, history = _fit(traced, True)
    _, expected = _fit(eager, False)
    assert trainer._traced is None
    assert history.step_losses == expected.step_losses
    for name, value in eager.state_dict().items():
        np.testing.assert_array_equal(traced.state_dict()[name], value, err_msg=name)
    if make is Counting:
        assert traced.seen[0] == 80


def test_dropout_turned_on_after_keep_prob_1_drops_in_a_traced_run():
    # keep_prob 1 put no guard on the plan: the replay never dropped anything
    def enable(trainer, epoch):
        if epoch == 1:
            trainer.model[2].keep_prob = 0.5

    def make():
        return nn.Sequential(nn.Linear(4, 8, rng=1), nn.ReLU(), nn.Dropout(1.0, rng=3),
                             nn.Linear(8, 3, rng=2))  # fmt: skip

    _, history = _fit(make(), True, [LambdaCallback(on_epoch_begin=enable)])
    _, expected = _fit(make(), False, [LambdaCallback(on_epoch_begin=enable)])
    assert history.step_losses == expected.step_losses

"""chainrule without tracing: the ``chainrule`` system's step with the graph built anew
and walked by ``loss.backward()`` at every step (what ``trace_backward`` saves)."""

from __future__ import annotations

from chainrule.bench.configs import Config
from chainrule.bench.systems import chainrule_mlp

VERSION = "chainrule (eager: loss.backward() at every step)"
prepare_batches = chainrule_mlp.prepare_batches


class Trainer(chainrule_mlp.Trainer):
    def step(self, x, y):
        loss = self.forward_loss(x, y)
        loss.backward()
        self.update()
        return loss


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed)

"""chainrule's NumPy-only core: the ``chainrule`` system (traced step) with
``Adam(fused=False)`` under ``chainrule.numpy_rules()``."""

from __future__ import annotations

import chainrule as cr
from chainrule.bench.configs import Config
from chainrule.bench.systems import chainrule_mlp

VERSION = "chainrule (NumPy only: Adam(fused=False), numpy_rules())"
prepare_batches = chainrule_mlp.prepare_batches


class Trainer(chainrule_mlp.Trainer):
    fused = False
    share_threads = False  # nothing compiled to share OpenBLAS's threads with

    def step(self, x, y):
        with cr.numpy_rules():
            return super().step(x, y)


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed)

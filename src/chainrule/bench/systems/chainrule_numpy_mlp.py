"""chainrule's NumPy-only core: the ``chainrule`` system with ``Adam(fused=False)`` under
``chainrule.numpy_rules()``."""

from __future__ import annotations

from chainrule.bench.configs import Config
from chainrule.bench.systems.chainrule_mlp import Trainer

VERSION = "chainrule (NumPy only: Adam(fused=False), numpy_rules())"


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed, numpy_only=True)

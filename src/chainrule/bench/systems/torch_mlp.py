"""PyTorch eager: ``nn.Sequential`` of ``nn.Linear``, ``F.cross_entropy``, ``optim.Adam``.

Defaults as a user writes them (Adam's default implementation choice, ``zero_grad`` to
None); only the initial weights are copied from the shared initializer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention
from torch import nn

from chainrule.bench.configs import LEARNING_RATE, Config, init_params
from chainrule.bench.systems.cycle import BatchCycler
from chainrule.bench.threads import configure_torch

VERSION = f"torch {torch.__version__}"
configure_torch(torch)

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


def build_model(pairs, activation: str) -> nn.Sequential:
    """Linear layers holding copies of ``pairs`` ((W, b), W of shape (n_in, n_out)), with
    ``activation`` between them and none after the last (it emits logits)."""
    layers = []
    for k, (w, b) in enumerate(pairs):
        lin = nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if k < len(pairs) - 1:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def prepare_batches(batches: list) -> list:
    """The batches as tensors sharing the NumPy arrays' memory (``torch.from_numpy``: no
    copy); batches prepared already are returned as they are (the same list)."""
    if all(isinstance(a, torch.Tensor) for batch in batches for a in batch):
        return batches
    return [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]


class Trainer(BatchCycler):
    def __init__(self, config: Config, batches, seed: int = 0):
        self.model = build_model(init_params(config, seed), config.activation)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.batches = prepare_batches(batches)

    def step(self, x, y):
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def loss(self) -> float:
        x, y = self.batches[0]
        with torch.no_grad():
            return F.cross_entropy(self.model(x), y).item()


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed)

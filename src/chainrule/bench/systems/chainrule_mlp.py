"""chainrule as its users write it: ``nn.MLP``, ``losses.cross_entropy``, ``optim.Adam``,
and the step's forward and backward under ``chainrule.trace_backward`` (recorded at the
first two steps, replayed after them; bit-identical to ``loss.backward()``).

The weights are loaded from the shared ``init_params`` so every system starts equal.
With numba (the ``fast`` extra) installed, ``Adam`` takes its compiled one-pass update, and
the layers and the cross-entropy their compiled passes, and the steps run inside
``chainrule.shared_threads()`` (OpenBLAS's products and the compiled passes on one pool
of threads). Two variants: ``chainrule-eager`` is the same step with the graph built anew
by ``loss.backward()`` at every step, and ``chainrule-numpy`` the traced step with
``Adam(fused=False)`` under ``chainrule.numpy_rules()``, the NumPy-only core.
"""

from __future__ import annotations

import contextlib

import chainrule as cr
from chainrule import losses, nn, optim
from chainrule.bench.configs import LEARNING_RATE, Config, init_params
from chainrule.bench.systems.cycle import BatchCycler


def _version() -> str:
    try:
        import numba
    except ImportError:
        return f"chainrule {cr.__version__} (numba not installed: NumPy Adam)"
    why = cr.threads.unavailable()
    shared = "threads shared with OpenBLAS" if why is None else f"threads not shared: {why}"
    return f"chainrule {cr.__version__} (numba {numba.__version__}, {shared})"


VERSION = _version()


def prepare_batches(batches: list) -> list:
    """The inputs wrapped as chainrule tensors (no copy), labels as they are; batches
    prepared already are returned as they are (the same list)."""
    if all(isinstance(x, cr.Tensor) for x, _ in batches):
        return batches
    return [(cr.tensor(x), y) for x, y in batches]


class Trainer(BatchCycler):
    #: ``fused=`` of the Adam: None takes the compiled pass when numba is installed.
    fused: bool | None = None
    #: Train inside ``chainrule.shared_threads()`` (one pool for OpenBLAS and the
    #: compiled passes; a no-op without numba).
    share_threads = True

    def __init__(self, config: Config, batches, seed: int = 0):
        self.model = nn.MLP(list(config.sizes), activation=config.activation, seed=seed)
        names = [name for name, _ in self.model.named_parameters()]
        values = [a for pair in init_params(config, seed) for a in pair]
        self.model.load_state_dict(dict(zip(names, values, strict=True)))
        params = self.model.named_parameters()
        self.optimizer = optim.Adam(params, lr=LEARNING_RATE, fused=self.fused)
        self.batches = prepare_batches(batches)
        self.backward = cr.trace_backward(self.forward_loss)

    def forward_loss(self, x, y):
        return losses.cross_entropy(self.model(x), y)

    def run(self, n_steps: int) -> None:
        with cr.shared_threads() if self.share_threads else contextlib.nullcontext():
            super().run(n_steps)

    def update(self) -> None:
        self.optimizer.step()
        self.optimizer.zero_grad()

    def step(self, x, y):
        loss = self.backward(x, y)
        self.update()
        return loss

    def loss(self) -> float:
        x, y = self.batches[0]
        with cr.no_grad():
            return self.forward_loss(x, y).item()


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed)

"""``Dropout``: inverted dropout with a generator the layer owns."""

from __future__ import annotations

import numpy as np

from chainrule import _checks
from chainrule.autodiff.mode import trace_guard
from chainrule.functional import check_keep_prob, dropout
from chainrule.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout (seed 002): in training, keep each unit with probability
    ``keep_prob`` and scale the kept ones by ``1 / keep_prob``, so the expected activation
    is unchanged and evaluation needs no rescaling.

    The identity in evaluation mode and at ``keep_prob = 1`` (the notes' advice: set it
    to 1 to debug the cost curve or to check gradients).

    Parameters
    ----------
    keep_prob : float
        Probability of keeping a unit, in (0, 1]. (Not the drop rate: ``keep_prob=0.8``
        drops 20% of the units.) At least 2**-53 (``ValueError`` otherwise), and at least
        2**-24 for float32 input (``ValueError`` at the call): the step of the uniform
        draws the mask is made from (see :func:`chainrule.functional.dropout`).
    rng : numpy.random.Generator, int or None
        The generator the masks are drawn from; the layer owns it (see
        :meth:`~chainrule.nn.Module.named_generators`). An int is a seed.
    """

    TRAINING_SETTINGS = ("keep_prob",)  # evaluation does not read it

    _random = True

    def __init__(self, keep_prob: float = 0.5, rng=None) -> None:
        super().__init__()
        # float64's bound, the lower one: float32's is checked at the call
        self.keep_prob = check_keep_prob("Dropout", "keep_prob", keep_prob, np.float64)
        self.register_generator("rng", _checks.generator("Dropout", "rng", rng))

    @classmethod
    def values_needed(cls, config: dict) -> int:
        """0: a generator is all the layer owns (see :meth:`Module.values_needed`)."""
        return 0

    def forward(self, x):
        if self.keep_prob == 1.0:
            trace_guard(lambda: self.keep_prob == 1.0)  # a traced identity until it drops
            return x
        if not self.training:
            trace_guard(lambda: not self.training)  # a traced evaluation is not training
            return x
        return dropout(x, self.keep_prob, self.rng)

    def get_config(self) -> dict:
        return {"type": "Dropout", "keep_prob": self.keep_prob}

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob:g}"

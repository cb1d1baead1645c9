"""RMSprop: divide each gradient entry by the root of an EWMA of its squares."""

from __future__ import annotations

import math

import numpy as np

from chainrule import _checks
from chainrule.optim.base import Optimizer
from chainrule.optim.schedules import Schedule


class RMSprop(Optimizer):
    """Root Mean Square prop, the notes' form with epsilon outside the square root.

    ::

        S = beta * S + (1 - beta) * dW**2        (S starts at 0, no bias correction)
        W -= alpha * dW / (sqrt(S) + eps)

    (1 - beta) * dW**2 is computed as (dW * sqrt(1 - beta))**2: scaled before it is
    squared, it overflows only where it exceeds the dtype's range itself (float32:
    |dW| above about 5.8e19 with beta = 0.9). There S becomes inf, and from then on that
    weight's step is 0 for good (beta * inf is inf): ``clip_norm`` or ``clip_value`` keep
    dW below that.

    The notes write W -= alpha * dW / sqrt(S); ``eps`` only guards the division where S is
    0. It is added *after* the square root, as in :class:`Adam` and PyTorch (TensorFlow 1
    added it inside, sqrt(S + eps), which differs where S is near eps). Directions with
    large gradients (oscillations) get small steps, directions with small gradients larger
    ones, which permits a larger alpha.

    Parameters
    ----------
    params : Module, dict or iterable of Tensor or of (str, Tensor)
        See :class:`~chainrule.optim.base.Optimizer`.
    lr : float or Schedule
        alpha >= 0.
    beta : float
        In [0, 1).
    eps : float
        > 0.
    clip_norm, clip_value, nonfinite
        See :class:`~chainrule.optim.base.Optimizer`.
    """

    state_names = ("s",)
    nonnegative_states = ("s",)
    n_scratch = 1

    def __init__(
        self,
        params,
        lr: float | Schedule = 1e-3,
        beta: float = 0.9,
        eps: float = 1e-8,
        *,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        nonfinite: str = "raise",
    ):
        hp = {"beta": beta, "eps": eps}
        super().__init__(
            params, lr, hp, clip_norm=clip_norm, clip_value=clip_value, nonfinite=nonfinite
        )

    def _check_hyperparameters(self, hp: dict) -> dict:
        owner = type(self).__name__
        return {
            "beta": _checks.beta(owner, "beta", hp["beta"]),
            # added to float32 weights' roots at the narrowest
            "eps": _checks.eps(owner, hp["eps"], "float32", "a weight with no gradient"),
            **super()._check_hyperparameters(hp),
        }

    def update(self, g, state, scratch, lr, t):
        (s,) = state
        (work,) = scratch
        beta = self.beta
        # scaled, then squared: squared first, it overflowed where (1-beta)*dW**2 does not
        np.multiply(g, math.sqrt(1.0 - beta), out=work)
        np.multiply(work, work, out=work)
        s *= beta
        s += work
        np.sqrt(s, out=work)
        work += self.eps
        np.divide(g, work, out=g)
        g *= lr

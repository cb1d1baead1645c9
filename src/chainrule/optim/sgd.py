"""Gradient descent: plain, with classical (PyTorch-style) momentum, and the notes' momentum."""

from __future__ import annotations

import numpy as np

from chainrule import _checks
from chainrule.optim.base import Optimizer
from chainrule.optim.schedules import Schedule


def _nesterov_scratch(self) -> int:
    """Nesterov's step needs one work array (see :func:`_velocity_step`)."""
    return 1 if self.nesterov else 0


class SGD(Optimizer):
    """Gradient descent, optionally with classical momentum or Nesterov momentum.

    ``momentum=0`` (default)::

        W -= lr * dW

    ``momentum=mu > 0`` (classical form, as in PyTorch; v starts at 0)::

        v = mu * v + dW
        W -= lr * v                      (nesterov=False)
        W -= lr * (dW + mu * v)          (nesterov=True: the step from one velocity ahead)

    For the notes' form v = beta*v + (1-beta)*dW use :class:`Momentum`: the two differ only
    by the factor (1 - beta) on v, which a rescaled lr absorbs.

    Batch, mini-batch and stochastic gradient descent are the same rule: they differ in
    how many examples the gradient is averaged over, i.e. in the data loader's batch size.
    Batch size m (the whole training set) is batch gradient descent, one update per epoch;
    1 < b < m is mini-batch gradient descent, T = ceil(m / b) updates per epoch (the notes
    suggest 64 to 1024); b = 1 is stochastic gradient descent, noisy and unvectorized.

    Parameters
    ----------
    params : Module, dict or iterable of Tensor or of (str, Tensor)
        See :class:`~chainrule.optim.base.Optimizer`.
    lr : float or Schedule
        alpha >= 0.
    momentum : float
        mu in [0, 1).
    nesterov : bool
        Nesterov's look-ahead step (needs momentum > 0).
    clip_norm, clip_value, nonfinite
        See :class:`~chainrule.optim.base.Optimizer`.
    """

    def __init__(
        self,
        params,
        lr: float | Schedule = 0.01,
        momentum: float = 0.0,
        *,
        nesterov: bool = False,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        nonfinite: str = "raise",
    ):
        hp = {"momentum": momentum, "nesterov": nesterov}
        super().__init__(
            params, lr, hp, clip_norm=clip_norm, clip_value=clip_value, nonfinite=nonfinite
        )

    def _check_hyperparameters(self, hp: dict) -> dict:
        owner = type(self).__name__
        mu = _checks.beta(owner, "momentum", hp["momentum"])
        nesterov = _check_nesterov(owner, hp["nesterov"], mu, "momentum")
        return {"momentum": mu, "nesterov": nesterov, **super()._check_hyperparameters(hp)}

    def _state_names_for(self, hp: dict) -> tuple[str, ...]:
        return ("v",) if hp["momentum"] > 0 else ()

    n_scratch = property(_nesterov_scratch)

    def update(self, g, state, scratch, lr, t):
        if state:
            _velocity_step(g, state[0], scratch, self.momentum, 1.0, lr, self.nesterov)
        else:
            g *= lr


class Momentum(Optimizer):
    """Gradient descent with momentum in the notes' form (an EWMA of the gradients).

    ::

        v = beta * v + (1 - beta) * dW       (v starts at 0, no bias correction)
        W -= alpha * v                       (nesterov=False, the notes)
        W -= alpha * (beta * v + (1 - beta) * dW)   (nesterov=True: v one step ahead)

    v averages roughly the last 1 / (1 - beta) gradients, so oscillating components
    cancel and consistent ones add up (002 section 2.3, 003). The notes suggest beta in
    0.8 to 0.999, default 0.9.

    Parameters
    ----------
    params : Module, dict or iterable of Tensor or of (str, Tensor)
        See :class:`~chainrule.optim.base.Optimizer`.
    lr : float or Schedule
        alpha >= 0.
    beta : float
        In [0, 1).
    nesterov : bool
        Nesterov's look-ahead step (needs beta > 0).
    clip_norm, clip_value, nonfinite
        See :class:`~chainrule.optim.base.Optimizer`.
    """

    state_names = ("v",)

    def __init__(
        self,
        params,
        lr: float | Schedule = 0.01,
        beta: float = 0.9,
        *,
        nesterov: bool = False,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        nonfinite: str = "raise",
    ):
        hp = {"beta": beta, "nesterov": nesterov}
        super().__init__(
            params, lr, hp, clip_norm=clip_norm, clip_value=clip_value, nonfinite=nonfinite
        )

    def _check_hyperparameters(self, hp: dict) -> dict:
        owner = type(self).__name__
        beta = _checks.beta(owner, "beta", hp["beta"])
        nesterov = _check_nesterov(owner, hp["nesterov"], beta, "beta")
        return {"beta": beta, "nesterov": nesterov, **super()._check_hyperparameters(hp)}

    n_scratch = property(_nesterov_scratch)

    def update(self, g, state, scratch, lr, t):
        _velocity_step(g, state[0], scratch, self.beta, 1.0 - self.beta, lr, self.nesterov)


def _velocity_step(g, v, scratch, mu: float, gain: float, lr: float, nesterov: bool) -> None:
    """v = mu*v + gain*g; g becomes lr*v, or lr*(gain*g + mu*v) for Nesterov (which
    computes mu*v in ``scratch[0]``: dividing g by mu instead overflows for a tiny mu)."""
    if gain != 1.0:
        g *= gain
    v *= mu
    v += g
    if nesterov:
        (work,) = scratch
        np.multiply(v, mu, out=work)
        g += work
        g *= lr
    else:
        np.multiply(v, lr, out=g)


def _check_nesterov(owner: str, nesterov, mu: float, name: str) -> bool:
    nesterov = _checks.boolean(owner, "nesterov", nesterov)
    if nesterov and mu == 0.0:
        raise ValueError(f"{owner}: nesterov=True expected {name} > 0, got {mu!r}")
    return nesterov

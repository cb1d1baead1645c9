"""Adam in place on NumPy arrays with preallocated moment and scratch buffers.

The variant of Kingma & Ba, PyTorch and optax (epsilon outside the square root, bias
correction on both moments). The bias corrections are folded into a step size and an
epsilon, which is exactly equivalent:
lr * mhat / (sqrt(vhat) + eps) = lr_t * m / (sqrt(v) + eps_t) with
lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t) and eps_t = eps * sqrt(1 - b2^t).
"""

from __future__ import annotations

import math

import numpy as np


class InPlaceAdam:
    """Adam over a list of float arrays ``params``; ``step(grads)`` updates them in place."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params = params
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self, grads) -> None:
        self.t += 1
        b1, b2 = self.b1, self.b2
        root = math.sqrt(1.0 - b2**self.t)
        lr_t = self.lr * root / (1.0 - b1**self.t)
        eps_t = self.eps * root
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp, strict=True):
            # 12 passes over memory; a fused kernel would make it one.
            np.subtract(g, m, out=tmp)
            tmp *= 1.0 - b1
            m += tmp  # m = b1 m + (1 - b1) g
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v *= b2
            v += tmp  # v = b2 v + (1 - b2) g^2
            np.sqrt(v, out=tmp)
            tmp += eps_t
            np.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp

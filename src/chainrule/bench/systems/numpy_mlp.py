"""Reference: the training step written by hand in NumPy, in place, float32.

Every array the step touches is allocated once in ``__init__``; the step only writes
into them (``out=`` everywhere). It is the bar for what a NumPy engine could reach.
"""

from __future__ import annotations

import numpy as np

from chainrule.bench.configs import LEARNING_RATE, Config, init_params
from chainrule.bench.systems.adam_inplace import InPlaceAdam
from chainrule.bench.systems.cycle import BatchCycler

VERSION = f"numpy {np.__version__}"


class Trainer(BatchCycler):
    def __init__(self, config: Config, batches, seed: int = 0):
        self.batches = batches
        self.sigmoid = config.activation == "sigmoid"
        pairs = init_params(config, seed)
        self.W = [w for w, _ in pairs]
        self.b = [b for _, b in pairs]
        m = config.batch
        self.A = [np.empty((m, n), np.float32) for n in config.sizes[1:]]  # activations
        self.D = [np.empty((m, n), np.float32) for n in config.sizes[1:]]  # dL/dZ per layer
        self.gW = [np.empty_like(w) for w in self.W]
        self.gb = [np.empty_like(b) for b in self.b]
        self.tmp = [np.empty((m, n), np.float32) for n in config.sizes[1:]]
        self.rows = np.arange(m)
        self.adam = InPlaceAdam(self.W + self.b, lr=LEARNING_RATE)
        self.grads = self.gW + self.gb

    def _forward(self, x):
        h = x
        last = len(self.W) - 1
        for k, (w, b, a) in enumerate(zip(self.W, self.b, self.A, strict=True)):
            np.matmul(h, w, out=a)
            a += b
            if k < last:
                if self.sigmoid:  # 1 / (1 + exp(-z)); exp overflow to inf gives exactly 0
                    np.negative(a, out=a)
                    with np.errstate(over="ignore"):
                        np.exp(a, out=a)
                    a += 1.0
                    np.reciprocal(a, out=a)
                else:
                    np.maximum(a, 0.0, out=a)
            h = a
        return h

    def _loss_grad(self, logits, y):
        """Softmax cross-entropy: writes dL/dlogits = (softmax - onehot) / m, returns L."""
        d = self.D[-1]
        np.subtract(logits, logits.max(axis=1, keepdims=True), out=d)
        np.exp(d, out=d)
        d /= d.sum(axis=1, keepdims=True)
        loss = -np.log(d[self.rows, y]).mean()
        d[self.rows, y] -= 1.0
        d *= 1.0 / len(y)
        return loss

    def _backward(self, x):
        for k in range(len(self.W) - 1, -1, -1):
            d = self.D[k]
            h = x if k == 0 else self.A[k - 1]
            np.matmul(h.T, d, out=self.gW[k])
            np.sum(d, axis=0, out=self.gb[k])
            if k == 0:
                break
            below, a, tmp = self.D[k - 1], self.A[k - 1], self.tmp[k - 1]
            np.matmul(d, self.W[k].T, out=below)
            if self.sigmoid:  # sigma' = a (1 - a)
                np.subtract(1.0, a, out=tmp)
                tmp *= a
                below *= tmp
            else:
                np.greater(a, 0.0, out=tmp)
                below *= tmp

    def step(self, x, y) -> float:
        loss = self._loss_grad(self._forward(x), y)
        self._backward(x)
        self.adam.step(self.grads)
        return loss

    def loss(self) -> float:
        x, y = self.batches[0]
        return float(self._loss_grad(self._forward(x), y))


def make_trainer(config: Config, batches, seed: int = 0) -> Trainer:
    return Trainer(config, batches, seed)

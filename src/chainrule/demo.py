"""A first look at the engine: a 2-4-1 tanh/sigmoid network learns XOR by plain backprop.

Run ``python -m chainrule.demo``; it prints the cross-entropy cost at the first step and at
every 200th (each before its update), then the predictions after the last update.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr


def main(steps: int = 2000, lr: float = 0.5, seed: int = 1) -> list[float]:
    """Train for ``steps`` updates of plain gradient descent; the cost before each."""
    rng = np.random.default_rng(seed)
    x = cr.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = cr.tensor([[0], [1], [1], [0]])
    w1 = cr.tensor(rng.normal(0, 1, (2, 4)).astype("float32"), requires_grad=True)
    b1 = cr.tensor(np.zeros(4, "float32"), requires_grad=True)
    w2 = cr.tensor(rng.normal(0, 1, (4, 1)).astype("float32"), requires_grad=True)
    b2 = cr.tensor(np.zeros(1, "float32"), requires_grad=True)
    params = (w1, b1, w2, b2)

    def forward():
        return cr.sigmoid(cr.linear(cr.tanh(cr.linear(x, w1, b1)), w2, b2)).clip(1e-7, 1 - 1e-7)

    costs = []
    for step in range(1, steps + 1):
        a2 = forward()
        cost = -(y * cr.log(a2) + (1 - y) * cr.log(1 - a2)).mean()
        for p in params:
            p.grad = None
        cost.backward()
        with cr.no_grad():
            for p in params:
                p.data -= lr * p.grad
        costs.append(cost.item())
        if step == 1 or step % 200 == 0:
            print(f"step {step:5d}  cost {cost.item():.4f}")
    with cr.no_grad():
        print("predictions:", np.round(forward().data.ravel(), 3), "targets:", y.data.ravel())
    return costs


if __name__ == "__main__":
    main()

"""float32 limits of the rules: tiny decoupled decay, huge but finite gradients.

AdamW multiplied the weights by 1 - lr * weight_decay rounded to float32, whose spacing
below 1 is 6e-8: a decay of 1e-7 became 1.19e-7, one below 3e-8 none at all. Adam and
RMSprop squared the gradient before scaling it, so that s overflowed to inf (and froze the
weight for good) for gradients whose (1 - beta2) * dW**2 is a float32 number.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import Adam, AdamW, RMSprop, kernels

FUSED = [
    pytest.param(
        True, id="fused", marks=pytest.mark.skipif(not kernels.available(), reason="numba")
    ),
    pytest.param(False, id="numpy"),
]


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("decay", [1e-7, 2e-8])
def test_adamw_decay_below_float32_spacing_is_applied_with_the_step(fused, decay):
    # the decay rides on the Adam step (W - (W * decay + step)), which float32 resolves to
    # 1e-10 here: over 1000 steps and 1000 weights it adds up to the float64 run's decay
    lr, n = 1e-3, 1000

    def final(dtype, weight_decay):
        rng = np.random.default_rng(0)
        w0 = rng.uniform(0.5, 2.0, n).astype(np.float32)
        w = cr.tensor(w0.astype(dtype), requires_grad=True)
        opt = AdamW([w], lr=lr, weight_decay=weight_decay, fused=fused)
        for _ in range(1000):
            w.grad = rng.standard_normal(n).astype(np.float32).astype(dtype)
            opt.step()
        return w.data.astype(np.float64)

    def decayed(dtype):  # the weights' total decay: Adam's weights minus AdamW's
        return (final(dtype, 0.0) - final(dtype, decay / lr)).sum()

    exact = decayed(np.float64)
    assert exact == pytest.approx(1000 * decay * 1.25 * n, rel=0.05)  # sum of W ~ 1.25 n
    assert decayed(np.float32) == pytest.approx(exact, rel=0.01)


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize(("beta1", "g"), [(0.9, 3e20), (0.0, 1e20), (0.9, -5e20)])
def test_adam_gradient_whose_square_overflows_but_not_the_average_moves_the_weight(fused, beta1, g):
    # (1-beta1)*dW squared overflowed float32 (3.4e38) where (1-beta2)*dW**2 does not
    p = cr.tensor(np.zeros(1, np.float32), requires_grad=True)
    opt = Adam([p], lr=0.1, beta1=beta1, fused=fused)
    p.grad = np.array([g], np.float32)
    assert opt.step()
    assert p.data[0] == pytest.approx(-0.1 * np.sign(g), rel=1e-5)  # the first step: alpha
    s = opt.state_dict()["params"][0]["state"]["s"][0]
    assert s == pytest.approx(0.001 * g * g, rel=1e-5)
    p.grad = np.ones(1, np.float32)
    opt.step()  # s decays from there (an inf s stayed inf: beta2 * inf)
    assert opt.state_dict()["params"][0]["state"]["s"][0] == pytest.approx(0.999 * s, rel=1e-5)


def test_rmsprop_gradient_whose_square_overflows_but_not_the_average_moves_the_weight():
    p = cr.tensor(np.zeros(1, np.float32), requires_grad=True)
    opt = RMSprop([p], lr=0.1, beta=0.9)
    p.grad = np.array([3e19], np.float32)  # its square is 9e38 > 3.4e38; 0.1 of it is not
    assert opt.step()
    assert opt.state_dict()["params"][0]["state"]["s"][0] == pytest.approx(9e37, rel=1e-5)
    assert p.data[0] == pytest.approx(-0.1 / np.sqrt(0.1), rel=1e-5)  # alpha dW / sqrt(S)
    p.grad = np.ones(1, np.float32)
    opt.step()  # S decays from there (an inf S stayed inf: beta * inf)
    assert opt.state_dict()["params"][0]["state"]["s"][0] == pytest.approx(8.1e37, rel=1e-5)

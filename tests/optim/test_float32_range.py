"""float32 limits of the rules: tiny decoupled decay, huge but finite gradients.

AdamW multiplied the weights by 1 - lr * weight_decay rounded to float32, whose spacing
below 1 is 6e-8: a decay of 1e-7 became 1.19e-7, one below 3e-8 none at all. Adam and
RMSprop squared the gradient before scaling it, so that s overflowed to inf (and froze the
weight for good) for gradients whose (1 - beta2) * dW**2 is a float32 number.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
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


RULES = {  # the NumPy rules (fused=False): the compiled one never consults np.errstate
    "adam": lambda p: Adam(p, lr=0.1, fused=False),
    "adamw": lambda p: AdamW(p, lr=0.1, weight_decay=0.1, fused=False),
    "adam-clip-norm": lambda p: Adam(p, lr=0.1, clip_norm=1.0, fused=False),
    "rmsprop": lambda p: RMSprop(p, lr=0.1),
    "sgd-nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "momentum": lambda p: optim.Momentum(p, lr=0.1, beta=0.9),
}


def _errstate_run(rule, errors, missing):
    """Two steps of ``rule`` on a float32 and a float64 parameter under np.errstate(errors),
    with gradients whose squares overflow float32 (3e30) or underflow it (1e-25), and
    whose step underflows it (1e-38 times 0.1); with ``missing`` the float64 one has no
    gradient the second time (the per-parameter path)."""
    w = cr.tensor(np.ones(4, np.float32), requires_grad=True)
    b = cr.tensor(np.ones(2, np.float64), requires_grad=True)
    opt = RULES[rule]([("w", w), ("b", b)])
    for k in range(2):
        w.grad = np.array([1.0, 3e30, 1e-25, 1e-38], np.float32)
        b.grad = None if missing and k else np.array([1e-200, 2.0])
        with np.errstate(**errors):
            assert opt.step()
    return [w.data.copy(), b.data.copy()], opt.state_dict()


@pytest.mark.parametrize("missing", [False, True], ids=["flat", "per-parameter"])
@pytest.mark.parametrize("errors", [{"over": "raise"}, {"all": "raise"}], ids=["over", "all"])
@pytest.mark.parametrize("rule", list(RULES))
def test_a_callers_errstate_neither_stops_a_step_halfway_nor_changes_it(rule, errors, missing):
    # Adam raised FloatingPointError after writing v, before s and the weights
    params, state = _errstate_run(rule, errors, missing)
    expected_params, expected = _errstate_run(rule, {"all": "ignore"}, missing)
    for a, b in zip(params, expected_params, strict=True):
        np.testing.assert_array_equal(a, b)
    assert state["step_count"] == expected["step_count"] == 2
    for got, want in zip(state["params"], expected["params"], strict=True):
        assert got["t"] == want["t"]
        for name in want["state"]:
            np.testing.assert_array_equal(got["state"][name], want["state"][name])

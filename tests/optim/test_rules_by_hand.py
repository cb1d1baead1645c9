"""The first three steps of each optimizer equal the notes' formulas worked by hand.

The problem: J(W) = (W_1^2 + 10 W_2^2) / 2 from W = (1, -2), so dW = (W_1, 10 W_2).
Each reference below applies the notes' equations coordinate by coordinate in plain Python
floats, independently of the vectorized, in-place implementation.
"""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, AdamW, Momentum, RMSprop

START = (1.0, -2.0)
SCALE = (1.0, 10.0)


def grad(w):
    return [s * x for s, x in zip(SCALE, w, strict=True)]


def by_hand(rule, steps=3):
    """Iterate ``rule(w_i, dw_i, state_i, t) -> w_i`` per coordinate; return W after each."""
    w, states, history = list(START), [{}, {}], []
    for t in range(1, steps + 1):
        dw = grad(w)
        w = [rule(w[i], dw[i], states[i], t) for i in range(2)]
        history.append(w)
    return np.array(history)


def run(make, steps=3):
    p = cr.tensor(np.array(START), requires_grad=True)
    opt = make([p])
    history = []
    for _ in range(steps):
        p.grad = np.array(grad(p.data))
        opt.step()
        history.append(p.data.copy())
    return np.array(history)


def sgd(alpha):
    return lambda w, dw, s, t: w - alpha * dw


def classical(alpha, mu, nesterov=False):
    def rule(w, dw, s, t):
        s["v"] = mu * s.get("v", 0.0) + dw
        return w - alpha * (dw + mu * s["v"] if nesterov else s["v"])

    return rule


def notes_momentum(alpha, beta, nesterov=False):
    def rule(w, dw, s, t):
        s["v"] = beta * s.get("v", 0.0) + (1 - beta) * dw
        return w - alpha * (beta * s["v"] + (1 - beta) * dw if nesterov else s["v"])

    return rule


def rmsprop(alpha, beta, eps):
    def rule(w, dw, s, t):
        s["S"] = beta * s.get("S", 0.0) + (1 - beta) * dw * dw
        return w - alpha * dw / (math.sqrt(s["S"]) + eps)

    return rule


def adam(alpha, beta1, beta2, eps, weight_decay=0.0, correct=True):
    def rule(w, dw, s, t):
        s["v"] = beta1 * s.get("v", 0.0) + (1 - beta1) * dw
        s["s"] = beta2 * s.get("s", 0.0) + (1 - beta2) * dw * dw
        v_hat = s["v"] / (1 - beta1**t) if correct else s["v"]
        s_hat = s["s"] / (1 - beta2**t) if correct else s["s"]
        return w - alpha * (v_hat / (math.sqrt(s_hat) + eps) + weight_decay * w)

    return rule


CASES = {
    "sgd": (lambda p: SGD(p, lr=0.05), sgd(0.05)),
    "sgd-momentum": (lambda p: SGD(p, lr=0.05, momentum=0.8), classical(0.05, 0.8)),
    "sgd-nesterov": (
        lambda p: SGD(p, lr=0.05, momentum=0.8, nesterov=True),
        classical(0.05, 0.8, nesterov=True),
    ),
    "momentum": (lambda p: Momentum(p, lr=0.1, beta=0.9), notes_momentum(0.1, 0.9)),
    "momentum-nesterov": (
        lambda p: Momentum(p, lr=0.1, beta=0.9, nesterov=True),
        notes_momentum(0.1, 0.9, nesterov=True),
    ),
    "rmsprop": (lambda p: RMSprop(p, lr=0.01, beta=0.9, eps=1e-8), rmsprop(0.01, 0.9, 1e-8)),
    "adam": (lambda p: Adam(p, lr=0.1), adam(0.1, 0.9, 0.999, 1e-8)),
    "adam-uncorrected": (
        lambda p: Adam(p, lr=0.1, bias_correction=False),
        adam(0.1, 0.9, 0.999, 1e-8, correct=False),
    ),
    "adam-big-eps": (
        lambda p: Adam(p, lr=0.1, beta1=0.5, beta2=0.9, eps=0.5),
        adam(0.1, 0.5, 0.9, 0.5),
    ),
    "adamw": (
        lambda p: AdamW(p, lr=0.1, weight_decay=0.2),
        adam(0.1, 0.9, 0.999, 1e-8, weight_decay=0.2),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_first_three_steps_match_the_notes(case):
    make, rule = CASES[case]
    np.testing.assert_allclose(run(make), by_hand(rule), rtol=1e-12, atol=1e-15)


def test_sgd_steps_in_numbers():
    # W - 0.05 dW with dW = (W_1, 10 W_2): W_1 *= 0.95 and W_2 *= 0.5 each step.
    expected = [[0.95, -1.0], [0.9025, -0.5], [0.857375, -0.25]]
    np.testing.assert_allclose(run(lambda p: SGD(p, lr=0.05)), expected, rtol=1e-12)


def test_notes_momentum_steps_in_numbers():
    # v1 = 0.1 dW1 = (0.1, -2); W1 = W0 - 0.1 v1 = (0.99, -1.8)
    # dW2 = (0.99, -18); v2 = 0.9 v1 + 0.1 dW2 = (0.189, -3.6); W2 = (0.9711, -1.44)
    history = run(lambda p: Momentum(p, lr=0.1, beta=0.9), steps=2)
    np.testing.assert_allclose(history, [[0.99, -1.8], [0.9711, -1.44]], rtol=1e-12)


def test_adam_first_step_is_about_alpha_per_coordinate():
    # With bias correction v_hat = dW and s_hat = dW^2, so the step is alpha dW / (|dW| + eps).
    alpha = 1e-3
    rng = np.random.default_rng(0)
    g = rng.standard_normal(50) * np.logspace(-3, 3, 50)
    p = cr.tensor(np.zeros(50), requires_grad=True)
    opt = Adam([p], lr=alpha)
    p.grad = g
    opt.step()
    np.testing.assert_allclose(np.abs(p.data), alpha, rtol=1e-4)
    np.testing.assert_array_equal(np.sign(p.data), -np.sign(g))


def test_adam_first_step_without_bias_correction_is_not_alpha():
    # v = 0.1 dW, s = 0.001 dW^2: the step is alpha * 0.1 / sqrt(0.001) = 3.16 alpha.
    p = cr.tensor(np.zeros(3), requires_grad=True)
    opt = Adam([p], lr=1e-3, bias_correction=False)
    p.grad = np.array([1e-2, 1.0, 1e2])
    opt.step()
    np.testing.assert_allclose(np.abs(p.data), 1e-3 * 0.1 / math.sqrt(0.001), rtol=1e-4)


def test_adamw_is_not_adam_with_an_l2_gradient():
    # L2 adds lambda W to dW, which Adam then normalizes; AdamW shrinks W separately.
    def final(make, l2):
        p = cr.tensor(np.array([1.0, -2.0]), requires_grad=True)
        opt = make([p])
        for _ in range(3):
            p.grad = np.array(grad(p.data)) + l2 * p.data
            opt.step()
        return p.data

    decoupled = final(lambda p: AdamW(p, lr=0.1, weight_decay=0.2), 0.0)
    coupled = final(lambda p: Adam(p, lr=0.1), 0.2)
    assert np.abs(decoupled - coupled).max() > 1e-3


def test_adamw_without_decay_is_adam_bit_for_bit():
    np.testing.assert_array_equal(
        run(lambda p: AdamW(p, lr=0.1, weight_decay=0.0)), run(lambda p: Adam(p, lr=0.1))
    )


def test_float32_stays_float32_and_matches_float64():
    def run32(dtype):
        p = cr.tensor(np.array(START, dtype=dtype), requires_grad=True)
        opt = Adam([p], lr=0.1)
        for _ in range(3):
            p.grad = np.array(grad(p.data), dtype=dtype)
            opt.step()
        return p.data

    w32 = run32("float32")
    assert w32.dtype == np.float32
    np.testing.assert_allclose(w32, run32("float64"), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "make",
    [
        lambda p, mu: SGD(p, lr=0.1, momentum=mu, nesterov=True),
        lambda p, mu: Momentum(p, lr=0.1, beta=mu, nesterov=True),
    ],
    ids=["sgd", "momentum"],
)
def test_nesterov_with_a_tiny_momentum_is_plain_gradient_descent(make, dtype):
    # mu below 1 / max float: the step once divided the gradient by mu and overflowed
    mu = 1e-39 if dtype == np.float32 else 1e-310
    p = cr.tensor(np.ones(3, dtype), requires_grad=True)
    opt = make([p], mu)
    g = np.array([0.0, 1.0, 1e6], dtype)
    p.grad = g.copy()
    opt.step()  # 1 - 0.1 * (g + mu v), and the notes' form's (1 - mu) g is g in any float
    np.testing.assert_allclose(p.data, 1 - 0.1 * g, rtol=1e-6)

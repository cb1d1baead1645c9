"""The notes' worked examples, computed by the engine."""

import numpy as np
import pytest

import chainrule as cr


def test_computational_graph_example_004():
    """J(a, b, c) = 3(a + bc) at a=5, b=3, c=2: J=33, dJ/da=3, dJ/db=6, dJ/dc=9."""
    a, b, c = (cr.tensor(v, requires_grad=True) for v in (5.0, 3.0, 2.0))
    u = b * c
    v = a + u
    J = 3 * v
    J.backward()
    assert J.item() == 33.0
    assert (a.grad, b.grad, c.grad) == (3.0, 6.0, 9.0)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_two_layer_network_matches_the_notes_vectorized_formulas(activation):
    """Seeds 002/003 derive, column-major (X is (n0, m), W[l] is (n_l, n_{l-1})):

        dZ2 = A2 - Y,  dW2 = dZ2 A1^T / m,  db2 = sum(dZ2, axis=1) / m,
        dZ1 = W2^T dZ2 * g'(Z1),  dW1 = dZ1 X^T / m,  db1 = sum(dZ1, axis=1) / m.

    chainrule is row-major: X_ours = X^T, W_ours = W^T, Z_ours = Z^T. So the engine's
    gradients must equal the transposes of the notes' dW and the notes' db.
    """
    rng = np.random.default_rng(0)
    n0, n1, m = 4, 5, 7
    X = rng.standard_normal((n0, m))  # the notes' column-major data
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    W1, b1 = rng.standard_normal((n1, n0)), rng.standard_normal((n1, 1))
    W2, b2 = rng.standard_normal((1, n1)), rng.standard_normal((1, 1))
    g = {
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    }[activation]
    g_prime = {
        "tanh": lambda z: 1 - np.tanh(z) ** 2,
        "relu": lambda z: (z > 0).astype(float),
        "sigmoid": lambda z: g(z) * (1 - g(z)),
    }[activation]

    # The notes, by hand.
    Z1 = W1 @ X + b1
    A1 = g(Z1)
    A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = W2.T @ dZ2 * g_prime(Z1)
    dW1 = dZ1 @ X.T / m
    db1 = dZ1.sum(axis=1, keepdims=True) / m

    # The engine, row-major.
    w1, w2 = cr.tensor(W1.T, requires_grad=True), cr.tensor(W2.T, requires_grad=True)
    c1, c2 = cr.tensor(b1.ravel(), requires_grad=True), cr.tensor(b2.ravel(), requires_grad=True)
    x, y = cr.tensor(X.T), cr.tensor(Y.T)
    a1 = getattr(cr, activation)(cr.linear(x, w1, c1))
    a2 = cr.sigmoid(cr.linear(a1, w2, c2))
    cost = -(y * cr.log(a2) + (1 - y) * cr.log(1 - a2)).mean()
    cost.backward()

    np.testing.assert_allclose(w2.grad, dW2.T, rtol=1e-10)
    np.testing.assert_allclose(c2.grad, db2.ravel(), rtol=1e-10)
    np.testing.assert_allclose(w1.grad, dW1.T, rtol=1e-10)
    np.testing.assert_allclose(c1.grad, db1.ravel(), rtol=1e-10)


def test_backprop_beats_n_plus_one_cost_evaluations_in_agreement():
    """Seed 003: finite differences need n+1 cost evaluations; backprop one sweep. Same answer."""
    rng = np.random.default_rng(3)
    w = cr.tensor(rng.standard_normal(20), requires_grad=True)
    x = cr.tensor(rng.standard_normal((6, 20)))
    cost = lambda: cr.sigmoid(x @ w).sum()  # noqa: E731
    cost().backward()
    eps = 1e-6
    base = cost().item()
    forward_diff = np.empty(20)
    for i in range(20):
        w.data[i] += eps
        forward_diff[i] = (cost().item() - base) / eps
        w.data[i] -= eps
    np.testing.assert_allclose(w.grad, forward_diff, rtol=1e-4, atol=1e-6)


def test_the_demo_learns_xor_with_its_defaults(capsys):
    from chainrule import demo

    costs = demo.main()  # seed 0 stalled at cost 0.35 with two of four wrong
    assert costs[-1] < 0.01  # every example's cost below 0.04: all four right
    assert "step  2000" in capsys.readouterr().out


def test_the_demo_makes_as_many_updates_as_steps(capsys):
    # it made steps + 1 updates (one with steps=0)
    from chainrule import demo

    assert [len(demo.main(steps=n)) for n in (0, 3)] == [0, 3]
    assert capsys.readouterr().out.splitlines()[-1].startswith("predictions:")

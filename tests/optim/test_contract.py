"""Family-wide contract: every optimizer and variant keeps finite, well-shaped state and
converges on an ill-conditioned quadratic and on Rosenbrock."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import Adam

CURVATURE = np.array([1.0, 100.0])  # condition number 100


def quadratic_grad(w):
    return CURVATURE * w


def rosenbrock_grad(w):
    x, y = w
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])


def minimize(make, lr, grad, start, target, max_steps=20_000, tol=1e-3):
    p = cr.tensor(np.array(start), requires_grad=True)
    opt = make([p], lr)
    for _ in range(max_steps):
        p.grad = grad(p.data)
        opt.step()
        if np.abs(p.data - target).max() < tol:
            break
    return p.data


def test_converges_on_ill_conditioned_quadratic(member):
    make, lr, _ = member
    w = minimize(make, lr, quadratic_grad, [1.0, 1.0], np.zeros(2))
    np.testing.assert_allclose(w, 0.0, atol=1e-3)


def test_converges_on_rosenbrock(member):
    make, _, lr = member
    w = minimize(make, lr, rosenbrock_grad, [-1.2, 1.0], np.ones(2))
    np.testing.assert_allclose(w, 1.0, atol=1e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_state_finite_shaped_and_parameters_updated_in_place(member, dtype):
    make, lr, _ = member
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (), (1, 2, 2)]
    params = [
        (f"w{i}", cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True))
        for i, s in enumerate(shapes)
    ]
    arrays = [p.data for _, p in params]
    before = [a.copy() for a in arrays]
    opt = make(params, lr)
    for _ in range(5):
        for _, p in params:
            p.grad = rng.standard_normal(p.shape).astype(dtype)
        assert opt.step() is True
    assert opt.step_count == 5
    for (name, p), a, b in zip(params, arrays, before, strict=True):
        assert p.data is a, name
        assert p.data.dtype == dtype and p.data.shape == b.shape
        assert np.all(np.isfinite(p.data)) and not np.array_equal(p.data, b)
    for entry, (_, p) in zip(opt.state_dict()["params"], params, strict=True):
        assert entry["t"] == 5
        for state in entry["state"].values():
            assert state.shape == p.shape and state.dtype == dtype
            assert np.all(np.isfinite(state))


def test_never_writes_gradients_read_only_or_shared(member):
    make, lr, _ = member
    a = cr.tensor(np.ones((2, 3)), requires_grad=True)
    b = cr.tensor(np.ones((2, 3)), requires_grad=True)
    shared = np.full((2, 3), 2.0)
    shared.flags.writeable = False
    opt = make([a, b], lr)
    a.grad = b.grad = shared
    opt.step()
    np.testing.assert_array_equal(shared, 2.0)
    np.testing.assert_array_equal(a.data, b.data)


def test_trains_through_the_engine(member):
    make, lr, _ = member
    rng = np.random.default_rng(1)
    X = rng.standard_normal((32, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    W = cr.tensor(np.zeros((3, 1)), requires_grad=True)
    b = cr.tensor(np.zeros(1), requires_grad=True)
    opt = make([("W", W), ("b", b)], lr)

    def loss():
        return ((cr.linear(cr.tensor(X), W, b) - cr.tensor(y)) ** 2).mean()

    start = loss().item()
    for _ in range(100):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < 0.5 * start


def test_parameters_without_gradient_are_left_alone(member):
    make, lr, _ = member
    a = cr.tensor(np.ones(3), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    opt = make([("a", a), ("b", b)], lr)
    a.grad = np.ones(3)
    assert opt.step() is True
    np.testing.assert_array_equal(b.data, 1.0)
    assert not np.array_equal(a.data, 1.0)
    ts = {e["name"]: e["t"] for e in opt.state_dict()["params"]}
    assert ts == {"a": 1, "b": 0}
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    assert opt.step() is False
    assert opt.step_count == 1


def test_skipped_parameter_gets_its_own_bias_correction():
    # b has no gradient for the first step, so its first Adam step is still ~lr.
    a = cr.tensor(np.zeros(2), requires_grad=True)
    b = cr.tensor(np.zeros(2), requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    opt.step()
    a.grad, b.grad = np.ones(2), np.array([3.0, -0.5])
    opt.step()
    np.testing.assert_allclose(b.data, [-0.1, 0.1], rtol=1e-6)

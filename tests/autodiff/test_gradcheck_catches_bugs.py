"""gradcheck as a tool: it must catch wrong gradient rules and report them usefully."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import backend, node

xp_of = backend.array_module


def broken_sigmoid(x):
    """Forgets the (1 - s) factor of s(1 - s)."""
    s = 1 / (1 + np.exp(-x.data))
    return node(s, (x,), lambda g: (g * s,), "broken_sigmoid")


def broken_mul(a, b):
    """Swaps the operands in the rule: d(ab)/da = a instead of b."""
    x, y = a.data, b.data
    return node(x * y, (a, b), lambda g: (g * x, g * y), "broken_mul")


def broken_softmax(x):
    """Drops the coupling term: returns p * g, right only for an all-ones upstream sum."""
    e = np.exp(x.data - x.data.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return node(p, (x,), lambda g: (p * g,), "broken_softmax")


def broken_matmul(a, b):
    """Forgets the transpose in dA = g @ B^T (shapes are square, so it runs)."""
    x, y = a.data, b.data
    return node(x @ y, (a, b), lambda g: (g @ y, x.T @ g), "broken_matmul")


def broken_sum(x):
    """Off-by-mean: divides the broadcast gradient by the count as if it were a mean."""
    n = x.data.size
    return node(x.data.sum(), (x,), lambda g: (np.full(x.shape, g / n),), "broken_sum")


def broken_linear_bias(x, w, b):
    """Averages db over the batch instead of summing it (a classic 1/m mix-up)."""
    xd, wd = x.data, w.data
    out = xd @ wd + b.data

    def vjp(g):
        return g @ wd.T, xd.T @ g, g.mean(axis=0)

    return node(out, (x, w, b), vjp, "broken_linear")


def sign_flipped_tanh(x):
    t = np.tanh(x.data)
    return node(t, (x,), lambda g: (-g * (1 - t * t),), "sign_flipped_tanh")


RNG = np.random.default_rng(5)


def t(*shape):
    return cr.tensor(RNG.standard_normal(shape), requires_grad=True)


BROKEN = [
    ("sigmoid", broken_sigmoid, [t(3, 4)]),
    ("mul", broken_mul, [t(3), t(3)]),
    ("softmax", broken_softmax, [t(2, 5)]),
    ("matmul", broken_matmul, [t(3, 3), t(3, 3)]),
    ("sum", broken_sum, [t(4)]),
    ("linear-bias", broken_linear_bias, [t(5, 3), t(3, 2), t(2)]),
    ("tanh-sign", sign_flipped_tanh, [t(6)]),
]


@pytest.mark.parametrize(("name", "fn", "inputs"), BROKEN, ids=[b[0] for b in BROKEN])
@pytest.mark.parametrize("mode", ["full", "direction"])
def test_broken_rule_is_caught(name, fn, inputs, mode):
    result = cr.gradcheck(fn, *inputs, mode=mode)
    assert not result.passed
    assert "FAILED" in str(result)
    assert max(r.rel_error for r in result.inputs) > 1e-3


def test_report_names_the_faulty_input_and_its_worst_entries():
    x, w, b = t(5, 3), t(3, 2), t(2)
    result = cr.gradcheck(broken_linear_bias, x, w, b)
    errors = [r.rel_error for r in result.inputs]
    assert errors[0] < 1e-7 and errors[1] < 1e-7 and errors[2] > 0.1
    worst = result.inputs[2].worst
    assert len(worst) == 2 and all(abs(a - n) > 1e-3 for _, a, n in worst)
    assert "FAIL input 2 shape (2,)" in str(result)


def test_all_ones_upstream_would_hide_the_softmax_bug():
    """Why gradcheck contracts with a random upstream gradient (STYLE: practice 10)."""
    x = t(2, 5)
    ones_loss = broken_softmax(x).sum()
    ones_loss.backward()
    p = broken_softmax(cr.tensor(x.data)).data
    true_grad = p * (1 - p.sum(axis=-1, keepdims=True))  # the real gradient of sum(softmax)
    assert np.allclose(true_grad, 0, atol=1e-12)
    assert not np.allclose(x.grad, true_grad)  # wrong, yet only a random upstream shows it
    assert not cr.gradcheck(broken_softmax, cr.tensor(x.data, requires_grad=True))


@pytest.mark.parametrize("kind", ["tensor", "array"])
def test_float32_is_refused_with_a_clear_error(kind):
    x = np.ones(3, np.float32)
    x = cr.tensor(x, requires_grad=True) if kind == "tensor" else x
    with pytest.raises(TypeError, match="float64"):
        cr.gradcheck(cr.tanh, x)


def test_a_float32_step_inside_f_is_refused_not_reported_as_a_wrong_gradient():
    # float32 rounding inside f swamped the differences, and a right gradient FAILED
    x = np.random.default_rng(0).standard_normal((3, 3))
    calls = []

    def f(t):
        calls.append(1)
        return (t.astype("float32") ** 2).astype("float64")

    with pytest.raises(
        TypeError, match=r"float64 throughout .*got a float32 node from op 'astype'"
    ):
        cr.gradcheck(f, x)
    assert calls == [1]  # the forward pass only: no nudge was taken
    net = cr.nn.MLP([3, 4, 2], seed=0)  # float32 parameters
    with pytest.raises(TypeError, match=r"got a float32 parameter of shape \(3, 4\)"):
        cr.gradcheck(lambda t: net(t.astype("float32")).astype("float64"), x)
    assert cr.gradcheck(lambda t: cr.nn.MLP([3, 4, 2], seed=0, dtype="float64")(t), x)


def test_bad_arguments():
    x = t(3)
    for mode in ("diagonal", np.array(["full"])):  # an array was compared entry by entry
        with pytest.raises(ValueError, match="gradcheck: mode expected 'full' or 'direction', got"):
            cr.gradcheck(cr.tanh, x, mode=mode)
    with pytest.raises(ValueError, match="no input requires a gradient"):
        cr.gradcheck(cr.tanh, cr.tensor(np.ones(3)))
    with pytest.raises(TypeError, match="float64 Tensor"):
        cr.gradcheck(lambda a: a.data, x)


def test_arrays_are_checked_and_left_unchanged():
    a = RNG.standard_normal(4)
    before = a.copy()
    assert cr.gradcheck(lambda v: cr.exp(v) * v, a)
    np.testing.assert_array_equal(a, before)


@pytest.mark.parametrize(
    ("f", "n_b"),
    [
        (lambda x, b: cr.functional.batch_norm(x + b, np.ones(3), np.zeros(3)), 3),
        (lambda x, b: cr.softmax(x + b.reshape(4, 1)), 4),
        (lambda x, b: cr.tanh((x + b) - (x + b).mean(axis=0)), 3),
    ],
    ids=["bias-before-batch-norm", "softmax-row-shift", "centred-columns"],
)
def test_gradients_that_are_exactly_zero_pass(f, n_b):
    # b cancels out of f: its numeric gradient is rounding noise (~1e-10), and the notes'
    # ratio of two near-zeros alone would be about 1
    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((4, 3)), rng.standard_normal(n_b)
    for mode in ("full", "direction"):
        result = cr.gradcheck(f, x, b, mode=mode)
        assert result, result


@pytest.mark.parametrize("seed", range(20))
def test_a_bias_before_batch_norm_passes_with_inputs_far_from_zero(seed):
    """x near 100: the rounding of x + c is at 100 while the outputs are near 1, in the
    estimates of c's zero gradient and in backprop's (a tighter, per-estimate allowance
    tried in the sixteenth round failed 12 of 20 such checks)."""
    rng = np.random.default_rng(seed)
    x = cr.tensor(100 + rng.standard_normal((16, 4)), requires_grad=True)
    c = cr.tensor(rng.standard_normal(4), requires_grad=True)
    result = cr.gradcheck(
        lambda x, c: cr.functional.batch_norm(x + c, np.ones(4), np.zeros(4)), x, c
    )
    assert result, result


@pytest.mark.parametrize("scale", [1e-3, 1e-6, 1e-9, 1e-12])
def test_a_wrong_gradient_fails_at_any_scale(scale):
    def square(x):  # d(c x^2)/dx = 2 c x; the rule says -2 c x
        return node(scale * x.data**2, (x,), lambda g: (-2 * scale * g * x.data,), "square")

    x = np.random.default_rng(1).standard_normal(5)
    assert not cr.gradcheck(square, x)
    assert not cr.gradcheck(square, x, mode="direction")


def test_grads_of_checked_inputs_and_captured_parameters_are_left_as_they_were():
    lin = cr.nn.Linear(3, 2, rng=0, dtype="float64")
    lin.weight.grad = np.full((3, 2), 5.0)
    x = cr.tensor(np.ones((4, 3)), requires_grad=True)
    x.grad = np.full((4, 3), 7.0)
    assert cr.gradcheck(lambda x: lin(x), x)
    np.testing.assert_array_equal(lin.weight.grad, 5.0)
    np.testing.assert_array_equal(x.grad, 7.0)
    assert lin.bias.grad is None


def test_an_input_f_does_not_reach_is_compared_with_0_not_an_old_grad():
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = cr.tensor(np.arange(3.0), requires_grad=True)
    (x * y).sum().backward()  # a step before the check leaves x.grad = y
    result = cr.gradcheck(lambda x, y: y * y, x, y)
    assert result.passed, result
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 2.0])  # and left as it was


@pytest.mark.parametrize("constant", [0.0, 1e8])
def test_large_outputs_that_do_not_depend_on_the_input_hide_no_error(constant):
    def half_constant(x):  # d(2x)/dx = 2; the rule says 3
        out = np.concatenate([2 * x.data, np.full(50, constant)])
        return node(out, (x,), lambda g: (3 * g[: x.data.size],), "half_constant")

    x = np.random.default_rng(2).standard_normal(5)
    for mode in ("full", "direction"):
        result = cr.gradcheck(half_constant, x, mode=mode)
        assert not result, result
        assert result.inputs[0].rel_error == pytest.approx(0.2, abs=1e-6)  # |3 - 2| / (3 + 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"tol": 1.0}, ValueError, r"tol expected a finite number in \(0, 1\), got 1.0"),
        ({"tol": np.inf}, ValueError, "tol expected a finite number"),
        ({"tol": 0.0}, ValueError, "tol expected"),
        ({"eps": np.nan}, ValueError, "eps expected a finite number > 0, got nan"),
        ({"eps": "1e-6"}, TypeError, "eps expected a real number > 0, got str"),
    ],
)
def test_tolerances_that_pass_anything_and_bad_steps_are_refused(kwargs, error, says):
    with pytest.raises(error, match=says):
        cr.gradcheck(lambda v: -cr.tanh(v), np.ones(3), **kwargs)


def test_an_input_made_by_an_op_is_refused_not_reported_as_a_wrong_gradient():
    # its gradient was read as 0 (backward fills leaves only): "FAILED, relative error 1"
    x = cr.tensor(np.random.default_rng(3).standard_normal(4), requires_grad=True)
    y = x * 2.0
    calls = []

    def f(v):
        calls.append(1)
        return (v * v).sum()

    with pytest.raises(TypeError, match="input 0 was made by the op 'mul'; expected a leaf"):
        cr.gradcheck(f, y)
    assert calls == []
    assert cr.gradcheck(f, cr.tensor(y.data, requires_grad=True))


def bad_leaky_relu(z):
    """Leaky ReLU (slope 0.1 below 0) whose rule forgets that slope: 0 for z < 0."""
    out = np.where(z.data > 0, z.data, 0.1 * z.data)
    return node(out, (z,), lambda g: (g * (z.data > 0),), "bad_leaky_relu")


@pytest.mark.parametrize("scale", [1.0, 1e4, 1e8])
@pytest.mark.parametrize("mode", ["full", "direction"])
def test_large_outputs_of_another_input_hide_no_error(mode, scale):
    # a's nudges move only its own four outputs; b's large ones cancel in a's differences.
    # One rounding bound for all inputs took them in, and passed a with scale 1e8
    rng = np.random.default_rng(0)
    a, b = -rng.uniform(1, 2, size=4), rng.standard_normal(4)  # a < 0: every entry wrong
    result = cr.gradcheck(
        lambda a, b: cr.concatenate([bad_leaky_relu(a), b * scale]), a, b, mode=mode
    )
    assert result.verdict == "FAILED", result
    assert result.inputs[0].rel_error == 1.0  # backprop says 0 throughout
    assert result.inputs[1].rel_error < 1e-7


def maskless_relu(z):
    """ReLU whose rule forgets the mask: passes the gradient where z < 0 too."""
    return node(np.maximum(z.data, 0), (z,), lambda g: (g,), "maskless_relu")


@pytest.mark.parametrize("scale", [1.0, 1e4, 1e8])
def test_entries_whose_nudges_move_nothing_are_judged_by_their_own_inputs_bound(scale):
    # a's negative entries move no output and backprop says u there, not 0: with the bound of
    # b's large outputs that passed (scale 1e8); a's own bound leaves them unresolved at most
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(6), rng.standard_normal(4)
    result = cr.gradcheck(lambda a, b: cr.concatenate([maskless_relu(a), b * scale]), a, b)
    assert result.verdict in ("FAILED", "INCONCLUSIVE"), result


def nan_rule_sqrt(z):
    """sqrt whose rule divides by its output: NaN at 0 where the slope is finite (0 * inf)."""
    out = np.sqrt(z.data)
    return node(out, (z,), lambda g: (g * 0.5 / out,), "nan_rule_sqrt")


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_a_nan_gradient_fails(mode):
    # a relative error of NaN compared false with the tolerance, and the check PASSED
    x = np.array([0.0, 1.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        result = cr.gradcheck(lambda z: nan_rule_sqrt(z * z), x, mode=mode)
    assert result.verdict == "FAILED" and not result, result
    assert "FAIL input 0" in str(result) and "backprop +nan" in str(result)

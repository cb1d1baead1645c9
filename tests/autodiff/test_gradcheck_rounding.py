"""gradcheck's rounding allowance: each entry (direction) is allowed the rounding of its own
nudge, so a right rule passes and a wrong one fails at any scale of the inputs."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import apply, node


def sqrt_times(factor, where=True):
    """sqrt whose rule multiplies the right gradient by ``factor`` at ``where``."""

    def kernel(x):
        out = np.sqrt(x)
        return out, lambda g: (g * 0.5 / out * np.where(where, factor, 1.0),)

    return lambda t: apply("sqrt_times", kernel, (t,))


def near_a_million(shape):
    return 1e6 + np.random.default_rng(0).uniform(0, 1e5, size=shape)


@pytest.mark.parametrize("shape", [(10, 10), (30, 30)])
@pytest.mark.parametrize("factor", [1.1, 1.5, 2.0, 3.0])
def test_a_wrong_rule_fails_at_inputs_near_a_million(shape, factor):
    # the allowance summed the rounding of every output that any nudge moved, times
    # sqrt(n): n**1.5 times an entry's own, and rules 10% to 3 times off PASSED
    x = near_a_million(shape)
    right = cr.gradcheck(sqrt_times(1.0), x)
    assert right.verdict == "PASSED" and right.inputs[0].rel_error <= 1e-7, right
    wrong = cr.gradcheck(sqrt_times(factor), x)
    assert wrong.verdict == "FAILED", wrong
    assert wrong.inputs[0].rel_error == pytest.approx((factor - 1) / (factor + 1), rel=1e-3)


def test_one_wrong_entry_fails_at_inputs_near_a_million():
    where = np.zeros((30, 30), dtype=bool)
    where[17, 4] = True
    result = cr.gradcheck(sqrt_times(1.1, where), near_a_million((30, 30)))
    assert result.verdict == "FAILED", result
    assert result.inputs[0].worst[0][0] == (17, 4)


@pytest.mark.parametrize("factor", [1.1, 1.5, 2.0, 3.0])
def test_a_wrong_rule_fails_in_direction_mode_at_inputs_near_a_million(factor):
    # the allowance of a direction summed the rounding of its 900 outputs: 30 times their
    # random walk, and above the directional slope itself
    x = near_a_million((30, 30))
    assert cr.gradcheck(sqrt_times(1.0), x, mode="direction").verdict == "PASSED"
    assert cr.gradcheck(sqrt_times(factor), x, mode="direction").verdict == "FAILED"


def rule_times(f, factor, where=True):
    """``f`` whose gradient is the right one times ``factor`` at ``where``."""

    def g(x):
        inner = cr.tensor(x.data, requires_grad=True)
        out = f(inner)

        def vjp(grad):
            inner.grad = None
            out.backward(grad, retain_graph=True)
            return (inner.grad * np.where(where, factor, 1.0),)

        return node(out.data, (x,), vjp, "rule_times")

    return g


def _functions(scale):
    rng = np.random.default_rng(1)
    weights = rng.standard_normal((5, 4))
    labels = rng.integers(0, 5, size=6)
    net = cr.nn.MLP([5, 7, 3], seed=0, dtype="float64")
    return {
        "sqrt": cr.sqrt,
        "matmul": lambda x: x @ weights,
        "softmax": lambda x: cr.softmax(x / scale),
        "cross-entropy": lambda x: cr.losses.cross_entropy(x / scale, labels),
        "mlp": lambda x: net(x / scale),
        "mlp-cost": lambda x: cr.losses.cross_entropy(net(x / scale), labels % 3),
    }


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e3, 1e6])
@pytest.mark.parametrize("name", list(_functions(1.0)))
def test_right_rules_pass_and_wrong_ones_fail_at_any_scale(name, scale):
    f = _functions(scale)[name]
    x = scale * (1 + 0.2 * np.random.default_rng(2).standard_normal((6, 5)))
    eps = 1e-6 * scale
    for mode in ("full", "direction"):
        result = cr.gradcheck(f, x, eps=eps, mode=mode)
        assert result.verdict == "PASSED", (mode, result)
        for factor in (1.1, 3.0, -1.0):
            result = cr.gradcheck(rule_times(f, factor), x, eps=eps, mode=mode)
            assert result.verdict == "FAILED", (mode, factor, result)
    where = np.zeros(x.shape, dtype=bool)
    where[np.unravel_index(np.argmax(np.abs(_gradient(f, x))), x.shape)] = True
    result = cr.gradcheck(rule_times(f, 1.1, where), x, eps=eps)
    assert result.verdict == "FAILED", result


def _gradient(f, x):
    t = cr.tensor(x, requires_grad=True)
    out = f(t)
    out.backward(np.random.default_rng(0).standard_normal(out.shape))
    return t.grad


@pytest.mark.parametrize("seed", [3, 5, 8, 16])
def test_softmax_outputs_moved_only_beside_others_widen_the_allowance(seed):
    # with logits spread by 20, a nudge of a small logit moves its own output but not the
    # one next to 1 beside it, whose share the estimate misses (about 1e-11): the nudge of
    # that row's largest logit moves both, and links them
    x = 20 * np.random.default_rng(seed).standard_normal((4, 5))
    result = cr.gradcheck(cr.softmax, x)
    assert result.verdict == "PASSED", result


def test_a_share_through_outputs_no_nudge_moves_is_unresolved_not_failed():
    # logits spread by 30: in two rows every output but the one next to 1 is below 1e-11,
    # so no nudge moves that one; its share of the gradient is what the estimates miss
    x = 30 * np.random.default_rng(5).standard_normal((4, 5))
    result = cr.gradcheck(cr.softmax, x)
    assert result.verdict == "INCONCLUSIVE", result
    assert 0 < result.inputs[0].unresolved < x.size
    assert cr.gradcheck(cr.softmax, x, eps=1e-4).verdict == "PASSED"
    wrong = cr.gradcheck(rule_times(cr.softmax, 1.1), x)
    assert wrong.verdict == "FAILED", wrong


def _layer_norm(x):
    c = x - x.mean(axis=1, keepdims=True)
    return c / cr.sqrt((c * c).mean(axis=1, keepdims=True) + 1e-5)


def _batch_norm(x):
    return cr.functional.batch_norm(x, np.ones(x.shape[1]), np.zeros(x.shape[1]))


@pytest.mark.parametrize("mode", ["full", "direction"])
@pytest.mark.parametrize(
    ("f", "offset", "scale", "shape"),
    [(_layer_norm, 3, 1.0, (64, 4)), (_layer_norm, 10, 1.0, (4, 3)),
     (_batch_norm, 10, 0.1, (32, 8)), (_batch_norm, 30, 1.0, (64, 4))],
)  # fmt: skip
def test_a_normalization_of_inputs_drawn_as_the_upstream_was_passes(f, offset, scale, shape, mode):
    # the upstream gradient came from default_rng(seed) too: for inputs drawn from
    # default_rng(0), the centred input itself, whose gradient a normalization all but
    # cancels, leaving the rounding of x - mean at the inputs' scale to fail it
    x = offset + scale * np.random.default_rng(0).standard_normal(shape)
    assert cr.gradcheck(f, x, mode=mode).verdict == "PASSED"

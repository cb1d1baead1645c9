"""gradcheck's arguments: checked before any evaluation; the checked model left as found."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autodiff.tensor import node


def _x(shape=(4, 3), seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"n_worst": -1}, ValueError, r"n_worst expected an integer >= 0, got -1"),
        ({"n_worst": 1.5}, TypeError, r"n_worst expected an integer >= 0, got float 1.5"),
        ({"n_worst": "3"}, TypeError, r"n_worst expected an integer >= 0, got str '3'"),
        ({"seed": -1}, ValueError, r"seed expected an integer >= 0, got -1"),
        ({"seed": None}, TypeError, r"seed expected an integer >= 0, got NoneType None"),
        ({"seed": 0.5}, TypeError, r"seed expected an integer >= 0, got float 0.5"),
        ({"n_directions": 0}, ValueError, r"n_directions expected an integer >= 1, got 0"),
        ({"n_directions": -2}, ValueError, r"n_directions expected an integer >= 1, got -2"),
        ({"n_directions": 1.5}, TypeError, r"n_directions expected an integer >= 1, got float"),
        ({"n_directions": True}, TypeError, r"n_directions expected an integer >= 1, got bool"),
    ],
)
@pytest.mark.parametrize("mode", ["full", "direction"])
def test_bad_counts_and_seeds_are_refused_before_f_runs(mode, kwargs, error, says):
    calls = []

    def f(v):
        calls.append(1)
        return cr.tanh(v)

    with pytest.raises(error, match=f"^gradcheck: {says}"):
        cr.gradcheck(f, _x(), mode=mode, **kwargs)
    assert calls == []


def test_n_worst_lists_that_many_entries_and_numpy_integers_are_counts():
    def wrong(v):  # the gradient of v * v is 2 v; this one says 3 v
        return node(v.data * v.data, (v,), lambda g: (3.0 * v.data * g,), "wrong")

    for n in (0, 2, np.int64(5)):
        result = cr.gradcheck(wrong, _x(), n_worst=n)
        assert not result and len(result.inputs[0].worst) == n
    result = cr.gradcheck(wrong, _x(), mode="direction", n_directions=np.int32(2), seed=np.int64(1))
    assert not result and len(result.inputs[0].worst) == 2


def test_f_that_is_not_callable_is_refused_by_type():
    with pytest.raises(TypeError, match=r"^gradcheck: f expected a callable, got Tensor"):
        cr.gradcheck(_x(), _x())


def test_module_that_is_not_a_module_is_refused_before_f_runs():
    calls = []
    with pytest.raises(TypeError, match=r"module expected a chainrule.nn.Module or None, got list"):
        cr.gradcheck(lambda v: calls.append(1) or cr.tanh(v), _x(), module=[nn.Tanh()])
    assert calls == []


def _batch_norm_net():
    net = nn.Sequential(nn.Linear(3, 5, rng=0, dtype="float64"), nn.BatchNorm1d(5, dtype="float64"))
    net.train()
    with cr.no_grad():
        net(_x(seed=1))  # running statistics away from their initial zeros and ones
    return net


def _state(net):
    return {name: value.copy() for name, value in net.named_buffers()}


def _assert_same_bits(before, after):
    assert before.keys() == after.keys()
    for name in before:
        assert before[name].tobytes() == after[name].tobytes(), name


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_batch_norm_running_statistics_are_left_as_they_were(mode):
    # every evaluation in training mode moved them: 1 + 2 per checked entry
    net = _batch_norm_net()
    before = _state(net)
    result = cr.gradcheck(lambda x, *p: net(x), _x(), *net.parameters(), mode=mode, module=net)
    assert result, str(result)
    _assert_same_bits(before, _state(net))
    assert net.training


def test_a_module_passed_as_f_is_left_as_it_was():
    net = _batch_norm_net()
    before = _state(net)
    assert cr.gradcheck(net, _x())
    _assert_same_bits(before, _state(net))


def test_dropout_generators_are_left_as_they_were():
    net = nn.Sequential(nn.Linear(3, 4, rng=0, dtype="float64"), nn.Dropout(0.5, rng=7))
    before = [g.bit_generator.state for _, g in net.named_generators()]
    cr.gradcheck(lambda x: net(x), _x(), module=net)
    assert [g.bit_generator.state for _, g in net.named_generators()] == before


def test_the_module_is_restored_when_f_raises():
    net = _batch_norm_net()
    before = _state(net)
    calls = []

    def f(x, *p):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("stop")
        return net(x)

    with pytest.raises(RuntimeError, match="stop"):
        cr.gradcheck(f, _x(), *net.parameters(), module=net)
    _assert_same_bits(before, _state(net))


@pytest.mark.parametrize(("a", "b"), [((3,), (3, 1)), ((3,), (1,)), ((2, 3), (3, 2))])
def test_relative_error_refuses_arrays_of_different_shapes(a, b):
    # (3,) against the same numbers shaped (3, 1) broadcast to a (3, 3) difference: 0.46
    from chainrule.gradcheck import relative_error

    x = np.arange(1.0, 7.0)
    with pytest.raises(
        ValueError,
        match=rf"relative_error: expected a and b of one shape, got {re.escape(str(a))} and "
        rf"{re.escape(str(b))}",
    ):
        relative_error(x[: np.prod(a)].reshape(a), x[: np.prod(b)].reshape(b))
    assert relative_error(x, x.copy()) == 0.0
    assert relative_error(x, -x) == 1.0


def _beside_a_huge_output(rule_factor):
    """f(x, y) = [2 x, sum(y) + 1e12]: a nudge of y (1e-6) is lost in the spacing of 1e12
    (1.2e-4); the rule for x multiplies by ``rule_factor`` (2 is right)."""

    def f(x, y):
        out = np.concatenate([2 * x.data, [y.data.sum() + 1e12]])
        n = x.data.size
        return node(out, (x, y), lambda g: (rule_factor * g[:n], np.full(y.shape, g[n])), "f")

    return f


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_nudges_lost_to_the_rounding_of_a_large_output_are_inconclusive_not_failed(mode):
    # no output moved, so the rounding bound was 0 and the numeric 0 failed against 1
    x = np.random.default_rng(4).standard_normal(3)
    result = cr.gradcheck(lambda v: v.sum() + 1e12, x, mode=mode)
    assert not result and result.verdict == "INCONCLUSIVE"
    assert result.inputs[0].unresolved == 3 and result.inputs[0].rel_error == 0.0
    text = str(result)
    assert text.startswith("gradcheck INCONCLUSIVE") and "FAIL" not in text
    assert (
        "3 of 3 nudges unresolved (they moved no output, or not all they reach: eps=1e-06" in text
    )
    larger = cr.gradcheck(lambda v: v.sum() + 1e12, x, eps=1e-2, mode=mode)
    assert larger and larger.verdict == "PASSED" and larger.inputs[0].unresolved == 0


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_a_gradient_beyond_what_the_rounding_can_hide_still_fails(mode):
    def f(v):  # d(sum(v) + 1e12)/dv = 1; the rule says 1e9, far above the output's rounding
        return node(v.data.sum() + 1e12, (v,), lambda g: (np.full(v.shape, 1e9 * g),), "f")

    result = cr.gradcheck(f, np.random.default_rng(4).standard_normal(3), mode=mode)
    assert not result and result.verdict == "FAILED"
    assert result.inputs[0].unresolved == 0 and result.inputs[0].rel_error == 1.0


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_an_unresolved_input_leaves_the_others_judged(mode):
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal(4), rng.standard_normal(3)
    result = cr.gradcheck(_beside_a_huge_output(2.0), x, y, mode=mode)
    assert result.verdict == "INCONCLUSIVE", result
    assert result.inputs[0].unresolved == 0 and result.inputs[0].rel_error < 1e-7
    assert result.inputs[1].unresolved == 3
    assert "  ok   input 0" in str(result) and "  ??   input 1" in str(result)
    wrong = cr.gradcheck(_beside_a_huge_output(3.0), x, y, mode=mode)  # a real bug in x's rule
    assert wrong.verdict == "FAILED" and str(wrong).startswith("gradcheck FAILED")
    assert wrong.inputs[0].rel_error == pytest.approx(0.2, abs=1e-6)  # |3 - 2| / (3 + 2)
    assert wrong.inputs[1].unresolved == 3


@pytest.mark.parametrize("mode", ["full", "direction"])
@pytest.mark.parametrize("c", [1e4, 1e5, 1e9])
def test_the_step_divided_by_is_the_one_the_input_took(mode, c):
    # x - c is exact near c, its gradient exactly 1; (x + eps) - (x - eps) is off 2 eps by
    # 3.4e-7 (c = 1e4), -6.9e-6 (1e5), -4.6e-2 (1e9) relative, and dividing by 2 eps failed
    x = np.array([c + 0.25, c - 0.5, c + 0.125])
    result = cr.gradcheck(lambda v: v - c, x, mode=mode)
    assert result.verdict == "PASSED", result
    assert result.inputs[0].rel_error < 1e-12


@pytest.mark.parametrize("mode", ["full", "direction"])
def test_a_nudge_the_input_rounds_away_is_inconclusive_not_failed(mode):
    # at 1e11 (spacing 1.5e-5) x + eps and x - eps are x: the step is 0, and the numeric
    # slope 0 failed a right gradient (relative error 1)
    calls = []

    def f(v):
        calls.append(1)
        return v - 1e11

    result = cr.gradcheck(f, np.array([1e11 + 0.25, 1e11 - 0.5, 1e11]), mode=mode)
    assert result.verdict == "INCONCLUSIVE", result
    assert result.inputs[0].unresolved == 3 and result.inputs[0].rel_error == 0.0
    assert "3 of 3 nudges unresolved" in str(result) and "FAIL" not in str(result)
    assert len(calls) == 1  # the forward and backward pass: no nudge was taken
    assert cr.gradcheck(f, np.array([1e11 + 0.25, 1e11]), eps=1e-4, mode=mode)


def test_a_nudge_the_input_rounds_away_leaves_the_other_entries_judged():
    shift = np.array([1e11, 0.0, 0.0])

    def wrong(v):  # d(v - shift)/dv = 1; the rule says 2
        return node(v.data - shift, (v,), lambda g: (2 * g,), "wrong")

    x = np.array([1e11 + 0.5, 1.0, 2.0])
    result = cr.gradcheck(wrong, x)
    assert result.verdict == "FAILED" and result.inputs[0].unresolved == 1, result
    assert result.inputs[0].rel_error == pytest.approx(1 / 3)  # |2 - 1| / (2 + 1)
    right = cr.gradcheck(lambda v: v - shift, x)
    assert right.verdict == "INCONCLUSIVE" and right.inputs[0].unresolved == 1, right
    assert right.inputs[0].rel_error < 1e-12

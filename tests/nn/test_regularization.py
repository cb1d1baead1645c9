"""L1/L2 penalties: values, which parameters they cover, and their gradients."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses, nn
from chainrule.regularization import l1_penalty, l2_penalty, penalized_parameters


def _net() -> nn.MLP:
    net = nn.MLP([3, 4, 2], seed=0, dtype="float64")
    rng = np.random.default_rng(1)
    net.load_state_dict({k: rng.standard_normal(v.shape) for k, v in net.state_dict().items()})
    return net


def test_penalties_match_the_notes_formulas():
    net = _net()
    w = [net.layers[0].weight.data, net.layers[2].weight.data]
    lam, m = 0.7, 50
    l2 = lam / (2 * m) * sum((x**2).sum() for x in w)
    l1 = lam / m * sum(np.abs(x).sum() for x in w)
    assert l2_penalty(net, lam, m).item() == pytest.approx(l2)
    assert l1_penalty(net, lam, m).item() == pytest.approx(l1)


def test_biases_are_left_out_unless_asked():
    net = _net()
    assert [n for n, _ in penalized_parameters(net)] == ["layers.0.weight", "layers.2.weight"]
    with_bias = l2_penalty(net, 1.0, 1, include_bias=True).item()
    total = sum((p.data**2).sum() for p in net.parameters()) / 2
    assert with_bias == pytest.approx(total)
    bn = nn.MLP([3, 4, 2], batch_norm=True)
    assert [n for n, _ in penalized_parameters(bn)] == ["layers.0.weight", "layers.3.weight"]


def test_gradient_adds_lambda_over_m_times_w():
    net = _net()
    lam, m = 0.3, 10
    l2_penalty(net, lam, m).backward()
    w = net.layers[0].weight
    np.testing.assert_allclose(w.grad, lam / m * w.data)
    assert net.layers[0].bias.grad is None
    net.zero_grad()
    l1_penalty(net, lam, m).backward()
    np.testing.assert_allclose(w.grad, lam / m * np.sign(w.data))


def test_gradcheck_loss_plus_penalties():
    net = _net()
    x = np.random.default_rng(2).standard_normal((6, 3))
    y = np.array([0, 1, 1, 0, 1, 0])

    def f(*params):
        return losses.cross_entropy(net(x), y) + l2_penalty(net, 0.5, 6) + l1_penalty(net, 0.1, 6)

    assert (result := cr.gradcheck(f, *net.parameters())), str(result)


def test_accepts_named_pairs_and_dicts():
    w = cr.tensor(np.array([[1.0, -2.0]]), requires_grad=True)
    b = cr.tensor(np.array([3.0]), requires_grad=True)
    assert l2_penalty({"w": w, "b": b}, 2.0, 1).item() == pytest.approx(5.0)
    assert l1_penalty([("w", w), ("b", b)], 1.0, 3, include_bias=True).item() == pytest.approx(2.0)


@pytest.mark.parametrize("penalty", [l1_penalty, l2_penalty])
@pytest.mark.parametrize(
    ("lam", "m", "error", "message"),
    [
        (-1.0, 10, ValueError, r"lam expected a finite number >= 0, got -1.0"),
        (float("nan"), 10, ValueError, r"lam expected a finite number >= 0, got nan"),
        (float("inf"), 10, ValueError, r"lam expected a finite number >= 0, got inf"),
        ("0.1", 10, TypeError, r"lam expected a real number >= 0, got str '0.1'"),
        (None, 10, TypeError, r"lam expected a real number >= 0, got NoneType None"),
        (1.0, 0, ValueError, r"m expected an integer >= 1, got 0"),
        (1.0, float("nan"), TypeError, r"m expected an integer >= 1, got float nan"),
        # lam / m was Python's bare OverflowError "int too large to convert to float"
        (1.0, 10**400, ValueError, r"m expected an integer in \[1, 2\*\*63 - 1\], got 1000.*"),
    ],
    ids=["negative", "nan", "inf", "str", "none", "m-zero", "m-nan", "m-huge"],
)
def test_bad_strengths_and_counts_raise_naming_expected_and_received(
    penalty, lam, m, error, message
):
    with pytest.raises(error, match=rf"^{penalty.__name__}: {message}$"):
        penalty(_net(), lam, m)


@pytest.mark.parametrize("penalty", [l1_penalty, l2_penalty])
def test_no_weight_to_penalize_raises_naming_the_penalty(penalty):
    # said "no parameters to penalize ..." without naming the function that refused
    name = penalty.__name__
    with pytest.raises(
        ValueError,
        match=rf"^{name}: params expected at least one weight \(a parameter with ndim >= 2; "
        r"1-D ones count with include_bias=True\), got none$",
    ):
        penalty(nn.BatchNorm1d(3), 1.0, 10)
    with pytest.raises(
        ValueError, match=rf"^{name}: params expected at least one parameter, got none$"
    ):
        penalty({}, 1.0, 10, include_bias=True)
    assert penalty(nn.BatchNorm1d(3), 1.0, 10, include_bias=True).item() > 0


def test_a_pair_whose_name_is_not_a_str_or_whose_value_is_not_a_tensor_says_so():
    # {0: W} was "expected a (name, Tensor) pair, got tuple"; an ndarray value was
    # "parameter 'w' is a ndarray, expected a Tensor", naming no function
    w = cr.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(
        TypeError, match=r"^penalized_parameters: item 0 of params: name expected str, got int 0$"
    ):
        l2_penalty({0: w}, 0.1, 5)
    with pytest.raises(
        TypeError, match=r"^penalized_parameters: parameter 'w' expected a Tensor, got ndarray$"
    ):
        l1_penalty([("w", np.ones((2, 2)))], 0.1, 5)


def test_params_must_be_named_pairs_not_bare_tensors():
    k = cr.tensor(np.ones((2, 3, 4)), requires_grad=True)
    assert l2_penalty([("k", k)], 1.0, 1).item() == 12.0
    assert l2_penalty({"k": k}, 1.0, 1).item() == 12.0
    # a bare tensor in a list was unpacked along its first axis: 6.0 instead of 12.0
    with pytest.raises(TypeError, match=r"item 0 of params expected a \(name, Tensor\) pair"):
        l2_penalty([k], 1.0, 1)
    with pytest.raises(
        TypeError,
        match=r"^penalized_parameters: params expected an iterable of \(name, Tensor\) pairs, a "
        r"dict of name -> Tensor or a module, got a single Tensor; name it: \[\(name, t\)\]$",
    ):
        l1_penalty(k, 1.0, 1)


@pytest.mark.parametrize(
    "form",
    [
        lambda net: net,
        lambda net: dict(net.named_parameters()),
        lambda net: list(net.named_parameters()),
        lambda net: net.named_parameters(),
    ],
    ids=["module", "dict", "pairs", "iterator"],
)
def test_penalties_and_optimizers_read_params_alike(form):
    # SGD(model) raised TypeError while l2_penalty(model) worked: two parsers
    net = _net()
    names = [n for n, _ in penalized_parameters(form(net), include_bias=True)]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert list(cr.optim.SGD(form(net)).param_names) == names


_REFUSED = "params expected an iterable of {}, a dict of name -> Tensor or a module, got {}"


@pytest.mark.parametrize(
    ("params", "got"),
    [
        (lambda w: w, "a single Tensor; "),
        (lambda w: "w", "str"),
        (lambda w: 3.0, "float"),
        # a class has named_parameters too: "missing 1 required positional argument: 'self'"
        (lambda w: nn.MLP, "the class MLP: an instance is needed"),
    ],
    ids=["tensor", "str", "float", "class"],
)
def test_penalties_and_optimizers_refuse_params_alike(params, got):
    w = cr.tensor(np.ones((2, 2)), requires_grad=True)
    expected = _REFUSED.format("(name, Tensor) pairs", got)
    with pytest.raises(TypeError, match="^penalized_parameters: " + re.escape(expected)):
        l2_penalty(params(w), 1.0, 1)
    expected = _REFUSED.format("Tensors or (name, Tensor) pairs", got)
    with pytest.raises(TypeError, match="^SGD: " + re.escape(expected)):
        cr.optim.SGD(params(w))


def test_penalties_and_optimizers_refuse_a_name_that_is_not_a_str_alike():
    # the optimizers said "parameter 'param1' expected a leaf cr.Tensor ..., got tuple"
    w, v = (cr.tensor(np.ones((2, 2)), requires_grad=True) for _ in range(2))
    expected = "item 1 of params: name expected str, got int 0$"
    with pytest.raises(TypeError, match="^penalized_parameters: " + expected):
        l2_penalty({"w": w, 0: v}, 1.0, 1)
    with pytest.raises(TypeError, match="^SGD: " + expected):
        cr.optim.SGD({"w": w, 0: v})


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (lambda w, v: [("w", w), ("w2", w)], "parameter 'w2' is given twice; expected each once"),
        (lambda w, v: [("w", w), ("w", v)], "two parameters are named 'w'; expected unique names"),
    ],
    ids=["tensor-twice", "name-twice"],
)
@pytest.mark.parametrize("penalty", [l1_penalty, l2_penalty])
def test_penalties_and_optimizers_refuse_a_parameter_given_twice_alike(pairs, expected, penalty):
    # a penalty counted a repeated weight twice: l2 of [(w, W), (w, W)] was twice l2 of W
    w, v = (cr.tensor(np.ones((2, 2)), requires_grad=True) for _ in range(2))
    with pytest.raises(ValueError, match="^penalized_parameters: " + re.escape(expected)):
        penalty(pairs(w, v), 1.0, 1)
    with pytest.raises(ValueError, match="^SGD: " + re.escape(expected)):
        cr.optim.SGD(pairs(w, v))


def test_include_bias_must_be_a_bool():
    w = cr.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(TypeError, match="include_bias expected True or False, got 'no'"):
        l2_penalty([("w", w)], 1.0, 1, include_bias="no")


@pytest.mark.parametrize(
    ("penalty", "bound", "formula"),
    [(l2_penalty, "4.76395e+41", r"lam / \(2 m\)"), (l1_penalty, "2.38198e+41", "lam / m")],
)
def test_a_strength_whose_coefficient_float32_cannot_hold_is_refused_naming_the_range(
    penalty, bound, formula
):
    # was Tensor's OverflowError "expected values in [-3.4028235e+38, 3.4028235e+38] for
    # dtype float32, got float 7.142857142857144e+296", naming neither penalty nor lam
    net = nn.MLP([3, 4, 2], seed=0)
    with pytest.raises(
        ValueError,
        match=rf"^{penalty.__name__}: lam expected a number in \[0, {re.escape(bound)}\] "
        rf"\(with m = 700, {formula} within the range of the parameters' dtype float32, at "
        r"most 3\.40282e\+38\), got 1e\+300$",
    ):
        penalty(net, 1e300, 700)
    assert np.isfinite(penalty(net, 1e39, 700).item())
    assert np.isfinite(penalty(_net(), 1e300, 700).item())  # float64 holds 1e300 / 1400


@pytest.mark.parametrize("penalty", [l2_penalty, l1_penalty])
def test_a_model_mixing_float32_and_float64_parameters_is_penalized(penalty):
    """The float32 and float64 terms were added as they were: chainrule's add refused the
    mix, though the optimizers take such a model."""

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_module("body", nn.Linear(3, 4, rng=0))
            self.register_module("head", nn.Linear(4, 2, rng=1, dtype="float64"))

    net, lam, m = Mixed(), 0.3, 8
    one = {"body": nn.Linear(3, 4, rng=0), "head": nn.Linear(4, 2, rng=1, dtype="float64")}
    parts = [penalty(one[name], lam, m).item() for name in ("body", "head")]
    total = penalty(net, lam, m)
    assert total.dtype == np.float64 and total.item() == pytest.approx(sum(parts), rel=1e-6)
    total.backward()
    for layer in (net.body, net.head):
        assert layer.weight.grad.dtype == layer.weight.dtype
        expected = (
            lam / m * (layer.weight.data if penalty is l2_penalty else np.sign(layer.weight.data))
        )
        np.testing.assert_allclose(layer.weight.grad, expected, rtol=1e-6)

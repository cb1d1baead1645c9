"""Bad hyperparameters, non-parameters and non-finite gradients fail loudly and early."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, AdamW, Momentum, RMSprop


def params():
    return [("W", cr.tensor(np.ones((2, 2)), requires_grad=True))]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SGD(params(), lr=-0.1), r"SGD: lr expected a finite number >= 0, got -0.1"),
        (lambda: Adam(params(), lr=float("nan")), r"lr expected a finite number >= 0, got nan"),
        (lambda: Adam(params(), beta1=1.0), r"beta1 expected .* in \[0, 1\), got 1.0"),
        (lambda: Adam(params(), beta2=-0.1), r"beta2 expected .* in \[0, 1\), got -0.1"),
        (lambda: Momentum(params(), beta=1.5), r"beta expected .* in \[0, 1\), got 1.5"),
        (lambda: RMSprop(params(), beta=1.0), r"beta expected .* in \[0, 1\), got 1.0"),
        (lambda: SGD(params(), momentum=1.0), r"momentum expected .* in \[0, 1\), got 1.0"),
        (lambda: Adam(params(), eps=0.0), r"eps expected a finite number > 0, got 0.0"),
        (lambda: RMSprop(params(), eps=-1e-8), r"eps expected a finite number > 0, got -1e-08"),
        (
            lambda: Adam(params(), eps=1e-50),
            r"^Adam: eps=1e-50 times sqrt\(1 - beta2\) rounds to 0 in float32, .*eps >= 4.43e-44$",
        ),
        (lambda: AdamW(params(), eps=1e-44), r"^AdamW: eps=1e-44 times sqrt\(1 - beta2\) rounds"),
        (lambda: RMSprop(params(), eps=1e-46), r"^RMSprop: eps=1e-46 rounds to 0 in float32"),
        # it was inf in float32, with a RuntimeWarning: nothing learnt
        (lambda: Adam(params(), eps=1e308), r"^Adam: eps=1e\+308 is beyond float32's range .*"),
        (lambda: RMSprop(params(), eps=1e39), r"^RMSprop: eps=1e\+39 is beyond float32's range"),
        (lambda: Adam(params(), clip_norm=0.0), r"clip_norm expected a finite number > 0, got 0"),
        (lambda: SGD(params(), clip_value=-1), r"clip_value expected a finite number > 0, got -1"),
        (lambda: AdamW(params(), weight_decay=-1e-2), r"weight_decay expected .* >= 0"),
        (lambda: SGD(params(), nesterov=True), r"nesterov=True expected momentum > 0, got 0.0"),
        (lambda: Adam(params(), nonfinite="ignore"), r"expected 'raise' or 'skip', got 'ignore'"),
        (lambda: Adam([]), "expected at least one parameter, got none"),
    ],
)
def test_bad_hyperparameters_raise_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_an_eps_that_float32_keeps_is_taken():
    # an eps that rounded to 0 made a weight whose gradients were all 0 NaN (0 / 0)
    assert Adam(params(), eps=1e-44, bias_correction=False).eps == 1e-44
    assert RMSprop(params(), eps=1e-45).eps == 1e-45


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (lambda: [np.ones(3)], r"parameter 'param0' expected a leaf cr.Tensor .*, got ndarray"),
        (
            lambda: [("W", cr.tensor(np.ones(3)))],
            r"parameter 'W' expected .* requires_grad=True, got a Tensor with requires_grad=False",
        ),
        (
            lambda: [cr.tensor(np.ones(3), requires_grad=True) * 2.0],
            r"'param0' expected a leaf .*got a non-leaf Tensor",
        ),
        (lambda: cr.tensor(np.ones(3), requires_grad=True), "got a single Tensor"),
        (lambda: 3.0, "expected an iterable of Tensors .*, got float"),
        (lambda: ["W"], r"parameter 'param0' expected a leaf cr.Tensor .*, got str"),
    ],
)
def test_non_parameters_raise_type_error(given, message):
    with pytest.raises(TypeError, match=message):
        Adam(given())


def test_wrongly_typed_hyperparameters_raise_type_error():
    with pytest.raises(TypeError, match="lr expected a real number >= 0, got str '0.1'"):
        SGD(params(), lr="0.1")
    with pytest.raises(TypeError, match="bias_correction expected True or False"):
        Adam(params(), bias_correction=1)


def test_adam_refuses_a_hyperparameter_only_a_subclass_reads():
    # AdamW hands weight_decay through Adam's **extra_hyperparameters: Adam must not drop it
    with pytest.raises(TypeError, match=r"^Adam\(\) got an unexpected keyword argument 'decay'"):
        Adam(params(), decay=0.1)
    with pytest.raises(TypeError, match=r"^Adam\(\) got an unexpected keyword argument 'weight_"):
        Adam(params(), weight_decay=0.1)
    assert AdamW(params(), weight_decay=0.5).hyperparameters["weight_decay"] == 0.5


def test_duplicates_and_unnamed_positions():
    p = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="'param1' is given twice"):
        SGD([p, p])
    q = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="two parameters are named 'a'"):
        SGD([("a", p), ("a", q)])
    assert SGD([("a", p), q]).param_names == ("a", "param1")
    assert SGD({"x": p, "y": q}).param_names == ("x", "y")
    held = SGD({"x": p, "y": q}).params
    assert len(held) == 2 and held[0] is p and held[1] is q


def test_setting_a_bad_rate_or_epoch_later_is_checked():
    opt = SGD(params())
    with pytest.raises(ValueError, match="lr expected a finite number >= 0, got -1"):
        opt.lr = -1
    with pytest.raises(ValueError, match="epoch expected an integer >= 0, got -2"):
        opt.set_epoch(-2)


@pytest.mark.parametrize(
    "build",
    [
        lambda p: Adam(p, lr=0.1),  # fused when numba is installed
        lambda p: Adam(p, lr=0.1, fused=False),
        lambda p: SGD(p, lr=0.1, momentum=0.9),
    ],
    ids=["adam", "adam-numpy", "sgd-momentum"],
)
@pytest.mark.parametrize(
    ("bad", "error", "got"),
    [
        (lambda: [[1.0, 1.0], [1.0, 1.0]], TypeError, "got list"),
        (lambda: 0.5, TypeError, "got float"),
        (lambda: cr.tensor(np.ones((2, 2))), TypeError, "got Tensor"),
        (lambda: np.ma.ones((2, 2)), TypeError, "got MaskedArray"),
        (lambda: np.ones(4), ValueError, r"got shape \(4,\) and dtype float64"),
        (lambda: np.ones((2, 2), np.float32), ValueError, "got shape .* and dtype float32"),
    ],
    ids=["list", "float", "tensor", "ndarray-subclass", "shape", "dtype"],
)
def test_a_bad_gradient_raises_naming_the_parameter_and_changes_nothing(build, bad, error, got):
    a = cr.tensor(np.ones(3), requires_grad=True)
    w = cr.tensor(np.ones((2, 2)), requires_grad=True)
    opt = build([("a", a), ("W", w)])
    a.grad, w.grad = np.ones(3), bad()
    expected = r"step\(\): parameter 1 \('W'\) expected a gradient numpy.ndarray of shape \(2, 2\)"
    with pytest.raises(error, match=rf"{expected} and dtype float64, {got}; no parameter was"):
        opt.step()
    np.testing.assert_array_equal(a.data, 1.0)
    np.testing.assert_array_equal(w.data, 1.0)
    state = opt.state_dict()
    assert state["step_count"] == 0
    assert all(e["t"] == 0 for e in state["params"])
    assert all(not s.any() for e in state["params"] for s in e["state"].values())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_gradient_raises_naming_the_parameter_and_changes_nothing(bad):
    a = cr.tensor(np.ones(3), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    opt = Adam([("a", a), ("b", b)], lr=0.1)
    a.grad, b.grad = np.ones(3), np.array([1.0, bad])
    with pytest.raises(FloatingPointError, match=r"parameter\(s\) 'b'; no parameter was changed"):
        opt.step()
    np.testing.assert_array_equal(a.data, 1.0)
    assert opt.step_count == 0
    assert all(not s.any() for e in opt.state_dict()["params"] for s in e["state"].values())


def test_nonfinite_gradients_of_every_dtype_are_named():
    # parameters of two dtypes sit in two groups: the error named the first group's only
    a = cr.tensor(np.ones(2, np.float32), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    opt = Adam([("a", a), ("b", b)], lr=0.1)
    a.grad, b.grad = np.array([np.inf, 1.0], np.float32), np.array([1.0, np.nan])
    with pytest.raises(FloatingPointError, match=r"parameter\(s\) 'a', 'b'; no parameter"):
        opt.step()
    np.testing.assert_array_equal(a.data, 1.0)


def test_nonfinite_skip_skips_the_whole_step():
    a = cr.tensor(np.ones(3), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.9, nonfinite="skip")
    a.grad, b.grad = np.ones(3), np.array([np.nan, 1.0])
    assert opt.step() is False
    np.testing.assert_array_equal(a.data, 1.0)
    assert opt.step_count == 0
    b.grad = np.ones(2)
    assert opt.step() is True
    np.testing.assert_allclose(a.data, 0.9)


def test_huge_finite_gradients_are_not_mistaken_for_nonfinite():
    p = cr.tensor(np.ones(4, np.float32), requires_grad=True)
    opt = Adam([p], lr=0.1, clip_norm=1.0)
    p.grad = np.full(4, 3e38, np.float32)  # the sum of squares overflows float32
    assert opt.step() is True
    np.testing.assert_allclose(p.data, 0.9, rtol=1e-6)


@pytest.mark.parametrize(
    ("build", "name", "value"),
    [
        (lambda: SGD(params(), lr=0.1), "momentum", 0.9),  # accepted, ignored, unloadable
        (lambda: SGD(params(), lr=0.1, momentum=0.9), "nesterov", True),  # a bare unpack error
        (lambda: Adam(params(), lr=0.1), "beta1", 1.5),  # accepted out of range
        (lambda: AdamW(params(), lr=0.1), "weight_decay", -1.0),
        (lambda: RMSprop(params(), lr=0.1), "clip_norm", 1.0),
        (lambda: Momentum(params(), lr=0.1), "nonfinite", "skip"),
        (lambda: SGD(params(), lr=0.1), "fused", True),  # SGD has no compiled rule
    ],
    ids=["sgd-momentum", "nesterov", "beta1", "weight_decay", "clip_norm", "nonfinite", "fused"],
)
def test_a_hyperparameter_is_read_only_after_construction_and_stays(build, name, value):
    opt, ref = build(), build()
    before = getattr(opt, name)
    owner = type(opt).__name__
    with pytest.raises(AttributeError, match=rf"^{owner}\.{name} is read-only after construction"):
        setattr(opt, name, value)
    assert getattr(opt, name) == before and opt.hyperparameters == ref.hyperparameters
    for o in (opt, ref):
        o.params[0].grad = np.full((2, 2), 0.5)
        assert o.step()
    np.testing.assert_array_equal(opt.params[0].data, ref.params[0].data)


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: SGD(params(), lr=0.1, momentum=0.9), "momentum"),
        (lambda: Adam(params(), lr=0.1), "beta1"),
        (lambda: Adam(params(), lr=0.1), "fused"),  # fell back to the class default, False
        (lambda: RMSprop(params(), lr=0.1), "eps"),
        (lambda: Adam(params(), lr=0.1), "clip_norm"),
    ],
    ids=["momentum", "beta1", "fused", "eps", "clip_norm"],
)
def test_a_hyperparameter_cannot_be_deleted(build, name):
    # del went through: the next step or state_dict raised a bare AttributeError
    opt, ref = build(), build()
    owner = type(opt).__name__
    with pytest.raises(AttributeError, match=rf"^{owner}\.{name} is read-only after construction"):
        delattr(opt, name)
    assert getattr(opt, name) == getattr(ref, name) and opt.hyperparameters == ref.hyperparameters
    for o in (opt, ref):
        o.params[0].grad = np.full((2, 2), 0.5)
        assert o.step()
    np.testing.assert_array_equal(opt.params[0].data, ref.params[0].data)


def test_a_hyperparameter_changes_through_a_checked_state_dict_and_lr_stays_settable():
    opt = Adam(params(), lr=0.1)
    with pytest.raises(AttributeError, match=r"set state\['hyperparameters'\]\['beta1'\]"):
        opt.beta1 = 0.8
    state = opt.state_dict()
    state["hyperparameters"]["beta1"] = 0.8
    opt.load_state_dict(state)
    assert opt.beta1 == 0.8
    state["hyperparameters"]["beta1"] = 1.5
    with pytest.raises(ValueError, match=r"beta1 expected .* in \[0, 1\), got 1.5"):
        opt.load_state_dict(state)
    opt.lr = 0.5
    opt.epoch = 3
    assert (opt.lr, opt.epoch, opt.beta1) == (0.5, 3, 0.8)

"""Checkpoints: pure data, bit-identical resume, validation before any change."""

import json
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, CosineDecay, InverseTimeDecay, LinearWarmup, kernels

SHAPES = {"W1": (3, 4), "b1": (4,), "W2": (4, 1), "b2": (1,)}


def make_params(seed=0, dtype="float32"):
    rng = np.random.default_rng(seed)
    return [
        (name, cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True))
        for name, s in SHAPES.items()
    ]


def train(opt, params, steps, first):
    for k in range(first, first + steps):
        rng = np.random.default_rng(100 + k)  # the same gradients whatever the split
        opt.set_epoch(1 + k // 3)
        for _, p in params:
            p.grad = rng.standard_normal(p.shape).astype(p.dtype)
        opt.step()


def assert_same_bits(params, others):
    for (name, p), (_, q) in zip(params, others, strict=True):
        assert p.data.tobytes() == q.data.tobytes(), name


def test_ten_steps_equal_five_save_load_five_bit_for_bit(member):
    make, lr, _ = member
    straight = make_params()
    opt = make(straight, lr)
    train(opt, straight, 10, 0)

    first = make_params()
    opt1 = make(first, lr)
    train(opt1, first, 5, 0)
    saved = opt1.state_dict()
    resumed = make_params(seed=1)
    for (_, p), (_, q) in zip(resumed, first, strict=True):
        p.data[...] = q.data
    opt2 = make(resumed, 123.0)  # a different lr: the checkpoint's wins
    opt2.load_state_dict(saved)
    train(opt2, resumed, 5, 5)

    assert_same_bits(straight, resumed)
    assert opt2.step_count == opt.step_count == 10


@pytest.mark.parametrize(
    "lr",
    [
        InverseTimeDecay(0.1, decay_rate=1.0),
        LinearWarmup(CosineDecay(0.1, duration=8), warmup=3),
    ],
    ids=["epoch-schedule", "step-schedule"],
)
def test_resume_with_a_schedule_and_clipping_is_bit_identical(lr):
    def make(params):
        return Adam(params, lr=lr, clip_norm=0.5, clip_value=1.0)

    straight = make_params()
    opt = make(straight)
    train(opt, straight, 10, 0)
    first = make_params()
    opt1 = make(first)
    train(opt1, first, 5, 0)
    saved = json.loads(json.dumps(opt1.state_dict(), default=lambda a: a.tolist()))
    for entry, original in zip(saved["params"], opt1.state_dict()["params"], strict=True):
        entry["state"] = original["state"]  # arrays travel apart (safetensors), bits intact
    opt2 = Adam(first, lr=0.5)
    opt2.load_state_dict(saved)
    assert opt2.lr == lr and opt2.epoch == opt1.epoch
    train(opt2, first, 5, 5)
    assert_same_bits(straight, first)


def test_state_dict_is_pure_data_and_a_copy():
    params = make_params()
    opt = Adam(params, lr=LinearWarmup(1e-3, warmup=10))
    train(opt, params, 2, 0)
    state = opt.state_dict()

    def check(x):
        if isinstance(x, dict):
            assert all(isinstance(k, str) for k in x)
            for v in x.values():
                check(v)
        elif isinstance(x, list):
            for v in x:
                check(v)
        else:
            assert x is None or isinstance(x, bool | int | float | str | np.ndarray), type(x)

    check(state)
    assert [e["name"] for e in state["params"]] == list(SHAPES)
    assert state["lr"] == {"name": "linear_warmup", "after": 1e-3, "warmup": 10, "unit": "step"}
    v = state["params"][0]["state"]["v"].copy()
    train(opt, params, 1, 2)
    np.testing.assert_array_equal(state["params"][0]["state"]["v"], v)


def test_load_rejects_wrong_parameter_count_naming_them():
    opt = Adam(make_params(), lr=1e-3)
    state = opt.state_dict()
    state["params"] = state["params"][:3]
    with pytest.raises(ValueError, match=r"expected 4 parameter states \(W1, b1, W2, b2\), got 3"):
        Adam(make_params(), lr=1e-3).load_state_dict(state)


def test_load_rejects_wrong_shapes_naming_the_parameter():
    state = Adam(make_params(), lr=1e-3).state_dict()
    other = [("W1", cr.tensor(np.zeros((4, 3), np.float32), requires_grad=True))]
    other += make_params()[1:]
    with pytest.raises(ValueError, match=r"'W1' expected shape \(4, 3\).*got shape \(3, 4\)"):
        Adam(other, lr=1e-3).load_state_dict(state)


def test_load_rejects_wrong_state_array_and_changes_nothing():
    params = make_params()
    opt = Adam(params, lr=1e-3)
    train(opt, params, 1, 0)
    before = opt.state_dict()
    bad = opt.state_dict()
    bad["step_count"] = 7
    bad["params"][3]["state"]["s"] = np.zeros((2,), np.float32)
    with pytest.raises(ValueError, match="state 's' of parameter 'b2'"):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["step_count"] == before["step_count"] == 1
    for e, f in zip(after["params"], before["params"], strict=True):
        np.testing.assert_array_equal(e["state"]["v"], f["state"]["v"])


def test_load_rejects_dtype_names_and_other_optimizers():
    state = Adam(make_params(), lr=1e-3).state_dict()
    with pytest.raises(ValueError, match="dtype float64"):
        Adam(make_params(dtype="float64"), lr=1e-3).load_state_dict(state)
    renamed = [(name.upper(), p) for name, p in make_params()]
    with pytest.raises(ValueError, match="parameter 1 expected name 'B1', got 'b1'"):
        Adam(renamed, lr=1e-3).load_state_dict(state)
    with pytest.raises(ValueError, match="expected a SGD checkpoint, got 'Adam'"):
        SGD(make_params(), lr=1e-3).load_state_dict(state)
    momentum = SGD(make_params(), lr=1e-3, momentum=0.9).state_dict()
    with pytest.raises(ValueError, match="need state"):
        SGD(make_params(), lr=1e-3).load_state_dict(momentum)
    del state["epoch"]
    with pytest.raises(ValueError, match=r"missing \['epoch'\]"):
        Adam(make_params(), lr=1e-3).load_state_dict(state)


def _replaced(i, key, value):
    """The change of a checkpoint that puts ``value`` at ``params[i][key]``."""

    def change(state):
        state["params"][i][key] = value
        return state

    return change


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        (
            _replaced(0, "shape", None),
            ValueError,
            "parameter 'W1' expected shape (3, 4) as a list of ints, got NoneType None",
        ),
        (
            _replaced(0, "shape", 5),
            ValueError,
            "parameter 'W1' expected shape (3, 4) as a list of ints, got int 5",
        ),
        (lambda state: None, TypeError, "state expected a dict, got NoneType"),
        (lambda state: [state], TypeError, "state expected a dict, got list"),
        (_replaced(0, "state", 0), TypeError, "state of parameter 'W1' expected a dict, got int"),
    ],
    ids=["shape-None", "shape-int", "state-None", "state-list", "entry-state-int"],
)
def test_a_malformed_checkpoint_is_refused_by_type_and_changes_nothing(change, error, says):
    params = make_params()
    opt = Adam(params, lr=1e-3)
    train(opt, params, 1, 0)
    before = opt.state_dict()
    with pytest.raises(error, match=f"^Adam.load_state_dict: {re.escape(says)}$"):
        opt.load_state_dict(change(opt.state_dict()))
    after = opt.state_dict()
    assert after["step_count"] == before["step_count"] == 1
    for e, f in zip(after["params"], before["params"], strict=True):
        np.testing.assert_array_equal(e["state"]["v"], f["state"]["v"])


def _state_value(i, name, j, value):
    """The change of a checkpoint that puts ``value`` at element ``j`` of parameter ``i``'s
    state array ``name``."""

    def change(state):
        state["params"][i]["state"][name].flat[j] = value
        return state

    return change


@pytest.mark.parametrize(
    ("make", "change", "says"),
    [
        (Adam, _state_value(0, "s", 5, -1e-12), "state 's' of parameter 'W1' expected values >= 0"),
        (cr.optim.RMSprop, _state_value(3, "s", 0, -2.0), "state 's' of parameter 'b2' expected"),
        (Adam, _state_value(1, "v", 0, np.nan), "state 'v' of parameter 'b1' expected finite"),
        (
            Adam,
            _state_value(0, "s", 2, -np.inf),
            "state 's' of parameter 'W1' expected values >= 0 (an average of squares; +inf "
            "where a square overflowed), got min -inf",
        ),
        (
            cr.optim.RMSprop,
            _state_value(1, "s", 3, np.nan),
            "state 's' of parameter 'b1' expected values >= 0 (an average of squares; +inf "
            "where a square overflowed), got 1 NaN of 4",
        ),
        (
            lambda params, lr: SGD(params, lr=lr, momentum=0.9),
            _state_value(2, "v", 0, -np.inf),
            "state 'v' of parameter 'W2' expected finite values, got 1 NaN or Inf of 4",
        ),
    ],
    ids=["adam-s-negative", "rmsprop-s-negative", "v-nan", "s-minus-inf", "s-nan", "sgd-v-inf"],
)
def test_a_state_no_run_could_save_is_refused_and_changes_nothing(make, change, says):
    """A flipped sign bit in a saved EWMA of squares made Adam's weights NaN (NumPy rule)
    or huge (the fused rule flushed it to 0), and an Inf velocity an Inf weight."""
    params = make_params()
    opt = make(params, lr=1e-3)
    train(opt, params, 2, 0)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=re.escape(says)):
        opt.load_state_dict(change(opt.state_dict()))
    after = opt.state_dict()
    for e, f in zip(after["params"], before["params"], strict=True):
        for name in opt.state_names:
            np.testing.assert_array_equal(e["state"][name], f["state"][name])


@pytest.mark.parametrize(
    "make",
    [
        lambda params: cr.optim.RMSprop(params, lr=0.01),
        lambda params: Adam(params, lr=0.01, fused=False),
        pytest.param(
            lambda params: Adam(params, lr=0.01, fused=True),
            marks=pytest.mark.skipif(not kernels.available(), reason="needs numba"),
        ),
    ],
    ids=["rmsprop", "adam-numpy", "adam-fused"],
)
def test_an_overflowed_average_of_squares_reloads_and_resumes_bit_identically(make):
    """A finite float32 gradient of 1e21 makes s = +inf (that weight's step is 0 from then
    on); the optimizer's own state_dict was refused by load_state_dict."""
    params = make_params()
    opt = make(params)
    train(opt, params, 2, 0)
    params[0][1].grad = np.full((3, 4), 1e21, np.float32)
    for _, p in params[1:]:
        p.grad = np.ones(p.shape, np.float32)
    opt.step()
    saved = opt.state_dict()
    assert np.isposinf(saved["params"][0]["state"]["s"]).all()
    resumed = make_params(seed=1)
    for (_, p), (_, q) in zip(resumed, params, strict=True):
        p.data[...] = q.data
    opt2 = make(resumed)
    opt2.load_state_dict(saved)
    opt.load_state_dict(opt.state_dict())
    train(opt, params, 3, 3)
    train(opt2, resumed, 3, 3)
    assert_same_bits(params, resumed)
    assert np.isposinf(opt2.state_dict()["params"][0]["state"]["s"]).all()


@pytest.mark.parametrize(
    "make",
    [
        lambda params, nesterov: SGD(params, lr=0.1, momentum=0.9, nesterov=nesterov),
        lambda params, nesterov: cr.optim.Momentum(params, lr=0.1, nesterov=nesterov),
    ],
    ids=["SGD", "Momentum"],
)
@pytest.mark.parametrize("saved_nesterov", [True, False])
def test_a_checkpoint_switching_nesterov_resumes_as_the_saved_optimizer(make, saved_nesterov):
    # the state is "v" either way; Nesterov's work array was missing after the switch
    straight = make_params()
    opt = make(straight, saved_nesterov)
    train(opt, straight, 6, 0)
    first = make_params()
    opt1 = make(first, saved_nesterov)
    train(opt1, first, 3, 0)
    opt2 = make(first, not saved_nesterov)
    opt2.load_state_dict(opt1.state_dict())
    assert opt2.nesterov is saved_nesterov
    train(opt2, first, 3, 3)
    assert_same_bits(straight, first)

"""The update counts of an optimizer checkpoint (a parameter's ``t``, ``step_count``) are
bounded by what the next update takes: its number, one more, as a float (Adam's
``beta1**t``, a step schedule's rate). A larger one (``10**309`` from a file's JSON)
passed the integer check and raised a bare OverflowError at the first step after the
load; it is refused by the load, naming the key, before anything changes."""

import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, InverseTimeDecay
from chainrule.optim.checkpoint import MAX_COUNT

BIG = 10**309


def _params():
    rng = np.random.default_rng(0)
    return [
        (name, cr.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True))
        for name, shape in (("W", (3, 2)), ("b", (2,)))
    ]


def _step(opt, params):
    for _, p in params:
        p.grad = np.ones(p.shape, np.float32)
    opt.step()


def test_the_bound_is_the_largest_float_for_the_next_update():
    assert float(MAX_COUNT + 1) == np.finfo(np.float64).max


def _set_t(state, value):
    state["params"][1]["t"] = value


def _set_step_count(state, value):
    state["step_count"] = value


@pytest.mark.parametrize("make", [Adam, SGD])
@pytest.mark.parametrize(
    ("change", "key"), [(_set_t, "t of parameter 'b'"), (_set_step_count, "step_count")]
)
@pytest.mark.parametrize("value", [BIG, MAX_COUNT + 1], ids=["10**309", "MAX_COUNT+1"])
def test_a_count_the_next_update_cannot_take_is_refused_and_changes_nothing(
    make, change, key, value
):
    params = _params()
    opt = make(params, lr=InverseTimeDecay(0.1, 1.0, unit="step"))
    _step(opt, params)
    before = opt.state_dict()
    state = opt.state_dict()
    change(state, value)
    says = (
        f"{make.__name__}.load_state_dict: {key} expected an integer in [0, 1.798e+308] "
        f"(the next update's number, one more, is taken as a float), got one of "
        f"{value.bit_length()} bits"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(says)}$"):
        opt.load_state_dict(state)
    after = opt.state_dict()
    assert (after["step_count"], after["params"][1]["t"]) == (1, 1)
    for e, f in zip(after["params"], before["params"], strict=True):
        for name in e["state"]:
            np.testing.assert_array_equal(e["state"][name], f["state"][name])


@pytest.mark.parametrize("make", [Adam, SGD])
def test_the_largest_counts_load_and_the_next_update_runs(make):
    """Adam's beta**t underflows to 0 there, a bias correction of 1: with a gradient of
    ones its first step is alpha * (1 - beta1) / sqrt(1 - beta2), as without correction."""
    params = _params()
    opt = make(params, lr=InverseTimeDecay(0.1, 1.0, unit="step"))
    state = opt.state_dict()
    state["step_count"] = MAX_COUNT
    for entry in state["params"]:
        entry["t"] = MAX_COUNT
    opt.load_state_dict(state)
    assert opt.current_lr == 0.1 / (1.0 + float(MAX_COUNT + 1))
    opt.lr = 0.1
    before = [p.data.copy() for _, p in params]
    _step(opt, params)
    assert opt.state_dict()["step_count"] == MAX_COUNT + 1
    step = 0.1 * (0.1 / math.sqrt(0.001) if make is Adam else 1.0)
    for (name, p), b in zip(params, before, strict=True):
        np.testing.assert_allclose(p.data, b - step, rtol=1e-5, err_msg=name)

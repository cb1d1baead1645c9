"""Copies of an optimizer: ``copy.deepcopy``, ``pickle`` and ``copy.copy``.

Each parameter's views of its group's flat buffers (gradients, state, scratch) became
arrays of their own in a copy: the copy subtracted the raw gradient (SGD ignored lr),
updated moments that no step read, and never took the fused path. A copy is now rebuilt
through the constructor and loads the original's state.
"""

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, AdamW, CosineDecay, LinearWarmup, Momentum, kernels

NEEDS_NUMBA = pytest.mark.skipif(not kernels.available(), reason="needs numba")

MAKERS = [
    pytest.param(lambda p: SGD(p, lr=0.1), id="sgd"),
    pytest.param(lambda p: SGD(p, lr=0.1, momentum=0.9), id="sgd-momentum"),
    pytest.param(
        lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, clip_value=0.5),
        id="sgd-nesterov-clip-value",
    ),
    pytest.param(lambda p: Momentum(p, lr=0.1, beta=0.8, nesterov=True), id="momentum-nesterov"),
    pytest.param(lambda p: cr.optim.RMSprop(p, lr=0.01, clip_norm=1.0), id="rmsprop-clip-norm"),
    pytest.param(lambda p: Adam(p, lr=0.01, fused=False), id="adam-numpy"),
    pytest.param(lambda p: Adam(p, lr=0.01, fused=True), id="adam-fused", marks=NEEDS_NUMBA),
    pytest.param(
        lambda p: AdamW(
            p, lr=LinearWarmup(CosineDecay(0.05, duration=8), warmup=3), weight_decay=0.1
        ),
        id="adamw-schedule",
    ),
]
COPIES = {
    "deepcopy": copy.deepcopy,
    "pickle": lambda opt: pickle.loads(pickle.dumps(opt)),
}


def make_params():
    rng = np.random.default_rng(0)
    return [
        ("W", cr.tensor(rng.standard_normal((3, 2)).astype("float32"), requires_grad=True)),
        ("b", cr.tensor(np.zeros(2, "float32"), requires_grad=True)),
        ("w64", cr.tensor(rng.standard_normal(4), requires_grad=True)),
    ]


def train(opt, steps, first):
    for k in range(first, first + steps):
        rng = np.random.default_rng(100 + k)  # the same gradients whatever the optimizer
        opt.set_epoch(1 + k // 2)
        for p in opt.params:
            p.grad = rng.standard_normal(p.shape).astype(p.dtype)
        assert opt.step()


def bits(opt):
    return [p.data.tobytes() for p in opt.params] + [
        a.tobytes() for e in opt.state_dict()["params"] for a in e["state"].values()
    ]


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("make", MAKERS)
def test_a_copy_continues_bit_identically_with_the_original(make, how):
    opt = make(make_params())
    train(opt, 3, 0)
    twin = COPIES[how](opt)
    assert type(twin) is type(opt) and twin.param_names == opt.param_names
    assert all(p is not q for p, q in zip(twin.params, opt.params, strict=True))
    assert twin.hyperparameters == opt.hyperparameters and twin.fused == opt.fused
    assert bits(twin) == bits(opt)
    train(opt, 4, 3)
    train(twin, 4, 3)
    assert twin.step_count == opt.step_count == 7 and twin.epoch == opt.epoch
    assert bits(twin) == bits(opt)


@NEEDS_NUMBA
@pytest.mark.parametrize("how", list(COPIES))
def test_a_copy_of_a_fused_adam_takes_the_fused_path(how, monkeypatch):
    calls = []
    adam_step = kernels.adam_step
    monkeypatch.setattr(kernels, "adam_step", lambda *args: calls.append(1) or adam_step(*args))
    opt = COPIES[how](Adam(make_params(), lr=0.01, fused=True))
    train(opt, 2, 0)
    assert len(calls) == 2 * 2  # one compiled call per dtype group and step


@pytest.mark.parametrize("first", ["model", "optimizer"])
def test_deepcopy_of_a_model_and_its_optimizer_updates_the_copied_model(first):
    model = cr.nn.Sequential(cr.nn.Linear(3, 2), cr.nn.ReLU(), cr.nn.Linear(2, 1))
    opt = Adam(model.named_parameters(), lr=0.01)
    train(opt, 2, 0)
    if first == "model":
        model2, opt2 = copy.deepcopy((model, opt))
    else:
        opt2, model2 = copy.deepcopy((opt, model))
    assert all(p is q for p, q in zip(opt2.params, model2.parameters(), strict=True))
    before = [p.data.copy() for p in model.parameters()]
    train(opt2, 2, 2)
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)  # the original model is left alone
    train(opt, 2, 2)
    assert bits(opt2) == bits(opt)


def test_a_shallow_copy_updates_the_same_parameters_from_its_own_state():
    params = make_params()
    opt = SGD(params, lr=0.1, momentum=0.9)
    train(opt, 2, 0)
    twin = copy.copy(opt)
    assert all(p is q for p, q in zip(twin.params, opt.params, strict=True))
    saved = opt.state_dict()
    train(twin, 1, 2)
    assert twin.step_count == 3 and opt.step_count == 2
    for e, f in zip(opt.state_dict()["params"], saved["params"], strict=True):
        np.testing.assert_array_equal(e["state"]["v"], f["state"]["v"])


@NEEDS_NUMBA
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_a_pickle_of_the_default_fused_loads_without_numba(cls, monkeypatch):
    # it saved the resolved fused=True, which the constructor refused where numba is missing
    opt = cls(make_params(), lr=0.01)
    assert opt.fused
    train(opt, 2, 0)
    saved = pickle.dumps(opt)
    with monkeypatch.context() as m:
        m.setattr(kernels, "_numba_module", lambda: None)  # a machine without numba
        twin = pickle.loads(saved)
    assert twin.fused is False  # the NumPy rule, as a fresh cls(..., fused=None) there
    train(opt, 3, 2)
    train(twin, 3, 2)
    assert bits(twin) == bits(opt)  # no moment became subnormal


@NEEDS_NUMBA
def test_a_pickle_of_fused_true_still_needs_numba(monkeypatch):
    saved = pickle.dumps(Adam(make_params(), lr=0.01, fused=True))
    monkeypatch.setattr(kernels, "_numba_module", lambda: None)
    with pytest.raises(ImportError, match=r"Adam\(fused=True\) needs numba"):
        pickle.loads(saved)


@NEEDS_NUMBA
@pytest.mark.parametrize("how", list(COPIES))
def test_a_copy_of_a_default_adam_that_took_numpy_for_its_eps_keeps_numpy(how):
    # fused=None met the flush floor (eps too small for float32): the copy takes NumPy too,
    # even after load_state_dict raised eps to where None would take the compiled pass
    opt = Adam(make_params(), lr=0.01, eps=1e-12)
    assert opt.fused is False
    state = opt.state_dict()
    state["hyperparameters"]["eps"] = 1e-8
    opt.load_state_dict(state)
    assert COPIES[how](opt).fused is False

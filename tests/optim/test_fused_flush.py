"""Where the compiled Adam's flush of subnormal moments could change a step beyond rounding
(an eps term below ``kernels.flush_floor``), Adam takes its NumPy rule instead."""

import math
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import kernels

pytest.importorskip("numba")


def _weight(dtype="float32"):
    return cr.tensor(np.ones(1, dtype), requires_grad=True)


def _three_tiny_steps(make, fused):
    # dW = 1e-19: s = (1 - beta2) dW**2 = 1e-41 is below float32's tiny, v = 1e-20 is not
    w = _weight()
    opt = make([w], fused)
    for _ in range(3):
        w.grad = np.array([1e-19], np.float32)
        opt.step()
    return w.data.copy(), opt


@pytest.mark.parametrize(
    "make",
    [
        lambda p, fused: optim.Adam(p, lr=1e-3, eps=1e-25, fused=fused),
        lambda p, fused: optim.AdamW(p, lr=1e-3, eps=1e-25, weight_decay=0.0, fused=fused),
    ],
    ids=["adam", "adamw"],
)
def test_an_eps_below_the_floor_takes_the_numpy_rule_by_default(make):
    # the compiled pass divided v by 0 + eps * sqrt(1 - beta2): a step of 1000, p = -2999
    got, opt = _three_tiny_steps(make, None)
    want, _ = _three_tiny_steps(make, False)
    assert opt.fused is False
    np.testing.assert_array_equal(got, want)
    assert abs(got[0] - 0.997) < 1e-6


def test_fused_true_with_an_eps_below_the_floor_is_refused():
    with pytest.raises(ValueError) as caught:
        optim.AdamW([_weight()], eps=1e-25, fused=True)
    text = str(caught.value)
    assert text.startswith("AdamW(fused=True): eps=1e-25 times sqrt(1 - beta2) is 3.16e-27")
    assert "below sqrt(tiny) / (machine eps / 2) = 1.82e-12 of float32" in text
    assert "flushes moments below tiny = 1.18e-38 to 0" in text
    assert "expected eps >= 5.76e-11" in text


def test_the_default_hyperparameters_keep_the_compiled_pass():
    assert optim.Adam([_weight()]).fused is True
    assert optim.AdamW([_weight()]).fused is True
    assert optim.Adam([_weight()], eps=1e-10, fused=True).fused is True


def test_the_main_jobs_adam_takes_the_compiled_pass():
    from chainrule.runs import build

    config, _ = build.load_config(str(Path(__file__).parents[2] / "configs" / "mnist.toml"), [])
    model = build.build_model(config, 0)
    opt = build.build_optimizer(config, model.parameters(), 55_000)
    assert type(opt) is optim.Adam and opt.fused is True


@pytest.mark.parametrize("bias_correction", [True, False])
def test_the_floor_is_sqrt_tiny_over_the_unit_roundoff_of_the_first_eps_term(bias_correction):
    assert kernels.flush_floor("float32") == 2.0**-39
    assert kernels.flush_floor("float64") == 2.0**-458
    factor = math.sqrt(1 - 0.999) if bias_correction else 1.0
    at = 2.0**-39 / factor
    for eps, fused in ((at * (1 + 1e-9), True), (at * (1 - 1e-9), False)):
        opt = optim.Adam([_weight()], eps=eps, bias_correction=bias_correction)
        assert opt.fused is fused


def test_the_narrowest_dtype_of_the_parameters_decides():
    # float64 alone is far from its floor; one float32 parameter beside it is not
    assert optim.Adam([_weight("float64")], eps=1e-25, fused=True).fused is True
    assert optim.Adam([_weight("float64"), _weight()], eps=1e-25).fused is False


def test_loading_an_eps_below_the_floor_into_a_compiled_adam_is_refused():
    w = _weight()
    opt = optim.Adam([w])
    state = opt.state_dict()
    state["hyperparameters"]["eps"] = 1e-25
    with pytest.raises(ValueError, match=r"^Adam: eps=1e-25 .* build one with fused=False"):
        opt.load_state_dict(state)
    assert opt.eps == 1e-8 and opt.fused is True
    numpy_rule = optim.Adam([w], fused=False)
    numpy_rule.load_state_dict(state)
    assert numpy_rule.eps == 1e-25

"""The compiled Adam step under a caller's np.errstate(over="raise"): never stopped halfway."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

pytest.importorskip("numba")


def _run(make, fused):
    """One step of ``make(params, fused)`` on a float64 and a float32 parameter (two dtype
    groups, the float64 one first) under np.errstate(over="raise")."""
    a = cr.tensor(np.ones(3), requires_grad=True)
    b = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = make([("a", a), ("b", b)], fused)
    a.grad, b.grad = np.ones(3), np.ones(3, np.float32)
    with np.errstate(over="raise"):
        assert opt.step() is True
    return a.data, b.data, opt.state_dict()


@pytest.mark.parametrize(
    "make",
    [
        # lr * sqrt(1 - beta2) / (1 - beta1) beyond float32's range, finite in float64
        lambda p, fused: optim.Adam(p, lr=1e41, fused=fused),
        # lr * weight_decay beyond float32's range
        lambda p, fused: optim.AdamW(p, lr=1.0, weight_decay=1e39, fused=fused),
    ],
    ids=["adam-lr", "adamw-decay"],
)
def test_a_fused_step_with_scalars_beyond_float32_matches_the_numpy_rule(make):
    # the float32 coefficients were rounded under the caller's errstate: the float64 group
    # was written, then the float32 one raised FloatingPointError with t out of step
    a, b, state = _run(make, fused=True)
    a_ref, b_ref, state_ref = _run(make, fused=False)
    np.testing.assert_array_equal(a, a_ref)
    np.testing.assert_array_equal(b, b_ref)
    assert not np.isfinite(b).all()  # the IEEE result: the float32 step overflowed
    assert state["step_count"] == state_ref["step_count"] == 1
    assert [p["t"] for p in state["params"]] == [p["t"] for p in state_ref["params"]] == [1, 1]

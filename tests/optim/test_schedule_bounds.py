"""The lengths a schedule divides t by (``every``, ``duration``, ``warmup``) are bounded as
update counts are (:data:`~chainrule.optim.checkpoint.MAX_COUNT`). A larger one
(``2**1024``) was accepted, by the constructor and by ``load_state_dict``, and the first
step raised a bare ``OverflowError: int too large to convert to float``; it is refused
with a ``ValueError`` naming the field, before anything changes."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, CosineDecay, LinearWarmup, StepDecay, schedule_from_config
from chainrule.optim.checkpoint import MAX_COUNT

LENGTHS = {
    "CosineDecay": (lambda n: CosineDecay(0.1, duration=n), "duration"),
    "StepDecay": (lambda n: StepDecay(0.1, every=n), "every"),
    "LinearWarmup": (lambda n: LinearWarmup(0.1, warmup=n), "warmup"),
}
TOO_LARGE = [pytest.param(2**1024, id="2**1024"), pytest.param(MAX_COUNT + 1, id="MAX_COUNT+1")]


def _says(owner, field, value):
    return (
        f"{owner}: {field} expected an integer in [1, 1.798e+308] (t / {field} is taken as "
        f"a float), got one of {value.bit_length()} bits"
    )


@pytest.mark.parametrize("value", TOO_LARGE)
@pytest.mark.parametrize("owner", list(LENGTHS))
def test_a_length_beyond_the_largest_count_is_refused(owner, value):
    make, field = LENGTHS[owner]
    with pytest.raises(ValueError, match=f"^{re.escape(_says(owner, field, value))}$"):
        make(value)


@pytest.mark.parametrize("value", TOO_LARGE)
@pytest.mark.parametrize("owner", list(LENGTHS))
def test_a_checkpoint_with_such_a_length_is_refused_and_changes_nothing(owner, value):
    make, field = LENGTHS[owner]
    w = cr.tensor(np.ones(2, np.float32), requires_grad=True)
    opt = SGD([w], lr=0.5)
    state = opt.state_dict()
    state["lr"] = {**make(10).get_config(), field: value}
    state["step_count"] = 3
    with pytest.raises(ValueError, match=f"^{re.escape(_says(owner, field, value))}$"):
        opt.load_state_dict(state)
    with pytest.raises(ValueError, match=re.escape(_says(owner, field, value))):
        schedule_from_config(state["lr"])
    assert (opt.lr, opt.step_count) == (0.5, 0)


@pytest.mark.parametrize("owner", list(LENGTHS))
def test_the_largest_length_steps(owner):
    make, field = LENGTHS[owner]
    w = cr.tensor(np.ones(2, np.float32), requires_grad=True)
    opt = SGD([w], lr=make(MAX_COUNT))
    w.grad = np.ones(2, np.float32)
    assert opt.step()
    assert np.isfinite(opt.current_lr)
    assert make(MAX_COUNT).get_config()[field] == MAX_COUNT

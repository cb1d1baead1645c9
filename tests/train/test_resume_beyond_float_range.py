"""An integer beyond float64's range in a checkpoint's JSON (``10**309``, which Python's
parser reads as an int) where the run takes a float: the history's step losses and
gradient norms, the position's cost sum, seconds, rate and squared norms. They passed the
checks as numbers, then raised a bare OverflowError (from_dict's own float() or
math.isfinite, or the loop at the first step); each is now the ValueError naming the key,
and a resume names the checkpoint and changes nothing."""

import math

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.files import read_tree, write_tree
from chainrule.train import CheckpointDir, fit
from chainrule.train.history import History
from chainrule.train.position import Position, is_real

BIG = 10**309  # the first power of ten float() refuses
RUN = {"batches_per_epoch": 3, "parameters": ["w"], "batch_size": 2, "n_train": 5}


def test_is_real_is_a_number_float_takes():
    assert [is_real(x) for x in (0, 1.5, math.inf, math.nan, -(10**308))] == [True] * 5
    assert [is_real(x) for x in (BIG, -BIG, True, "1", None)] == [False] * 5


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"step_losses": [0.5, BIG]}, r"^history 'step_losses' expected a list of finite numbers"),
        ({"grad_norms": {"w": [BIG]}}, r"^history 'grad_norms' expected a dict of parameter names"),
    ],
)
def test_a_history_holding_an_int_beyond_float_range_is_refused_naming_the_key(changes, says):
    data = {"epochs": [{"epoch": 1}], "step_losses": [], "grad_norms": {}, **changes}
    with pytest.raises(ValueError, match=says):
        History.from_dict({**data, "stopped_reason": "completed"})


def _position_data(**changes):
    values = {
        "shuffler": np.random.default_rng(0).bit_generator.state,
        "batch": 2,
        "examples": 4,
        "loss_sum": 2.0,
        "sq_norms": {"w": 1.0},
        "pred": [np.array([0, 1, 1, 1])],
        "true": [np.array([0, 0, 1, 0])],
        "elapsed": 0.5,
        "lr": 0.1,
    }
    return {**values, **changes}


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"loss_sum": BIG}, r"^position 'loss_sum' expected a finite number"),
        ({"loss_sum": -BIG}, r"^position 'loss_sum' expected a finite number"),
        ({"elapsed": BIG}, r"^position 'elapsed' expected a finite number of seconds"),
        ({"lr": BIG}, r"^position 'lr' expected None or a finite number"),
        ({"sq_norms": {"w": BIG}}, r"^position 'sq_norms' expected squared norms"),
    ],
)
def test_a_position_holding_an_int_beyond_float_range_is_refused_naming_the_key(changes, says):
    assert Position.from_dict(_position_data(), **RUN, classification=True).batch == 2
    with pytest.raises(ValueError, match=says):
        Position.from_dict(_position_data(**changes), **RUN, classification=True)


X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
Y = np.arange(20) % 3


def _run(tmp_path, resume=None, model=None, opt=None):
    model = model or nn.MLP([4, 5, 3], seed=0)
    opt = opt or optim.Adam(model.named_parameters(), lr=1e-2)
    ckpt = None if resume else tmp_path / "ckpt"
    return fit(model, "cross_entropy", opt, X, Y, epochs=2, batch_size=8, progress=False,
               checkpoint_dir=ckpt, resume_from=resume)  # fmt: skip


def _grad_norm(state):
    state["history"]["grad_norms"]["layers.0.weight"][0] = BIG


def _loss_sum(state):
    state["position"]["loss_sum"] = BIG


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_grad_norm, "history expected a training history, got \"ValueError: history 'grad_norms'"),
        (_loss_sum, "position 'loss_sum' expected a finite number"),
    ],
)
def test_a_resume_from_such_a_checkpoint_is_refused_naming_it_and_changes_nothing(
    tmp_path, change, says
):
    _run(tmp_path)
    path = CheckpointDir(tmp_path / "ckpt").files()[0]
    state = read_tree(path)
    change(state)
    write_tree(path, state)
    model = nn.MLP([4, 5, 3], seed=1)
    opt = optim.Adam(model.named_parameters(), lr=1e-2)
    before, opt_before = model.state_dict(), opt.state_dict()
    with pytest.raises(ValueError) as info:
        _run(tmp_path, resume=path, model=model, opt=opt)
    assert str(info.value).startswith(f"resume_from {path}: ") and says in str(info.value)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert opt.state_dict()["step_count"] == opt_before["step_count"] == 0

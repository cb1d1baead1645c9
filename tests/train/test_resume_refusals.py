"""A checkpoint whose state the run refuses: the error names the checkpoint, keeps its
type, and the model and optimizer stay as they were.

* The model's or optimizer's own ``load_state_dict`` refusals named only the caller's
  model or ``Adam``, as though its arguments were wrong (generators and callbacks named
  the checkpoint already).
* An integer beyond float64's range in the checkpoint's JSON (``10**309``, which Python's
  parser reads as an int) where the run takes a float or counts updates passed the checks
  as a number, then raised a bare OverflowError at its first use (Adam's ``beta1**t`` once
  the resume was accepted)."""

import math
import re

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.files import read_tree, write_tree
from chainrule.train import CheckpointDir, fit
from chainrule.train.position import is_real

X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
Y = np.arange(20) % 3
BIG = 10**309  # the first power of ten float() refuses


def test_is_real_is_a_number_float_takes():
    assert [is_real(x) for x in (0, 1.5, math.inf, math.nan, -(10**308))] == [True] * 5
    assert [is_real(x) for x in (BIG, -BIG, True, "1", None)] == [False] * 5


def _fit(model, opt, **options):
    fit(model, "cross_entropy", opt, X, Y, epochs=2, batch_size=8, progress=False, **options)


def _set(*keys, value):
    """A change of a checkpoint's state: ``value`` at the path of ``keys``."""

    def change(state):
        for key in keys[:-1]:
            state = state[key]
        state[keys[-1]] = value(state[keys[-1]]) if callable(value) else value

    return change


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        (
            _set("optimizer", "hyperparameters", "beta1", value=3),
            ValueError,
            "the optimizer cannot take the saved state: Adam: beta1 expected",
        ),
        (
            _set("optimizer", "step_count", value="x"),
            TypeError,
            "the optimizer cannot take the saved state: Adam.load_state_dict: step_count "
            "expected an integer >= 0, got str 'x'",
        ),
        (
            _set("optimizer", "params", 0, "t", value=BIG),
            ValueError,
            "the optimizer cannot take the saved state: Adam.load_state_dict: t of parameter "
            "'layers.0.weight' expected an integer in [0, 1.798e+308]",
        ),
        (
            _set("model", "layers.0.weight", value=lambda w: w.T.copy()),
            ValueError,
            "the model cannot take the saved state: load_state_dict into MLP: missing keys []; "
            "unexpected keys []; mis-shaped keys ['layers.0.weight (expected (4, 5), got (5, 4))']",
        ),
        (
            _set("history", "grad_norms", "layers.0.weight", 0, value=BIG),
            ValueError,
            "history expected a training history, got \"ValueError: history 'grad_norms'",
        ),
        (
            _set("position", "loss_sum", value=BIG),
            ValueError,
            "position 'loss_sum' expected a finite number",
        ),
    ],
    ids=["beta1", "step_count", "t", "transposed", "grad_norms", "loss_sum"],
)
def test_a_refused_checkpoint_state_names_the_checkpoint_and_changes_nothing(
    tmp_path, change, error, says
):
    model = nn.MLP([4, 5, 3], seed=0)
    _fit(model, optim.Adam(model.named_parameters(), lr=1e-2), checkpoint_dir=tmp_path / "ckpt")
    path = CheckpointDir(tmp_path / "ckpt").files()[0]
    state = read_tree(path)
    change(state)
    write_tree(path, state)
    model = nn.MLP([4, 5, 3], seed=1)
    opt = optim.Adam(model.named_parameters(), lr=1e-2)
    before, opt_before = model.state_dict(), opt.state_dict()
    with pytest.raises(error, match=f"^{re.escape(f'resume_from {path}: {says}')}") as info:
        _fit(model, opt, resume_from=path)
    assert type(info.value) is error
    if says.startswith(("the model", "the optimizer")):  # their own error is not shown too
        assert info.value.__context__ is None
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    after = opt.state_dict()
    assert after["hyperparameters"] == opt_before["hyperparameters"]
    assert after["step_count"] == 0 and [e["t"] for e in after["params"]] == [0] * 4

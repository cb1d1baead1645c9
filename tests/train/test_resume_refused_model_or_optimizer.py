"""A checkpoint whose model or optimizer state the run's model or optimizer refuses: the
error names the checkpoint, as that of a generator or callback does (it named only the
caller's own ``Adam`` or model, as though its arguments were wrong), keeps its type, and
the model and optimizer are put back as they were."""

import re

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.files import read_tree, write_tree
from chainrule.train import CheckpointDir, fit

X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
Y = np.arange(20) % 3


def _fit(model, opt, **options):
    fit(model, "cross_entropy", opt, X, Y, epochs=2, batch_size=8, progress=False, **options)


def _beta1(state):
    state["optimizer"]["hyperparameters"]["beta1"] = 3


def _step_count(state):
    state["optimizer"]["step_count"] = "x"


def _t(state):
    state["optimizer"]["params"][0]["t"] = 10**309


def _transposed(state):
    state["model"]["layers.0.weight"] = state["model"]["layers.0.weight"].T.copy()


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        (_beta1, ValueError, "the optimizer cannot take the saved state: Adam: beta1 expected"),
        (
            _step_count,
            TypeError,
            "the optimizer cannot take the saved state: Adam.load_state_dict: step_count "
            "expected an integer >= 0, got str 'x'",
        ),
        (
            _t,
            ValueError,
            "the optimizer cannot take the saved state: Adam.load_state_dict: t of parameter "
            "'layers.0.weight' expected an integer in [0, 1.798e+308]",
        ),
        (
            _transposed,
            ValueError,
            "the model cannot take the saved state: load_state_dict into MLP: missing keys []; "
            "unexpected keys []; mis-shaped keys ['layers.0.weight (expected (4, 5), got (5, 4))']",
        ),
    ],
)
def test_a_refused_model_or_optimizer_state_names_the_checkpoint_and_changes_nothing(
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
    assert type(info.value) is error and info.value.__context__ is None
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    after = opt.state_dict()
    assert after["hyperparameters"] == opt_before["hyperparameters"]
    assert after["step_count"] == 0 and [e["t"] for e in after["params"]] == [0] * 4

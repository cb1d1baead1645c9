"""What a resume takes back is checked before the first step: early stopping's saved best
weights, the history's gradient norms, a ModelCheckpoint directory a checkpoint records
and a HistoryLogger file to go on with."""

import os
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses, nn, optim
from chainrule.data import make_moons
from chainrule.files import FormatError, read_tree, write_tree
from chainrule.train import CheckpointDir, EarlyStopping, HistoryLogger, LambdaCallback, fit
from chainrule.train.checkpoint import load_checkpoint


def _run(tmp_path, epochs, resume=None, callbacks=(), batch_norm=False, ckpt="ckpt"):
    """A run whose loss scales the logits by a learnable temperature (a tensor the
    optimizer holds beyond the model's); returns the 0-based epochs that took a step. A
    ValueError that refuses it must leave the model, the temperature and the optimizer as
    they were, before any step."""
    X, y = make_moons(120, noise=0.2, seed=1)
    model = nn.MLP([2, 8, 2], activation="relu", batch_norm=batch_norm, seed=0)
    temperature = cr.tensor(np.full((), 2.0, np.float32), requires_grad=True)
    opt = optim.Adam([*model.named_parameters(), ("temperature", temperature)], lr=0.05)
    before, stepped = model.state_dict(), []

    def step(trainer, batch, loss):
        stepped.append(trainer.epoch)

    try:
        fit(model, lambda out, t: losses.cross_entropy(out * temperature, t), opt, X,
            y.astype(np.int64), epochs=epochs, batch_size=16, seed=5,
            checkpoint_dir=None if ckpt is None else tmp_path / ckpt, resume_from=resume,
            callbacks=[*callbacks, LambdaCallback(on_batch_end=step)],
            progress=False)  # fmt: skip
    except ValueError:  # refused: before a step, with everything as it was
        assert stepped == [] and temperature.item() == 2.0
        assert opt.state_dict()["step_count"] == 0
        for name, value in model.state_dict().items():
            assert np.array_equal(value, before[name]), name
        raise
    return sorted(set(stepped))


def _stopper():
    return EarlyStopping(monitor="train_loss", patience=100)


def _tampered(tmp_path, change, batch_norm=False):
    """The path of a one-epoch run's checkpoint (with early stopping) after ``change``
    changed its state, written as it is (NaN included)."""
    _run(tmp_path, 1, callbacks=[_stopper()], batch_norm=batch_norm)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    change(state)
    write_tree(path, state)
    return path


@pytest.mark.parametrize(
    ("key", "name", "value"),
    [
        ("best_weights", "layers.0.weight", np.nan),
        ("best_weights", "layers.2.bias", -np.inf),
        ("best_extra_tensors", "temperature", np.nan),
    ],
)
def test_nan_or_inf_in_saved_best_weights_is_refused_naming_the_checkpoint(
    tmp_path, key, name, value
):
    """They were taken as they were: the resumed run failed at its next checkpoint (which
    refuses NaN) or, when no epoch improved on them, at its end (loading them into the
    model), naming neither the checkpoint nor the field. The file is refused as damaged
    (no checkpoint is written with NaN or inf), and EarlyStopping refuses such a state
    handed to it directly."""

    def damage(state):
        state["callbacks"][0][key][name].flat[0] = value

    path = _tampered(tmp_path, damage)
    says = (
        rf"^{re.escape(str(path))}: expected finite values, which every checkpoint is written "
        rf"with, got NaN or inf in \['callbacks\.0\.{key}\.{re.escape(name)}'\]: the file "
        "is damaged$"
    )
    with pytest.raises(FormatError, match=says):
        _run(tmp_path, 3, resume=path, callbacks=[_stopper()], ckpt=None)
    state = read_tree(path)["callbacks"][0]
    says = rf"^EarlyStopping: saved {key} expected finite values, got NaN or inf in \['{name}'\]$"
    with pytest.raises(ValueError, match=says):
        _stopper().load_state_dict(state)


def test_a_negative_running_variance_in_saved_best_weights_is_refused_before_a_step(tmp_path):
    """Taken as it was: the run trained to its end, where the model's load_state_dict
    refused the best weights."""
    key = "layers.1.running_var"

    def damage(state):
        state["callbacks"][0]["best_weights"][key][0] = -1.0

    path = _tampered(tmp_path, damage, batch_norm=True)
    says = (
        rf"^resume_from {re.escape(str(path))}: EarlyStopping: saved best_weights expected "
        r"values the model takes, got invalid "
        rf"keys \['{re.escape(key)} \(expected "
    )
    with pytest.raises(ValueError, match=says):
        _run(tmp_path, 3, resume=path, callbacks=[_stopper()], batch_norm=True, ckpt=None)


def test_gradient_norms_of_a_parameter_the_model_lacks_are_refused_before_a_step(tmp_path):
    """A bare KeyError after the resumed run's first epoch."""

    def misspell(state):
        norms = state["history"]["grad_norms"]
        norms["layer.0.weight"] = norms.pop("layers.0.weight")

    path = _tampered(tmp_path, misspell)
    says = (
        rf"^resume_from {re.escape(str(path))}: history grad_norms expected names of "
        r"parameters among \['layers.0.weight', .*\], got \['layer.0.weight'\]; not a "
        "checkpoint fit can resume"
    )
    with pytest.raises(ValueError, match=says):
        _run(tmp_path, 3, resume=path, callbacks=[_stopper()], ckpt=None)


def _non_utf8(tmp_path):
    """A directory in ``tmp_path`` whose name is not UTF-8 (Latin-1 'ÿ'), as os.fsdecode
    gives it."""
    return os.fsdecode(os.fsencode(tmp_path) + b"/models\xff")


def test_model_checkpoint_refuses_a_directory_utf8_cannot_encode_before_a_step(tmp_path):
    """Its state (which names the directory) made the first checkpoint fail, after the
    first epoch, with the model files written."""
    directory = _non_utf8(tmp_path)
    says = (
        r"^ModelCheckpoint: cannot store the directory in its state: expected text UTF-8 "
        rf"can encode, got {re.escape(repr(directory))}.*expected a directory whose path "
        "UTF-8 can encode"
    )
    with pytest.raises(ValueError, match=says):
        _run(tmp_path, 2, callbacks=[cr.train.ModelCheckpoint(directory, "train_loss")])
    assert not os.path.exists(directory) and not (tmp_path / "ckpt").exists()
    # a run without checkpoints keeps no such state: the directory is fine there
    saver = cr.train.ModelCheckpoint(directory, "train_loss")
    assert _run(tmp_path, 2, callbacks=[saver], ckpt=None) == [0, 1]
    assert sorted(os.listdir(directory)) == ["best.safetensors", "last.safetensors"]


def test_history_logger_takes_a_deeply_nested_json_file_for_another_runs(tmp_path):
    """A bare RecursionError: too deep for the JSON parser, the file holds no history of
    the run, as any other file that is not its history."""
    path = tmp_path / "history.json"
    _run(tmp_path, 1, callbacks=[HistoryLogger(path)])
    path.write_text("[" * 100_000 + "]" * 100_000)
    says = rf"^HistoryLogger: {re.escape(str(path))} holds the history of another run"
    with pytest.raises(ValueError, match=says):
        _run(tmp_path, 2, resume=tmp_path / "ckpt", callbacks=[HistoryLogger(path)])

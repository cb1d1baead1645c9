"""Tensors the optimizer holds beyond the model's (a loss's own learnable temperature):
a resume goes on with their values, and early stopping restores them with the model."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses, nn, optim
from chainrule.data import make_moons
from chainrule.files import write_tree
from chainrule.train import CheckpointDir, EarlyStopping, LambdaCallback, TrainingInterrupted, fit
from chainrule.train.checkpoint import FORMAT, VERSION, load_checkpoint


def _run(tmp_path, epochs=3, ckpt="ckpt", resume=None, callbacks=()):
    """A run whose loss scales the logits by a learnable temperature, which the optimizer
    holds beside the model's parameters; returns the model, the temperature and the
    history."""
    X, y = make_moons(120, noise=0.2, seed=1)
    model = nn.MLP([2, 8, 2], activation="relu", seed=0)
    temperature = cr.tensor(np.ones((), np.float32), requires_grad=True)
    opt = optim.Adam([*model.named_parameters(), ("temperature", temperature)], lr=0.05)
    history = fit(model, lambda out, t: losses.cross_entropy(out * temperature, t), opt, X,
                  y.astype(np.int64), epochs=epochs, batch_size=16, seed=5,
                  checkpoint_dir=tmp_path / ckpt, resume_from=resume,
                  callbacks=list(callbacks), progress=False)  # fmt: skip
    return model, temperature, history


def _interrupt(epoch, batch=None):
    """What the SIGINT handler does, after ``batch`` of ``epoch`` (None: at its end)."""

    def mid_epoch(trainer, b, loss):
        if trainer.epoch == epoch and b == batch:
            trainer._interrupt = True

    def at_its_end(trainer, e, logs):
        if e == epoch:
            trainer._interrupt = True

    if batch is None:
        return LambdaCallback(on_epoch_end=at_its_end)
    return LambdaCallback(on_batch_end=mid_epoch)


def _assert_same(model, temperature, other_model, other_temperature):
    for name, value in other_model.state_dict().items():
        assert np.array_equal(model.state_dict()[name], value), name
    assert temperature.data.tobytes() == other_temperature.data.tobytes()


@pytest.mark.parametrize("batch", [None, 3], ids=["at-an-epochs-end", "mid-epoch"])
def test_a_resumed_run_goes_on_with_the_tensors_values_as_the_straight_run(tmp_path, batch):
    # the checkpoint held the model's state alone: the temperature restarted from 1.0
    # (its Adam moments came back), and every later step differed from the straight run's
    straight = _run(tmp_path, ckpt="straight")
    assert straight[1].item() != 1.0
    with pytest.raises(TrainingInterrupted):
        _run(tmp_path, callbacks=[_interrupt(1, batch)])
    model, temperature, history = _run(tmp_path, resume=tmp_path / "ckpt")
    assert history.step_losses == straight[2].step_losses
    _assert_same(model, temperature, *straight[:2])


def _checkpoint(tmp_path):
    """The state of a one-epoch run's checkpoint, to tamper with."""
    _run(tmp_path, epochs=1)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    del state["format"], state["version"]
    return state


def _refused(tmp_path, state, says, callbacks=()):
    """A resume from ``state`` (written as it is, NaN included) with ``callbacks`` is
    refused with ``says`` before a step, the model, the temperature and the optimizer left
    as they were."""
    (tmp_path / "bad").mkdir()
    path = tmp_path / "bad" / "checkpoint-00000000.safetensors"
    write_tree(path, {"format": FORMAT, "version": VERSION, **state})
    X, y = make_moons(120, noise=0.2, seed=1)
    model = nn.MLP([2, 8, 2], activation="relu", seed=0)
    temperature = cr.tensor(np.full((), 2.0, np.float32), requires_grad=True)
    opt = optim.Adam([*model.named_parameters(), ("temperature", temperature)], lr=0.05)
    before, steps = model.state_dict(), []
    step = LambdaCallback(on_batch_end=lambda trainer, batch, loss: steps.append(batch))
    with pytest.raises(ValueError, match=says):
        fit(model, lambda out, t: losses.cross_entropy(out * temperature, t), opt, X,
            y.astype(np.int64), epochs=3, batch_size=16, seed=5, progress=False,
            callbacks=[*callbacks, step], resume_from=tmp_path / "bad")  # fmt: skip
    assert steps == [] and temperature.item() == 2.0 and opt.state_dict()["step_count"] == 0
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name


def test_a_checkpoint_without_the_tensors_values_is_refused_naming_them(tmp_path):
    # as a checkpoint of an earlier chainrule: the resume restarted them from their
    # values now, silently
    state = _checkpoint(tmp_path)
    del state["extra_tensors"]
    says = (
        r"the optimizer holds tensors beyond the model's parameters \(\['temperature'\]\), "
        r"whose values the checkpoint lacks \(it has no 'extra_tensors'"
    )
    _refused(tmp_path, state, says)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (
            np.ones(2, np.float32),
            r"\(\(\), 'float32'\)\}, got \{'temperature': \(\(2,\), 'float32'",
        ),
        (np.ones((), np.float64), r"got \{'temperature': \(\(\), 'float64'\)\}"),
        ({"t": np.ones((), np.float32)}, r"a dict of arrays by name, got \{'temperature': \{"),
    ],
    ids=["shape", "dtype", "no-array"],
)
def test_a_checkpoint_with_other_values_of_the_tensors_is_refused(tmp_path, value, says):
    state = _checkpoint(tmp_path)
    state["extra_tensors"]["temperature"] = value
    _refused(tmp_path, state, "^resume_from .*: extra_tensors expected .*" + says)


def test_a_checkpoint_with_nan_in_the_tensors_is_refused_as_damaged(tmp_path):
    # no checkpoint is written with NaN: the file is damaged, and load_checkpoint says so
    state = _checkpoint(tmp_path)
    state["extra_tensors"]["temperature"] = np.array(np.nan, np.float32)
    says = (
        r"checkpoint-00000000\.safetensors: expected finite values, which every checkpoint "
        r"is written with, got NaN or inf in \['extra_tensors\.temperature'\]: the file is "
        r"damaged$"
    )
    _refused(tmp_path, state, says)


def test_a_checkpoint_with_values_of_other_tensors_is_refused(tmp_path):
    state = _checkpoint(tmp_path)
    state["extra_tensors"]["scale"] = np.ones(1, np.float32)
    _refused(tmp_path, state, re.escape("got {'temperature': ((), 'float32'), 'scale'"))


def test_early_stopping_restores_the_tensors_of_the_best_epoch_with_the_model(tmp_path):
    # the model went back to its best epoch's weights, the temperature stayed the last
    # epoch's: a pair that never was. "lr" mode "max" of a constant rate: the first
    # epoch is the best
    seen = []
    record = LambdaCallback(on_epoch_end=lambda t, e, logs: seen.append(
        (t.model.state_dict(), t.optimizer.params[-1].data.copy())))  # fmt: skip

    def stopper():
        return EarlyStopping(monitor="lr", mode="max", patience=100)

    model, temperature, _ = _run(tmp_path, ckpt="straight", callbacks=[stopper(), record])
    (weights, best), last = seen[0], seen[-1][1]
    assert best != last and temperature.item() == best
    for name, value in weights.items():
        assert np.array_equal(model.state_dict()[name], value), name
    # and a resume goes on with the best epoch's temperature saved in the checkpoint
    with pytest.raises(TrainingInterrupted):
        _run(tmp_path, callbacks=[stopper(), _interrupt(1)])
    resumed = _run(tmp_path, resume=tmp_path / "ckpt", callbacks=[stopper()])
    _assert_same(*resumed[:2], model, temperature)


def test_early_stopping_refuses_saved_tensors_of_other_shapes_before_a_step(tmp_path):
    # refused as the run starts, after the resume had loaded the checkpoint: it is taken
    # out again, the temperature's value included
    state = _checkpoint(tmp_path)  # a run without early stopping: its state added here
    saved = EarlyStopping(monitor="lr", mode="max", patience=100).state_dict()
    saved.update(best=0.05, best_epoch=0, best_weights=dict(state["model"]),
                 best_extra_tensors={"temperature": np.ones(3, np.float32)})  # fmt: skip
    state["callbacks"], state["callback_types"] = [saved], ["EarlyStopping"]
    says = (
        r"^resume_from .*: EarlyStopping: saved best_extra_tensors expected the optimizer's "
        r"tensors beyond "
        r"the model's \{'temperature': \(\(\), 'float32'\)\}, got \{'temperature': \(\(3,\), "
    )
    _refused(tmp_path, state, says, [EarlyStopping(monitor="lr", mode="max", patience=100)])


def test_early_stopping_takes_a_saved_state_without_the_tensors_as_none_held():
    # an earlier chainrule's state: for a run with such tensors, its checkpoint is refused
    saved = EarlyStopping(monitor="train_loss", patience=3).state_dict()
    del saved["best_extra_tensors"]
    stopper = EarlyStopping(monitor="train_loss", patience=3)
    stopper.load_state_dict(saved)
    assert stopper.best_extra_tensors == {}
    saved["best_extra_tensors"] = [1]
    with pytest.raises(TypeError, match=r"saved best_extra_tensors expected a dict of arrays"):
        stopper.load_state_dict(saved)


def test_an_earlier_checkpoint_of_a_run_without_such_tensors_resumes(tmp_path):
    X, y = make_moons(120, noise=0.2, seed=1)

    def run(epochs, ckpt, resume=None):
        model = nn.MLP([2, 8, 2], activation="relu", seed=0)
        opt = optim.Adam(model.named_parameters(), lr=0.05)
        return fit(model, "cross_entropy", opt, X, y.astype(np.int64), epochs=epochs,
                   batch_size=16, seed=5, checkpoint_dir=tmp_path / ckpt, resume_from=resume,
                   progress=False)  # fmt: skip

    straight = run(2, "straight")
    run(1, "ckpt")
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    assert state.pop("extra_tensors") == {}
    write_tree(path, state)  # as an earlier chainrule wrote it
    assert run(2, "ckpt", tmp_path / "ckpt").step_losses == straight.step_losses

"""Checkpoints: resuming continues bit-identically, in a fresh process too."""

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.files import json_text
from chainrule.train import (
    Callback,
    CheckpointDir,
    EarlyStopping,
    HistoryLogger,
    LambdaCallback,
    ModelCheckpoint,
    ProgressBar,
    Trainer,
    TrainingInterrupted,
    fit,
)

from .conftest import rendered

# Dropout (its generator), Adam (its moments), a step schedule (its counter) and shuffling
# (the shuffler's state and the batch position) all live in the checkpoint: a resume that
# lost any of them would diverge from the straight run.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from chainrule import nn, optim
    from chainrule.data import make_moons
    from chainrule.train import fit

    def setup():
        X, y = make_moons(300, noise=0.2, seed=1)
        model = nn.MLP([2, 32, 32, 2], activation="relu", dropout=0.8, seed=3)
        schedule = optim.InverseSqrtDecay(0.01, unit="step")
        opt = optim.Adam(model.named_parameters(), lr=schedule)
        return X, y.astype(np.int64), model, opt

    def run(epochs, ckpt=None, resume=None):
        X, y, model, opt = setup()
        history = fit(model, "cross_entropy", opt, X, y, epochs=epochs, batch_size=32,
                      seed=7, checkpoint_dir=ckpt, resume_from=resume, progress=False)
        return model, opt, history

    if __name__ == "__main__":
        mode, out = sys.argv[1], sys.argv[2]
        if mode == "resume":
            model, opt, history = run(6, resume=sys.argv[3])
        else:
            model, opt, history = run(int(mode), ckpt=sys.argv[3] if len(sys.argv) > 3 else None)
        state = {k: v for k, v in model.state_dict().items()}
        for i, p in enumerate(opt.state_dict()["params"]):
            for name, arr in p["state"].items():
                state[f"opt.{i}.{name}"] = arr
        np.savez(out, **state)
        with open(out + ".json", "w") as f:
            rows = [{k: v for k, v in r.items() if k != "time"} for r in history.epochs]
            json.dump({"losses": history.step_losses, "rows": rows,
                       "step_count": opt.state_dict()["step_count"]}, f)
    """
)


def run_script(tmp_path, *args):
    script = tmp_path / "train_script.py"
    script.write_text(SCRIPT)
    subprocess.run([sys.executable, str(script), *map(str, args)], check=True)


def test_three_plus_three_epochs_in_a_fresh_process_equal_six_straight(tmp_path):
    ckpt = tmp_path / "ckpt"
    run_script(tmp_path, 6, tmp_path / "straight")
    run_script(tmp_path, 3, tmp_path / "first", ckpt)
    run_script(tmp_path, "resume", tmp_path / "resumed", ckpt)
    straight, s_log = (
        np.load(tmp_path / "straight.npz"),
        json.loads((tmp_path / "straight.json").read_text()),
    )
    resumed, r_log = (
        np.load(tmp_path / "resumed.npz"),
        json.loads((tmp_path / "resumed.json").read_text()),
    )
    assert sorted(straight.files) == sorted(resumed.files)
    for key in straight.files:
        assert np.array_equal(straight[key], resumed[key]), key
    assert s_log == r_log


def make_run(tmp_path):
    from chainrule.data import make_moons

    X, y = make_moons(200, noise=0.2, seed=1)
    model = nn.MLP([2, 16, 2], activation="relu", dropout=0.8, seed=3)
    opt = optim.Adam(model.named_parameters(), lr=0.01)
    return X, y.astype(np.int64), model, opt


def train(tmp_path, epochs, resume=None, callbacks=(), ckpt="ckpt"):
    X, y, model, opt = make_run(tmp_path)
    history = fit(
        model,
        "cross_entropy",
        opt,
        X,
        y,
        epochs=epochs,
        batch_size=16,
        seed=5,
        checkpoint_dir=tmp_path / ckpt,
        resume_from=resume,
        callbacks=list(callbacks),
        progress=False,
    )
    return model, opt, history


def test_ctrl_c_mid_epoch_saves_and_resumes_exactly(tmp_path, capsys):
    straight_model, straight_opt, straight = train(tmp_path, 3, ckpt="straight")

    def interrupt(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 4:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted) as info:
        train(tmp_path, 3, callbacks=[LambdaCallback(on_batch_end=interrupt)])
    assert "resume_from" in str(info.value) and info.value.checkpoint.exists()
    assert "checkpoint saved" in str(info.value)
    assert capsys.readouterr().err == ""  # the exception tells (the CLI words its own hint)
    assert info.value.history.stopped_reason == "interrupted"

    model, opt, resumed = train(tmp_path, 3, resume=tmp_path / "ckpt")
    assert resumed.step_losses == straight.step_losses
    for (_, a), (_, b) in zip(
        model.named_parameters(), straight_model.named_parameters(), strict=True
    ):
        assert np.array_equal(a.data, b.data)


def test_an_ignored_sigint_is_left_ignored(tmp_path):
    # fit set its own handler over SIG_IGN, so a shell's background job stopped on Ctrl-C
    _, _, straight = train(tmp_path, 2, ckpt="straight")

    def interrupt(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 4:
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _, _, history = train(tmp_path, 2, callbacks=[LambdaCallback(on_batch_end=interrupt)])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert history.stopped_reason == "completed"
    assert history.step_losses == straight.step_losses


def test_ctrl_c_during_an_epochs_end_resumes_at_the_next_epoch(tmp_path):
    _, _, straight = train(tmp_path, 3, ckpt="straight")

    def interrupt(trainer, epoch, logs):  # while the epoch's logs are handed out
        if epoch == 0:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted, match="the end of epoch 1"):
        train(tmp_path, 3, callbacks=[LambdaCallback(on_epoch_end=interrupt)])
    assert len(CheckpointDir(tmp_path / "ckpt").files()) == 1  # saved once, not twice
    seen = []
    _, _, resumed = train(
        tmp_path,
        3,
        resume=tmp_path / "ckpt",
        callbacks=[LambdaCallback(on_epoch_end=lambda t, e, logs: seen.append(e))],
    )
    assert seen == [1, 2]
    assert resumed.column("epoch") == [1, 2, 3]
    assert resumed.step_losses == straight.step_losses
    assert all(len(v) == 3 for v in resumed.grad_norms.values())


def test_a_refused_resume_changes_nothing(tmp_path):
    train(tmp_path, 1)  # an Adam run
    X, y, model, _ = make_run(tmp_path)
    sgd = optim.SGD(model.named_parameters(), lr=0.1)
    before, sgd_before = model.state_dict(), sgd.state_dict()
    with pytest.raises(ValueError, match="expected a SGD checkpoint, got 'Adam'"):
        fit(
            model,
            "cross_entropy",
            sgd,
            X,
            y,
            epochs=2,
            batch_size=16,
            progress=False,
            resume_from=tmp_path / "ckpt",
        )
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name
    assert sgd.state_dict()["step_count"] == sgd_before["step_count"]


def test_corrupt_newest_checkpoint_falls_back_with_a_warning(tmp_path):
    train(tmp_path, 2)
    files = CheckpointDir(tmp_path / "ckpt").files()
    assert len(files) == 2
    files[-1].write_bytes(files[-1].read_bytes()[:100])  # damaged after the fact
    with pytest.warns(RuntimeWarning, match="falling back to the previous one"):
        _, _, history = train(tmp_path, 2, resume=tmp_path / "ckpt")
    assert len(history.epochs) == 2  # epoch 2 was redone from the epoch-1 checkpoint


def test_a_newest_checkpoint_damaged_into_nan_falls_back_with_a_warning(tmp_path):
    # no checkpoint is written with NaN or inf, so one read back is damage: a resume
    # refused it as a state the model cannot take, without trying the older file
    from chainrule.files import read_tree, write_tree

    train(tmp_path, 2)
    files = CheckpointDir(tmp_path / "ckpt").files()
    tree = read_tree(files[-1])
    weight = next(k for k in tree["model"] if k.endswith("weight"))
    tree["model"][weight] = tree["model"][weight].copy()
    tree["model"][weight].flat[0] = np.nan
    write_tree(files[-1], tree)
    with pytest.warns(RuntimeWarning) as caught:
        _, _, history = train(tmp_path, 2, resume=tmp_path / "ckpt")
    assert [str(w.message) for w in caught] == [
        f"checkpoint {files[-1]} is unreadable ({files[-1]}: expected finite values, which "
        f"every checkpoint is written with, got NaN or inf in ['model.{weight}']: the file is "
        "damaged); falling back to the previous one"
    ]
    assert len(history.epochs) == 2  # epoch 2 was redone from the epoch-1 checkpoint


def test_all_checkpoints_corrupt_raises_rather_than_starting_over(tmp_path):
    from chainrule.files import FormatError

    train(tmp_path, 1)
    for f in CheckpointDir(tmp_path / "ckpt").files():
        f.write_bytes(b"garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FormatError, match="no readable checkpoint"):
            train(tmp_path, 2, resume=tmp_path / "ckpt")


def test_the_oldest_unreadable_checkpoint_is_no_fallback_to_warn_about(tmp_path):
    # its warning said "falling back to the previous one", where there was none
    from chainrule.files import FormatError

    train(tmp_path, 2)
    files = CheckpointDir(tmp_path / "ckpt").files()
    assert len(files) == 2
    for f in files:
        f.write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning) as caught, pytest.raises(FormatError) as info:
        train(tmp_path, 3, resume=tmp_path / "ckpt")
    assert [str(w.message).split(" is unreadable")[0] for w in caught] == [f"checkpoint {files[1]}"]
    assert files[0].name in str(info.value) and files[1].name in str(info.value)


def test_resume_with_another_batch_size_is_refused(tmp_path):
    train(tmp_path, 1)
    X, y, model, opt = make_run(tmp_path)
    with pytest.raises(ValueError, match="batch_size=16"):
        fit(
            model,
            "cross_entropy",
            opt,
            X,
            y,
            epochs=2,
            batch_size=8,
            resume_from=tmp_path / "ckpt",
            progress=False,
        )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"shuffle": False}, "expected the run's shuffle=True, got shuffle=False"),
        ({"drop_last": True}, "expected the run's drop_last=False, got drop_last=True"),
        ({"n": 150}, "expected the run's 200 training examples, got 150 training examples"),
        (
            {"n": 100, "shuffle": False, "batch_size": 8},
            "expected the run's batch_size=16, 200 training examples, shuffle=True, got "
            "batch_size=8, 100 training examples, shuffle=False",
        ),
    ],
    ids=["shuffle", "drop_last", "training_set_size", "several"],
)
def test_a_resume_that_would_walk_other_batches_is_refused(tmp_path, change, says):
    # each went on silently, unlike the uninterrupted run
    def interrupt(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 10:  # mid-epoch: past a smaller set's batches
            trainer._interrupt = True  # what the SIGINT handler does

    with pytest.raises(TrainingInterrupted):
        train(tmp_path, 3, callbacks=[LambdaCallback(on_batch_end=interrupt)])
    X, y, model, opt = make_run(tmp_path)
    n = change.pop("n", len(X))
    options = {"epochs": 3, "batch_size": 16, "progress": False, **change}
    before = model.state_dict()
    with pytest.raises(ValueError, match=re.escape(says)):
        fit(model, "cross_entropy", opt, X[:n], y[:n], resume_from=tmp_path / "ckpt", **options)
    assert_unchanged(model, before)
    assert opt.state_dict()["step_count"] == 0


def test_a_fit_without_resume_after_a_refused_resume_is_a_fresh_run(tmp_path):
    # the refused resume had put the checkpoint's history, epoch and stop flag in place: the
    # next fit returned that early-stopped run's history, training nothing
    train(tmp_path, 20, callbacks=[EarlyStopping(monitor="train_loss", patience=0, min_delta=10)])
    (tmp_path / "taken.json").mkdir()
    logger = HistoryLogger(tmp_path / "taken.json")
    X, y, model, opt = make_run(tmp_path)
    stopper = EarlyStopping(monitor="train_loss", patience=100)
    trainer = Trainer(model, "cross_entropy", opt, epochs=3, batch_size=16, seed=5,
                      callbacks=[stopper, logger], progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="taken.json is a directory"):
        trainer.fit(X, y, resume_from=tmp_path / "ckpt")
    logger.path = tmp_path / "history.json"
    history = trainer.fit(X, y)
    assert history.stopped_reason == "completed" and history.column("epoch") == [1, 2, 3]
    assert json.loads(logger.path.read_text())["stopped_reason"] == "completed"
    assert stopper.best == min(history.column("train_loss"))


def test_missing_resume_source(tmp_path):
    X, y, model, opt = make_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="resume_from"):
        fit(model, "cross_entropy", opt, X, y, resume_from=tmp_path / "nope", progress=False)


KILLER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from chainrule import nn, optim
    from chainrule.train import fit
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 200)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model = nn.MLP([200, 1024, 1024, 10], seed=0)
    opt = optim.Adam(model.named_parameters(), lr=1e-4)
    fit(model, "cross_entropy", opt, X, y, epochs=10_000, batch_size=64,
        checkpoint_dir=sys.argv[1], progress=False)
    """
)


def test_sigkill_while_checkpointing_leaves_a_loadable_checkpoint(tmp_path):
    import time

    ckpt = tmp_path / "ckpt"
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(ckpt)])
    deadline = time.monotonic() + 60
    while len(CheckpointDir(ckpt).files()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.13)  # most of the time of an epoch here is spent writing the checkpoint
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    path, state = CheckpointDir(ckpt).load_latest()
    assert state["epoch"] >= 2 and state["model"]["layers.0.weight"].shape == (200, 1024)


def test_callback_state_survives_resume_whatever_the_callback_order(tmp_path):
    import io

    from chainrule.train import EarlyStopping, ProgressBar

    first = EarlyStopping(monitor="train_loss", patience=100)
    train(tmp_path, 2, callbacks=[ProgressBar(stream=io.StringIO()), first])
    again = EarlyStopping(monitor="train_loss", patience=100)
    train(
        tmp_path, 2, resume=tmp_path / "ckpt", callbacks=[ProgressBar(stream=io.StringIO()), again]
    )
    assert (again.best_epoch, again.best, again.wait) == (first.best_epoch, first.best, first.wait)
    assert again.best_epoch >= 0


def test_a_callback_of_an_earlier_run_without_a_saved_state_starts_afresh(tmp_path):
    # the checkpoint holds no state of these callbacks: ones that served a longer run kept
    # its lower best, so the stopper ended the resume at once and restored that run's
    # weights, and the checkpointer never found a better model to write
    stopper = EarlyStopping(monitor="train_loss", patience=1)
    best = ModelCheckpoint(tmp_path / "earlier", monitor="train_loss", save_last=False)
    train(tmp_path, 6, callbacks=[stopper, best], ckpt="earlier")
    train(tmp_path, 1)
    best.directory = tmp_path / "resumed"
    _, _, resumed = train(tmp_path, 3, resume=tmp_path / "ckpt", callbacks=[stopper, best])
    _, _, straight = train(tmp_path, 3, ckpt="straight")
    assert resumed.step_losses == straight.step_losses
    assert resumed.stopped_reason == "completed"
    later = [row["train_loss"] for row in resumed.epochs[1:]]
    assert stopper.best == min(later)
    assert (tmp_path / "resumed" / "best.safetensors").exists()


def test_ctrl_c_before_any_epoch_ended_saves_the_callbacks_infinite_best(tmp_path):
    from chainrule.train import EarlyStopping

    def interrupt(trainer, batch, loss):
        if trainer.epoch == 0 and batch == 4:
            os.kill(os.getpid(), signal.SIGINT)

    stopper = EarlyStopping(monitor="train_loss", patience=100)
    assert stopper.best == float("inf")  # no epoch has ended: nothing to compare with yet
    with pytest.raises(TrainingInterrupted) as info:
        train(tmp_path, 2, callbacks=[stopper, LambdaCallback(on_batch_end=interrupt)])
    assert info.value.checkpoint.exists()
    again = EarlyStopping(monitor="train_loss", patience=100)
    _, _, resumed = train(tmp_path, 2, resume=tmp_path / "ckpt", callbacks=[again])
    _, _, straight = train(tmp_path, 2, ckpt="straight")
    assert resumed.step_losses == straight.step_losses
    assert again.best == min(row["train_loss"] for row in straight.epochs)


def test_a_checkpoint_with_non_finite_values_is_never_written(tmp_path):
    from chainrule.train.checkpoint import save_checkpoint

    state = {"model": {"w": np.array([1.0, np.nan], np.float32)}, "epoch": 1}
    with pytest.raises(FloatingPointError, match=r"model\.w"):
        save_checkpoint(tmp_path / "c.safetensors", state)
    assert not list(tmp_path.iterdir())


def test_a_checkpoint_path_ending_in_a_separator_is_refused(tmp_path):
    from chainrule.train.checkpoint import save_checkpoint

    with pytest.raises(ValueError, match="^save_checkpoint: path expected a file path, got "):
        save_checkpoint(f"{tmp_path}/ckpt/", {"epoch": 1})
    assert not list(tmp_path.iterdir())


def assert_unchanged(model, before):
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name


def test_callbacks_are_matched_by_type_whatever_their_order(tmp_path):
    stopper = EarlyStopping(monitor="train_loss", patience=100)
    saver = ModelCheckpoint(tmp_path / "models", monitor="train_accuracy")
    train(tmp_path, 2, callbacks=[stopper, saver])
    stopper2 = EarlyStopping(monitor="train_loss", patience=100)
    saver2 = ModelCheckpoint(tmp_path / "models", monitor="train_accuracy")
    logger = HistoryLogger(tmp_path / "history.csv")  # no state: it may come and go
    train(tmp_path, 2, resume=tmp_path / "ckpt", callbacks=[logger, saver2, stopper2])
    assert (stopper2.best, stopper2.best_epoch, stopper2.wait) == (
        stopper.best,
        stopper.best_epoch,
        stopper.wait,
    )
    assert saver2.state_dict() == saver.state_dict()


def test_a_model_checkpoint_resumed_into_another_directory_is_refused(tmp_path):
    """It took the state and wrote over the best and last files of the other directory,
    another run's, without the check of a fresh run."""
    train(tmp_path, 1, callbacks=[ModelCheckpoint(tmp_path / "models", monitor="train_loss")])
    other = tmp_path / "other"
    other.mkdir()
    (other / "best.safetensors").write_text("another run's")
    X, y, model, opt = make_run(tmp_path)
    before = model.state_dict()
    saver = ModelCheckpoint(other, monitor="train_loss")
    with pytest.raises(ValueError) as info:
        fit(model, "cross_entropy", opt, X, y, epochs=2, batch_size=16, progress=False,
            resume_from=tmp_path / "ckpt", callbacks=[saver])  # fmt: skip
    assert f"cannot take the saved state of one that wrote into {str(tmp_path / 'models')!r}" in (
        str(info.value)
    )
    assert_unchanged(model, before)
    assert (other / "best.safetensors").read_text() == "another run's"
    # the same directory by another path, and a state of an earlier chainrule, are taken
    saved = {**ModelCheckpoint(tmp_path / "models", monitor="train_loss").state_dict(), "best": 0.5}
    earlier = {key: value for key, value in saved.items() if key != "directory"}
    for directory, state in [(tmp_path / "x" / ".." / "models", saved), (other, earlier)]:
        saver = ModelCheckpoint(directory, monitor="train_loss")
        saver.load_state_dict(state)
        assert saver.state_dict()["best"] == 0.5


def test_callbacks_with_state_of_other_types_than_saved_are_refused(tmp_path):
    train(tmp_path, 1, callbacks=[EarlyStopping(monitor="train_loss")])
    X, y, model, opt = make_run(tmp_path)
    before = model.state_dict()
    saver = ModelCheckpoint(tmp_path / "models", monitor="train_accuracy")
    with pytest.raises(ValueError) as info:
        fit(
            model,
            "cross_entropy",
            opt,
            X,
            y,
            epochs=2,
            batch_size=16,
            resume_from=tmp_path / "ckpt",
            callbacks=[saver],
            progress=False,
        )
    message = str(info.value)
    assert "saved the state of the callbacks ['EarlyStopping']" in message
    assert "this one has the callbacks ['ModelCheckpoint']" in message
    assert "none of them left to take back the state of ['EarlyStopping']" in message
    assert_unchanged(model, before)
    assert opt.state_dict()["step_count"] == 0


@pytest.mark.parametrize(("epochs", "ok"), [(1, False), (2, True)])
def test_a_resume_must_finish_the_epoch_it_stopped_in(tmp_path, epochs, ok):
    """With epochs=1 a checkpoint inside epoch 2 trained none of it and returned one
    epoch's history for a model that had trained on; epochs=5 has 3 more."""

    def interrupt(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 4:
            trainer._interrupt = True  # what the SIGINT handler does

    with pytest.raises(TrainingInterrupted):
        train(tmp_path, 3, callbacks=[LambdaCallback(on_batch_end=interrupt)])
    X, y, model, opt = make_run(tmp_path)
    before = model.state_dict()
    run = {"model": model, "loss": "cross_entropy", "optimizer": opt, "X": X, "y": y}
    options = {"batch_size": 16, "seed": 5, "progress": False, "resume_from": tmp_path / "ckpt"}
    if ok:
        assert len(fit(**run, epochs=epochs, **options).epochs) == 2
        return
    says = "epochs=1: expected at least 2, as the checkpoint is inside epoch 2 (after 5 of its"
    with pytest.raises(ValueError, match=re.escape(says)):
        fit(**run, epochs=epochs, **options)
    assert_unchanged(model, before)
    train(tmp_path, 5, ckpt="longer")
    with pytest.raises(
        ValueError,
        match=re.escape("epochs=3: expected at least 5, as the checkpoint is after epoch 5"),
    ):
        fit(**run, epochs=3, **{**options, "resume_from": tmp_path / "longer"})


def test_a_refused_resume_puts_back_a_model_that_load_state_dict_would_refuse(tmp_path):
    """Putting the model back went through load_state_dict, which refuses NaN: the
    refusal's own error was lost, the checkpoint's weights kept and the rest not put back."""
    train(tmp_path, 1)
    X, y, model, _ = make_run(tmp_path)
    model.layers[0].weight.data[0, 0] = np.nan  # say, left over from a diverged run
    before = model.state_dict()
    opt = optim.SGD(model.named_parameters(), lr=0.1)  # the checkpoint's is an Adam's
    with pytest.raises(ValueError, match="expected a SGD checkpoint, got 'Adam'") as info:
        fit(model, "cross_entropy", opt, X, y, epochs=2, batch_size=16, progress=False,
            resume_from=tmp_path / "ckpt")  # fmt: skip
    assert info.value.__context__ is None
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_callbacks_of_one_type_in_another_order_are_refused(tmp_path):
    def stoppers():
        return [
            EarlyStopping(monitor="train_loss", patience=50),
            EarlyStopping(monitor="train_accuracy", patience=50),
        ]

    train(tmp_path, 2, callbacks=stoppers())
    X, y, model, opt = make_run(tmp_path)
    before = model.state_dict()
    by_loss, by_accuracy = stoppers()
    with pytest.raises(ValueError, match="monitor='train_accuracy', mode='max'.* cannot take"):
        fit(
            model,
            "cross_entropy",
            opt,
            X,
            y,
            epochs=3,
            batch_size=16,
            resume_from=tmp_path / "ckpt",
            callbacks=[by_accuracy, by_loss],
            progress=False,
        )
    assert_unchanged(model, before)  # all or nothing
    assert by_loss.best == float("inf") and by_accuracy.best == -float("inf")


def test_a_callback_whose_state_starts_empty_takes_its_state_back(tmp_path):
    class Seen(Callback):
        """Remembers every epoch's train loss: its state is {} until an epoch ends."""

        def __init__(self):
            self.seen = {}

        def on_epoch_end(self, trainer, epoch, logs):
            self.seen[str(epoch)] = logs["train_loss"]

        def state_dict(self):
            return dict(self.seen)

        def load_state_dict(self, state):
            self.seen = dict(state)

    first, straight = Seen(), Seen()
    train(tmp_path, 2, callbacks=[first])
    resumed = Seen()
    train(tmp_path, 4, resume=tmp_path / "ckpt", callbacks=[resumed])
    train(tmp_path, 4, ckpt="straight", callbacks=[straight])
    assert resumed.seen == straight.seen and sorted(resumed.seen) == ["0", "1", "2", "3"]


def test_a_resumed_run_that_finishes_reports_completed(tmp_path):
    def interrupt(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 4:
            trainer._interrupt = True  # what the SIGINT handler does

    with pytest.raises(TrainingInterrupted):
        train(tmp_path, 3, callbacks=[LambdaCallback(on_batch_end=interrupt)])
    _, _, history = train(tmp_path, 3, resume=tmp_path / "ckpt")
    assert len(history.epochs) == 3 and history.stopped_reason == "completed"


def test_an_early_stopped_run_stays_stopped_on_resume(tmp_path):
    stopper = EarlyStopping(monitor="train_loss", patience=0, min_delta=10.0)
    model, _, history = train(tmp_path, 20, callbacks=[stopper])
    assert history.stopped_reason == "early_stopping" and len(history.epochs) == 2
    again = EarlyStopping(monitor="train_loss", patience=0, min_delta=10.0)
    resumed_model, opt, resumed = train(tmp_path, 20, resume=tmp_path / "ckpt", callbacks=[again])
    assert resumed.stopped_reason == "early_stopping"
    assert again.stopped_epoch == stopper.stopped_epoch == 1
    assert resumed.epochs == history.epochs and resumed.step_losses == history.step_losses
    assert_unchanged(resumed_model, model.state_dict())  # the best epoch's weights, restored
    assert len(CheckpointDir(tmp_path / "ckpt").files()) == 2  # nothing new written


def test_a_history_logger_writes_the_history_of_a_resume_that_stays_stopped(tmp_path):
    # no epoch ends: the logger wrote nothing, or left an earlier run's file as it was
    stopper = EarlyStopping(monitor="train_loss", patience=0, min_delta=10.0)
    _, _, history = train(tmp_path, 20, callbacks=[stopper])
    path = tmp_path / "history.json"
    # the run's own file as an earlier write left it
    path.write_text(json_text({**history.to_dict(), "stopped_reason": "interrupted"}))
    again = EarlyStopping(monitor="train_loss", patience=0, min_delta=10.0)
    train(tmp_path, 20, resume=tmp_path / "ckpt", callbacks=[again, HistoryLogger(path)])
    saved = json.loads(path.read_text())
    assert saved["stopped_reason"] == "early_stopping"
    assert len(saved["epochs"]) == len(history.epochs) == 2


@pytest.mark.parametrize("name", ["history.csv", "history.json"])
def test_a_fresh_run_does_not_replace_another_runs_history(tmp_path, name):
    # it was replaced without a word, unlike ModelCheckpoint's files
    path = tmp_path / name
    path.write_text("a user's history")
    steps = []
    step = LambdaCallback(on_batch_end=lambda trainer, batch, loss: steps.append(batch))
    with pytest.raises(ValueError, match=f"^HistoryLogger: {re.escape(str(path))} holds the "):
        train(tmp_path, 2, callbacks=[HistoryLogger(path), step])
    assert steps == [] and path.read_text() == "a user's history"


@pytest.mark.parametrize("name", ["history.csv", "history.json"])
def test_a_resumed_run_writes_on_only_in_the_file_of_its_own_history(tmp_path, name):
    # a resume replaced any file, another run's included
    path, other = tmp_path / name, tmp_path / f"other-{name}"
    train(tmp_path, 2, callbacks=[HistoryLogger(path)])
    train(tmp_path, 1, callbacks=[HistoryLogger(other)], ckpt="other")
    saved = other.read_text()
    with pytest.raises(ValueError, match=f"^HistoryLogger: {re.escape(str(other))} holds the "):
        train(tmp_path, 3, resume=tmp_path / "ckpt", callbacks=[HistoryLogger(other)])
    assert other.read_text() == saved
    _, _, history = train(tmp_path, 3, resume=tmp_path / "ckpt", callbacks=[HistoryLogger(path)])
    assert len(history.epochs) == 3
    if name.endswith(".json"):
        assert json.loads(path.read_text()) == json.loads(json_text(history.to_dict()))
    else:
        assert len(path.read_text().splitlines()) == 4


@pytest.mark.parametrize("name", ["history.csv", "history.json"])
def test_a_resume_without_a_finished_epoch_does_not_replace_another_runs_history(tmp_path, name):
    # a checkpoint of the first epoch has no rows to tell its file by: any file with the
    # run's header (.csv) or any JSON object (.json) passed as its own, and was replaced
    def interrupt(trainer, batch, loss):
        if batch == 2:
            trainer._interrupt = True  # what the SIGINT handler does

    path, other = tmp_path / name, tmp_path / f"other-{name}"
    train(tmp_path, 2, callbacks=[HistoryLogger(other)], ckpt="other")
    saved = other.read_text()
    with pytest.raises(TrainingInterrupted):
        train(tmp_path, 2, callbacks=[HistoryLogger(path), LambdaCallback(on_batch_end=interrupt)])
    with pytest.raises(ValueError, match=f"^HistoryLogger: {re.escape(str(other))} holds the "):
        train(tmp_path, 2, resume=tmp_path / "ckpt", callbacks=[HistoryLogger(other)])
    assert other.read_text() == saved
    # the file the interrupted run wrote, without epochs, is the run's own
    _, _, history = train(tmp_path, 2, resume=tmp_path / "ckpt", callbacks=[HistoryLogger(path)])
    assert len(history.epochs) == 2
    if name.endswith(".json"):
        assert json.loads(path.read_text()) == json.loads(json_text(history.to_dict()))
    else:
        assert path.read_text() == history.to_csv(["epoch", "lr", "train_loss", "train_accuracy"])


def test_a_csv_history_without_a_finished_epoch_has_the_header_of_the_log_keys(tmp_path):
    # it held "\n", no header
    def interrupt(trainer, batch, loss):
        if batch == 2:
            trainer._interrupt = True  # what the SIGINT handler does

    path = tmp_path / "history.csv"
    with pytest.raises(TrainingInterrupted):
        train(tmp_path, 2, callbacks=[HistoryLogger(path), LambdaCallback(on_batch_end=interrupt)])
    assert path.read_text() == "epoch,lr,train_loss,train_accuracy,time\n"


def test_a_new_run_refuses_a_checkpoint_dir_holding_another_runs_checkpoints(tmp_path):
    train(tmp_path, 3)
    files = CheckpointDir(tmp_path / "ckpt").files()
    contents = [f.read_bytes() for f in files]
    X, y, model, opt = make_run(tmp_path)
    before = model.state_dict()
    expected = (
        f"checkpoint_dir {tmp_path / 'ckpt'} holds another run's checkpoints "
        "(checkpoint-00000001.safetensors .. checkpoint-00000002.safetensors), which this "
        f"run's would replace; pass resume_from={str(tmp_path / 'ckpt')!r} to continue that "
        "run, or choose an empty directory"
    )
    options = {"epochs": 2, "batch_size": 16, "progress": False}
    with pytest.raises(ValueError) as info:
        fit(model, "cross_entropy", opt, X, y, checkpoint_dir=tmp_path / "ckpt", **options)
    assert str(info.value) == expected
    # nor may a run resumed from elsewhere write into it
    train(tmp_path, 1, ckpt="other")
    with pytest.raises(ValueError, match="holds another run's checkpoints"):
        fit(
            model,
            "cross_entropy",
            opt,
            X,
            y,
            checkpoint_dir=tmp_path / "ckpt",
            resume_from=tmp_path / "other",
            **options,
        )
    assert CheckpointDir(tmp_path / "ckpt").files() == files
    assert [f.read_bytes() for f in files] == contents
    assert_unchanged(model, before)


def _tamper(state, field, value):
    *path, key = field.split(".")
    for part in path:
        state = state[int(part) if part.isdigit() else part]
    if value is _DROP:
        del state[key]
    else:
        state[key] = value


_DROP = object()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("epoch", "abc", "epoch expected an int, got 'abc'"),
        ("epoch", 10**6, "epoch expected the 1 epochs of its history, got 1000000"),
        ("position", _DROP, "position expected a dict, got 'nothing'"),
        ("position.batch", 999, r"position 'batch' expected a batch in \[0, 13\], got 999"),
        ("position.shuffler", {}, "position 'shuffler' expected a PCG64 state"),
        ("position.shuffler.uinteger", -1, "position 'shuffler' expected a PCG64 state"),
        ("position.batch", 2, r"position 'lr' expected a number \(the epoch's rate\) after"),
        ("position.pred", [np.zeros(3)], "position 'pred' and 'true' expected arrays of 0 pred"),
        ("position.true", [5], r"position 'pred' and 'true' expected .*got \"\[\] and \['int'\]\""),
        ("history.epochs", 5, "history expected a training history"),
        ("callback_types", ["EarlyStopping", "X"], "callback_types expected 0 type names"),
        ("version", 1, "a chainrule.checkpoint file of version 3, got '.*' version 1"),
        ("version", 3.0, "a chainrule.checkpoint file of version 3, got '.*' version 3.0"),
        ("position.batch", -1, "position 'batch' expected a number >= 0, got -1"),
        ("position.examples", -16, "position 'examples' expected a number >= 0, got -16"),
        ("position.elapsed", -0.5, "position 'elapsed' expected a number >= 0, got -0.5"),
        ("generators", {"x": {}}, r"generators \['x'\] but the model has \['layers.2.rng'\]"),
    ],
)
def test_a_malformed_checkpoint_is_refused_before_anything_is_loaded(tmp_path, field, value, says):
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    train(tmp_path, 1)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    _tamper(state, field, value)
    save_checkpoint(tmp_path / "bad.safetensors", state)
    X, y, model, opt = make_run(tmp_path)
    before, opt_before = model.state_dict(), opt.state_dict()
    with pytest.raises(ValueError, match=says):
        fit(model, "cross_entropy", opt, X, y, epochs=2, batch_size=16, progress=False,
            resume_from=tmp_path / "bad.safetensors")  # fmt: skip
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name  # the model was overwritten first
    assert opt.state_dict()["step_count"] == opt_before["step_count"]


def _refused_resume(tmp_path, state, says, callbacks=()):
    """Resume from ``state`` saved as a file: refused with ``says``, nothing loaded."""
    from chainrule.train.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "bad.safetensors", state)
    X, y, model, opt = make_run(tmp_path)
    before, opt_before = model.state_dict(), opt.state_dict()
    with pytest.raises(ValueError, match=says):
        fit(model, "cross_entropy", opt, X, y, epochs=3, batch_size=16, progress=False,
            callbacks=callbacks, resume_from=tmp_path / "bad.safetensors")  # fmt: skip
    assert_unchanged(model, before)
    assert opt.state_dict()["step_count"] == opt_before["step_count"]
    return [cb.state_dict() for cb in callbacks]


def _stopper_and_saver(tmp_path):
    return [
        EarlyStopping(monitor="train_loss", patience=100),
        ModelCheckpoint(tmp_path / "models", monitor="train_accuracy"),
    ]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("n_train", _DROP, "n_train expected an int, got 'nothing'"),
        ("shuffle", _DROP, "shuffle expected a bool, got 'nothing'"),
        ("drop_last", _DROP, "drop_last expected a bool, got 'nothing'"),
        ("callback_types", _DROP, "callback_types expected a list, got 'nothing'"),
        ("stop_training", _DROP, "stop_training expected a bool, got 'nothing'"),
        ("n_train", True, "n_train expected an int, got True"),
        ("shuffle", 1, "shuffle expected a bool, got 1"),
        ("stop_training", "no", "stop_training expected a bool, got 'no'"),
        ("position.lr", _DROP, r"position expected the keys \[.*\], got one without \['lr'\]"),
        (
            "callbacks.0.monitor",
            _DROP,
            r"callback EarlyStopping cannot take the saved state \(ValueError: EarlyStopping: "
            r"expected a saved state with the keys \['monitor', 'mode', 'best', 'best_epoch'\], "
            r"got one without \['monitor'\]\)",
        ),
        ("callbacks.0.mode", _DROP, r"EarlyStopping: expected a saved state .* without \['mode'\]"),
        (
            "callbacks.0.stopped_epoch",
            _DROP,
            r"EarlyStopping: expected a saved state with the keys \['wait', 'best_weights', "
            r"'stopped_epoch'\], got one without \['stopped_epoch'\]",
        ),
        (
            "callbacks.1.monitor",
            _DROP,
            r"callback ModelCheckpoint cannot take .*ModelCheckpoint: expected a saved state "
            r".* without \['monitor'\]",
        ),
        (
            "callbacks.1.mode",
            _DROP,
            r"ModelCheckpoint: expected a saved state .* without \['mode'\]",
        ),
    ],
)
def test_a_checkpoint_without_a_key_of_format_3_is_refused_before_anything_is_loaded(
    tmp_path, field, value, says
):
    # version 2 took a state without them: the batch settings went unchecked, the callbacks
    # were matched by position, a stop was guessed from the history, a monitor taken as is
    from chainrule.train.checkpoint import load_checkpoint

    first = _stopper_and_saver(tmp_path)
    train(tmp_path, 1, callbacks=first)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    _tamper(state, field, value)
    again = _stopper_and_saver(tmp_path)
    fresh = [cb.state_dict() for cb in again]
    assert _refused_resume(tmp_path, state, says, again) == fresh


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("callbacks.0.wait", "3", "EarlyStopping: saved wait expected an integer >= 0, got str"),
        ("callbacks.0.wait", 2.5, "EarlyStopping: saved wait expected an integer >= 0, got float"),
        ("callbacks.0.stopped_epoch", -2, "saved stopped_epoch expected an integer >= 0 or None"),
        ("callbacks.0.best", "low", "EarlyStopping: saved best expected a real number"),
        ("callbacks.0.best_epoch", True, "saved best_epoch expected an integer >= -1, got bool"),
        ("callbacks.0.best_weights", [1], "saved best_weights expected None or a dict of arrays"),
        ("callbacks.1.best_epoch", 0.5, "ModelCheckpoint: saved best_epoch expected an integer"),
        ("position.sq_norms", {"layers.0.weight": "1"}, "position 'sq_norms' expected squared"),
        ("position.sq_norms", {"w": 1.0}, r"got \{'w': 1.0\}; not a checkpoint fit can resume"),
    ],
)
def test_a_damaged_field_is_refused_before_anything_is_loaded(tmp_path, field, value, says):
    """They were taken as they were (a float wait, a str best_epoch cast to int) or failed
    mid-run with a bare TypeError."""
    from chainrule.train.checkpoint import load_checkpoint

    train(tmp_path, 1, callbacks=_stopper_and_saver(tmp_path))
    state = load_checkpoint(CheckpointDir(tmp_path / "ckpt").files()[-1])
    _tamper(state, field, value)
    again = _stopper_and_saver(tmp_path)
    fresh = [cb.state_dict() for cb in again]
    assert _refused_resume(tmp_path, state, says, again) == fresh


def test_early_stopping_best_weights_of_another_model_are_refused_before_a_step(tmp_path):
    """They were loaded into the model when the run ended, after its training."""
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    train(tmp_path, 1, callbacks=[EarlyStopping(monitor="train_loss", patience=100)])
    path = CheckpointDir(tmp_path / "ckpt").files()[-1]
    state = load_checkpoint(path)
    del state["format"], state["version"]
    weights = state["callbacks"][0]["best_weights"]
    weights["layers.0.weight"] = weights["layers.0.weight"][:, :1]
    save_checkpoint(path, state)
    steps = []
    with pytest.raises(ValueError, match=r"saved best_weights expected the model's state \{"):
        train(tmp_path, 3, resume=tmp_path / "ckpt", callbacks=[
            EarlyStopping(monitor="train_loss", patience=100),
            LambdaCallback(on_batch_end=lambda trainer, batch, loss: steps.append(batch)),
        ])  # fmt: skip
    assert steps == []


def test_best_weights_of_another_model_leave_the_model_and_optimizer_as_they_were(tmp_path):
    """The refusal came from on_train_begin, after the resume had loaded the checkpoint's
    weights and optimizer state: the user's model and optimizer were left holding them."""
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    train(tmp_path, 1, callbacks=[EarlyStopping(monitor="train_loss", patience=100)])
    path = CheckpointDir(tmp_path / "ckpt").files()[-1]
    state = load_checkpoint(path)
    del state["format"], state["version"]
    wider = nn.MLP([2, 24, 2], activation="relu", dropout=0.8, seed=3)
    state["callbacks"][0]["best_weights"] = wider.state_dict()
    save_checkpoint(path, state)
    X, y, model, opt = make_run(tmp_path)
    fit(model, "cross_entropy", opt, X, y, epochs=1, batch_size=16, seed=9, progress=False)
    before, opt_before = model.state_dict(), opt.state_dict()
    stopper = EarlyStopping(monitor="train_loss", patience=100)
    says = (
        rf"^resume_from {re.escape(str(tmp_path / 'ckpt'))}: EarlyStopping: saved best_weights "
        r"expected the model's state \{'layers.0.weight': \(\(2, 16\), 'float32'\).*got "
        r"\{'layers.0.weight': \(\(2, 24\), 'float32'\)"
    )
    with pytest.raises(ValueError, match=says):
        fit(model, "cross_entropy", opt, X, y, epochs=3, batch_size=16, seed=5, progress=False,
            callbacks=[stopper], resume_from=tmp_path / "ckpt")  # fmt: skip
    assert_unchanged(model, before)
    opt_after = opt.state_dict()
    assert opt_after["step_count"] == opt_before["step_count"] > 0
    for saved, now in zip(opt_before["params"], opt_after["params"], strict=True):
        assert saved["t"] == now["t"]
        for name, value in saved["state"].items():
            assert np.array_equal(now["state"][name], value), (saved["name"], name)
    assert stopper.best_weights is None and stopper.wait == 0


def test_a_resume_any_callback_refuses_at_train_begin_is_taken_out_again(tmp_path):
    """A callback's on_train_begin runs after the resume loaded the checkpoint: its refusal
    left the model and optimizer holding the checkpoint's state, the trainer its history."""
    train(tmp_path, 1)
    X, y, model, opt = make_run(tmp_path)
    before, steps = model.state_dict(), opt.state_dict()["step_count"]

    def refuse(trainer):
        raise RuntimeError("not today")

    refusing = LambdaCallback(on_train_begin=refuse)
    trainer = Trainer(model, "cross_entropy", opt, epochs=3, batch_size=16, seed=5,
                      progress=False, callbacks=[refusing])  # fmt: skip
    with pytest.raises(RuntimeError, match="^not today$"):
        trainer.fit(X, y, resume_from=tmp_path / "ckpt")
    assert_unchanged(model, before)
    assert opt.state_dict()["step_count"] == steps == 0
    assert trainer.history.epochs == [] and trainer.epoch == 0
    assert trainer.restored_callbacks == () and not trainer.stop_training
    assert trainer.resumed is False  # it said True: the refused run had not resumed


def test_a_checkpoint_of_version_2_is_refused_naming_version_3(tmp_path):
    from chainrule.files import FormatError, write_tree
    from chainrule.train.checkpoint import load_checkpoint

    train(tmp_path, 1)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    write_tree(path, {**load_checkpoint(path), "version": 2})
    says = "expected a chainrule.checkpoint file of version 3, got 'chainrule.checkpoint' version 2"
    with pytest.raises(FormatError, match=re.escape(says)):
        load_checkpoint(path)
    X, y, model, opt = make_run(tmp_path)
    with pytest.raises(FormatError, match=re.escape(says)):
        fit(model, "cross_entropy", opt, X, y, epochs=2, batch_size=16, progress=False,
            resume_from=path)  # fmt: skip


@pytest.mark.parametrize("key", ["monitor", "mode", "best", "best_epoch", "wait", "stopped_epoch"])
def test_early_stopping_refuses_a_saved_state_without_a_key_and_changes_nothing(key):
    saved = EarlyStopping(monitor="train_loss", patience=3).state_dict()
    del saved[key]
    stopper = EarlyStopping(monitor="train_loss", patience=3)
    stopper.wait, stopper.stopped_epoch = 2, 7
    before = stopper.state_dict()
    with pytest.raises(ValueError, match=rf"^EarlyStopping: expected .* without \['{key}'\]$"):
        stopper.load_state_dict(saved)
    assert stopper.state_dict() == before


def test_model_checkpoint_refuses_a_saved_state_that_is_no_dict(tmp_path):
    saver = ModelCheckpoint(tmp_path, monitor="train_loss")
    with pytest.raises(ValueError, match=r"^ModelCheckpoint: expected a saved state \(a dict\)"):
        saver.load_state_dict(None)


def test_a_generator_state_that_cannot_be_loaded_is_refused_and_undone(tmp_path):
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    train(tmp_path, 1)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    state["generators"] = {name: None for name in state["generators"]}
    save_checkpoint(tmp_path / "bad.safetensors", state)
    X, y, model, opt = make_run(tmp_path)
    before = model.state_dict()
    trainer = Trainer(model, "cross_entropy", opt, epochs=2, batch_size=16, progress=False)
    assert trainer.resumed is False and trainer.restored_callbacks == ()
    with pytest.raises(ValueError, match=r"generator '.*' cannot take the saved state"):
        trainer.fit(X, y, resume_from=tmp_path / "bad.safetensors")
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name
    assert trainer.resumed is False  # restore() refused after resumed was set: it said True


def test_a_run_of_more_steps_than_a_header_holds_numbers_saves_and_resumes(tmp_path):
    """The step losses were a list of the file's JSON header, which holds at most
    MAX_MARKS commas: a run of more than about two million steps could not be saved."""
    from chainrule.files.safetensors import MAX_MARKS
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    train(tmp_path, 1)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    del state["format"], state["version"]
    many = np.linspace(0.1, 2.0, MAX_MARKS + 10)
    state["history"]["step_losses"] = many
    save_checkpoint(path, state)
    _, _, resumed = train(tmp_path, 2, resume=tmp_path / "ckpt")  # it saves epoch 2's
    steps = len(many) + 13  # 13 batches of 16 in 200 examples
    assert len(resumed.step_losses) == steps and resumed.step_losses[: len(many)] == many.tolist()
    saved = load_checkpoint(CheckpointDir(tmp_path / "ckpt").files()[-1])
    assert saved["epoch"] == 2
    assert np.array_equal(saved["history"]["step_losses"], resumed.step_losses)


def test_a_checkpoint_with_its_step_losses_as_a_list_resumes(tmp_path):
    """As files written before the array replaced the list hold them."""
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    _, _, straight = train(tmp_path, 2, ckpt="straight")
    _, _, first = train(tmp_path, 1)
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    del state["format"], state["version"]
    assert isinstance(state["history"]["step_losses"], np.ndarray)
    state["history"]["step_losses"] = first.step_losses
    save_checkpoint(path, state)
    _, _, resumed = train(tmp_path, 2, resume=tmp_path / "ckpt")
    assert resumed.step_losses == straight.step_losses


def test_a_checkpoint_of_a_custom_loss_below_zero_resumes(tmp_path):
    from chainrule import losses
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    def shifted(out, y):  # a custom loss below zero
        return losses.cross_entropy(out, y) - 10.0

    X, y, model, opt = make_run(tmp_path)
    fit(model, shifted, opt, X, y, epochs=1, batch_size=16, seed=5,
        checkpoint_dir=tmp_path / "ckpt", progress=False)  # fmt: skip
    (path,) = CheckpointDir(tmp_path / "ckpt").files()
    state = load_checkpoint(path)
    # as an interrupt two batches into the next epoch would have saved it
    labels = [np.zeros(32, np.int64)]  # the predictions and labels of those batches
    state["position"].update(
        batch=2, examples=32, loss_sum=-300.0, lr=0.01, pred=labels, true=labels
    )
    save_checkpoint(tmp_path / "mid.safetensors", state)
    X, y, model, opt = make_run(tmp_path)
    history = fit(model, shifted, opt, X, y, epochs=2, batch_size=16, seed=5,
                  resume_from=tmp_path / "mid.safetensors", progress=False)  # fmt: skip
    assert len(history.epochs) == 2 and history.epochs[1]["train_loss"] < 0


def _without_time(history):
    return [{k: v for k, v in row.items() if k != "time"} for row in history.epochs]


def test_a_ctrl_c_after_a_callback_stopped_the_run_mid_epoch_resumes_to_the_epochs_end(tmp_path):
    # stop_training is honoured at an epoch's end: the straight run finishes epoch 2. The
    # mid-epoch checkpoint recorded the stop (and the reason as "interrupted"), so the
    # resume stopped at once, epoch 2 unfinished, saying the run was interrupted
    def stop(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 3:
            trainer.stop_training = True
            trainer.history.stopped_reason = "early_stopping"  # as EarlyStopping says it

    def stop_then_interrupt(trainer, batch, loss):
        stop(trainer, batch, loss)
        if trainer.epoch == 1 and batch == 5:
            trainer._interrupt = True  # what the SIGINT handler does

    straight_model, _, straight = train(
        tmp_path, 4, callbacks=[LambdaCallback(on_batch_end=stop)], ckpt="straight"
    )
    assert straight.column("epoch") == [1, 2] and straight.stopped_reason == "early_stopping"
    with pytest.raises(TrainingInterrupted, match="epoch 2, after batch 6") as info:
        train(tmp_path, 4, callbacks=[LambdaCallback(on_batch_end=stop_then_interrupt)])
    assert info.value.history.stopped_reason == "interrupted"
    model, _, resumed = train(
        tmp_path, 4, resume=tmp_path / "ckpt", callbacks=[LambdaCallback(on_batch_end=stop)]
    )
    assert _without_time(resumed) == _without_time(straight)
    assert resumed.step_losses == straight.step_losses
    assert resumed.stopped_reason == "early_stopping"
    assert_unchanged(model, straight_model.state_dict())


def _interrupt_at(hook):
    """A callback that interrupts the second epoch: after its fifth batch, or at its end."""

    def mid_epoch(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 4:
            trainer._interrupt = True  # what the SIGINT handler does

    def at_its_end(trainer, epoch, logs):
        if epoch == 1:
            trainer._interrupt = True

    if hook == "on_batch_end":
        return LambdaCallback(on_batch_end=mid_epoch)
    return LambdaCallback(on_epoch_end=at_its_end)


@pytest.mark.parametrize("hook", ["on_batch_end", "on_epoch_end"])
def test_a_history_logger_says_a_run_was_interrupted(tmp_path, monkeypatch, hook):
    # the file kept the last finished epoch's history, with stopped_reason "completed"
    from chainrule.train import callbacks

    saved = []
    real_save = callbacks.save
    monkeypatch.setattr(
        callbacks,
        "save",
        lambda model, path, **kw: saved.append(path.name) or real_save(model, path, **kw),
    )
    path = tmp_path / "history.json"
    saver = ModelCheckpoint(tmp_path / "models", monitor="train_loss")
    with pytest.raises(TrainingInterrupted) as info:
        train(tmp_path, 3, callbacks=[HistoryLogger(path), saver, _interrupt_at(hook)])
    assert info.value.history.stopped_reason == "interrupted"
    assert json.loads(path.read_text()) == json.loads(json_text(info.value.history.to_dict()))
    # the interrupt is no end of training for the ModelCheckpoint: it saved at the
    # finished epochs' ends only
    assert (
        saved.count("last.safetensors")
        == len(info.value.history.epochs)
        == (1 if hook == "on_batch_end" else 2)
    )


class _Clock:
    """The progress bar's clock in a test: ``step`` seconds pass between two reads."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def perf_counter(self):
        self.now += self.step
        return self.now


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _use_clock(monkeypatch, step):
    from chainrule.train import callbacks as callbacks_mod

    clock = _Clock(step)
    monkeypatch.setattr(callbacks_mod, "time", clock)
    return clock


def test_a_live_progress_bar_ends_its_line_on_a_ctrl_c(tmp_path, monkeypatch):
    # the live line was left open, so the interrupt's message went onto its end; it
    # showed the last step drawn (the bar draws at most every 0.1 s), not the last taken
    clock = _use_clock(monkeypatch, 1.0)  # every step is drawn...

    def interrupt(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 4:
            clock.step = 0.0  # ...but the one the Ctrl-C comes after
            trainer._interrupt = True  # what the SIGINT handler does

    stream = _Terminal()
    bar = ProgressBar(stream=stream)
    with pytest.raises(TrainingInterrupted, match="epoch 2, after batch 5"):
        train(tmp_path, 3, callbacks=[LambdaCallback(on_batch_end=interrupt), bar])
    out = stream.getvalue()
    assert out.endswith("\n") and out.count("\n") == 2  # epoch 1's summary, the live line
    shown = out.split("\n")[1].rsplit("\r", 1)[1]
    assert shown.startswith("epoch 2/3 [#########...............] 5/13 ")


@pytest.mark.parametrize("hook", ["on_batch_end", "on_epoch_end"])
@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "log"])
def test_a_progress_bar_without_an_open_line_adds_none_on_a_ctrl_c(
    tmp_path, monkeypatch, hook, terminal
):
    # a log gets summary lines only; a terminal's epoch 2 had drawn nothing yet (mid-epoch)
    # or was summed up (at its end): each shows the finished epochs' summaries, no more
    _use_clock(monkeypatch, 0.0)  # no step is drawn but an epoch's last
    stream = _Terminal() if terminal else io.StringIO()
    with pytest.raises(TrainingInterrupted):
        train(tmp_path, 3, callbacks=[ProgressBar(stream=stream), _interrupt_at(hook)])
    *lines, after = stream.getvalue().split("\n")
    shown = [line.rsplit("\r", 1)[-1] for line in lines]
    finished = 1 if hook == "on_batch_end" else 2
    assert after == "" and [line.split()[:2] for line in shown] == [
        ["epoch", f"{e}/3"] for e in range(1, finished + 1)
    ]
    assert all(" train_loss " in line for line in shown)
    assert ("\r" in stream.getvalue()) == terminal


def test_the_interrupt_hook_is_called_once_after_the_checkpoint_is_saved(tmp_path):
    calls = []
    seen = LambdaCallback(
        on_interrupt=lambda t: calls.append(
            (t.history.stopped_reason, len(CheckpointDir(tmp_path / "ckpt").files()))
        ),
        on_train_end=lambda t: calls.append("end"),
    )

    class Plain(Callback):  # defines no interrupt hook: the base one does nothing
        pass

    with pytest.raises(TrainingInterrupted) as info:
        train(tmp_path, 3, callbacks=[Plain(), seen, _interrupt_at("on_batch_end")])
    assert calls == [("interrupted", 2)]  # the epoch-1 checkpoint and the interrupt's
    assert info.value.checkpoint == CheckpointDir(tmp_path / "ckpt").files()[-1]


def _count_writes(monkeypatch):
    from chainrule.train import callbacks as callbacks_mod

    writes = []
    real = callbacks_mod.atomic_write

    def counting(path, data):
        writes.append((path, json.loads(data)["stopped_reason"]))
        return real(path, data)

    monkeypatch.setattr(callbacks_mod, "atomic_write", counting)
    return writes


def test_a_history_logger_writes_each_epoch_once_and_not_again_at_the_end(tmp_path, monkeypatch):
    # the last epoch's history was written twice, the second time unchanged
    writes = _count_writes(monkeypatch)
    path = tmp_path / "history.json"
    _, _, history = train(tmp_path, 3, callbacks=[HistoryLogger(path)])
    assert writes == [(path, "completed")] * 3
    assert json.loads(path.read_text()) == json.loads(json_text(history.to_dict()))


def test_a_history_logger_writes_at_the_end_when_the_reason_changed_after_it(tmp_path, monkeypatch):
    writes = _count_writes(monkeypatch)
    path = tmp_path / "history.json"
    stopper = EarlyStopping(monitor="train_loss", patience=0, min_delta=10.0)
    _, _, history = train(tmp_path, 20, callbacks=[HistoryLogger(path), stopper])
    assert history.stopped_reason == "early_stopping" and len(history.epochs) == 2
    assert writes == [(path, "completed"), (path, "completed"), (path, "early_stopping")]
    assert json.loads(path.read_text()) == json.loads(json_text(history.to_dict()))


def test_a_live_line_covers_a_longer_one_it_replaces(monkeypatch):
    # a redraw shorter than the line before it left that line's last characters on
    # screen (loss 10.0000 -> 9.0000 showed "9.00000"), and the summary line covered 8 only
    _use_clock(monkeypatch, 1.0)  # every step is drawn
    trainer = types.SimpleNamespace(epoch=0, epochs=1, batches_per_epoch=3, running_loss=0.0)
    stream = _Terminal()
    bar = ProgressBar(stream=stream)
    bar.on_epoch_begin(trainer, 0)
    for batch, loss in enumerate([123456.0, 10.0, 9.0]):
        trainer.running_loss = loss
        bar.on_batch_end(trainer, batch, loss)
    assert rendered(stream.getvalue())[-1].endswith("loss 9.0000")
    bar.on_epoch_end(trainer, 0, {"epoch": 1, "time": 3.0, "lr": 0.1, "train_loss": 9.0})
    assert rendered(stream.getvalue()) == ["epoch 1/1 3.0s lr 0.1 train_loss 9.0000", ""]


def test_an_interrupt_hook_that_raises_leaves_the_interrupt_and_the_later_hooks(tmp_path):
    # the hook's error replaced TrainingInterrupted (the CLI's resume hint was lost), and
    # the hooks after it did not run
    calls = []

    def broken(trainer):
        calls.append("broken")
        raise OSError("disk full")

    later = LambdaCallback(on_interrupt=lambda t: calls.append("later"))
    with pytest.raises(TrainingInterrupted) as info:
        train(
            tmp_path,
            3,
            callbacks=[LambdaCallback(on_interrupt=broken), later, _interrupt_at("on_batch_end")],
        )
    assert calls == ["broken", "later"]
    assert isinstance(info.value.__cause__, OSError) and "disk full" in str(info.value.__cause__)
    assert info.value.checkpoint == CheckpointDir(tmp_path / "ckpt").files()[-1]


def test_a_progress_bar_used_again_starts_its_first_line_afresh(monkeypatch):
    # a run that died mid-epoch (an error, not a Ctrl-C) left the bar's line open, and the
    # next run's first line was padded to that line's width
    _use_clock(monkeypatch, 1.0)
    trainer = types.SimpleNamespace(epoch=0, epochs=1, batches_per_epoch=3, running_loss=123456.0)
    bar = ProgressBar(stream=_Terminal())
    bar.on_train_begin(trainer)
    bar.on_epoch_begin(trainer, 0)
    bar.on_batch_end(trainer, 0, 1.0)  # then the run dies
    bar.stream = stream = _Terminal()
    trainer.running_loss = 1.0
    bar.on_train_begin(trainer)
    bar.on_epoch_begin(trainer, 0)
    bar.on_batch_end(trainer, 0, 1.0)
    assert stream.getvalue() == stream.getvalue().rstrip()


@pytest.mark.parametrize("bit_generator", [np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_a_dropout_generator_of_any_bit_generator_resumes_bit_identically(tmp_path, bit_generator):
    # Their states hold uint32 / uint64 arrays, which a file's tensors cannot: the first
    # checkpoint was refused after an epoch had run.
    from chainrule.data import make_moons

    X, y = make_moons(120, noise=0.2, seed=1)

    def run(epochs, seed, ckpt, resume=None):
        dropout = nn.Dropout(0.5, rng=np.random.Generator(bit_generator(seed)))
        model = nn.Sequential(nn.Linear(2, 16, rng=0), nn.ReLU(), dropout, nn.Linear(16, 2, rng=1))
        opt = optim.SGD(model.named_parameters(), lr=0.1)
        fit(model, "cross_entropy", opt, X, y.astype(np.int64), epochs=epochs, batch_size=16,
            seed=5, checkpoint_dir=tmp_path / ckpt, resume_from=resume, progress=False)  # fmt: skip
        return model, dropout

    straight, straight_dropout = run(4, 0, "straight")
    run(2, 0, "ckpt")
    resumed, resumed_dropout = run(4, 99, "ckpt", resume=tmp_path / "ckpt")  # another seed
    for name, value in straight.state_dict().items():
        assert np.array_equal(value, resumed.state_dict()[name]), name
    assert np.array_equal(straight_dropout.rng.random(8), resumed_dropout.rng.random(8))


def _frozen_run(tmp_path, epochs, ckpt, resume=None, callbacks=()):
    """A run whose first layer is frozen with ``requires_grad=False`` (PyTorch's way) and
    left out of the optimizer; GradientWarning is an error."""
    from chainrule.data import make_moons
    from chainrule.train import GradientWarning

    X, y = make_moons(96, noise=0.2, seed=1)
    model = nn.MLP([2, 16, 16, 2], activation="relu", seed=0)
    for name, p in model.named_parameters():
        p.requires_grad = not name.startswith("layers.0.")
    opt = optim.SGD([(n, p) for n, p in model.named_parameters() if p.requires_grad], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientWarning)
        return fit(model, "cross_entropy", opt, X, y.astype(np.int64), epochs=epochs,
                   batch_size=16, seed=5, checkpoint_dir=tmp_path / ckpt, resume_from=resume,
                   callbacks=list(callbacks), progress=False)  # fmt: skip


def test_a_parameter_frozen_with_requires_grad_false_is_neither_logged_nor_judged(tmp_path):
    # its norm was logged as 0.0 and read as a vanishing gradient ("try: use ReLU ...")
    straight = _frozen_run(tmp_path, 3, "straight")
    trained = ["layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias"]
    assert list(straight.grad_norms) == trained
    assert all(len(v) == 3 and min(v) > 0 for v in straight.grad_norms.values())

    def interrupt(trainer, batch, loss):
        if trainer.epoch in (0, 1) and batch == 2:
            trainer._interrupt = True  # what the SIGINT handler does

    for resume in (None, tmp_path / "ckpt"):  # a Ctrl-C in the first epoch, then the second
        with pytest.raises(TrainingInterrupted):
            _frozen_run(tmp_path, 3, "ckpt", resume, [LambdaCallback(on_batch_end=interrupt)])
    resumed = _frozen_run(tmp_path, 3, "ckpt", tmp_path / "ckpt")
    assert resumed.grad_norms == straight.grad_norms


@pytest.mark.parametrize("mid_epoch", [False, True], ids=["after-epoch", "mid-epoch"])
def test_a_checkpoint_that_logged_a_frozen_parameters_zeros_resumes(tmp_path, mid_epoch):
    # an earlier chainrule logged every parameter: the resume goes on logging the frozen
    # ones' zeros, one per epoch (a shorter list is a history no checkpoint takes back),
    # without reading them as vanishing gradients
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    def interrupt(trainer, batch, loss):
        if trainer.epoch == 1 and batch == 2:
            trainer._interrupt = True  # what the SIGINT handler does

    stop = [LambdaCallback(on_batch_end=interrupt)] if mid_epoch else []
    with contextlib.suppress(TrainingInterrupted):
        _frozen_run(tmp_path, 2 if mid_epoch else 1, "ckpt", callbacks=stop)
    state = load_checkpoint(CheckpointDir(tmp_path / "ckpt").files()[-1])
    assert state["position"]["batch"] == (3 if mid_epoch else 0)
    frozen = ["layers.0.weight", "layers.0.bias"]
    for name in frozen:  # as an earlier chainrule wrote them
        state["history"]["grad_norms"][name] = [0.0]
        if mid_epoch:
            state["position"]["sq_norms"][name] = 0.0
    save_checkpoint(tmp_path / "old" / "checkpoint-00000000.safetensors", state)
    history = _frozen_run(tmp_path, 3, "old", tmp_path / "old")
    assert [history.grad_norms[name] for name in frozen] == [[0.0] * 3] * 2
    assert all(len(v) == 3 for v in history.grad_norms.values())
    history = _frozen_run(tmp_path, 4, "old", tmp_path / "old")  # its own checkpoint
    assert [history.grad_norms[name] for name in frozen] == [[0.0] * 4] * 2


def test_the_logged_parameters_stay_those_of_the_first_epoch(tmp_path):
    # one list per parameter, one value per epoch, whatever a callback freezes later: a
    # list that skipped epochs would be a history no checkpoint takes back
    def toggle(trainer, epoch):
        for name, p in trainer.model.named_parameters():
            if name.startswith("layers.0."):
                p.requires_grad = epoch != 1  # frozen in the second epoch
            if name.startswith("layers.2."):
                p.requires_grad = epoch != 0  # thawed after the first

    history = _frozen_run(tmp_path, 3, "ckpt", callbacks=[LambdaCallback(on_epoch_begin=toggle)])
    assert list(history.grad_norms) == ["layers.0.weight", "layers.0.bias", "layers.4.weight",
                                        "layers.4.bias"]  # fmt: skip
    assert [v == 0 for v in history.grad_norms["layers.0.weight"]] == [False, True, False]
    again = _frozen_run(tmp_path, 4, "ckpt", tmp_path / "ckpt")
    assert all(len(v) == 4 for v in again.grad_norms.values())

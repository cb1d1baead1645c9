"""Two runs in one checkpoint directory at once: each checked it before the other wrote
to it, so both trained, numbering their checkpoints from one listing and deleting each
other's (8 saves, 4 serial numbers; a resume went on with whichever run wrote last). A
run now claims its directory while it trains, and checks it again once it holds it."""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.train import HistoryLogger, LambdaCallback, Trainer, fit
from chainrule.train.checkpoint import LOCK, CheckpointDir


def _fit(directory, moons, **options):
    X, y, _, _ = moons
    model = nn.MLP([2, 8, 2], seed=0)
    before = model.state_dict()
    steps = []
    step = LambdaCallback(on_batch_end=lambda trainer, batch, loss: steps.append(batch))
    options = {"epochs": 2, **options, "callbacks": [*options.get("callbacks", ()), step]}
    try:
        fit(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1), X, y,
            batch_size=64, checkpoint_dir=directory, progress=False, **options)  # fmt: skip
    except ValueError:
        assert steps == []  # refused before a step
        for name, value in model.state_dict().items():
            assert np.array_equal(value, before[name]), name
        raise


def test_a_run_in_a_directory_another_run_holds_is_refused(tmp_path, moons):
    directory = tmp_path / "ckpt"
    refused = pytest.raises(ValueError, match=r"checkpoint_dir .*ckpt is in use by another run")
    with CheckpointDir(directory).claimed(), refused:  # another run, training now
        _fit(directory, moons)
    assert CheckpointDir(directory).files() == []


def test_checkpoints_another_run_wrote_after_the_first_check_are_found_again(
    tmp_path, moons, monkeypatch
):
    # the other run wrote its first checkpoint between this run's check and its claim
    directory = tmp_path / "ckpt"
    _fit(tmp_path / "other", moons)
    other = CheckpointDir(tmp_path / "other").files()[-1]
    claimed = CheckpointDir.claimed

    def meanwhile(self):
        directory.mkdir()
        (directory / other.name).write_bytes(other.read_bytes())
        return claimed(self)

    monkeypatch.setattr(CheckpointDir, "claimed", meanwhile)
    begun = []
    begin = LambdaCallback(on_train_begin=lambda trainer: begun.append(1))
    with pytest.raises(ValueError, match=r"holds another run's checkpoints"):
        _fit(directory, moons, callbacks=[begin])
    assert begun == []
    assert not (directory / LOCK).exists()


def test_a_run_refused_by_another_runs_claim_calls_no_callback_and_may_be_retried(tmp_path, moons):
    # the claim was taken inside the handler of a run's errors, after on_train_begin: the
    # refused run set stopped_reason "error", its HistoryLogger wrote its file in
    # on_exception, and fit refused to run again ("this Trainer has finished its run")
    X, y, _, _ = moons
    directory, history = tmp_path / "ckpt", tmp_path / "history.csv"
    calls = []
    hooks = LambdaCallback(**{
        hook: lambda *args, hook=hook: calls.append(hook)
        for hook in ("on_train_begin", "on_epoch_end", "on_exception", "on_train_end")
    })  # fmt: skip
    model = nn.MLP([2, 8, 2], seed=0)
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1),
                      epochs=1, batch_size=64, checkpoint_dir=directory, progress=False,
                      callbacks=[HistoryLogger(history), hooks])  # fmt: skip
    with CheckpointDir(directory).claimed(), pytest.raises(ValueError, match="in use by"):
        trainer.fit(X, y)
    assert calls == [] and not history.exists()
    assert trainer.history.stopped_reason == "completed" and trainer.history.epochs == []
    trainer.fit(X, y)  # the other run has ended
    assert calls == ["on_train_begin", "on_epoch_end", "on_train_end"]
    assert len(trainer.history.epochs) == 1 and history.exists()


def test_a_resume_refused_by_the_running_run_leaves_that_runs_history_file(tmp_path, moons):
    # a second resume of a run that was still training wrote its history file over the
    # running run's in on_exception (stopped_reason "error", fewer epochs)
    X, y, _, _ = moons
    directory, history = tmp_path / "ckpt", tmp_path / "history.json"

    def trainer(epochs):
        model = nn.MLP([2, 8, 2], seed=0)
        return Trainer(model, "cross_entropy", optim.SGD(model.named_parameters(), lr=0.1),
                       epochs=epochs, batch_size=64, checkpoint_dir=directory, progress=False,
                       callbacks=[HistoryLogger(history)])  # fmt: skip

    trainer(1).fit(X, y)
    written = history.read_text()
    second = trainer(2)
    with CheckpointDir(directory).claimed(), pytest.raises(ValueError, match="in use by"):
        second.fit(X, y, resume_from=directory)  # the first run is training on
    assert history.read_text() == written
    assert second.resumed is False and second.history.epochs == []
    second.fit(X, y, resume_from=directory)
    assert len(second.history.epochs) == 2 and second.history.stopped_reason == "completed"


def test_the_claim_goes_with_the_run(tmp_path, moons):
    directory = tmp_path / "ckpt"
    _fit(directory, moons)
    assert not (directory / LOCK).exists()
    assert len(CheckpointDir(directory).files()) == 2
    _fit(directory, moons, resume_from=directory, epochs=3)  # the run itself goes on


def test_a_run_refused_before_its_first_step_leaves_no_folder_its_claim_made(tmp_path, moons):
    # the claim makes the directory (and the folders above it) before on_train_begin runs
    def refuse(trainer):
        raise RuntimeError("not today")

    begin = LambdaCallback(on_train_begin=refuse)
    with pytest.raises(RuntimeError, match="^not today$"):
        _fit(tmp_path / "runs" / "ckpt", moons, callbacks=[begin])
    assert list(tmp_path.iterdir()) == []


def test_a_resume_from_a_checkpoint_the_running_run_deleted_says_the_run_is_training(
    tmp_path, moons
):
    # the CLI resumes from the newest checkpoint it listed; a run training fast in the
    # directory had rotated it away by then, and the error said no such file
    directory = tmp_path / "ckpt"
    _fit(directory, moons, epochs=1)
    listed = CheckpointDir(directory).files()[-1]
    with CheckpointDir(directory).claimed():  # the other run, training on
        listed.unlink()  # ... rotated the listed checkpoint away
        with pytest.raises(ValueError, match=r"checkpoint_dir .*ckpt is in use by another run"):
            _fit(directory, moons, resume_from=listed)
    with pytest.raises(FileNotFoundError, match="no such file"):  # no run holds it now
        _fit(directory, moons, resume_from=listed)

"""Two runs in one checkpoint directory at once: each checked it before the other wrote
to it, so both trained, numbering their checkpoints from one listing and deleting each
other's (8 saves, 4 serial numbers; a resume went on with whichever run wrote last). A
run now claims its directory while it trains, and checks it again once it holds it."""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.train import LambdaCallback, fit
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


def test_checkpoints_another_run_wrote_after_the_first_check_are_found_again(tmp_path, moons):
    # the other run wrote its first checkpoint between this run's check and its claim
    directory = tmp_path / "ckpt"
    _fit(tmp_path / "other", moons)
    other = CheckpointDir(tmp_path / "other").files()[-1]

    def meanwhile(trainer):
        directory.mkdir()
        (directory / other.name).write_bytes(other.read_bytes())

    begin = LambdaCallback(on_train_begin=meanwhile)
    with pytest.raises(ValueError, match=r"holds another run's checkpoints"):
        _fit(directory, moons, callbacks=[begin])


def test_the_claim_goes_with_the_run(tmp_path, moons):
    directory = tmp_path / "ckpt"
    _fit(directory, moons)
    assert not (directory / LOCK).exists()
    assert len(CheckpointDir(directory).files()) == 2
    _fit(directory, moons, resume_from=directory, epochs=3)  # the run itself goes on

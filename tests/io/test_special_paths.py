"""Paths that are no regular file: a loop of symbolic links is refused before any work,
naming it (``file_blocker`` took it for an absent file, and ``chainrule predict -o`` failed
after predicting, exit 1 with ``ELOOP``); a FIFO to read is named as one (it was "no such
file")."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main
from chainrule.files import FormatError, atomic_write, file_blocker, read_tree


@pytest.fixture
def loop(tmp_path):
    """``a`` and ``b``, symbolic links to each other."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    return tmp_path / "a"


@pytest.mark.parametrize("below", [False, True])
def test_a_loop_of_links_is_a_file_blocker(loop, below):
    path = loop / "p.csv" if below else loop
    blocked = file_blocker(path)
    assert blocked is not None and blocked.endswith(" leads into a loop of symbolic links")
    assert str(path) in blocked


def test_atomic_write_refuses_a_loop_before_writing(loop, tmp_path):
    with pytest.raises(OSError, match=r"^cannot write .* leads into a loop of symbolic links$"):
        atomic_write(loop, b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_predict_refuses_an_output_in_a_loop_before_predicting(capsys, monkeypatch, loop, tmp_path):
    from chainrule.cli import commands

    def load_model(path):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(commands, "load_model", load_model)
    model = cr.save(nn.MLP([2, 2], seed=0), tmp_path / "m.safetensors")
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.float32))
    assert main(["predict", str(model), str(tmp_path / "x.npy"), "-o", str(loop)]) == 2
    err = capsys.readouterr().err
    assert f"error: --output {loop}: expected a file path, but {loop} leads into a loop" in err


def test_a_fifo_is_read_as_no_file_without_blocking(tmp_path):
    fifo = tmp_path / "m.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(FormatError, match=r"expected a regular file, got a FIFO \(named pipe\)"):
        read_tree(fifo)


@pytest.mark.parametrize("command", ["info", "evaluate", "predict"])
def test_a_fifo_given_as_a_model_or_input_is_named_as_one(capsys, tmp_path, command):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if command == "info":
        args, what = ["info", str(fifo)], "model file"
    else:
        model = cr.save(nn.MLP([2, 2], seed=0), tmp_path / "m.safetensors")
        args = [command, str(model), str(fifo)]
        if command == "evaluate":
            args.insert(2, "--data")
        what = "data file" if command == "evaluate" else "input file"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"error: {what} {fifo}: expected a regular file, got a FIFO (named pipe)\n" in err


@pytest.mark.parametrize("below", [False, True])
def test_a_loop_of_links_is_a_directory_blocker_naming_the_loop(loop, below):
    # it passed for an absent folder: fit(checkpoint_dir=loop) trained an epoch, then failed
    from chainrule.files import directory_blocker

    blocked = directory_blocker(loop / "runs" / "x" if below else loop)
    assert blocked == (
        f"expected a directory or a path where one can be made, but {loop} leads into a "
        "loop of symbolic links"
    )


def test_fit_and_model_checkpoint_refuse_a_loop_before_a_step(loop, tmp_path):
    from chainrule import losses, optim
    from chainrule.data import make_moons
    from chainrule.train import LambdaCallback, ModelCheckpoint, fit

    X, y = make_moons(64, noise=0.2, seed=1)
    model = nn.MLP([2, 4, 2], seed=0)
    steps = []
    step = LambdaCallback(on_batch_end=lambda trainer, batch, loss: steps.append(batch))
    for options in (
        {"checkpoint_dir": loop},
        # with a checkpoint_dir, ModelCheckpoint resolved its directory first: a bare
        # RuntimeError("Symlink loop ...")
        {
            "checkpoint_dir": tmp_path / "ckpt",
            "callbacks": [step, ModelCheckpoint(loop, monitor="train_loss")],
        },
    ):
        opt = optim.SGD(model.named_parameters(), lr=0.1)
        options.setdefault("callbacks", [step])
        with pytest.raises(ValueError, match="leads into a loop of symbolic links"):
            fit(model, losses.cross_entropy, opt, X, y, epochs=1, batch_size=16,
                progress=False, **options)  # fmt: skip
    assert steps == []


def test_fit_and_model_checkpoint_refuse_a_dangling_link_before_a_step(tmp_path):
    # both trained a step, then mkdir raised a bare FileExistsError
    from chainrule import losses, optim
    from chainrule.data import make_moons
    from chainrule.files import directory_blocker
    from chainrule.train import LambdaCallback, ModelCheckpoint, fit

    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    says = f"{dangling} is a symbolic link to a path that does not exist"
    assert directory_blocker(dangling / "sub").endswith(f"but {says}")
    X, y = make_moons(64, noise=0.2, seed=1)
    model = nn.MLP([2, 4, 2], seed=0)
    steps = []
    step = LambdaCallback(on_batch_end=lambda trainer, batch, loss: steps.append(batch))
    for options in (
        {"checkpoint_dir": dangling, "callbacks": [step]},
        {"callbacks": [step, ModelCheckpoint(dangling, monitor="train_loss")]},
    ):
        opt = optim.SGD(model.named_parameters(), lr=0.1)
        with pytest.raises(ValueError, match=says):
            fit(model, losses.cross_entropy, opt, X, y, epochs=1, batch_size=16,
                progress=False, **options)  # fmt: skip
    assert steps == [] and not (tmp_path / "nowhere").exists()


@pytest.fixture
def dangling(tmp_path):
    """``dangling``, a symbolic link to ``nowhere``, which does not exist."""
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    return tmp_path / "dangling"


def test_a_dangling_link_above_a_file_is_a_file_blocker(dangling):
    # file_blocker passed it: the write then failed at mkdir with a bare FileExistsError
    says = f"{dangling} is a symbolic link to a path that does not exist"
    for path in (dangling / "out.csv", dangling / "sub" / "out.csv"):
        assert file_blocker(path) == says
        with pytest.raises(FileExistsError, match=f"^cannot write {path}: {says}$"):
            atomic_write(path, b"data")
    assert not (dangling.parent / "nowhere").exists()


def test_history_logger_refuses_a_dangling_link_before_a_step(dangling, tmp_path):
    # it trained, then its first write raised a bare FileExistsError
    from chainrule import losses, optim
    from chainrule.data import make_moons
    from chainrule.train import HistoryLogger, LambdaCallback, fit

    X, y = make_moons(64, noise=0.2, seed=1)
    model = nn.MLP([2, 4, 2], seed=0)
    steps = []
    step = LambdaCallback(on_batch_end=lambda trainer, batch, loss: steps.append(batch))
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    says = f"expected a file path, but {dangling} is a symbolic link to a path that does not exist"
    with pytest.raises(ValueError, match=f"^HistoryLogger: {says}$"):
        fit(model, losses.cross_entropy, opt, X, y, epochs=1, batch_size=16, progress=False,
            callbacks=[step, HistoryLogger(dangling / "h.csv")])  # fmt: skip
    assert steps == [] and not (tmp_path / "nowhere").exists()


def test_predict_refuses_an_output_below_a_dangling_link_before_predicting(
    capsys, monkeypatch, dangling, tmp_path
):
    # it predicted, then exited 1 with a bare FileExistsError
    from chainrule.cli import commands

    def load_model(path):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(commands, "load_model", load_model)
    model = cr.save(nn.MLP([2, 2], seed=0), tmp_path / "m.safetensors")
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.float32))
    out = dangling / "p.csv"
    assert main(["predict", str(model), str(tmp_path / "x.npy"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        f"error: --output {out}: expected a file path, but {dangling} is a symbolic link to a "
        "path that does not exist" in err
    )
    assert not (tmp_path / "nowhere").exists()

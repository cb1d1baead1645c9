"""A Ctrl-C of ``chainrule train`` (exit 130) says how the run goes on wherever it comes:
in training, before it, while the results are saved or the report drawn; the printed
``--resume`` command is quoted for the shell; an interrupted resume of a run that had ended
says that its model file, metrics.json and report are still that end's; and
``lab run``'s Ctrl-C ends the progress line and is worded for the command line."""

import json
import os
import re
import shlex
import shutil
import signal

import pytest

from chainrule.cli import main, report, train
from chainrule.io import load_bundle
from chainrule.lab import EXPERIMENTS
from chainrule.train import Callback, TrainingInterrupted


def _train_args(run, *extra: str) -> list[str]:
    """A 2-epoch moons run into ``run``, quiet."""
    sets = ["data.n_samples=200", "train.epochs=2", f"output.dir={run}"]
    return ["train", "moons.toml", "-q", *[a for s in sets for a in ("--set", s)], *extra]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 2-epoch moons run with its report, in a folder whose name has a space."""
    run = tmp_path_factory.mktemp("runs") / "my run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        assert main(_train_args(run)) == 0
    return run


@pytest.fixture
def run(finished_run, monkeypatch, tmp_path):
    """A copy of ``finished_run`` to change."""
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    copy = tmp_path / "my run"
    shutil.copytree(finished_run, copy)
    return copy


def _resume_command(err: str) -> list[str]:
    """The words of the ``chainrule train --resume`` command in ``err``, as a shell splits
    them."""
    command = err[err.index("chainrule train --resume") :]
    return shlex.split(re.split(" writes it| saves them", command)[0])


class _CtrlCAfterEpoch(Callback):
    """A real Ctrl-C (SIGINT to this process) at the end of epoch ``epoch`` (from 1)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


def _ctrl_c_after_epoch(monkeypatch, epoch: int) -> None:
    """The runs ``chainrule train`` makes from now on get a Ctrl-C after epoch ``epoch``."""
    make = train._trainer

    def trainer(*args, **kwargs):
        made = make(*args, **kwargs)
        made.callbacks.append(_CtrlCAfterEpoch(epoch))
        return made

    monkeypatch.setattr(train, "_trainer", trainer)


def test_an_interrupted_extended_resume_says_that_the_results_are_the_earlier_ends(
    capsys, monkeypatch, run
):
    """The history and checkpoints went on to epoch 4 while model.safetensors, metrics.json
    and report.html still held the run's end at epoch 2 ("2 epochs (completed)"), and the
    message did not say so. They stay, the last complete results, until the resumed run
    completes and replaces them."""
    model = (run / "model.safetensors").read_bytes()
    metrics = (run / "metrics.json").read_bytes()
    config = (run / "config.toml").read_text()
    (run / "config.toml").write_text(config.replace("epochs = 2", "epochs = 6"))
    with monkeypatch.context() as mp:
        _ctrl_c_after_epoch(mp, 4)
        assert main(["train", "--resume", str(run), "-q"]) == 130
    err = capsys.readouterr().err
    assert err.startswith(
        "chainrule: interrupted: training stopped; model.safetensors, metrics.json and the "
        "report still hold the run as it ended before this resume, until the resumed run "
        "completes; resume with: "
    )
    assert _resume_command(err) == ["chainrule", "train", "--resume", str(run)]
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 4
    assert (run / "model.safetensors").read_bytes() == model
    assert (run / "metrics.json").read_bytes() == metrics

    assert main(["train", "--resume", str(run), "-q"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["epochs_run"], metrics["stopped_reason"]) == (6, "completed")
    assert (run / "report.html").is_file()
    assert (run / "model.safetensors").read_bytes() != model


def test_a_ctrl_c_while_the_report_is_drawn_says_that_resume_writes_it(
    capsys, monkeypatch, tmp_path
):
    """It said only "chainrule: interrupted". The resume trains no further: its model is
    the interrupted run's."""
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    run = tmp_path / "my run"

    def drawn(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(report, "write", drawn)
        assert main(_train_args(run)) == 130
    err = capsys.readouterr().err
    assert err.startswith(
        "chainrule: interrupted: stopped before the report was written (model.safetensors "
        "and metrics.json are saved); chainrule train --resume "
    )
    assert err.rstrip().endswith(" writes it without training further")
    assert _resume_command(err) == ["chainrule", "train", "--resume", str(run)]
    assert not (run / "report.html").exists()
    model = load_bundle(run / "model.safetensors").model.state_dict()

    assert main(["train", "--resume", str(run), "-q"]) == 0
    assert (run / "report.html").is_file()
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] == 2
    resumed = load_bundle(run / "model.safetensors").model.state_dict()
    assert resumed.keys() == model.keys()
    assert all((resumed[k] == model[k]).all() for k in model)


def test_a_ctrl_c_while_the_results_are_saved_says_that_resume_saves_them(
    capsys, monkeypatch, tmp_path
):
    """Stopped after training, before the model file was written: the resume trains no
    further, and saves the results and writes the report."""
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    run = tmp_path / "my run"

    def saving(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(train.crio, "save", saving)
        assert main(_train_args(run)) == 130
    err = capsys.readouterr().err
    assert err.startswith(
        "chainrule: interrupted: stopped after training, before its results were all saved; "
        "chainrule train --resume "
    )
    assert err.rstrip().endswith(" saves them without training further")
    assert _resume_command(err) == ["chainrule", "train", "--resume", str(run)]
    assert not (run / "model.safetensors").exists() and not (run / "metrics.json").exists()

    assert main(["train", "--resume", str(run), "-q"]) == 0
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] == 2
    assert (run / "model.safetensors").is_file() and (run / "report.html").is_file()
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 2


def test_a_ctrl_c_before_the_first_epoch_of_a_resume_says_how_to_resume(capsys, monkeypatch, run):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "keep_freed_memory", interrupted)
    assert main(["train", "--resume", str(run), "-q"]) == 130
    err = capsys.readouterr().err
    assert err.startswith(
        "chainrule: interrupted: model.safetensors, metrics.json and the report still hold "
    )
    assert "; resume with: chainrule train --resume " in err
    assert _resume_command(err) == ["chainrule", "train", "--resume", str(run)]


def test_a_ctrl_c_before_a_new_runs_first_checkpoint_says_it_cannot_be_resumed(
    capsys, monkeypatch, tmp_path
):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "keep_freed_memory", interrupted)
    run = tmp_path / "run"
    assert main(_train_args(run)) == 130
    err = capsys.readouterr().err
    assert err == f"chainrule: interrupted: no checkpoint in {run}, so the run cannot be resumed\n"


def test_the_resume_commands_of_refusals_are_quoted_for_the_shell(capsys, run):
    for args in (_train_args(run), ["train", str(run)]):
        assert main(args) == 2
        err = capsys.readouterr().err
        command = err[err.index("; to continue its run: ") :].split(": ", 1)[1]
        assert shlex.split(command) == ["chainrule", "train", "--resume", str(run)]


def test_a_ctrl_c_of_lab_run_ends_its_progress_line_and_names_no_python_argument(
    capsys, monkeypatch, tmp_path
):
    """It printed fit's message, which names its checkpoint_dir argument, on the line
    "[1/1] graph ..." left open."""

    def interrupted(preset, outdir):
        raise TrainingInterrupted(
            "training interrupted at epoch 1, after batch 3; no checkpoint_dir was given, so "
            "nothing was saved"
        )

    monkeypatch.setattr(EXPERIMENTS["graph"], "run", interrupted)
    out = tmp_path / "lab"
    assert main(["lab", "run", "graph", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err == (
        f"[1/1] graph ... \nchainrule: interrupted: lab run stopped; its report.html and "
        f"results.json in {out} were not written (run it again for them)\n"
    )

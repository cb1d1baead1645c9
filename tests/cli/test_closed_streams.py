"""A closed standard output or error (a shell's ``>&-``, a daemon's; Python's
``sys.stdout`` or ``sys.stderr`` is then None) fails no command: what would go there is
dropped, and what goes to the standard error never goes to the standard output. Commands
that did their work exited 1 (``'NoneType' object has no attribute 'flush'``), train
with a closed standard error in its first epoch, and messages for the standard error
went to the standard output."""

import os
import subprocess
import sys

import pytest

from chainrule.cli import main, train


def _chainrule(closed: int, *args) -> subprocess.CompletedProcess:
    """``python -m chainrule ARGS`` with the file descriptor ``closed`` (1 or 2) closed by
    the shell, as ``>&-`` does; the other one captured."""
    redirect = ">&-" if closed == 1 else "2>&-"
    return subprocess.run(
        ["sh", "-c", f'exec "$0" "$@" {redirect}', sys.executable, "-m", "chainrule", *args],
        stdout=subprocess.PIPE if closed == 2 else None,
        stderr=subprocess.PIPE if closed == 1 else None,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        timeout=300,
    )


def _train_args(run) -> list[str]:
    sets = ["data.n_samples=200", "train.epochs=2", f"output.dir={run}"]
    return ["train", "moons.toml", "--no-report", *[a for s in sets for a in ("--set", s)]]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        assert main([*_train_args(run), "-q"]) == 0
    return run / "model.safetensors"


def test_train_with_the_standard_output_closed(tmp_path):
    proc = _chainrule(1, *_train_args(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert "epoch 2/2" in proc.stderr and "Error" not in proc.stderr
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_train_with_the_standard_error_closed(tmp_path):
    proc = _chainrule(2, *_train_args(tmp_path / "run"))
    assert proc.returncode == 0
    assert "test accuracy" in proc.stdout
    # neither the run directory line nor the progress lines, the standard error's
    assert "run directory:" not in proc.stdout and "epoch 1/2" not in proc.stdout
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_an_error_with_the_standard_error_closed_goes_nowhere(tmp_path):
    proc = _chainrule(2, "train", "moons.toml", "--set", "train.epochs=-3")
    assert (proc.returncode, proc.stdout) == (2, "")


def test_predict_with_the_standard_output_closed(model_file, tmp_path):
    inputs = tmp_path / "x.csv"
    inputs.write_text("0.5,0.25\n1.0,-0.5\n")
    proc = _chainrule(1, "predict", model_file, inputs)
    assert (proc.returncode, proc.stderr) == (0, "")

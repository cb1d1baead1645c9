"""``chainrule lab run``: the exit status says whether every claim was reproduced."""

import os
import sys
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.lab import EXPERIMENTS, runner
from chainrule.lab.base import Result


def _outcome(status: str) -> runner.Outcome:
    result = None if status == "error" else Result({}, [], status == "reproduced", "", "")
    error = "Traceback ...\nRuntimeError: boom\n" if status == "error" else None
    return runner.Outcome(EXPERIMENTS["graph"], "fast", 0.1, result, error)


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (["reproduced"], 0),
        (["reproduced", "not reproduced"], 1),
        (["error", "reproduced"], 1),
    ],
)
def test_exit_status_is_1_unless_every_experiment_reproduced(
    capsys, monkeypatch, tmp_path, statuses, code
):
    outcomes = [_outcome(s) for s in statuses]
    monkeypatch.setattr(runner, "run_experiments", lambda *args: outcomes)
    assert main(["lab", "run", "graph", "--out", str(tmp_path), "-q"]) == code
    err = capsys.readouterr().err
    if code:
        bad = [s for s in statuses if s != "reproduced"]
        assert f"1 of 2 not reproduced: graph ({bad[0]})" in err
    else:
        assert err == ""


def test_an_experiment_that_errors_exits_1(capsys, monkeypatch, tmp_path):
    def broken(preset, outdir):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(EXPERIMENTS["graph"], "run", broken)
    assert main(["lab", "run", "graph", "--out", str(tmp_path), "-q"]) == 1
    assert "1 of 1 not reproduced: graph (error)" in capsys.readouterr().err
    assert (tmp_path / "results.json").is_file()


@pytest.mark.parametrize("debug", [False, True])
def test_an_experiments_error_is_printed_and_its_traceback_with_debug(
    capsys, monkeypatch, tmp_path, debug
):
    # the error was only in results.json and the report: the terminal said "(error)"
    def broken(preset, outdir):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(EXPERIMENTS["graph"], "run", broken)
    argv = ["lab", "run", "graph", "--out", str(tmp_path), "-q"]
    assert main(argv + ["--debug"] * debug) == 1
    err = capsys.readouterr().err
    assert "lab run: graph: RuntimeError: planted failure" in err
    assert ("Traceback (most recent call last)" in err) == debug
    assert ("in broken" in err) == debug


def test_without_matplotlib_nothing_runs_and_the_extra_is_named(capsys, monkeypatch, tmp_path):
    """Every experiment ran to its figure and failed there, the reason only in report.html."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["lab", "run", "graph", "ewma", "--out", str(tmp_path), "-q"]) == 2
    assert "pip install 'chainrule[plot]'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("below", [False, True], ids=["file", "below-a-file"])
def test_out_on_a_regular_file_is_a_usage_error(capsys, monkeypatch, tmp_path, below):
    def run_experiments(*args):
        raise AssertionError("experiments ran before --out was checked")

    monkeypatch.setattr(runner, "run_experiments", run_experiments)
    (tmp_path / "taken").write_text("mine")
    out = tmp_path / "taken" / "lab" if below else tmp_path / "taken"
    assert main(["lab", "run", "graph", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        f"--out {out}: expected a directory or a path where one can be made, but "
        f"{tmp_path / 'taken'} exists and is not a directory"
    ) in err
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.parametrize(
    ("blocker", "says"),
    [
        ("results.json/", "cannot write results.json: {out}/results.json is a directory"),
        ("report.html/", "cannot write report.html: {out}/report.html is a directory"),
        ("graph", "but {out}/graph exists and is not a directory"),
    ],
)
def test_what_the_run_writes_inside_out_is_checked_before_it_runs(
    capsys, monkeypatch, tmp_path, blocker, says
):
    # every experiment ran and wrote its figures, then the report failed to be written
    def run_experiments(*args):
        raise AssertionError("experiments ran before their outputs were checked")

    monkeypatch.setattr(runner, "run_experiments", run_experiments)
    out = tmp_path / "out"
    out.mkdir()
    if blocker.endswith("/"):
        (out / blocker).mkdir()
    else:
        (out / blocker).write_text("mine")
    assert main(["lab", "run", "graph", "--out", str(out)]) == 2
    assert says.format(out=out) in capsys.readouterr().err


def test_a_read_only_report_is_a_usage_error_before_any_experiment_runs(
    capsys, monkeypatch, tmp_path
):
    # every experiment ran, then writing report.html failed: exit 1, results.json lost
    def broken(preset, outdir):
        raise AssertionError("an experiment ran before --out was checked")

    monkeypatch.setattr(EXPERIMENTS["graph"], "run", broken)
    page = tmp_path / "report.html"
    page.write_text("an earlier report")
    real = os.access  # as root, this process may write anything
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != page and real(p, mode))
    assert main(["lab", "run", "graph", "--out", str(tmp_path), "-q"]) == 2
    says = f"lab run: --out {tmp_path}: cannot write report.html: {page} is read-only"
    assert says in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_unknown_names_are_quoted(capsys, tmp_path):
    assert main(["lab", "run", "graph", "", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown experiment(s) '', 'nope'; `chainrule lab list`" in capsys.readouterr().err

"""``chainrule train --resume`` of a run whose ``history.csv`` no longer holds the run's
history up to the checkpoint (re-saved by a spreadsheet, numbers rounded): refused before
the data, a usage error naming the file and what to do; it failed after the data was
loaded, as a runtime error saying the file held another run's history. A history.csv
moved away or deleted is written anew from the checkpoint's history."""

import pytest

from chainrule.cli import main
from chainrule.runs import datasets


@pytest.fixture
def run(moons_run_to_resume):
    return moons_run_to_resume


def _rounded(text: str) -> str:
    """``text`` as a spreadsheet saves it: the same rows and columns, numbers rounded."""
    header, *rows = text.splitlines()
    lines = [header]
    for row in rows:
        epoch, *values = row.split(",")
        lines.append(",".join([epoch, *(f"{float(v):.6g}" for v in values)]))
    return "\n".join(lines) + "\n"


def test_an_edited_history_is_refused_before_the_data(capsys, monkeypatch, run):
    def load(*args, **kwargs):
        raise AssertionError("the data was loaded before the refusal")

    path = run / "history.csv"
    edited = _rounded(path.read_text())
    assert edited != path.read_text()
    path.write_text(edited)
    monkeypatch.setattr(datasets, "load", load)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "-q", "--no-report"]) == 2
    err = capsys.readouterr().err
    newest = sorted((run / "checkpoints").iterdir())[-1].name
    assert err.startswith(
        f"chainrule: error: --resume {run}: {path}: expected the run's history up to "
        f"{newest} (the rows chainrule wrote for its 2 epochs), "
        "but the file no longer starts with them (edited since?); "
    )
    assert "move it away: the resume then writes it anew from the checkpoint's history" in err
    assert path.read_text() == edited  # nothing the user saved is lost


@pytest.mark.parametrize("gone", ["deleted", "moved away"])
def test_a_history_gone_is_written_anew_from_the_checkpoint(capsys, run, gone):
    path = run / "history.csv"
    before = path.read_text()
    if gone == "deleted":
        path.unlink()
    else:
        path.rename(run / "history-edited.csv")
    assert main(["train", "--resume", str(run), "-q", "--no-report"]) == 0
    after = path.read_text()
    assert after.startswith(before) and len(after.splitlines()) == 1 + 3


def test_an_unedited_history_goes_on(run):
    path = run / "history.csv"
    before = path.read_text()
    assert main(["train", "--resume", str(run), "-q", "--no-report"]) == 0
    after = path.read_text()
    assert after.startswith(before) and len(after.splitlines()) == 1 + 3

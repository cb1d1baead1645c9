"""``chainrule train --resume RUN --no-report`` removes the report an earlier session wrote
(``report.html`` and its own figures), which showed the run before the resume, and nothing
else: a file of the user's in ``figures/``, a PNG too, stays, and so does the folder (every
PNG there was deleted, the folder with it, even of a run that never had a report)."""

import pytest

from chainrule.cli import main, train


def _moons(run, *extra: str) -> list[str]:
    """``chainrule train`` arguments of a two-epoch moons run of 200 points into ``run``."""
    sets = ("data.n_samples=200", "train.epochs=2", f"output.dir={run}")
    return ["train", "moons.toml", "-q", *(a for s in sets for a in ("--set", s)), *extra]


def _resume(run) -> int:
    """Extend the run ``run`` by an epoch and resume it with ``--no-report``."""
    config = run / "config.toml"
    config.write_text(config.read_text().replace("epochs = 2", "epochs = 3"))
    return main(["train", "--resume", str(run), "--no-report"])


@pytest.fixture(autouse=True)
def _no_malloc_tuning(monkeypatch):
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)


def test_a_resume_without_report_removes_the_reports_files_only(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(_moons(run)) == 0
    figures = run / "figures"
    drawn = sorted(figures.iterdir())
    assert (run / "report.html").is_file() and figures / "decision_boundary.png" in drawn
    (figures / "mine.png").write_bytes(b"\x89PNG my own figure")
    (figures / "notes.txt").write_text("my notes")
    capsys.readouterr()

    assert _resume(run) == 0
    assert not (run / "report.html").exists()
    assert sorted(figures.iterdir()) == [figures / "mine.png", figures / "notes.txt"]
    assert (figures / "mine.png").read_bytes() == b"\x89PNG my own figure"
    assert (figures / "notes.txt").read_text() == "my notes"
    err = capsys.readouterr().err
    said = err.split("removed the earlier report (")[1].split("), which showed the run")[0]
    assert sorted(said.split(", ")) == sorted(
        ["report.html", *(f"figures/{p.name}" for p in drawn)]
    )


def test_a_resume_without_report_of_a_run_that_had_none_removes_nothing(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(_moons(run, "--no-report")) == 0
    (run / "figures").mkdir()
    (run / "figures" / "mine.png").write_bytes(b"\x89PNG my own figure")
    capsys.readouterr()

    assert _resume(run) == 0
    assert [p.name for p in (run / "figures").iterdir()] == ["mine.png"]
    assert "removed" not in capsys.readouterr().err

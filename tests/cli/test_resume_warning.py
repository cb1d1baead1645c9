"""A damaged newest checkpoint that ``chainrule train --resume`` passes over is said as a
``chainrule: warning:`` line, with ``-q`` too: it reached the user as a raw Python
warning, with the source path and line of the CLI's code."""

from chainrule.cli import main


def test_a_passed_over_checkpoint_is_a_chainrule_warning_line(capsys, recwarn, moons_run_to_resume):
    run = moons_run_to_resume
    newest = sorted((run / "checkpoints").iterdir())[-1]
    newest.write_bytes(newest.read_bytes()[:100])
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "-q", "--no-report"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"chainrule: warning: checkpoint {newest} is unreadable (")
    assert err.rstrip().endswith("falling back to the previous one")
    assert [w for w in recwarn if issubclass(w.category, RuntimeWarning)] == []
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 3

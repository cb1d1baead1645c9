"""A run directory whose path holds a byte that is not UTF-8 (``os.fsdecode`` gives it as
a lone surrogate) is refused before any data is read, as output.dir is: the default one
named after such a config file, and ``--resume`` of one. Both trained the whole run, then
failed to write the report, which names the run directory (exit 1)."""

import os

import pytest

from chainrule.cli import main, train
from chainrule.runs import datasets
from chainrule.runs.build import packaged_config

NAME = os.fsdecode(b"\xffbad")


@pytest.fixture
def no_data(monkeypatch):
    """``datasets.load`` forbidden once this fixture is asked for."""

    def load(*args, **kwargs):
        raise AssertionError("the data was loaded before the refusal")

    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    return lambda: monkeypatch.setattr(datasets, "load", load)


def test_a_default_run_directory_from_a_non_utf8_config_name_is_refused(
    capsys, monkeypatch, tmp_path, no_data
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / f"{NAME}.toml").write_bytes(packaged_config("moons.toml").read_bytes())
    no_data()
    assert main(["train", f"{NAME}.toml", "-q", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chainrule: error: run directory 'runs/\\udcffbad-")
    assert "expected a path UTF-8 can encode, as output.dir must be" in err
    assert "set output.dir, or rename the config file" in err
    assert not (tmp_path / "runs").exists()


def test_resuming_a_run_directory_with_a_non_utf8_name_is_refused(
    capsys, monkeypatch, tmp_path, no_data
):
    run = tmp_path / "run"
    sets = ["train.epochs=1", "data.n_samples=200", f"output.dir={run}"]
    args = [a for s in sets for a in ("--set", s)]
    assert main(["train", "moons.toml", "-q", "--no-report", *args]) == 0
    renamed = run.rename(tmp_path / NAME)
    no_data()
    assert main(["train", "--resume", str(renamed), "-q", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"chainrule: error: --resume {str(renamed)!r}: expected a path UTF-8 can encode, as "
        "output.dir must be, got one with a byte that is not UTF-8; rename the run directory\n"
    )
    assert len((renamed / "history.csv").read_text().splitlines()) == 2


def test_an_output_dir_whose_home_folder_is_not_utf8_is_refused(
    capsys, monkeypatch, tmp_path, no_data
):
    monkeypatch.setenv("HOME", str(tmp_path / NAME))
    no_data()
    args = ["--set", "output.dir=~/run", "-q", "--no-report"]
    assert main(["train", "moons.toml", *args]) == 2
    assert capsys.readouterr().err == (
        f"chainrule: error: output.dir {str(tmp_path / NAME / 'run')!r}: expected a path UTF-8 "
        "can encode, got one whose ~ names a home folder with a byte that is not UTF-8\n"
    )
    assert not (tmp_path / NAME).exists()

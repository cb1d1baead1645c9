"""``chainrule train --resume`` of a run that early stopping ended: an edit of
``train.epochs`` is refused before the data, naming why the run stopped (it was accepted,
trained nothing and said nothing: a stopped run stays stopped); resumed unedited, the run
goes on to write its results, as before."""

import json

import pytest

from chainrule.cli import main, train
from chainrule.runs import datasets

from .conftest import frozen_moons_args


@pytest.fixture
def stopped_run(monkeypatch, tmp_path):
    """A moons run whose rate is too small to move a float32 weight, so that early
    stopping ends it after epoch 3 of 10."""
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    run = tmp_path / "run"
    assert main(frozen_moons_args(run, "--no-report")) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["epochs_run"], metrics["stopped_reason"]) == (3, "early_stopping")
    return run


@pytest.mark.parametrize("epochs", [20, 5])
def test_an_edit_of_the_epochs_of_a_stopped_run_is_refused_before_the_data(
    capsys, monkeypatch, stopped_run, epochs
):
    def load(*args, **kwargs):
        raise AssertionError("the data was loaded before the refusal")

    monkeypatch.setattr(datasets, "load", load)
    config = stopped_run / "config.toml"
    config.write_text(config.read_text().replace("epochs = 10", f"epochs = {epochs}"))
    assert main(["train", "--resume", str(stopped_run), "-q", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert f"no longer fits checkpoint-00000002.safetensors: train.epochs = {epochs}, " in err
    assert (
        "the run's was 10, but the run stopped at epoch 3 (stopped_reason 'early_stopping'): "
        "a stopped run does not train further, whatever its train.epochs"
    ) in err


@pytest.mark.parametrize("epochs", [10, 3])
def test_a_stopped_run_resumes_with_its_epochs_or_those_it_ran(capsys, stopped_run, epochs):
    config = stopped_run / "config.toml"
    config.write_text(config.read_text().replace("epochs = 10", f"epochs = {epochs}"))
    assert main(["train", "--resume", str(stopped_run), "-q", "--no-report"]) == 0
    assert len((stopped_run / "history.csv").read_text().splitlines()) == 1 + 3

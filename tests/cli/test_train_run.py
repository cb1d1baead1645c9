"""What ``chainrule train`` makes of the keys of a run's end: early stopping and the
report's bias/variance reading."""

import dataclasses
import html
import json

import pytest

from chainrule.cli import main, train
from chainrule.train import bias_variance

from .conftest import frozen_moons_args


@pytest.fixture(scope="module")
def frozen_run(tmp_path_factory):
    """A run whose rate is too small to move a float32 weight: the dev accuracy never
    improves after the first epoch, so early stopping ends it after ``patience`` more."""
    out = tmp_path_factory.mktemp("frozen") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        assert main(frozen_moons_args(out, "--set", "data.human_error=0.25")) == 0
    return out


def test_early_stopping_patience_reaches_the_run(frozen_run):
    metrics = json.loads((frozen_run / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 + 2
    assert metrics["stopped_reason"] == "early_stopping"


def test_the_report_reads_bias_against_the_human_error(frozen_run):
    metrics = json.loads((frozen_run / "metrics.json").read_text())
    reading = bias_variance(
        1 - metrics["train"]["accuracy"], 1 - metrics["dev"]["accuracy"], baseline_error=0.25
    )
    report = (frozen_run / "report.html").read_text(encoding="utf-8")
    assert "baseline 25%" in report
    assert f"<p>{html.escape(str(reading))}</p>" in report


def test_metrics_json_holds_the_reading_without_the_report(tmp_path):
    """data.human_error fed only the report: with --no-report it had no effect."""
    out = tmp_path / "run"
    args = ["train", "moons.toml", "-q", "--no-report", "--set", "data.n_samples=200"]
    args += ["--set", "train.epochs=1", "--set", "data.human_error=0.25"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        assert main([*args, "--set", f"output.dir='{out}'"]) == 0
    assert not (out / "report.html").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    reading = bias_variance(
        1 - metrics["train"]["accuracy"], 1 - metrics["dev"]["accuracy"], baseline_error=0.25
    )
    saved = metrics["bias_variance"]
    assert saved["baseline_error"] == 0.25 and saved["verdict"] == reading.verdict
    assert saved == {**dataclasses.asdict(reading), "remedies": list(reading.remedies)}


def test_the_report_names_the_schedule_that_sets_the_rate(tmp_path):
    """It showed optimizer.lr (0.001, the default), which the schedule's alpha0 overrules."""
    out = tmp_path / "run"
    args = ["train", "moons.toml", "-q", "--set", "data.n_samples=200", "--set", "train.epochs=1"]
    args += ["--set", "schedule.name='exponential'", "--set", "schedule.params={alpha0=0.05}"]
    args += ["--set", "optimizer.lr=0.001"]  # moons.toml's 0.01 would have no effect
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        assert main([*args, "--set", f"output.dir='{out}'"]) == 0
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "adam lr ExponentialDecay(alpha0=0.05, base=0.95, unit=&#x27;epoch&#x27;)," in report

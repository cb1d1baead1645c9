"""End to end on two moons: train, then evaluate, predict and info on the saved model."""

import csv
import io
import json

import numpy as np
import pytest

from chainrule.runs.config import MONITORS, tomllib

from .conftest import check_run_dir, drop_checkpoint_config


@pytest.fixture(scope="module")
def run_dir(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("moons") / "run"
    proc = cli(
        "train",
        "configs/moons.toml",
        "--set",
        f"output.dir={out}",
        "--set",
        "train.epochs=8",
        cwd=_root(),
    )
    assert proc.returncode == 0, proc.stderr
    assert f"report: {out / 'report.html'}" in proc.stdout
    assert "test accuracy" in proc.stdout
    return out


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def test_run_directory_is_complete(run_dir):
    check_run_dir(run_dir)
    assert (run_dir / "figures" / "decision_boundary.png").is_file()
    config = tomllib.loads((run_dir / "config.toml").read_text())
    assert config["train"]["epochs"] == 8 and config["data"]["name"] == "moons"
    history = list(csv.DictReader(io.StringIO((run_dir / "history.csv").read_text())))
    assert [int(row["epoch"]) for row in history] == list(range(1, 9))
    assert set(MONITORS) <= set(history[0])  # train.monitor's choices are logged keys


def test_evaluate_reproduces_the_test_metrics(cli, run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    proc = cli("evaluate", run_dir / "model.safetensors", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["accuracy"] == metrics["test"]["accuracy"]
    assert result["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-6)
    assert result["n"] == metrics["n"]["test"]


def test_predict_and_evaluate_on_files(cli, run_dir, tmp_path):
    from chainrule.runs import datasets
    from chainrule.runs.build import load_config, seeds

    config, _ = load_config(str(run_dir / "config.toml"), [])
    data = datasets.load(config["data"], seeds(config["train"]["seed"])["data"], progress=False)
    np.save(tmp_path / "x.npy", data.raw_test)
    proc = cli(
        "predict", run_dir / "model.safetensors", tmp_path / "x.npy", "-o", tmp_path / "pred.csv"
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "pred.csv").read_text())))
    assert list(rows[0]) == ["index", "prediction", "p_0", "p_1"]
    pred = np.array([int(r["prediction"]) for r in rows])
    probs = np.array([[float(r["p_0"]), float(r["p_1"])] for r in rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert np.mean(pred == data.test[1]) == metrics["test"]["accuracy"]

    table = np.column_stack([data.raw_test, data.test[1]])
    np.savetxt(tmp_path / "test.csv", table, delimiter=",", header="x1,x2,label", comments="")
    proc = cli("evaluate", run_dir / "model.safetensors", "--data", tmp_path / "test.csv", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["accuracy"] == metrics["test"]["accuracy"]


def test_info_shows_architecture_and_parameter_counts(cli, run_dir):
    proc = cli("info", run_dir / "model.safetensors")
    assert proc.returncode == 0, proc.stderr
    # [2, 16, 16, 2]: (2*16 + 16) + (16*16 + 16) + (16*2 + 2) = 354
    assert "total" in proc.stdout and "354" in proc.stdout
    assert "layers.0.weight" in proc.stdout and "test metrics" in proc.stdout


def test_predict_with_wrong_feature_count_exits_2(cli, run_dir, tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 3), dtype=np.float32))
    proc = cli("predict", run_dir / "model.safetensors", tmp_path / "bad.npy")
    assert proc.returncode == 2
    assert "expects 2 features" in proc.stderr and "has 3" in proc.stderr


@pytest.mark.parametrize(
    "older",
    [{}, {'monitor = "dev_loss"': 'monitor = "dev_accuracy"'}],
    ids=["same-version", "key-without-effect"],
)
def test_resume_continues_a_run(cli, run_dir, tmp_path, older):
    """Also a run whose config an older chainrule accepted: a monitor without early
    stopping, which a new run's config may no longer hold (and its checkpoint, of that
    chainrule, no config to compare with)."""
    import shutil

    copy = tmp_path / "resumed"
    shutil.copytree(run_dir, copy)
    if older:
        drop_checkpoint_config(copy)
    config = (copy / "config.toml").read_text().replace("epochs = 8", "epochs = 9  # by hand")
    for old, new in older.items():
        assert old in config
        config = config.replace(old, new)
    config = "# my notes on this run\n" + config
    (copy / "config.toml").write_text(config)
    proc = cli("train", "--resume", copy, "--no-report", "-q")
    assert proc.returncode == 0, proc.stderr
    history = list(csv.DictReader(io.StringIO((copy / "history.csv").read_text())))
    assert len(history) == 9
    # the report of the 8 epochs was left beside the files of 9
    assert not (copy / "report.html").exists() and not (copy / "figures").exists()
    # the training time is the whole run's: the 8 epochs' before the resume (their times
    # as the first session logged them) and this session's one, beside epochs_run 9
    metrics = json.loads((copy / "metrics.json").read_text())
    assert metrics["epochs_run"] == 9
    total = sum(float(row["time"]) for row in history)
    assert metrics["time"]["train_s"] == pytest.approx(total, abs=2e-3)
    first = list(csv.DictReader(io.StringIO((run_dir / "history.csv").read_text())))
    assert [row["time"] for row in history[:8]] == [row["time"] for row in first]
    before = json.loads((run_dir / "metrics.json").read_text())["time"]["train_s"]
    assert metrics["time"]["train_s"] == pytest.approx(before + float(history[8]["time"]), abs=2e-3)
    # the resume rewrote the edited config.toml, and every comment was lost
    assert (copy / "config.toml").read_text() == config


def test_two_runs_with_the_same_seed_are_identical_but_for_their_times(monkeypatch, tmp_path):
    from chainrule.cli import main, train
    from chainrule.io import load_bundle

    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    moons = str(_root() / "configs" / "moons.toml")
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        sets = ["train.epochs=2", "train.seed=7", "model.dropout=0.9", f"output.dir={out}"]
        assert (
            main(["train", moons, *[a for s in sets for a in ("--set", s)], "--no-report", "-q"])
            == 0
        )
    a, b = (load_bundle(out / "model.safetensors") for out in runs)
    weights = [dict(bundle.model.state_dict()) for bundle in (a, b)]
    assert list(weights[0]) == list(weights[1]) and len(weights[0]) == 6
    for name, array in weights[0].items():
        assert np.array_equal(array, weights[1][name]), name
    for name, array in a.scaler.state_dict().items():
        assert np.array_equal(array, b.scaler.state_dict()[name]), name
    assert a.metadata["metrics"] == b.metadata["metrics"]
    histories = [
        list(csv.DictReader(io.StringIO((out / "history.csv").read_text()))) for out in runs
    ]
    assert len(histories[0]) == 2 and "time" in histories[0][0]
    for row_a, row_b in zip(*histories, strict=True):
        assert {k: v for k, v in row_a.items() if k != "time"} == {
            k: v for k, v in row_b.items() if k != "time"
        }
    metrics = [json.loads((out / "metrics.json").read_text()) for out in runs]
    assert [{k: v for k, v in m.items() if k != "time"} for m in metrics] == [
        {k: v for k, v in metrics[0].items() if k != "time"}
    ] * 2


@pytest.mark.parametrize(("output", "loss"), [("log_softmax", "nll"), ("softmax", "bce")])
def test_predict_gives_the_probabilities_of_a_model_ending_in_a_softmax(
    capsys, monkeypatch, tmp_path, output, loss
):
    """predict read a softmax's outputs as probabilities and a log_softmax's as their
    logarithms: no softmax over probabilities, no log-probabilities printed as they are."""
    from chainrule import predict
    from chainrule.cli import main, train
    from chainrule.io import load_bundle

    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    out = tmp_path / "run"
    sets = [
        f"model.output={output}",
        f"loss.name={loss}",
        "data.n_samples=200",
        "train.epochs=2",
        f"output.dir={out}",
    ]
    moons = str(_root() / "configs" / "moons.toml")
    args = ["train", moons, *[a for s in sets for a in ("--set", s)], "--no-report", "-q"]
    assert main(args) == 0
    X = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    capsys.readouterr()
    assert main(["predict", str(out / "model.safetensors"), str(tmp_path / "x.npy")]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    probs = np.array([[float(p) for p in row[2:]] for row in rows])
    assert probs.shape == (20, 2)
    assert probs.min() >= 0.0 and probs.max() <= 1.0
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    bundle = load_bundle(out / "model.safetensors")
    outputs = predict(bundle.model, bundle.scaler.transform(X)).astype(np.float64)
    expected = np.exp(outputs) if output == "log_softmax" else outputs
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    assert [int(row[1]) for row in rows] == list(expected.argmax(axis=1))

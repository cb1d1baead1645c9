"""End to end on a small MNIST subset; the slow tests run the shipped configs in full."""

import json

import numpy as np
import pytest

from chainrule.data import write_idx

from .conftest import check_run_dir, needs_mnist

pytestmark = needs_mnist


@pytest.fixture(scope="module")
def run_dir(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("mnist") / "run"
    proc = cli(
        "train",
        "--set",
        f"output.dir={out}",
        "--set",
        "data.n_train=3000",
        "--set",
        "data.n_test=500",
        "--set",
        "model.sizes=[784, 64, 10]",
        "--set",
        "train.epochs=3",
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_run_directory_is_complete(run_dir):
    check_run_dir(run_dir)
    assert (run_dir / "figures" / "misclassified.png").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n"] == {"train": 2750, "dev": 250, "test": 500}
    assert metrics["test"]["accuracy"] > 0.7  # learns: chance is 0.1


def test_evaluate_reproduces_the_test_metrics(cli, run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    proc = cli("evaluate", run_dir / "model.safetensors", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["accuracy"] == metrics["test"]["accuracy"]
    assert result["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-5)


def test_predict_reads_idx_and_applies_the_saved_scaler(cli, run_dir, tmp_path):
    from chainrule.data import load_mnist

    X, y = load_mnist("test", progress=False)
    images = np.round(X[:500] * 255).astype(np.uint8).reshape(500, 28, 28)
    write_idx(tmp_path / "images-idx3-ubyte", images)
    proc = cli("predict", run_dir / "model.safetensors", tmp_path / "images-idx3-ubyte")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "index,prediction," + ",".join(f"p_{d}" for d in range(10))
    pred = np.array([int(line.split(",")[1]) for line in lines[1:]])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert np.mean(pred == y[:500]) == metrics["test"]["accuracy"]


def _full_run(cli, tmp_path, *args):
    proc = cli("train", *args, "--set", f"output.dir={tmp_path / 'run'}", "-q", "--no-report")
    assert proc.returncode == 0, proc.stderr
    return json.loads((tmp_path / "run" / "metrics.json").read_text())


@pytest.mark.slow
def test_default_config_reaches_98_percent(cli, tmp_path):
    assert _full_run(cli, tmp_path)["test"]["accuracy"] >= 0.98


@pytest.mark.slow
def test_nielsen_chapter_1_reaches_about_95_percent(cli, tmp_path):
    # the book: "about 95 percent", 95.42 at the best epoch of one run; the last epoch
    # moves by a few tenths of a percent with the seed and the train/dev split
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "configs" / "nielsen-ch1.toml"
    assert _full_run(cli, tmp_path, config)["test"]["accuracy"] >= 0.945


def test_data_fetch_verifies_and_prints_the_directory(cli, tmp_path):
    proc = cli("data", "fetch", "mnist", "--cache-dir", tmp_path, "-q")
    assert proc.returncode == 0, proc.stderr
    directory = tmp_path / "mnist"
    assert proc.stdout.strip() == str(directory)
    assert (directory / "t10k-labels-idx1-ubyte").is_file()

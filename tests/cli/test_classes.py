"""Classes and probabilities follow the loss a model was trained with: outputs of a linear
layer trained with quadratic/mse/mae are on the scale of the 0/1 targets (class 1 above
0.5, probability the output clipped to [0, 1]); with the losses that take logits, they are
logits (class 1 above 0, probability their sigmoid or softmax)."""

import csv
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main

MOONS = str(Path(__file__).resolve().parents[2] / "configs" / "moons.toml")
X1 = np.array([[-0.2, 5.0], [0.3, 5.0], [0.7, 5.0], [1.4, 5.0]], np.float32)


def _identity_head(path, n_out, metadata):
    """A model whose outputs are the first ``n_out`` input features."""
    model = nn.MLP([2, n_out], seed=0)
    model.load_state_dict({"layers.0.weight": np.eye(2, n_out), "layers.0.bias": np.zeros(n_out)})
    return cr.save(model, path, metadata=metadata)


def _predict(capsys, model, X, tmp_path):
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(model), str(tmp_path / "x.npy")]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    return [int(r[1]) for r in rows], np.array([[float(p) for p in r[2:]] for r in rows])


@pytest.mark.parametrize("loss", ["mse", "quadratic", "mae"])
def test_one_output_on_the_targets_scale_splits_at_one_half(capsys, tmp_path, loss):
    model = _identity_head(tmp_path / "m.safetensors", 1, {"loss": loss})
    pred, probs = _predict(capsys, model, X1, tmp_path)
    assert pred == [0, 0, 1, 1]
    np.testing.assert_allclose(probs[:, 1], [0.0, 0.3, 0.7, 1.0], atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


@pytest.mark.parametrize("metadata", [{"loss": "bce_with_logits"}, {}, {"loss": ["mse"]}])
def test_one_logit_splits_at_zero(capsys, tmp_path, metadata):
    """With a loss that takes logits, or none usable named (a file not written by train)."""
    model = _identity_head(tmp_path / "m.safetensors", 1, metadata)
    pred, probs = _predict(capsys, model, X1, tmp_path)
    assert pred == [0, 1, 1, 1]
    np.testing.assert_allclose(probs[:, 1], 1 / (1 + np.exp(-X1[:, 0])), atol=1e-6)


def test_several_outputs_on_the_targets_scale(capsys, tmp_path):
    model = _identity_head(tmp_path / "m.safetensors", 2, {"loss": "mse"})
    X = np.array([[1.2, -0.1], [0.2, 0.6], [-0.5, -0.1], [3.0, 2.0]], np.float32)
    pred, probs = _predict(capsys, model, X, tmp_path)
    assert pred == [0, 1, 1, 0]  # the argmax of the outputs themselves, before clipping
    np.testing.assert_allclose(probs, [[1, 0], [0.25, 0.75], [0.5, 0.5], [0.5, 0.5]], atol=1e-6)


def test_evaluate_reads_classes_by_the_saved_loss(capsys, tmp_path):
    model = _identity_head(tmp_path / "m.safetensors", 1, {"loss": "mse"})
    np.savez(tmp_path / "d.npz", X=X1, y=np.array([0, 0, 1, 1]))
    assert main(["evaluate", str(model), "--data", str(tmp_path / "d.npz"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == 1.0  # at 0 (as logits) it would be 0.75
    assert result["loss"] == pytest.approx(np.mean((X1[:, 0] - [0, 0, 1, 1]) ** 2))


@pytest.mark.parametrize(("n_out", "loss"), [(1, "bce_with_logits"), (1, "mse"), (2, "mse")])
def test_evaluate_gives_a_float64_model_float64_targets(capsys, tmp_path, n_out, loss):
    # it failed: "bce_with_logits: target is float32 but the prediction is float64"
    model = nn.MLP([2, n_out], seed=0, dtype="float64")
    cr.save(model, tmp_path / "m.safetensors", metadata={"loss": loss})
    np.savez(tmp_path / "d.npz", X=X1.astype(np.float64), y=np.array([0, 0, 1, 1]))
    args = ["evaluate", str(tmp_path / "m.safetensors"), "--data", str(tmp_path / "d.npz")]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 4


@pytest.mark.parametrize(
    ("overrides", "from_logits"),
    [
        ([], True),
        (["loss.name=mse", "model.sizes=[2, 8, 1]"], False),
        (["loss.name=quadratic", "model.output=sigmoid"], False),
        (["loss.name=bce_with_logits", "model.sizes=[2, 8, 1]"], True),
        (["loss.name=bce", "model.output=sigmoid", "model.sizes=[2, 8, 1]"], False),
    ],
)
def test_train_gives_the_trainer_from_logits_by_the_loss(
    monkeypatch, tmp_path, overrides, from_logits
):
    from chainrule.cli import train

    seen = []

    class Trainer(train.Trainer):
        def __init__(self, *args, **kwargs):
            seen.append(kwargs["from_logits"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(train, "Trainer", Trainer)
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    sets = [a for o in overrides for a in ("--set", o)]
    out = tmp_path / "run"
    args = ["--set", "train.epochs=1", "--set", f"output.dir={out}", "--no-report", "-q"]
    assert main(["train", MOONS, *sets, *args]) == 0
    assert seen == [from_logits]


def test_a_run_trained_with_mse_reports_the_classes_of_its_outputs(capsys, monkeypatch, tmp_path):
    """metrics.json, evaluate and predict agree with class = output > 0.5."""
    from chainrule.cli import train
    from chainrule.runs import datasets
    from chainrule.runs.build import load_config, seeds

    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    out = tmp_path / "run"
    sets = ["loss.name=mse", "model.sizes=[2, 16, 16, 1]", "train.epochs=20", f"output.dir={out}"]
    assert main(["train", MOONS, *[a for s in sets for a in ("--set", s)], "--no-report"]) == 0
    capsys.readouterr()
    config, _ = load_config(str(out / "config.toml"), [])
    data = datasets.load(config["data"], seeds(config["train"]["seed"])["data"], progress=False)
    outputs = cr.predict(cr.load(out / "model.safetensors"), data.test[0])[:, 0]
    expected = np.mean((outputs > 0.5) == data.test[1])
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] == expected
    assert main(["evaluate", str(out / "model.safetensors"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == expected
    pred, probs = _predict(capsys, out / "model.safetensors", data.raw_test, tmp_path)
    assert np.mean(np.array(pred) == data.test[1]) == expected
    np.testing.assert_allclose(probs[:, 1], np.clip(outputs, 0, 1), atol=1e-6)


@pytest.mark.parametrize("l2", [0.0, 5.0])
def test_the_reports_loss_figure_says_when_the_train_curve_carries_a_penalty(tmp_path, l2):
    out = tmp_path / "run"
    args = ["-q", "train", MOONS, "--set", f"output.dir={out}", "--set", "train.epochs=2"]
    assert main([*args, "--set", f"regularization.l2={l2}"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert ("The train curve includes the regularization penalty" in page) == bool(l2)


def test_evaluate_rebuilds_the_label_smoothing_the_model_was_trained_with(
    capsys, monkeypatch, tmp_path
):
    """metrics.json (and info) gave the smoothed test loss, evaluate the unsmoothed one."""
    from chainrule.cli import train

    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    out = tmp_path / "run"
    sets = ["loss.label_smoothing=0.2", "train.epochs=2", f"output.dir={out}"]
    assert main(["train", MOONS, *[a for s in sets for a in ("--set", s)], "--no-report"]) == 0
    capsys.readouterr()
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert main(["evaluate", str(out / "model.safetensors"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["loss"] == pytest.approx(test["loss"], rel=1e-6)
    assert result["accuracy"] == test["accuracy"]
    assert main(["evaluate", str(out / "model.safetensors")]) == 0
    out_text = capsys.readouterr().out
    assert "loss function: cross_entropy (label smoothing 0.2)" in out_text
    assert f"loss: {test['loss']:.6g}\n" in out_text


def test_evaluate_json_is_standard_json_for_a_non_finite_loss(capsys, tmp_path):
    """json.dumps printed Infinity, which JSON parsers other than Python's refuse."""
    model = _identity_head(tmp_path / "m.safetensors", 1, {"loss": "mse"})
    X = np.array([[1e30, 0.0], [0.2, 0.0]], np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1]))
    with warnings.catch_warnings():  # the square of 1e30 overflows float32, without a warning
        warnings.simplefilter("error")
        assert main(["evaluate", str(model), "--data", str(tmp_path / "d.npz"), "--json"]) == 0
    text = capsys.readouterr().out

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    result = json.loads(text, parse_constant=refuse)
    assert result["loss"] == {"__float__": "inf"} and result["n"] == 2

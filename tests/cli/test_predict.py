"""``chainrule predict``: the output file is checked before any work and written atomically;
a model file whose labels do not fit its outputs (as ``save`` once let through) still loads,
and predict refuses it before reading the input."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main


@pytest.fixture
def model_and_input(tmp_path):
    model = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors", labels=["a", "b"])
    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.float32))
    return model, tmp_path / "x.npy"


def test_output_into_a_missing_directory_exits_2_before_predicting(
    capsys, monkeypatch, model_and_input, tmp_path
):
    from chainrule.cli import commands

    def load_model(path):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(commands, "load_model", load_model)
    model, x = model_and_input
    out = tmp_path / "missing" / "pred.csv"
    assert main(["predict", str(model), str(x), "-o", str(out)]) == 2
    assert f"{tmp_path / 'missing'} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
    assert main(["predict", str(model), str(x), "-o", str(tmp_path)]) == 2
    assert "expected a file path, got a directory" in capsys.readouterr().err


def test_output_replaces_an_existing_file_whole(model_and_input, tmp_path):
    model, x = model_and_input
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "pred.csv").write_text("old predictions\n")
    assert main(["predict", str(model), str(x), "-o", str(out_dir / "pred.csv"), "-q"]) == 0
    lines = (out_dir / "pred.csv").read_text().splitlines()
    assert lines[0] == "index,prediction,p_a,p_b" and len(lines) == 5
    assert [p.name for p in out_dir.iterdir()] == ["pred.csv"]  # no temporary file left


def test_labels_that_do_not_fit_the_outputs_load_but_predict_refuses_them(
    capsys, model_and_input, tmp_path
):
    from chainrule.files import read_tree, write_tree

    model, x = model_and_input
    tree = read_tree(model)
    tree["labels"] = ["a", "b", "c"]
    write_tree(model, tree)
    assert cr.load_bundle(model).labels == ["a", "b", "c"]  # the weights stay the user's
    assert main(["info", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(tmp_path / "not-read.npy")]) == 1
    err = capsys.readouterr().err
    assert "FormatError" in err and "expected 2 labels, one per output of the model, got 3" in err


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_sequential_model_predicts_and_evaluates(capsys, tmp_path):
    """Not only MLPs: the input width and dtype come from the first Linear, the output
    width from the last, the output kind from the last layer."""
    seq = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
    path = cr.save(seq, tmp_path / "seq.safetensors")
    X = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    expected = _softmax(cr.predict(seq, X).astype(np.float64))
    np.testing.assert_allclose([[float(p) for p in r[2:]] for r in rows], expected, atol=1e-6)
    assert [int(r[1]) for r in rows] == list(expected.argmax(axis=1))
    np.savez(tmp_path / "d.npz", X=X, y=expected.argmax(axis=1))
    assert main(["evaluate", str(path), "--data", str(tmp_path / "d.npz"), "--json"]) == 0
    assert '"accuracy": 1.0' in capsys.readouterr().out

    sig = nn.Sequential(nn.Linear(2, 1, rng=0, dtype="float64"), nn.Sigmoid())
    path = cr.save(sig, tmp_path / "sig.safetensors")
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    p1 = cr.predict(sig, X.astype(np.float64))[:, 0]
    np.testing.assert_allclose([float(r[3]) for r in rows], p1, atol=1e-6)
    assert [int(r[1]) for r in rows] == list((p1 > 0.5).astype(int))


def test_a_model_without_a_linear_layer_is_a_usage_error(capsys, tmp_path):
    path = cr.save(nn.Sequential(nn.ReLU()), tmp_path / "relu.safetensors")
    np.save(tmp_path / "x.npy", np.zeros((2, 2), np.float32))
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 2
    assert "expected a model with a Linear layer" in capsys.readouterr().err

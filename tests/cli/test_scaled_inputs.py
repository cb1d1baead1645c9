"""``chainrule predict`` and ``evaluate`` apply a model's saved scaler to the inputs as they
are read (float64 at least), then cast to the model's dtype, refusing values beyond it once
scaled; outputs that overflow are refused naming the input file and samples."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import commands, main
from chainrule.data import MinMaxScaler, Standardizer


def _sign_model(tmp_path, **extras):
    """The file of a float32 model whose two logits are ``(s, -s)``, ``s`` the first scaled
    feature, so that it predicts class 0 where ``s > 0``."""
    linear = nn.Linear(2, 2, rng=0)
    linear.weight.data[...] = [[1, -1], [0, 0]]  # (features, outputs)
    linear.bias.data[...] = 0
    return cr.save(nn.Sequential(linear), tmp_path / "m.safetensors", **extras)


def test_float64_inputs_are_scaled_before_the_cast_to_float32(capsys, tmp_path):
    # 1e5 +- 1e-3 was rounded to float32 (a step of 2**-7 there) before the scaler centred
    # it: every sample scaled alike, and evaluate scored 0.5 where Python scores 1.0
    signal = np.tile([1e-3, -1e-3], 10)
    X = np.column_stack([1e5 + signal, np.zeros(20)])
    y = (signal < 0).astype(np.int64)
    scaler = Standardizer().fit(X)
    path = _sign_model(tmp_path, scaler=scaler)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert main(["evaluate", str(path), "--data", str(tmp_path / "d.npz"), "--json"]) == 0
    assert '"accuracy": 1.0' in capsys.readouterr().out
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", fmt="%.17g")
    assert main(["predict", str(path), str(tmp_path / "x.csv")]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [int(row.split(",")[1]) for row in rows] == list(y)


def test_features_the_scaler_brings_within_float32_are_taken(capsys, tmp_path):
    # near 1e40, beyond float32 as read: refused before the scaler could map them to +-1
    X = np.array([[1e40, 0.0], [-1e40, 0.0], [3e40, 1.0], [-2e40, 1.0]])
    path = _sign_model(tmp_path, scaler=Standardizer().fit(X))
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0, capsys.readouterr().err
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [int(row.split(",")[1]) for row in rows] == [0, 1, 0, 1]


@pytest.mark.parametrize("scaler", [Standardizer(), MinMaxScaler()], ids=type)
def test_float32_inputs_scale_to_the_bits_training_gives_them(tmp_path, scaler):
    """Training scales float32 data in float64 into float32: predict gives the same bits."""
    X = np.random.default_rng(0).normal(1e4, 1e-2, size=(50, 2)).astype(np.float32)
    scaler.fit(X)
    path = _sign_model(tmp_path, scaler=scaler)
    bundle = commands.load_model(str(path))
    prepared = commands.prepare(commands.ModelIO.of(bundle, "m"), bundle.scaler, X, "x")
    assert prepared.dtype == np.float32
    assert prepared.tobytes() == scaler.transform(X).tobytes()


@pytest.mark.parametrize("scaler", [Standardizer(), MinMaxScaler()], ids=type)
def test_inputs_beyond_float32_once_scaled_are_a_usage_error(capsys, tmp_path, scaler):
    # the scaler's ValueError, exit 1, advising Python: pass X.astype(np.float64)
    fitted_on = np.array([[0.0, 0.0], [1e-20, 1.0]])
    path = _sign_model(tmp_path, scaler=scaler.fit(fitted_on))
    np.save(tmp_path / "far.npy", np.array([[0.5, 0.5], [1e30, 0.5]]))
    assert main(["predict", str(path), str(tmp_path / "far.npy")]) == 2
    err = capsys.readouterr().err
    assert "far.npy: expected finite numbers within the range of float32, got 1e+30 (" in err
    assert "once scaled by the model's saved scaler) at row 1, column 0 (1 in all)" in err
    assert "astype" not in err


def _overflowing(tmp_path):
    """A model file and inputs whose second and fourth samples overflow its float32
    matmul: finite inputs, NaN or Inf outputs."""
    path = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors")
    X = np.array([[0.5, 0.2], [3e38, 3e38], [1.0, 1.0], [-3e38, 3e38]], np.float32)
    return path, X


def test_predict_names_the_inputs_whose_outputs_overflow(capsys, tmp_path):
    # NumPy's overflow warnings, then predictions_from_outputs blamed training: exit 1
    path, X = _overflowing(tmp_path)
    np.save(tmp_path / "x.npy", X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none may reach the user
        assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert (
        "x.npy: the model's outputs held NaN or Inf for 2 of 4 samples (row 1, row 3): those "
        "inputs overflowed the model's float32 arithmetic" in err
    )
    assert "predictions_from_outputs" not in err and "diverge" not in err


def test_evaluate_names_the_inputs_whose_outputs_overflow(capsys, tmp_path):
    path, X = _overflowing(tmp_path)
    np.savetxt(tmp_path / "d.csv", np.column_stack([X, [0, 1, 0, 1]]), delimiter=",")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["evaluate", str(path), "--data", str(tmp_path / "d.csv")]) == 2
    err = capsys.readouterr().err
    assert "d.csv: the model's outputs held NaN or Inf for 2 of 4 samples (line 2, line 4)" in err
    assert "diverge" not in err

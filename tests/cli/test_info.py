"""``chainrule info`` and ``evaluate`` on model files whose metadata is free-form, as
``chainrule.save`` accepts it: only chainrule train's metrics and config are laid out."""

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main


@pytest.mark.parametrize(
    "metadata",
    [
        {"metrics": {"test_accuracy": 0.98}, "config": {"lr": 0.02}},
        {"metrics": [0.9, 0.8], "config": "adam, 30 epochs"},
        {"metrics": {"test": {"note": "good"}}, "config": {"model": {"sizes": "big"}}},
        {"metrics": {"test": {"ok": True}}, "loss": {"name": "mse"}},
    ],
)
def test_info_prints_free_form_metadata_as_it_is(capsys, tmp_path, metadata):
    path = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors", metadata=metadata)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    for key, value in metadata.items():
        assert f"\n{key}: {value}\n" in out
    assert "training config:" not in out and " metrics: " not in out


def test_info_lays_out_the_metrics_and_config_of_a_run(capsys, tmp_path):
    from chainrule.runs.build import load_config

    config, _ = load_config(str(Path(__file__).parents[2] / "configs" / "moons.toml"), [])
    metrics = {"test": {"loss": 8.7e-06, "accuracy": 0.9}}  # the loss printed as 0.0000
    metadata = {"config": config, "metrics": metrics, "loss": "cross_entropy"}
    path = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors", metadata=metadata)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "test metrics: loss 8.7e-06, accuracy 0.9\n" in out
    assert 'training config:\n  [data]\n  name = "moons"' in out
    assert "\nloss: cross_entropy\n" in out and "\nconfig: " not in out


@pytest.mark.parametrize("config", [{"lr": 0.02}, {"data": {"name": "moons"}}, "moons", None])
def test_evaluate_without_a_training_config_asks_for_data(capsys, tmp_path, config):
    metadata = {} if config is None else {"config": config}
    path = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors", metadata=metadata)
    assert main(["evaluate", str(path)]) == 2
    assert "the model file has no training config: pass --data" in capsys.readouterr().err


def test_evaluate_with_data_ignores_free_form_metadata(capsys, tmp_path):
    metadata = {"metrics": {"test_accuracy": 0.98}, "config": {"lr": 0.02}, "loss": 3}
    path = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors", metadata=metadata)
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 2)), y=np.array([0, 1, 1, 0]))
    assert main(["evaluate", str(path), "--data", str(tmp_path / "d.npz")]) == 0
    out = capsys.readouterr().out
    assert "loss function: cross_entropy" in out and "accuracy: 0.5" in out


def test_fetch_help_names_the_cache_it_defaults_to(capsys):
    with pytest.raises(SystemExit):
        main(["data", "fetch", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "default: $CHAINRULE_CACHE_DIR, else $XDG_CACHE_HOME/chainrule, else ~/.cache/chainrule"
        in help_text
    )


def test_info_on_a_directory_says_so_and_names_the_model_file_in_it(capsys, tmp_path):
    """It said "model file not found" of a run directory that exists."""
    assert main(["info", str(tmp_path)]) == 2
    assert f"model file {tmp_path}: expected a file, got a directory\n" in capsys.readouterr().err
    cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "model.safetensors")
    assert main(["info", str(tmp_path)]) == 2
    expected = (
        f"expected a file, got a directory; the model file in it: {tmp_path / 'model.safetensors'}"
    )
    assert expected in capsys.readouterr().err


def test_info_escapes_control_characters_of_labels_and_metadata(capsys, tmp_path):
    # a stranger's escape sequences reached the terminal: clear the screen, set its title
    labels = ["cat", "dog\x1b[2J\x1b]0;pwned\x07"]
    metadata = {
        "note": "\x1b[31mred\x1b[0m",
        "key\x1b[2J": "line\nforged: line",
        "metrics": {"test\x9b": {"loss\x1b": 0.5}},
    }
    path = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors", labels=labels,
                   metadata=metadata)  # fmt: skip
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert all(c.isprintable() or c == "\n" for c in out), repr(out)
    assert "labels: cat, dog\\x1b[2J\\x1b]0;pwned\\x07\n" in out
    assert "\nnote: \\x1b[31mred\\x1b[0m\n" in out
    assert "\nkey\\x1b[2J: line\\nforged: line\n" in out
    assert "\ntest\\x9b metrics: loss\\x1b 0.5\n" in out


def test_info_prints_metrics_a_float_cannot_hold_as_they_are(capsys, tmp_path, monkeypatch):
    # ".4f" of an int beyond a float's range was a bare OverflowError; such an int is JSON
    # that a file chainrule did not write may hold, whatever its loader comes to refuse
    from chainrule.cli import commands

    path = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors")
    metadata = {"metrics": {"test": {"accuracy": 10**400, "loss": 0.5}}, "n": -(10**400)}
    bundle = cr.load_bundle(path)
    bundle.metadata = metadata
    monkeypatch.setattr(commands, "load_model", lambda _: bundle)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"\nmetrics: {metadata['metrics']}\n" in out and f"\nn: {-(10**400)}\n" in out
    assert " metrics: " not in out


@pytest.mark.parametrize(
    ("layers", "loss", "says"),
    [
        ([nn.Linear(2, 2, rng=0)], "nll", "expects log-probabilities"),
        ([nn.Linear(2, 2, rng=0), nn.Softmax()], "cross_entropy", "expects logits"),
        ([nn.Linear(2, 1, rng=0)], "cross_entropy", "expects one output per class"),
    ],
)
def test_a_metadata_loss_that_does_not_fit_the_output_layer_is_refused(
    capsys, tmp_path, layers, loss, says
):
    # evaluate computed it anyway (nll of a linear layer's scores: loss -0.36), and
    # predict read the outputs as what that loss reads
    model = nn.Sequential(*layers)
    path = cr.save(model, tmp_path / "m.safetensors", metadata={"loss": loss})
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 2)), y=np.array([0, 1, 1, 0]))
    output = nn.output_layer(model)
    expected = (
        f"m.safetensors: the metadata's loss {loss!r} does not fit the model's output layer "
        f"{output!r} ({nn.output_width(model)} outputs), as chainrule train refuses: "
    )
    assert main(["evaluate", str(path), "--data", str(tmp_path / "d.npz")]) == 2
    err = capsys.readouterr().err
    assert expected in err and says in err
    assert main(["predict", str(path), str(tmp_path / "not-read.npy")]) == 2
    assert expected in capsys.readouterr().err

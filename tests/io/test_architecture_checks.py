"""What save refuses in a model's architecture, and load in a file's, before building:
layer settings an MLP's config does not hold (edited after it was built; those only
training reads may differ), and tensors where a config holds JSON data (an MLP's sizes as
a tensor escaped load's size bounds). Integers beyond int64, which the metadata may not
hold, stay allowed in an architecture: files hold MLP seeds beyond it."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest

import chainrule.io
from chainrule import nn
from chainrule.files import FormatError, write_tree
from chainrule.io import check_saveable, load, save


def _model_file(path, architecture, state=None):
    write_tree(
        path,
        {
            "format": "chainrule.model",
            "version": 1,
            "architecture": architecture,
            "state": {} if state is None else state,
            "scaler": None,
            "labels": None,
            "metadata": {},
        },
    )
    return path


@pytest.fixture
def no_build(monkeypatch):
    def build(config, rng=None):
        raise AssertionError("the model was built before the file was refused")

    monkeypatch.setattr(chainrule.io.nn, "from_config", build)


def _edited_mlp():
    model = nn.MLP([3, 4, 2], activation="leaky_relu", batch_norm=True, seed=0)
    model.layers[2].alpha = 0.5  # the LeakyReLU
    model.layers[1].eps = 0.1  # the BatchNorm1d
    return model


def test_save_refuses_an_mlp_whose_layers_were_edited_after_it_was_built(tmp_path):
    # saved as the defaults its config holds: the loaded model's eval outputs differed
    path = tmp_path / "m.safetensors"
    with pytest.raises(
        ValueError,
        match=r"^save: expected model\.get_config\(\) to rebuild the model's state and the "
        r"settings of its layers.* got layers of other settings: "
        r"layers\.1 \(BatchNorm1d\) eps expected 1e-05, got 0\.1; "
        r"layers\.2 \(LeakyReLU\) alpha expected 0\.01, got 0\.5 .*"
        r"save nn\.Sequential\(\*mlp\.layers\)",
    ):
        save(_edited_mlp(), path)
    assert not path.exists()


def test_an_edit_after_a_save_is_refused_by_the_next_save(tmp_path):
    # a model found to rebuild is not rebuilt at the next save while its config stays
    model = nn.MLP([3, 4, 2], activation="leaky_relu", seed=0)
    save(model, tmp_path / "a.safetensors")
    model.layers[1].alpha = 0.5
    with pytest.raises(ValueError, match=r"layers\.1 \(LeakyReLU\) alpha expected 0\.01"):
        check_saveable(model)


def test_a_sequential_of_the_edited_layers_loads_bit_identical(tmp_path):
    model = nn.Sequential(*_edited_mlp().layers).eval()
    loaded = load(save(model, tmp_path / "s.safetensors"))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_a_seed_beyond_int64_in_the_architecture_saves_and_loads(tmp_path):
    # refusing it made the files of earlier versions with such seeds unreadable
    model = nn.MLP([3, 4, 2], dropout=0.5, seed=2**70)
    loaded = load(save(model, tmp_path / "m.safetensors"))
    assert loaded.get_config() == model.get_config()


def test_settings_only_training_reads_may_differ_and_checkpoints_go_on(tmp_path):
    # a callback annealing an MLP's dropout made ModelCheckpoint end the run after epoch 1
    from chainrule import losses, optim
    from chainrule.data import make_moons
    from chainrule.train import LambdaCallback, ModelCheckpoint, fit

    model = nn.MLP([2, 8, 2], dropout=0.5, batch_norm=True, seed=0)

    def anneal(trainer, epoch):
        model.layers[3].keep_prob = 0.5 + 0.1 * (epoch + 1)  # the Dropout
        model.layers[1].momentum = 0.8  # the BatchNorm1d

    X, y = make_moons(64, noise=0.2, seed=1)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    callbacks = [LambdaCallback(on_epoch_begin=anneal), ModelCheckpoint(tmp_path / "models")]
    fit(model, losses.cross_entropy, opt, X, y, epochs=3, batch_size=16, progress=False,
        dev=(X, y), callbacks=callbacks)  # fmt: skip
    loaded = load(tmp_path / "models" / "last.safetensors").eval()
    np.testing.assert_array_equal(loaded(X).data, model.eval()(X).data)


@pytest.mark.parametrize(
    ("architecture", "where"),
    [
        ({"type": "MLP", "sizes": np.array([1, 4000, 4000, 1])}, "architecture.sizes"),
        (
            {"type": "Sequential", "layers": [{"type": "MLP", "sizes": np.ones(50, np.int64)}]},
            "architecture.layers.0.sizes",
        ),
        ({"type": "Linear", "in_features": 2, "out_features": np.array(3)}, None),
    ],
)
def test_load_refuses_a_tensor_in_the_architecture_before_building(
    tmp_path, no_build, architecture, where
):
    # a 344-byte file of MLP sizes [1, 4000, 4000, 1] as a tensor built 16 million values
    path = _model_file(tmp_path / "m.safetensors", architecture)
    where = where or "architecture.out_features"
    with pytest.raises(
        FormatError,
        match=rf": the architecture expected JSON data \(numbers, strings, lists and "
        rf"objects\), got a tensor of shape \(\d*,?\) at {re.escape(where)}$",
    ):
        load(path)


def test_a_layer_without_state_used_twice_still_saves(tmp_path):
    # the model lists it once (named_modules), the model its config rebuilds twice
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(3, 4, rng=0), relu, nn.Linear(4, 4, rng=0), relu).eval()
    loaded = load(save(model, tmp_path / "s.safetensors"))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


class _Bare(nn.Module):
    """A registered layer whose config does not rebuild a layer added to it."""

    def forward(self, x):
        return x

    def get_config(self):
        return {"type": "_Bare"}


def test_save_refuses_a_layer_its_config_does_not_rebuild(tmp_path, monkeypatch):
    monkeypatch.setitem(nn.LAYERS, "_Bare", _Bare)
    model = _Bare()
    model.register_module("act", nn.Sigmoid())
    with pytest.raises(ValueError, match=r"other settings: act \(Sigmoid\) expected no such layer"):
        save(model, tmp_path / "m.safetensors")


def test_check_saveable_refuses_a_value_a_file_cannot_hold_before_anything_is_written(tmp_path):
    # check_saveable passed; fit's ModelCheckpoint failed at its first save, an epoch in
    layer = nn.Linear(3, 2, rng=0)
    layer.init = {"name": "normal", "std": Fraction(1, 2)}
    path = tmp_path / "m.safetensors"
    with pytest.raises(
        ValueError,
        match=r"^save: the architecture \(model\.get_config\(\)\) expected JSON data \(numbers, "
        r"strings, lists and objects\), got Fraction Fraction\(1, 2\) at architecture\.init\.std$",
    ):
        check_saveable(layer)
    with pytest.raises(ValueError, match="got Fraction"):
        save(layer, path)
    assert not path.exists()
    layer.init = {"name": "normal", "std": np.complex128(0.5)}  # a NumPy number, not JSON's
    with pytest.raises(ValueError, match=r"got complex128 np\.complex128\(0\.5\+0j\) at archi"):
        check_saveable(layer)

"""The config schema: defaults, validation messages, --set parsing and the TOML writer."""

import pytest

from chainrule.cli import config as cfg

BASE = {"model": {"sizes": [2, 8, 2]}, "data": {"name": "moons"}}


def resolve(**sections):
    doc = {k: dict(v) for k, v in BASE.items()}
    for section, body in sections.items():
        doc.setdefault(section, {}).update(body)
    return cfg.resolve(doc)


def test_defaults_fill_every_key():
    config = resolve()
    assert config["train"]["batch_size"] == 32
    assert config["optimizer"]["name"] == "adam"
    assert set(config) == set(cfg.SCHEMA)


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"train": {"epochz": 3}}, "unknown key train.epochz; did you mean 'train.epochs'?"),
        ({"trian": {"epochs": 3}}, "unknown section [trian]; did you mean 'train'?"),
        ({"train": {"epochs": "ten"}}, "train.epochs: expected an integer, got string 'ten'"),
        ({"train": {"epochs": -1}}, "train.epochs: expected an integer >= 1, got -1"),
        ({"optimizer": {"lr": True}}, "optimizer.lr: expected a number (float), got boolean"),
        ({"optimizer": {"name": "adma"}}, "did you mean 'adam'?"),
        ({"model": {"sizes": [2, "8", 2]}}, "model.sizes[1]: expected an integer, got string"),
        ({"data": {"split": [0.5, 0.2]}}, "data.split: expected 3 ratios"),
        ({"optimizer": {"weight_decay": 0.1}}, "only adamw has decoupled weight decay"),
    ],
)
def test_bad_configs_name_the_key_and_the_expected_type(sections, expected):
    with pytest.raises(cfg.ConfigError) as info:
        resolve(**sections)
    assert expected in str(info.value)


def test_sizes_are_required():
    with pytest.raises(cfg.ConfigError, match="model.sizes: required"):
        cfg.resolve({"data": {"name": "moons"}})


def test_set_parses_toml_values_and_falls_back_to_strings():
    doc = {}
    cfg.apply_override(doc, "model.sizes=[784, 100, 10]")
    cfg.apply_override(doc, "optimizer.lr=3e-4")
    cfg.apply_override(doc, "data.name=moons")
    cfg.apply_override(doc, "optimizer.params={beta1 = 0.8}")
    assert doc == {
        "model": {"sizes": [784, 100, 10]},
        "optimizer": {"lr": 3e-4, "params": {"beta1": 0.8}},
        "data": {"name": "moons"},
    }
    with pytest.raises(cfg.ConfigError, match="expected section.key=value"):
        cfg.apply_override(doc, "epochs=3")


def test_written_toml_reads_back_to_the_same_config():
    config = resolve(optimizer={"params": {"beta1": 0.8}}, output={"dir": 'a "quoted" dir'})
    assert cfg.resolve(cfg.tomllib.loads(cfg.dumps(config))) == config


def test_missing_config_file(tmp_path):
    with pytest.raises(cfg.ConfigError, match="config file not found"):
        cfg.read(tmp_path / "nope.toml")


def test_mnist_split_defaults_to_55k_train_5k_dev():
    config = cfg.resolve({"model": {"sizes": [784, 10]}})
    assert config["data"]["split"] == [55_000 / 60_000, 5_000 / 60_000]
    with pytest.raises(cfg.ConfigError, match=r"expected 2 ratios \[train, dev\] for mnist"):
        cfg.resolve({"model": {"sizes": [784, 10]}, "data": {"split": [0.8, 0.1, 0.1]}})

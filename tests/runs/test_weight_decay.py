"""optimizer.weight_decay defaults to the optimizer's own: a config choosing adamw without
it trains AdamW with AdamW's default decay and its resolved config records that value (it
was 0.0, so adamw trained as plain Adam); a weight_decay the config gives, 0.0 included
(what the config.toml of a run of that time says), is the one trained with."""

import inspect

import pytest

from chainrule import optim
from chainrule.runs import build
from chainrule.runs import config as cfg

ADAMW_DEFAULT = inspect.signature(optim.AdamW).parameters["weight_decay"].default
N_TRAIN = 800  # 0.8 of data.n_samples = 1000, the moons default


def resolve(**optimizer):
    doc = {"data": {"name": "moons"}, "model": {"sizes": [2, 8, 2]}, "optimizer": optimizer}
    return cfg.resolve(doc)


def weight_decay_trained(config) -> float:
    model = build.build_model(config, model_seed=0)
    return build.build_optimizer(config, model.parameters(), N_TRAIN).weight_decay


def test_adamw_without_weight_decay_trains_and_records_adamws_default():
    assert ADAMW_DEFAULT > 0
    config = resolve(name="adamw")
    assert config["optimizer"]["weight_decay"] == ADAMW_DEFAULT
    assert weight_decay_trained(config) == ADAMW_DEFAULT
    assert f"weight_decay = {ADAMW_DEFAULT!r}" in cfg.dumps(config).splitlines()


@pytest.mark.parametrize("decay", [0.0, 0.03])
def test_a_given_weight_decay_is_the_one_trained_and_recorded(decay):
    config = resolve(name="adamw", weight_decay=decay)
    assert config["optimizer"]["weight_decay"] == decay
    assert weight_decay_trained(config) == decay
    assert f"weight_decay = {decay!r}" in cfg.dumps(config).splitlines()


def test_the_written_config_reads_back_as_the_same_config():
    """A run's config.toml is its resolved config: read back (``--resume``), it is that
    config, whatever the optimizer."""
    for name in cfg.OPTIMIZERS:
        config = resolve(name=name)
        assert cfg.resolve(cfg._loads(cfg.dumps(config), "config.toml")) == config


@pytest.mark.parametrize("name", [n for n in cfg.OPTIMIZERS if n != "adamw"])
def test_the_other_optimizers_default_to_no_decay_and_refuse_one(name):
    assert resolve(name=name)["optimizer"]["weight_decay"] == 0.0
    with pytest.raises(cfg.ConfigError, match="only adamw has decoupled weight decay"):
        resolve(name=name, weight_decay=0.1)


def test_an_override_of_the_optimizer_name_takes_that_optimizers_default():
    config, _ = build.load_config("moons.toml", ["optimizer.name=adamw"])
    assert config["optimizer"]["weight_decay"] == ADAMW_DEFAULT
    config, _ = build.load_config("moons.toml", [])
    assert config["optimizer"]["weight_decay"] == 0.0


def test_help_shows_the_default_by_optimizer():
    (line,) = [s for s in cfg.schema_help().splitlines() if s.startswith("  weight_decay = ")]
    assert f"adamw: {ADAMW_DEFAULT!r}" in line
    assert "required" not in line

"""A training run described by a TOML config: what ``chainrule train`` runs and the race of
``chainrule bench --to-accuracy`` rebuilds.

=========================================  ===============================================
:mod:`~chainrule.runs.config`              the schema with its defaults and checks,
                                           :class:`ConfigError`, TOML in and out,
                                           ``section.key=value`` overrides
:mod:`~chainrule.runs.datasets`            the data of a ``[data]`` section: splits,
                                           normalization, label names, targets
:mod:`~chainrule.runs.build`               the config file and its seeds; the model, loss,
                                           optimizer, schedule and penalty of a config
=========================================  ===============================================

Use::

    config, _ = load_config("moons.toml", ["train.epochs=5"])
    seed = seeds(config["train"]["seed"])
    model = build_model(config, seed["model"])

It imports neither :mod:`chainrule.cli` (the run directory, the report, exit statuses)
nor :mod:`chainrule.bench`; its messages name an override ``--set 'KEY=VALUE'``, as the
two commands that take overrides spell them.
"""

from chainrule.runs.build import (
    build_loss,
    build_model,
    build_optimizer,
    build_regularization,
    load_config,
    seeds,
)
from chainrule.runs.config import ConfigError

__all__ = [
    "ConfigError",
    "build_loss",
    "build_model",
    "build_optimizer",
    "build_regularization",
    "load_config",
    "seeds",
]

"""The recipe of the race: a ``chainrule train`` config, resolved once for every system.

The race trains what the main job trains. The config (default: the packaged
``mnist.toml``) is read, resolved and turned into data, model, loss and optimizer by the
functions of :mod:`chainrule.runs` that ``chainrule train`` uses, with the seeds they
derive from ``train.seed``: the chainrule system is the main job minus its run
directory. PyTorch and JAX rebuild the same network, loss, Adam and schedule in their own
terms, which they can for a subset of the config: :func:`resolve` refuses the rest,
naming each key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from chainrule import optim
from chainrule.data import BatchLoader
from chainrule.runs import datasets
from chainrule.runs.build import build_loss, build_model, build_optimizer, load_config, seeds
from chainrule.runs.config import ConfigError

ACTIVATIONS = ("relu", "sigmoid", "tanh")
ADAM_PARAMS = ("beta1", "beta2", "eps")
SCHEDULES = ("none", "cosine")
# (section, key, the one value the peers implement)
_FIXED = (
    ("model", "output", "linear"),
    ("model", "dropout", 1.0),
    ("model", "batch_norm", False),
    ("loss", "name", "cross_entropy"),
    ("loss", "label_smoothing", 0.0),
    ("optimizer", "name", "adam"),
    ("optimizer", "clip_norm", 0.0),
    ("schedule", "warmup", 0),
    ("regularization", "l2", 0.0),
    ("regularization", "l1", 0.0),
    ("train", "early_stopping", 0),
)


def resolve(path: str | None, overrides: list[str]) -> dict:
    """The resolved config of ``path`` (default: the packaged ``mnist.toml``) and overrides.

    Raises
    ------
    ConfigError
        For a config ``chainrule train`` would refuse, and for one the peers cannot
        reproduce: an output layer, dropout, batch norm, another loss, optimizer or
        schedule, a warm-up, clipping, a penalty, early stopping.
    """
    config, _ = load_config(path, overrides)
    problems = [
        f"{section}.{key}: expected {value!r}, got {config[section][key]!r}"
        for section, key, value in _FIXED
        if config[section][key] != value
    ]
    activation = config["model"]["activation"]
    if activation not in ACTIVATIONS:
        problems.append(f"model.activation: expected one of {ACTIVATIONS}, got {activation!r}")
    extra = sorted(set(config["optimizer"]["params"]) - set(ADAM_PARAMS))
    if extra:
        problems.append(f"optimizer.params: expected only keys of {ADAM_PARAMS}, got {extra}")
    schedule = config["schedule"]
    if schedule["name"] not in SCHEDULES:
        problems.append(f"schedule.name: expected one of {SCHEDULES}, got {schedule['name']!r}")
    elif schedule["params"].get("unit", "step") != "step":
        problems.append(
            f"schedule.params.unit: expected 'step' (updated every mini-batch), got "
            f"{schedule['params']['unit']!r}"
        )
    if problems:
        raise ConfigError(
            "bench --to-accuracy: PyTorch and JAX rebuild only an MLP with a linear output, "
            "cross-entropy, Adam and a constant or cosine rate; " + "; ".join(problems)
        )
    return config


@dataclass(frozen=True, eq=False)
class Recipe:
    """A resolved config with its data: what every system of the race trains.

    ``learning_rate`` (a float or a step-unit :class:`~chainrule.optim.CosineDecay`),
    ``beta1``, ``beta2`` and ``eps`` are read from the chainrule optimizer the config
    builds, so the peers copy what chainrule runs.
    """

    config: dict
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    model_seed: int
    shuffle_seed: int
    learning_rate: float | optim.CosineDecay
    beta1: float
    beta2: float
    eps: float

    @classmethod
    def load(cls, config: dict) -> Recipe:
        """Load and split the data of a config from :func:`resolve`, as ``chainrule train``."""
        seed = seeds(config["train"]["seed"])
        data = datasets.load(config["data"], seed["data"], progress=False)
        model = build_model(config, seed["model"])
        optimizer = build_optimizer(config, model.parameters(), len(data.train[1]))
        hyper = optimizer.hyperparameters
        return cls(
            config,
            data.train,
            data.test,
            seed["model"],
            seed["shuffle"],
            optimizer.lr,
            hyper["beta1"],
            hyper["beta2"],
            hyper["eps"],
        )

    @property
    def sizes(self) -> list[int]:
        return list(self.config["model"]["sizes"])

    @property
    def activation(self) -> str:
        return self.config["model"]["activation"]

    @property
    def batch_size(self) -> int:
        return self.config["train"]["batch_size"]

    @property
    def epochs(self) -> int:
        return self.config["train"]["epochs"]

    def model(self):
        """A fresh chainrule model, initialized as ``chainrule train`` initializes it."""
        return build_model(self.config, self.model_seed)

    def loss(self):
        return build_loss(self.config)

    def optimizer(self, model):
        """The config's chainrule optimizer (with its schedule) over ``model``."""
        return build_optimizer(self.config, model.parameters(), len(self.train[1]))

    def initial_params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of the chainrule model's initial (W, b) per layer, W of shape (n_in, n_out)."""
        values = [p.data.copy() for _, p in self.model().named_parameters()]
        return list(zip(values[::2], values[1::2], strict=True))

    def epoch_batches(self) -> Iterator[Iterator[tuple[np.ndarray, np.ndarray]]]:
        """Each epoch's mini-batches, in the order chainrule's ``Trainer`` draws them.

        The same ``BatchLoader`` over the training set and the same generator,
        ``default_rng(SeedSequence(shuffle_seed))``, drawing one permutation per epoch
        when the epoch's iterator is made; its batches are gathered as they are consumed.
        """
        loader = BatchLoader(*self.train, self.batch_size)
        rng = np.random.default_rng(np.random.SeedSequence(self.shuffle_seed))
        for _ in range(self.epochs):
            yield loader.epoch(rng)

    def summary(self) -> dict:
        """Plain data for the report."""
        lr = self.learning_rate
        n_train = len(self.train[1])
        return {
            "data": self.config["data"]["name"],
            "n_train": n_train,
            "n_test": len(self.test[1]),
            "sizes": self.sizes,
            "activation": self.activation,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "steps_per_epoch": -(-n_train // self.batch_size),
            "learning_rate": lr.get_config() if isinstance(lr, optim.Schedule) else lr,
            "adam": {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps},
            "seed": self.config["train"]["seed"],
        }

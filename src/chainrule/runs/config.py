"""Run configs: a typed schema with defaults, TOML in and out, ``--set`` overrides.

A config is a two-level TOML document: sections (``[data]``, ``[model]``, ...) of typed
keys. :func:`resolve` merges a user document over the defaults and validates every key
before any work is done; a bad key raises :class:`ConfigError` naming the key, the
expected type and, for a misspelt key, the closest valid one.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import _checks, losses, nn, optim
from chainrule.functional import check_keep_prob
from chainrule.init import INITIALIZERS, check_spec, initialize
from chainrule.io import INT_RANGE, int_outside_range
from chainrule.runs import datasets

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

DATASETS = tuple(datasets.SHAPES)
NORMALIZATIONS = (*datasets.SCALERS, "none")
OPTIMIZERS = tuple(optim.OPTIMIZERS)
#: The optimizer arguments the config sets by keys of their own, not in optimizer.params.
_OWN_OPTIMIZER_KEYS = ("lr", "clip_norm", "weight_decay")
# the MLP's output layers; "linear" is its None (no layer after the last Linear)
OUTPUTS = tuple(name for name in nn.OUTPUTS if name is not None)
MNIST_SPLIT = (55_000 / 60_000, 5_000 / 60_000)  # the default MNIST [train, dev]
# The keys of every epoch's logs that early stopping can watch: a run always has dev data
# and, its targets being class labels, reports accuracy.
MONITORS = ("dev_loss", "dev_accuracy", "train_loss", "train_accuracy")
LOSSES = tuple(losses.LOSSES)
# What a loss reads (chainrule.losses.INPUTS) as errors word it, and the model.output
# layers that give it.
_READS = {
    "target_scale": ("outputs on the scale of the 0/1 targets", ("linear", "sigmoid", "softmax")),
    "probabilities": ("probabilities", ("sigmoid", "softmax")),
    "logits": ("logits", ("linear",)),
    "log_probabilities": ("log-probabilities", ("log_softmax",)),
}
# chainrule.optim's schedules but linear_warmup, which wraps another (its ``after``): a
# config names one schedule, whose alpha0 defaults to optimizer.lr, and schedule.warmup
# wraps it in a linear_warmup
SCHEDULES = ("none", *(name for name in optim.SCHEDULES if name != "linear_warmup"))
#: The dtype of a run's data and model: that of chainrule's generators and MLP by default,
#: which datasets.load and build.build_model keep.
DTYPE = np.dtype(np.float32)
#: The largest data.noise whose points a generated set holds in :data:`DTYPE` whatever its
#: draws: a draw of NumPy's standard normal is below 14 in magnitude (the ziggurat's tail
#: from 53-bit uniforms) and a set's noiseless points lie within 4 of 0, so a point is below
#: 4 + 14 noise <= 16 noise for noise >= 2 (the generators refuse a point beyond the range).
MAX_NOISE = float(np.finfo(DTYPE).max) / 16


def default_weight_decay(optimizer: str) -> float:
    """optimizer.weight_decay where a config gives none: the default of the ``weight_decay``
    argument of the optimizer ``optimizer``'s class (:class:`~chainrule.optim.AdamW`'s
    0.01), read from its signature; 0.0 for a class without one."""
    argument = inspect.signature(optim.OPTIMIZERS[optimizer]).parameters.get("weight_decay")
    return 0.0 if argument is None else float(argument.default)


class ConfigError(ValueError):
    """A config (or a ``section.key=value`` override) that does not fit the schema, or a
    parameter that the class it goes to refuses (:mod:`chainrule.runs.build`).

    ``key`` is the one ``section.key`` (or ``section``) of the document the error is
    about, which :func:`resolve` sets so that its caller can say where that value came
    from; None for a check of several keys together."""

    key: str | None = None


@dataclass(frozen=True)
class Key:
    """One config key: its type name, default, and an optional check."""

    kind: str  # "int", "float", "str", "bool", "list[float]", "table", "sizes", "init"
    default: Any
    doc: str
    choices: tuple = ()
    low: float | None = None  # inclusive lower bound for numbers (and list items)
    high: float | None = None  # inclusive upper bound
    high_open: bool = False  # strictly < high
    positive: bool = False  # strictly > low
    extra: dict = field(default_factory=dict)
    default_doc: str = ""  # the default as help shows it where another key decides it


SCHEMA: dict[str, dict[str, Key]] = {
    "data": {
        "name": Key("str", "mnist", "dataset", choices=DATASETS),
        "n_samples": Key("int", 1000, "samples generated (2-D sets)", low=1, high=10**7),
        "noise": Key(
            "float", 0.2, "noise of the generated sets but blobs", low=0.0, high=MAX_NOISE
        ),
        "split": Key(
            "list[float]",
            [0.8, 0.1, 0.1],
            "train/dev/test ratios (2-D sets); MNIST: [train, dev] of the 60k training "
            "images (default 55k/5k), the test set is the official 10k",
            low=0.0,
            positive=True,
        ),
        "n_train": Key(
            "int",
            0,
            "MNIST: use only the first n of the 60k training images (0: all)",
            low=0,
            high=datasets.MNIST_SIZES["train"],
        ),
        "n_test": Key(
            "int",
            0,
            "MNIST: use only the first n of the 10k test images (0: all)",
            low=0,
            high=datasets.MNIST_SIZES["test"],
        ),
        "normalize": Key("str", "standardize", "input normalization", choices=NORMALIZATIONS),
        "human_error": Key("float", 0.0, "baseline error for bias/variance", low=0.0, high=1.0),
    },
    "model": {
        "sizes": Key("sizes", None, "units per layer, input first", low=1),
        "activation": Key("str", "relu", "hidden activation", choices=tuple(nn.ACTIVATIONS)),
        "output": Key("str", "linear", "output layer", choices=OUTPUTS),
        "dropout": Key(
            "float", 1.0, "keep_prob per hidden layer (1: none)", low=0.0, high=1.0, positive=True
        ),
        "batch_norm": Key("bool", False, "batch norm before each hidden activation"),
        "init": Key(
            "init",
            "auto",
            "weight initializer (auto: by activation), or a table with its parameters, "
            'e.g. {name = "normal", std = 1.0}',
            choices=("auto", *INITIALIZERS),
        ),
    },
    "loss": {
        "name": Key("str", "cross_entropy", "loss", choices=LOSSES),
        "label_smoothing": Key(
            "float", 0.0, "cross_entropy label smoothing", low=0.0, high=1.0, high_open=True
        ),
    },
    "optimizer": {
        "name": Key("str", "adam", "optimizer", choices=OPTIMIZERS),
        "lr": Key("float", 1e-3, "learning rate", low=0.0, positive=True),
        "params": Key("table", {}, "extra optimizer arguments, e.g. {beta1 = 0.9}"),
        "clip_norm": Key("float", 0.0, "clip by global norm (0: off)", low=0.0),
        "weight_decay": Key(
            "float",
            None,
            "decoupled weight decay, each step W -= lr * weight_decay * W (adamw only; an "
            "L2 term in the gradient is regularization.l2)",
            low=0.0,
            default_doc=f"adamw: {default_weight_decay('adamw')!r}, others: 0.0",
        ),
    },
    "schedule": {
        "name": Key("str", "none", "learning-rate schedule", choices=SCHEDULES),
        "params": Key("table", {}, "schedule fields; alpha0 defaults to optimizer.lr"),
        "warmup": Key(
            "int",
            0,
            "linear warm-up from 0 over this many t of the schedule's unit (steps for "
            "'none' and the default cosine); 0: off",
            low=0,
        ),
    },
    "regularization": {
        "l2": Key("float", 0.0, "L2 lambda (cost + lambda/2m sum W^2, m = training size)", low=0.0),
        "l1": Key("float", 0.0, "L1 lambda (cost + lambda/m sum |W|)", low=0.0),
    },
    "train": {
        "epochs": Key("int", 10, "epochs", low=1),
        "batch_size": Key("int", 32, "mini-batch size", low=1),
        "seed": Key("int", 0, "the one seed of the run", low=0),
        "early_stopping": Key("int", 0, "patience in epochs (0: off)", low=0),
        "monitor": Key("str", "dev_loss", "the log key early stopping watches", choices=MONITORS),
        "checkpoint": Key("bool", True, "write a resume checkpoint after every epoch"),
    },
    "output": {
        "dir": Key(
            "str",
            "",
            "run directory, new or empty; a leading ~ is the home folder (empty: "
            "runs/<config name>-<timestamp>)",
        ),
    },
}


def closest(word: str, options, prefix: str = "") -> str:
    """The hint of an error naming the unknown ``word``: ``"; did you mean '<prefix><x>'?"``
    for the closest of ``options``, else ``"; valid: "`` and all of them, each after
    ``prefix`` (``"optimizer.params."``)."""
    return _checks.did_you_mean(word, options, prefix) or (
        f"; valid: {', '.join(prefix + o for o in options)}"
    )


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def outputs_are_logits(loss: str, output: str) -> bool:
    """Whether a model trained with ``loss`` and ending in ``output`` emits logits (its
    ``from_logits``): only with a loss that reads logits (:data:`chainrule.losses.INPUTS`)
    from a linear output layer, where a single output is a logit (class 1 above 0) and
    several are scores for a softmax. A quadratic, mse or mae model's outputs are on the
    scale of its 0/1 targets."""
    return losses.INPUTS[loss] == "logits" and output == "linear"


def _reads(loss: str) -> tuple[str, tuple[str, ...]]:
    """What ``loss`` reads, as a config error words it, and the model.output layers that
    give it."""
    what, outputs = _READS[losses.INPUTS[loss]]
    if what == "logits":  # a softmax over the classes, or a sigmoid of each output
        applied = "softmax" if loss in losses.CLASS_INDEX_TARGETS else "sigmoid"
        what = f"logits (it applies the {applied} itself)"
    return what, outputs


def _check_number(name: str, key: Key, value: Any, what: str) -> float:
    if key.low is not None and (value <= key.low if key.positive else value < key.low):
        bound = f"> {key.low:g}" if key.positive else f">= {key.low:g}"
        raise ConfigError(f"{name}: expected {what} {bound}, got {value!r}")
    if key.high is not None and (value >= key.high if key.high_open else value > key.high):
        bound = f"< {key.high:g}" if key.high_open else f"<= {key.high:g}"
        raise ConfigError(f"{name}: expected {what} {bound}, got {value!r}")
    return value


def _fits_float(value: int | float) -> bool:
    """False for an integer beyond the float range (TOML and JSON have any size)."""
    return not isinstance(value, int) or abs(value) <= sys.float_info.max


def _coerce(name: str, key: Key, value: Any) -> Any:
    """Check ``value`` against ``key``; return it in canonical form (ints become floats)."""

    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{name}: expected {expected}, got {_type_name(value)} {value!r}")

    if key.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return _check_number(name, key, value, "an integer")
    if key.kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong("a number (float)")
        if not _fits_float(value):
            raise wrong("a number within the float range")
        if not math.isfinite(value):
            raise wrong("a finite number")
        return _check_number(name, key, float(value), "a number")
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise wrong("a boolean (true or false)")
        return value
    if key.kind == "init" and isinstance(value, dict):
        try:  # names and parameters, then their values: a draw of a 1 x 1 array
            spec = check_spec(value)
            initialize(spec, (1, 1), rng=0)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{name}: {error}") from None
        return spec
    if key.kind in ("str", "init"):
        if not isinstance(value, str):
            raise wrong("a string" if key.kind == "str" else "a string or a table")
        try:  # a path from a non-UTF-8 shell argument carries surrogates config.toml cannot
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise wrong("text that UTF-8 can encode") from None
        if key.choices and value not in key.choices:
            raise ConfigError(
                f"{name}: expected a string, one of {', '.join(key.choices)}; got {value!r}"
                + _checks.did_you_mean(value, key.choices)
            )
        return value
    if key.kind == "table":
        if not isinstance(value, dict):
            raise wrong("a table, e.g. {beta1 = 0.9}")
        return dict(value)
    if key.kind in ("list[float]", "sizes"):
        item = "integer" if key.kind == "sizes" else "number"
        an_item = "an integer" if key.kind == "sizes" else "a number"
        expected = f"an array of {item}s, e.g. [784, 100, 10]"
        if not isinstance(value, list):
            raise wrong(expected)
        out = []
        for i, v in enumerate(value):
            ok = isinstance(v, int) if key.kind == "sizes" else isinstance(v, int | float)
            if isinstance(v, bool) or not ok:
                raise ConfigError(
                    f"{name}[{i}]: expected {an_item}, got {_type_name(v)} {v!r} ({expected})"
                )
            if not _fits_float(v) and key.kind != "sizes":
                raise ConfigError(f"{name}[{i}]: expected a number within the float range, got {v}")
            out.append(_check_number(f"{name}[{i}]", key, v, an_item))
        return out if key.kind == "sizes" else [float(v) for v in out]
    raise AssertionError(key.kind)


def defaults() -> dict:
    """The default config (model.sizes has no default: a config must give it; that of
    optimizer.weight_decay, None, is the optimizer's own, which :func:`resolve` puts in)."""
    return {s: {k: _copy(key.default) for k, key in keys.items()} for s, keys in SCHEMA.items()}


def _copy(value):
    return (
        list(value)
        if isinstance(value, list)
        else dict(value)
        if isinstance(value, dict)
        else value
    )


def resolve(document: dict, *, strict: bool = True) -> dict:
    """Merge ``document`` over the defaults and validate it; :class:`ConfigError` if bad.

    ``strict=False`` skips the checks of configs that would run but not as written (a key
    without effect, a loss that cannot take the model's output), for ``--resume``: a run
    written before those checks existed must go on."""
    config = defaults()
    for section, body in document.items():
        with _about(section):
            if section not in SCHEMA:
                raise ConfigError(f"unknown section [{section}]" + closest(section, SCHEMA))
            if not isinstance(body, dict):
                raise ConfigError(
                    f"{section}: expected a table [{section}], got {_type_name(body)}"
                )
        for name, value in body.items():
            keys = SCHEMA[section]
            with _about(f"{section}.{name}"):
                if name not in keys:
                    raise ConfigError(
                        f"unknown key {section}.{name}" + closest(name, keys, f"{section}.")
                    )
                value = _coerce(f"{section}.{name}", keys[name], value)
                _check_int_range(f"{section}.{name}", value)
                config[section][name] = value
    if config["data"]["name"] == "mnist" and "split" not in document.get("data", {}):
        config["data"]["split"] = list(MNIST_SPLIT)
    if config["optimizer"]["weight_decay"] is None:
        config["optimizer"]["weight_decay"] = default_weight_decay(config["optimizer"]["name"])
    _check_whole(config, strict)
    return config


def _check_int_range(name: str, value: Any) -> None:
    """Every integer of ``value``, in the tables and arrays it holds too, within
    :data:`chainrule.io.INT_RANGE` (int64's), the integers a run's checkpoints and model
    file hold its config with (see :func:`chainrule.io.int_outside_range`); ``ConfigError``
    naming the key (``name.key``, ``name[i]``)."""
    found = int_outside_range(value)
    if found is not None:
        path, integer = found
        where = name + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)
        low, high = INT_RANGE
        raise ConfigError(
            f"{where}: expected an integer within int64's range [{low}, {high}], got {integer}"
        )


@contextlib.contextmanager
def _about(key: str):
    """Mark a :class:`ConfigError` raised inside as one about ``key`` of the document."""
    try:
        yield
    except ConfigError as exc:
        exc.key = key
        raise


def _check_whole(config: dict, strict: bool) -> None:
    """Checks that involve more than one key, or the dataset: everything a run could
    otherwise only find out once its data is loaded."""
    sizes = config["model"]["sizes"]
    if sizes is None:
        raise ConfigError("model.sizes: required, an array of integers, e.g. [784, 100, 10]")
    if len(sizes) < 2:
        raise ConfigError(f"model.sizes: expected at least 2 layer sizes, got {sizes}")
    _check_data(config["data"])
    _check_shape(config["data"]["name"], sizes)
    if len(sizes) > 2:  # without a hidden layer there is no dropout (_check_unused)
        with _about("model.dropout"):
            _check_dropout(config["model"]["dropout"])
    if strict:
        check_loss_and_output(config["loss"]["name"], config["model"]["output"], sizes[-1])
    opt = config["optimizer"]
    if opt["weight_decay"] and opt["name"] != "adamw":
        raise ConfigError(
            f"optimizer.weight_decay: only adamw has decoupled weight decay, got "
            f"optimizer.name = {opt['name']!r} (use regularization.l2 for an L2 term)"
        )
    with _about("optimizer.params"):
        _check_optimizer_params(opt["name"], opt["params"])
    schedule = config["schedule"]
    params = schedule["params"]
    if strict and "name" in params:  # a resumed run goes on with the schedule it had
        with _about("schedule.params"):
            raise ConfigError(
                "schedule.params: name is not a schedule parameter; set schedule.name instead "
                f"(got params.name = {params['name']!r})"
            )
    if schedule["name"] == "cosine" and "unit" in params and "duration" not in params:
        raise ConfigError(
            "schedule.params: a cosine schedule without a duration runs over the run's "
            f"steps (unit 'step'); with unit = {params['unit']!r} give its duration too"
        )
    _check_batch_norm(config)
    if strict:
        _check_unused(config)


def _check_dropout(keep_prob: float) -> None:
    """model.dropout at least the step of the uniform draws a dropout mask of
    :data:`DTYPE` is made from (:func:`chainrule.functional.check_keep_prob`), which the
    MLP refuses otherwise."""
    try:
        check_keep_prob("MLP", "dropout", keep_prob, DTYPE)
    except ValueError as error:
        raise ConfigError(f"model.dropout: {error}") from None


def _check_optimizer_params(name: str, params: dict) -> None:
    """Every key of ``optimizer.params`` an argument of the optimizer ``name`` other than
    those the config sets by keys of their own (``optimizer.lr``, ...)."""
    for own in _OWN_OPTIMIZER_KEYS:
        if own in params:
            raise ConfigError(
                f"optimizer.params: {own} is a key of its own; set optimizer.{own} instead "
                f"(got params.{own} = {params[own]!r})"
            )
    arguments = inspect.signature(optim.OPTIMIZERS[name]).parameters.values()
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    valid = [
        a.name
        for a in arguments
        if a.kind not in variadic and a.name not in ("params", *_OWN_OPTIMIZER_KEYS)
    ]
    for key in params:
        if key not in valid:
            raise ConfigError(
                f"unknown key optimizer.params.{key} for optimizer.name = {name!r}"
                + closest(key, valid, "optimizer.params.")
            )


def _check_batch_norm(config: dict) -> None:
    """Batch normalization needs training batches of two examples or more: refuse a
    batch size, or a last batch, of one (``fit`` would, after loading the data)."""
    if not config["model"]["batch_norm"] or len(config["model"]["sizes"]) == 2:
        return
    batch_size = config["train"]["batch_size"]
    n_train = datasets.part_sizes(config["data"])[0]
    if batch_size == 1 or n_train % batch_size == 1:
        what = "is 1" if batch_size == 1 else f"leaves a last batch of 1 of {n_train} examples"
        raise ConfigError(
            "train.batch_size: model.batch_norm needs training batches of at least 2 "
            f"examples, but train.batch_size = {batch_size} {what}; expected another "
            "train.batch_size"
        )


def _check_data(data: dict) -> None:
    split = data["split"]
    n_parts = 2 if data["name"] == "mnist" else 3
    if len(split) != n_parts or not math.isclose(sum(split), 1.0, abs_tol=1e-6):
        what = "[train, dev] for mnist" if n_parts == 2 else "[train, dev, test]"
        raise ConfigError(f"data.split: expected {n_parts} ratios {what} summing to 1, got {split}")
    parts = datasets.part_sizes(data)[:n_parts]
    if min(parts) == 0:
        names = ("train", "dev", "test")
        got = ", ".join(f"{names[i]} {n}" for i, n in enumerate(parts))
        raise ConfigError(
            f"data.split: expected at least one sample in every part, got {got} samples "
            f"from split = {split} of {data['name']}"
        )


def _check_shape(dataset: str, sizes: list[int]) -> None:
    n_features, n_classes = datasets.SHAPES[dataset]
    if sizes[0] != n_features:
        raise ConfigError(
            f"model.sizes: the first entry must be the number of input features: the data "
            f"({dataset}) has {n_features}, model.sizes[0] is {sizes[0]}"
        )
    if sizes[-1] != n_classes and not (sizes[-1] == 1 and n_classes == 2):
        raise ConfigError(
            f"model.sizes: the last entry must be the number of classes ({n_classes}"
            f"{' or 1 for a binary task' if n_classes == 2 else ''}), got {sizes[-1]}"
        )


def check_loss_and_output(loss: str, output: str, n_out: int) -> None:
    what, outputs = _reads(loss)
    if output not in outputs:
        fitting = [name for name in LOSSES if output in _reads(name)[1]]
        raise ConfigError(
            f"loss.name = {loss!r} expects {what}, model.output = "
            f"{' or '.join(map(repr, outputs))}; got model.output = {output!r} (the losses "
            f"for it: {', '.join(fitting)})"
        )
    if n_out == 1 and output in ("softmax", "log_softmax"):
        raise ConfigError(
            f"model.output = {output!r} over one output unit is a constant; use 'sigmoid' "
            "(or 'linear' logits) for one unit, or model.sizes[-1] = 2"
        )
    if n_out == 1 and loss == "cross_entropy":
        raise ConfigError(
            "loss.name = 'cross_entropy' expects one output per class, model.sizes[-1] >= 2; "
            "got one output unit (for one unit use loss.name = 'bce_with_logits')"
        )


def _check_unused(config: dict) -> None:
    """A key set away from its default where the rest of the config makes it do nothing."""
    data, unused = config["data"], []
    if data["name"] == "mnist":
        why = "only the generated 2-D sets read it, data.name is 'mnist'"
        unused += [("data", "n_samples", why), ("data", "noise", why)]
    else:
        why = f"only mnist reads it, data.name is {data['name']!r} (set data.n_samples)"
        unused += [("data", "n_train", why), ("data", "n_test", why)]
    if data["name"] == "blobs":
        unused.append(("data", "noise", "blobs are drawn with a fixed spread"))
    if config["schedule"]["name"] == "none":
        unused.append(("schedule", "params", "schedule.name is 'none' (set a schedule name)"))
    if config["loss"]["name"] != "cross_entropy":
        why = f"only cross_entropy smooths labels, loss.name is {config['loss']['name']!r}"
        unused.append(("loss", "label_smoothing", why))
    if len(config["model"]["sizes"]) == 2:
        why = "model.sizes has no hidden layer"
        unused += [("model", n, why) for n in ("dropout", "batch_norm", "activation")]
    schedule = config["schedule"]
    if schedule["name"] == "piecewise_constant" or "alpha0" in schedule["params"]:
        why = f"the schedule sets the rate ({schedule['name']!r} with schedule.params)"
        unused.append(("optimizer", "lr", why))
    if not config["train"]["early_stopping"]:
        why = "only early stopping reads it, train.early_stopping is 0 (off)"
        unused.append(("train", "monitor", why))
    if schedule["warmup"] == 1:
        why = (
            "a warm-up of 1 is at the full rate from t = 1, the first epoch or step, as "
            "without one; use 0 (off) or >= 2"
        )
        unused.append(("schedule", "warmup", why))
    for section, name, why in unused:
        value = config[section][name]
        if value != SCHEMA[section][name].default:
            raise ConfigError(f"{section}.{name}: has no effect: {why}; got {value!r}")


# -- reading --------------------------------------------------------------------------------
def read(path: Path) -> dict:
    """Parse a TOML file (UTF-8, after a byte-order mark if it has one); :class:`ConfigError`
    for a missing, unreadable or non-UTF-8 file, bad TOML or TOML the parser cannot take
    (see :func:`_loads`)."""
    try:  # utf-8-sig: skips a byte-order mark, as Windows Notepad may write one
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: expected a UTF-8 TOML text file, got byte 0x{exc.object[exc.start]:02x} "
            f"at offset {exc.start}, which is not UTF-8"
        ) from None
    try:
        return _loads(text, str(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _loads(text: str, source: str) -> dict:
    """``tomllib.loads(text)``, its ``TOMLDecodeError`` for bad TOML; :class:`ConfigError`
    naming ``source`` for TOML that the parser cannot take: an integer of more digits than
    Python converts (``sys.get_int_max_str_digits()``, 4300 by default; TOML's integers are
    64-bit), arrays or tables nested deeper than the parser recurses."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except ValueError as exc:  # int()'s refusal of more digits than it converts
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(
            f"{source}: invalid TOML: arrays or tables nested deeper than Python's parser recurses"
        ) from None


def apply_override(document: dict, assignment: str) -> str:
    """Apply one ``section.key=value`` override and return its key as given (``section.key``,
    or ``section.key.name...``, dotted); the value is
    parsed as a TOML value and taken as a plain string when it is not one
    (``data.name=moons``). The key may go on into the key's table, as a TOML dotted key
    does (``optimizer.params.beta1=0.8`` sets ``beta1`` in ``optimizer.params``, keeping
    its other keys); ``ConfigError`` where a key on the way holds a value that is not a
    table, or for a value that is TOML the parser cannot take (see :func:`_loads`)."""
    match = re.fullmatch(r"\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+)\s*=(.*)", assignment, re.S)
    if not match:
        raise ConfigError(
            f"--set {assignment!r}: expected section.key=value (or section.key.name=value "
            "in the key's table), e.g. --set train.epochs=5"
        )
    dotted, raw = match.groups()
    try:
        value = _loads(f"v = {raw.strip()}", f"--set {assignment!r:.60}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    parts = dotted.split(".")
    *tables, name = parts
    table = document
    for depth, key in enumerate(tables):
        table = table.setdefault(key, {})
        if not isinstance(table, dict):
            where = ".".join(tables[: depth + 1])
            raise ConfigError(
                f"--set {assignment!r}: {where} is not a table, got {_type_name(table)} "
                f"{table!r:.60}"
            )
    table[name] = value
    return dotted


# -- writing --------------------------------------------------------------------------------
def _toml_char(c: str) -> str:
    """One character of a TOML basic string: backslash and quote escaped, and the control
    characters TOML refuses in one (all but tab) written as \\uXXXX."""
    if c in '\\"':
        return "\\" + c
    if (c < " " and c != "\t") or c == "\x7f":
        return f"\\u{ord(c):04x}"
    return c


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(map(_toml_char, value)) + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps(config: dict) -> str:
    """The config as TOML text: one ``[section]`` per table, inline tables below that."""
    blocks = []
    for section, body in config.items():
        lines = [f"[{section}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in body.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def schema_help() -> str:
    """Every key with its type, default and meaning (for ``train --help``)."""
    lines = []
    for section, keys in SCHEMA.items():
        lines.append(f"[{section}]")
        for name, key in keys.items():
            default = key.default_doc or (
                "required" if key.default is None else _toml_value(key.default)
            )
            choices = f" ({'|'.join(key.choices)})" if key.choices else ""
            lines.append(f"  {name} = {default}  {key.kind}{choices}: {key.doc}")
    return "\n".join(lines)

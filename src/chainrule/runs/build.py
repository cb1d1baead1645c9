"""A run from its config: the config file, the seeds, and the model, loss, optimizer
(with its schedule) and penalty a resolved config describes.

``chainrule train`` builds its run with these, and the race of ``chainrule bench
--to-accuracy`` builds its chainrule system with them too, so both train what the config
says in the same way. The values of ``schedule.params`` and ``optimizer.params``, which
only the classes they go to can check, are refused here, as a
:class:`~chainrule.runs.config.ConfigError` naming the key: by :func:`load_config`, which
also names the file and the overrides they came from.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources
from pathlib import Path

import numpy as np

from chainrule import losses, nn, optim, regularization
from chainrule.autodiff import Tensor
from chainrule.runs import config as cfg
from chainrule.runs import datasets

DEFAULT_CONFIG = "mnist.toml"


def _packaged() -> Path:
    """The folder of the configs shipped with the library, ``chainrule/configs``."""
    return Path(str(resources.files("chainrule") / "configs"))


def packaged_config(name: str) -> Path:
    """Path of a config shipped in ``chainrule/configs``."""
    return _packaged() / name


def packaged_configs() -> list[str]:
    """The names of the configs shipped in ``chainrule/configs``, sorted."""
    return sorted(p.name for p in _packaged().glob("*.toml"))


def config_source(path: str | None) -> tuple[Path, str]:
    """The config file ``path`` names, and how to name it in messages: the file itself
    when it exists; else, for the name of a packaged config (``nielsen-ch1.toml``), that
    config, so that one is named alike in a checkout and outside it; with no ``path``
    (None), the packaged ``mnist.toml``. ``ConfigError`` for a missing file, an empty
    ``path`` too (``Path("")`` would be the current folder), listing the packaged configs."""
    if path is None:
        return packaged_config(DEFAULT_CONFIG), f"the packaged {DEFAULT_CONFIG}"
    if path and Path(path).exists():
        return Path(path), path
    packaged = packaged_configs()
    if path in packaged:
        return packaged_config(path), f"the packaged {path}"
    raise cfg.ConfigError(
        f"config file not found: {path or repr(path)} (the packaged configs, by name: "
        f"{', '.join(packaged)})"
    )


def load_config(path: str | None, overrides: list[str], strict: bool = True) -> tuple[dict, str]:
    """The resolved config of ``path`` (see :func:`config_source`) with the ``--set``
    ``overrides``, and its stem (for the run directory name); ``strict`` as in
    :func:`chainrule.runs.config.resolve`.

    A ``ConfigError`` of the config starts with where the bad value came from: ``--set
    'KEY=VALUE': `` for a key (or a section) one override set, the file for one the file
    set, the overrides that set names in a key's table (``--set KEY.NAME=VALUE``), after
    the file where it gave the table, and the file with the overrides for a check of
    several keys."""
    source, name = config_source(path)
    document = cfg.read(source)
    in_file = set(document)
    # section.key (and section, when the file has none) -> the overrides that set it
    set_by: dict[str, list[str]] = {}
    from_file = {f"{s}.{k}" for s, body in document.items() if isinstance(body, dict) for k in body}
    for assignment in overrides:
        section, key, *inner = cfg.apply_override(document, assignment).split(".")
        top = f"{section}.{key}"
        if inner:  # a name in the key's table, beside what the file or overrides put there
            set_by[top] = [*set_by.get(top, []), assignment]
        else:
            set_by[top] = [assignment]
            from_file.discard(top)
        if section not in in_file:
            set_by.setdefault(section, [assignment])
    try:
        config = cfg.resolve(document, strict=strict)
        _check_class_parameters(config)
        return config, source.stem
    except cfg.ConfigError as exc:
        by = set_by.get(exc.key, [])
        if by:
            origin = " ".join(f"--set {a!r}" for a in by)
            if exc.key in from_file:
                origin = f"{name} with {origin}"
        elif exc.key is not None or not overrides:
            origin = name
        else:
            origin = name + " with " + " ".join(f"--set {a!r}" for a in overrides)
        raise cfg.ConfigError(f"{origin}: {exc}") from None


def _check_class_parameters(config: dict) -> None:
    """Build the config's optimizer, with its schedule, over one stand-in parameter: the
    values only their classes check (``schedule.params``, ``optimizer.params``) are
    refused by :func:`load_config`, which names where they came from (their
    ``ConfigError`` is about several keys: the schedule's name, its params, the rate)."""
    stand_in = Tensor(np.zeros(1, np.float32), requires_grad=True)
    build_optimizer(config, [stand_in], datasets.part_sizes(config["data"])[0])


def seeds(seed: int) -> dict[str, int]:
    """Independent seeds for the data split, the model (init and dropout) and shuffling,
    derived from the config's one seed through ``numpy.random.SeedSequence``."""
    children = np.random.SeedSequence(seed).spawn(3)
    return {
        name: int(child.generate_state(1)[0])
        for name, child in zip(("data", "model", "shuffle"), children, strict=True)
    }


def build_model(config: dict, model_seed: int) -> nn.MLP:
    """A fresh MLP of the config's ``[model]`` section, drawn from ``model_seed``: a
    ``"linear"`` output is none, a dropout of 1 no dropout, ``init = "auto"`` the
    initializer by activation."""
    m = config["model"]
    return nn.MLP(
        m["sizes"],
        activation=m["activation"],
        output=None if m["output"] == "linear" else m["output"],
        dropout=None if m["dropout"] == 1.0 else m["dropout"],
        batch_norm=m["batch_norm"],
        init=None if m["init"] == "auto" else m["init"],
        seed=model_seed,
    )


def loss_function(name: str, label_smoothing: float = 0.0):
    """The loss ``name``; cross_entropy with its ``label_smoothing`` where that is not 0
    (only cross_entropy smooths labels: another loss ignores it)."""
    if label_smoothing and name == "cross_entropy":
        return functools.partial(losses.cross_entropy, label_smoothing=label_smoothing)
    return losses.get_loss(name)


def build_loss(config: dict):
    """The loss of the config, as :func:`loss_function` makes it."""
    return loss_function(config["loss"]["name"], config["loss"]["label_smoothing"])


def build_schedule(config: dict, n_train: int):
    """The learning rate of the config for ``n_train`` training examples: that of
    :func:`_named_schedule`, wrapped in a :class:`~chainrule.optim.LinearWarmup` of the
    same unit when ``schedule.warmup`` is not 0."""
    rate, warmup = _named_schedule(config, n_train), config["schedule"]["warmup"]
    return optim.LinearWarmup(rate, warmup) if warmup else rate


def _check_schedule_params(name: str, params: dict) -> list[str]:
    """``ConfigError`` in the config's terms for a key of ``schedule.params`` that the
    schedule ``name`` does not take (naming the closest one; about ``schedule.params``)
    and for one it needs that the config lacks: a field of its class without a default
    but alpha0 (optimizer.lr by default) and a cosine's duration (the run's steps + 1). A
    ``name`` among them, which only a resumed run's config holds, is left as it was.
    Returns the schedule's fields by name."""
    fields = dataclasses.fields(optim.SCHEDULES[name])
    known = [f.name for f in fields]
    unknown = [key for key in params if key not in known and key != "name"]
    if unknown:
        error = cfg.ConfigError(
            f"unknown key schedule.params.{unknown[0]} for schedule.name = {name!r}"
            + cfg.closest(unknown[0], known, "schedule.params.")
        )
        error.key = "schedule.params"
        raise error
    defaulted = {"alpha0"} | ({"duration"} if name == "cosine" else set())
    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    missing = [key for key in required if key not in params and key not in defaulted]
    if missing:
        defaults = "; alpha0 defaults to optimizer.lr" if "alpha0" in known else ""
        raise cfg.ConfigError(
            f"schedule.params: schedule.name = {name!r} needs "
            f"{' and '.join('schedule.params.' + key for key in missing)} (its params: "
            f"{', '.join(known)}{defaults})"
        )
    return known


def _named_schedule(config: dict, n_train: int):
    """optimizer.lr for ``schedule.name = "none"``, else the schedule with
    ``schedule.params``, its alpha0 defaulting to optimizer.lr and a cosine's duration to
    the run's steps + 1 (unit "step"). ``ConfigError``: for keys the schedule does not
    take or needs (see :func:`_check_schedule_params`), and ``"schedule.params: ..."``
    for values the schedule refuses."""
    s, lr = config["schedule"], config["optimizer"]["lr"]
    if s["name"] == "none":
        return lr
    fields = dict(s["params"])
    known = _check_schedule_params(s["name"], fields)
    if "alpha0" in known:
        fields.setdefault("alpha0", lr)
    if s["name"] == "cosine" and "duration" not in fields:
        # per step, over the whole run: the last epoch still learns (per epoch, with
        # t counted from 1, it would run at a rate of exactly 0). The rate reaches 0 at
        # t = steps + 1, one update past the last, so every update moves the weights (a
        # duration of steps left the last at a rate of exactly 0: a one-step run no-op)
        steps = -(-n_train // config["train"]["batch_size"]) * config["train"]["epochs"]
        fields.update(duration=steps + 1, unit="step")
    try:
        return optim.schedule_from_config({"name": s["name"], **fields})
    except (TypeError, ValueError) as exc:
        raise cfg.ConfigError(f"schedule.params: {exc}") from None


def build_optimizer(config: dict, parameters, n_train: int):
    """The config's optimizer over ``parameters`` (a model's), its rate from
    :func:`build_schedule`, with ``optimizer.params``, clip_norm (unless 0) and adamw's
    weight_decay (the resolved config's: AdamW's own default where the config gives
    none, see :func:`~chainrule.runs.config.default_weight_decay`). ``ConfigError``:
    ``"optimizer.params: ..."`` for an argument the optimizer does not take,
    ``"optimizer: ..."`` for a value it refuses, and those of :func:`build_schedule`."""
    o = config["optimizer"]
    kwargs = dict(o["params"])
    if o["clip_norm"]:
        kwargs["clip_norm"] = o["clip_norm"]
    if o["name"] == "adamw":
        kwargs["weight_decay"] = o["weight_decay"]
    schedule = build_schedule(config, n_train)  # its errors name schedule.params, not these
    try:
        return optim.OPTIMIZERS[o["name"]](parameters, schedule, **kwargs)
    except TypeError as exc:
        raise cfg.ConfigError(f"optimizer.params: {exc}") from None
    except ValueError as exc:
        raise cfg.ConfigError(f"optimizer: {exc}") from None


def build_regularization(config: dict):
    """The config's penalty, ``penalty(model, n_train)``: the L2 term plus the L1 term of
    :mod:`chainrule.regularization` (those whose lambda is not 0); None when both are 0."""
    l2, l1 = config["regularization"]["l2"], config["regularization"]["l1"]
    if not (l2 or l1):
        return None

    def penalty(model, n_train):
        terms = []
        if l2:
            terms.append(regularization.l2_penalty(model, l2, n_train))
        if l1:
            terms.append(regularization.l1_penalty(model, l1, n_train))
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    return penalty

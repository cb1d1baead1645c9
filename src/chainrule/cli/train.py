"""``chainrule train``: one run from a config into its own run directory."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import time
from datetime import datetime
from importlib import resources
from pathlib import Path

import numpy as np

from chainrule import io as crio
from chainrule import losses, nn, optim, regularization
from chainrule.cli import config as cfg
from chainrule.cli import datasets
from chainrule.cli.errors import UsageError, require_plotting
from chainrule.files import atomic_write, directory_blocker, json_text
from chainrule.malloc import keep_freed_memory
from chainrule.train import (
    CheckpointDir,
    EarlyStopping,
    HistoryLogger,
    Trainer,
    TrainingInterrupted,
)

DEFAULT_CONFIG = "mnist.toml"
RUNS = Path("runs")  # where a run goes when output.dir is empty


def packaged_config(name: str) -> Path:
    """Path of a config shipped in ``chainrule/configs``."""
    return Path(str(resources.files("chainrule") / "configs" / name))


def packaged_configs() -> list[str]:
    """The names of the configs shipped in ``chainrule/configs``, sorted."""
    return sorted(
        p.name for p in Path(str(resources.files("chainrule") / "configs")).glob("*.toml")
    )


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model from a TOML config into a run directory",
        description="Train a model from a TOML config (default: the packaged MNIST config, "
        "the main job). Writes config.toml, model.safetensors, checkpoints/, history.csv, "
        "metrics.json, figures/*.png and report.html into the run directory.",
        epilog="config keys (section.key = default  type: meaning):\n" + cfg.schema_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "config",
        nargs="?",
        help="TOML config file, or the name of a packaged one ("
        + ", ".join(packaged_configs())
        + "); default: mnist.toml",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key with a TOML value, e.g. --set model.sizes=[784,100,10]",
    )
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip figures and report.html (train without matplotlib)",
    )
    p.set_defaults(handler=run)


def config_source(path: str | None) -> tuple[Path, str]:
    """The config file ``path`` names, and how to name it in messages: the file itself
    when it exists; else, for the name of a packaged config (``nielsen-ch1.toml``), that
    config, so that one is named alike in a checkout and outside it; with no ``path``, the
    packaged ``mnist.toml``. ``ConfigError`` for a missing file, listing the packaged
    configs."""
    if not path:
        return packaged_config(DEFAULT_CONFIG), f"the packaged {DEFAULT_CONFIG}"
    if Path(path).exists():
        return Path(path), path
    packaged = packaged_configs()
    if path in packaged:
        return packaged_config(path), f"the packaged {path}"
    raise cfg.ConfigError(
        f"config file not found: {path} (the packaged configs, by name: {', '.join(packaged)})"
    )


def load_config(path: str | None, overrides: list[str], strict: bool = True) -> tuple[dict, str]:
    """The resolved config of ``path`` (see :func:`config_source`) with the ``--set``
    ``overrides``, and its stem (for the run directory name); ``strict`` as in
    :func:`chainrule.cli.config.resolve`.

    A ``ConfigError`` of the config starts with where the bad value came from: ``--set
    'KEY=VALUE': `` for a key (or a section) an override set, the file for one the file
    set, and the file with the overrides for a check of several keys."""
    source, name = config_source(path)
    document = cfg.read(source)
    in_file = set(document)
    set_by = {}  # section.key (and section, when the file has none) -> its last override
    for assignment in overrides:
        key = cfg.apply_override(document, assignment)
        set_by[key] = assignment
        if key.partition(".")[0] not in in_file:
            set_by.setdefault(key.partition(".")[0], assignment)
    try:
        return cfg.resolve(document, strict=strict), source.stem
    except cfg.ConfigError as exc:
        if exc.key in set_by:
            origin = f"--set {set_by[exc.key]!r}"
        elif exc.key is not None or not overrides:
            origin = name
        else:
            origin = name + " with " + " ".join(f"--set {a!r}" for a in overrides)
        raise cfg.ConfigError(f"{origin}: {exc}") from None


def seeds(seed: int) -> dict[str, int]:
    """Independent seeds for the data split, the model (init and dropout) and shuffling,
    derived from the config's one seed through ``numpy.random.SeedSequence``."""
    children = np.random.SeedSequence(seed).spawn(3)
    return {
        name: int(child.generate_state(1)[0])
        for name, child in zip(("data", "model", "shuffle"), children, strict=True)
    }


def build_model(config: dict, model_seed: int) -> nn.MLP:
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
    s, lr = config["schedule"], config["optimizer"]["lr"]
    if s["name"] == "none":
        return lr
    fields = dict(s["params"])
    cls = optim.SCHEDULES[s["name"]]
    known = {f.name for f in dataclasses.fields(cls)}
    if "alpha0" in known:
        fields.setdefault("alpha0", lr)
    if s["name"] == "cosine" and "duration" not in fields:
        # per step, over the whole run: the last epoch still learns (per epoch, with
        # t counted from 1, it would run at a rate of exactly 0)
        steps = -(-n_train // config["train"]["batch_size"]) * config["train"]["epochs"]
        fields.update(duration=steps, unit="step")
    try:
        return optim.schedule_from_config({"name": s["name"], **fields})
    except (TypeError, ValueError) as exc:
        raise UsageError(f"schedule.params: {exc}") from None


def build_optimizer(config: dict, model, n_train: int):
    o = config["optimizer"]
    kwargs = dict(o["params"])
    if o["clip_norm"]:
        kwargs["clip_norm"] = o["clip_norm"]
    if o["name"] == "adamw":
        kwargs.setdefault("weight_decay", o["weight_decay"])
    schedule = build_schedule(config, n_train)  # its errors name schedule.params, not these
    try:
        return cfg.OPTIMIZER_CLASSES[o["name"]](model.parameters(), schedule, **kwargs)
    except TypeError as exc:
        raise UsageError(f"optimizer.params: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"optimizer: {exc}") from None


def build_regularization(config: dict):
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


def _check_output_dir(config: dict) -> None:
    """Refuse an output.dir that is a file or already holds files (a run's results are
    never written over another's); it, or its nearest existing ancestor, must be a
    directory this process may write in, as must ``runs`` (or its nearest existing
    ancestor), where an empty output.dir puts the run."""
    if not config["output"]["dir"]:
        blocked = directory_blocker(RUNS)
        if blocked is not None:
            raise UsageError(
                f"run directory {RUNS} (the default, as output.dir is empty): {blocked}; "
                "set output.dir, or run from another directory"
            )
        return
    path = Path(config["output"]["dir"])
    if path.is_dir() and any(path.iterdir()):
        hint = f"; to continue its run: chainrule train --resume {path}"
        raise UsageError(
            f"output.dir: expected a new or empty directory, got {path}, which holds files"
            + (hint if CheckpointDir(path / "checkpoints").files() else "")
        )
    blocked = directory_blocker(path)
    if blocked is not None:
        raise UsageError(f"output.dir {path}: {blocked}")


def _make_run_dir(config: dict, stem: str) -> Path:
    """Create and claim the run directory: output.dir, or runs/<stem>-<timestamp> with -2,
    -3, ... appended when runs started in the same second have taken that name. Each claim
    (a new directory, or config.toml created in an empty output.dir) either succeeds or
    fails atomically, so two runs never share one."""
    if config["output"]["dir"]:
        path = Path(config["output"]["dir"])
        path.mkdir(parents=True, exist_ok=True)
        try:
            (path / "config.toml").touch(exist_ok=False)
        except FileExistsError:
            raise UsageError(f"output.dir: {path} was taken by another run") from None
        return path
    base = RUNS / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"
    base.parent.mkdir(parents=True, exist_ok=True)
    path, n = base, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def _resume_config(args) -> tuple[dict, Path, dict]:
    """The config of the run directory ``--resume`` names and its newest readable
    checkpoint (path and state), read before any data (``FormatError`` when none is
    readable); a run directory this process may not write in is refused first."""
    run_dir = Path(args.resume)
    if not (run_dir / "config.toml").is_file():
        raise UsageError(f"--resume {run_dir}: no config.toml there (not a run directory)")
    blocked = directory_blocker(run_dir)
    if blocked is not None:
        raise UsageError(f"--resume {run_dir}: {blocked}")
    if args.config or args.overrides:
        raise UsageError("--resume takes the run's own config.toml; drop CONFIG and --set")
    config, _ = load_config(str(run_dir / "config.toml"), [], strict=False)
    try:
        checkpoint, state = CheckpointDir(run_dir / "checkpoints").load_latest()
    except FileNotFoundError:
        raise UsageError(
            f"--resume {run_dir}: expected a checkpoint-*.safetensors in "
            f"{run_dir / 'checkpoints'}, found none (the run wrote none: train.checkpoint "
            "= false, or it ended before its first checkpoint)"
        ) from None
    return config, checkpoint, state


def _check_resume(run_dir: str, config: dict, checkpoint: Path, state: dict, model, optimizer):
    """Refuse, before any data, a run whose ``config.toml`` no longer fits its checkpoint
    (edited since): the run's batches (``train.batch_size`` and the training set's size)
    must be the checkpoint's, and its model and optimizer states must load into those the
    config builds (they are loaded: ``fit`` loads them again). A checkpoint without those
    states is left to ``fit``, which says what it lacks."""
    where = f"--resume {run_dir}: {Path(run_dir) / 'config.toml'} no longer fits {checkpoint.name}"
    n_train = datasets.part_sizes(config["data"])[0]
    for key, value, what in (
        ("batch_size", config["train"]["batch_size"], "train.batch_size = {}"),
        ("n_train", n_train, "the [data] section gives {} training examples"),
    ):
        saved = state.get(key)
        if saved is not None and saved != value:
            raise UsageError(
                f"{where}: {what.format(value)}, the run's was {saved!r}; undo that edit"
            )
    if not (isinstance(state.get("model"), dict) and isinstance(state.get("optimizer"), dict)):
        return
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"{where} (the model and optimizer it builds cannot take the saved ones: {exc}); "
            "undo the edit of [model] or [optimizer]"
        ) from None


def run(args) -> int:
    start = time.perf_counter()
    if args.resume:
        config, checkpoint, state = _resume_config(args)
    else:
        (config, stem), checkpoint, state = load_config(args.config, args.overrides), None, None
        _check_output_dir(config)
    if not args.no_report:  # the report's figures: refused before training, not after it
        require_plotting("the report needs matplotlib", "; or pass --no-report")
    say = (lambda *a: None) if args.quiet else functools.partial(print, file=sys.stderr)
    if not args.quiet:
        print(cfg.dumps(config))

    seed = seeds(config["train"]["seed"])
    sizes = config["model"]["sizes"]
    # everything the config builds is built before the data: a bad optimizer or schedule
    # parameter is refused before MNIST is fetched
    model = build_model(config, seed["model"])
    loss_fn = build_loss(config)
    optimizer = build_optimizer(config, model, datasets.part_sizes(config["data"])[0])
    if checkpoint is not None:
        _check_resume(args.resume, config, checkpoint, state, model, optimizer)
    data = datasets.load(config["data"], seed["data"], progress=not args.quiet)
    if args.resume:  # its config.toml stays as the user left it, comments and all
        run_dir = Path(args.resume)
    else:
        run_dir = _make_run_dir(config, stem)
        atomic_write(run_dir / "config.toml", cfg.dumps(config).encode("utf-8"))

    loss_name = config["loss"]["name"]
    to_targets = functools.partial(datasets.targets, loss=loss_name, n_out=sizes[-1])
    metadata = {"config": config, "loss": loss_name, "image_shape": data.image_shape}
    extras = {"scaler": data.scaler, "labels": data.labels, "metadata": metadata}
    callbacks = [HistoryLogger(run_dir / "history.csv")]
    t = config["train"]
    if t["early_stopping"]:
        callbacks.append(EarlyStopping(monitor=t["monitor"], patience=t["early_stopping"]))
    trainer = Trainer(
        model,
        loss_fn,
        optimizer,
        epochs=t["epochs"],
        batch_size=t["batch_size"],
        regularization=build_regularization(config),
        callbacks=callbacks,
        seed=seed["shuffle"],
        checkpoint_dir=run_dir / "checkpoints" if t["checkpoint"] else None,
        progress=not args.quiet,
        # explicit, from the loss: a linear output under quadratic/mse/mae is on the 0/1
        # targets' scale (class 1 above 0.5), not a logit
        from_logits=cfg.outputs_are_logits(loss_name, config["model"]["output"]),
        save_extras=extras,
    )
    say(f"run directory: {run_dir}")
    keep_freed_memory()  # a training process: reuse freed arrays instead of page faults
    train_start = time.perf_counter()
    try:
        history = trainer.fit(
            data.train[0],
            to_targets(data.train[1]),
            dev=(data.dev[0], to_targets(data.dev[1])),
            resume_from=checkpoint,
        )
    except TrainingInterrupted:
        hint = f"; resume with: chainrule train --resume {run_dir}" if t["checkpoint"] else ""
        raise KeyboardInterrupt(f"training stopped{hint}") from None
    train_time = time.perf_counter() - train_start

    results = {
        part: trainer.evaluate(X, to_targets(y))
        for part, (X, y) in (("train", data.train), ("dev", data.dev), ("test", data.test))
    }
    metrics = {
        **results,
        "epochs_run": len(history.epochs),
        "stopped_reason": history.stopped_reason,
        "n": {"train": len(data.train[1]), "dev": len(data.dev[1]), "test": len(data.test[1])},
        "time": {"train_s": round(train_time, 3)},
    }
    metadata["metrics"] = results
    crio.save(model, run_dir / "model.safetensors", **extras)
    # the results are saved before the report is drawn: a failing figure loses none of them
    metrics["time"]["total_s"] = round(time.perf_counter() - start, 3)
    atomic_write(run_dir / "metrics.json", (json_text(metrics, indent=2) + "\n").encode("utf-8"))

    test = results["test"]
    summary = [f"test loss {test['loss']:.4f}"]
    if "accuracy" in test:
        summary.insert(0, f"test accuracy {100 * test['accuracy']:.2f}%")
    print(", ".join(summary) + f"; time {metrics['time']['total_s']:.1f} s")
    print(f"model: {run_dir / 'model.safetensors'}")
    if not args.no_report:
        from chainrule.cli import report

        report_path = report.write(run_dir, config, history, trainer, data, metrics)
        print(f"report: {report_path}")
    return 0

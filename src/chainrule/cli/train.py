"""``chainrule train``: one run from a config into its own run directory."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
import shlex
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np

from chainrule import io as crio
from chainrule import regularization
from chainrule.autodiff import no_grad
from chainrule.cli.errors import UsageError, refuse_empty_path, require_plotting, say_warning
from chainrule.files import atomic_write, directory_blocker, json_text
from chainrule.malloc import keep_freed_memory
from chainrule.runs import config as cfg
from chainrule.runs import datasets
from chainrule.runs.build import (
    build_loss,
    build_model,
    build_optimizer,
    build_regularization,
    load_config,
    packaged_configs,
    seeds,
)
from chainrule.train import (
    CheckpointDir,
    EarlyStopping,
    HistoryLogger,
    Trainer,
    bias_variance,
)
from chainrule.train.checkpoint import progress, too_few_epochs
from chainrule.train.history import History

RUNS = Path("runs")  # where a run goes when output.dir is empty


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
        help="override a config key with a TOML value, e.g. --set model.sizes=[784,100,10]; "
        "a name in a key's table as a TOML dotted key, e.g. --set optimizer.params.beta1=0.8",
    )
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip figures and report.html (train without matplotlib); with --resume, "
        "remove those an earlier session wrote (they showed the run before the resume)",
    )
    p.set_defaults(handler=run)


def _user_path(what: str, directory: str) -> Path:
    """``directory`` with a leading ``~`` or ``~user`` expanded to that home folder, as
    ``CHAINRULE_CACHE_DIR`` is (a config file's value is never expanded by a shell);
    ``UsageError`` naming ``what`` when that home folder is unknown."""
    try:
        return Path(directory).expanduser()
    except RuntimeError as exc:
        raise UsageError(
            f"{what}: expected a path whose ~ names a home folder, got {directory!r} ({exc})"
        ) from None


def _pathconf(folder: Path, name: str, default: int) -> int:
    """The filesystem limit ``name`` (``os.pathconf``) at ``folder``; ``default`` where it
    cannot be asked or has none."""
    try:
        value = os.pathconf(folder, name)
    except (AttributeError, OSError, ValueError):
        return default
    return value if value > 0 else default


def _too_long(path: Path) -> str | None:
    """Why ``path`` is too long to be made a directory (``ENAMETOOLONG``), or None: a name
    of it still to be made of more bytes than ``PC_NAME_MAX`` of the nearest existing
    folder above it (255 where that is unknown), or ``path`` itself of ``PC_PATH_MAX``
    bytes or more (4096 where unknown; the limit counts the terminating NUL)."""
    chain = (path, *path.parents)
    folder = next((p for p in chain if os.path.exists(p)), chain[-1])
    name_max = _pathconf(folder, "PC_NAME_MAX", 255)
    for name in path.relative_to(folder).parts:
        size = len(os.fsencode(name))
        if size > name_max:
            return (
                f"expected a path where a directory can be made, but its name {name:.20}... "
                f"is {size} bytes long, more than the {name_max} the filesystem allows"
            )
    path_max, size = _pathconf(folder, "PC_PATH_MAX", 4096), len(os.fsencode(str(path)))
    if size >= path_max:
        return (
            f"expected a path where a directory can be made, but it is {size} bytes long, "
            f"more than the {path_max - 1} the filesystem allows"
        )
    return None


def _encodable(path: Path) -> bool:
    """Whether UTF-8 can encode ``path``: not where a name's byte is not UTF-8, which
    ``os.fsdecode`` gives as a lone surrogate (``"\\udcff"``), as a config string cannot
    hold one (output.dir's is refused): the run's report names its directory."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _resume_command(run_dir) -> str:
    """``chainrule train --resume RUN_DIR``, quoted for a POSIX shell: a pasted command
    gets the path with its spaces."""
    return f"chainrule train --resume {shlex.quote(str(run_dir))}"


def _default_run_dir(stem: str) -> Path:
    """``runs/<stem>-<timestamp>``: where a run goes when output.dir is empty (unless runs
    started in the same second have taken it, see :func:`_make_run_dir`)."""
    return RUNS / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


def _check_output_dir(config: dict, stem: str) -> None:
    """Refuse an output.dir that is a file or already holds files (a run's results are
    never written over another's), that holds a NUL character (no path does), whose ``~``
    names no home folder, that is too long for the filesystem (see :func:`_too_long`), or
    with a symbolic link to nothing or a loop of links on its way; it, or its nearest
    existing ancestor, must be a directory this process may write in, as must ``runs`` (or
    its nearest existing ancestor, no such link either: see
    :func:`~chainrule.files.directory_blocker`), where an empty output.dir puts the run, in a
    directory named after the config file ``stem`` that must not be too long either. Nor
    may either hold a byte that is not UTF-8 (see :func:`_encodable`): the config refuses
    one in output.dir, but not in the home folder its ``~`` names, nor in ``stem``."""
    if not config["output"]["dir"]:
        blocked = directory_blocker(RUNS)
        if blocked is not None:
            raise UsageError(
                f"run directory {RUNS} (the default, as output.dir is empty): {blocked}; "
                "set output.dir, or run from another directory"
            )
        run_dir = _default_run_dir(stem)
        too_long = _too_long(run_dir)
        if too_long is not None:
            raise UsageError(
                f"run directory {run_dir} (the default, as output.dir is empty): {too_long}; "
                "set output.dir, or give the config file a shorter name"
            )
        if not _encodable(run_dir):
            raise UsageError(
                f"run directory {str(run_dir)!r} (the default, as output.dir is empty): "
                "expected a path UTF-8 can encode, as output.dir must be, but the config "
                "file's name is not UTF-8; set output.dir, or rename the config file"
            )
        return
    if "\0" in config["output"]["dir"]:
        raise UsageError(
            f"output.dir: expected a path without NUL characters, got {config['output']['dir']!r}"
        )
    path = _user_path("output.dir", config["output"]["dir"])
    if not _encodable(path):  # the config string is UTF-8, the home folder of its ~ may not be
        raise UsageError(
            f"output.dir {str(path)!r}: expected a path UTF-8 can encode, got one whose ~ "
            "names a home folder with a byte that is not UTF-8"
        )
    too_long = _too_long(path)
    if too_long is not None:
        raise UsageError(f"output.dir {path}: {too_long}")
    if path.is_dir() and any(path.iterdir()):
        if CheckpointDir(path / "checkpoints").files():
            hint = f"; to continue its run: {_resume_command(path)}"
        elif (path / "config.toml").is_file() and not (path / "model.safetensors").exists():
            hint = (
                " of a run that ended before its first checkpoint, without a model (it "
                "failed or was stopped); to start it over, delete them"
            )
        else:
            hint = ""
        raise UsageError(
            f"output.dir: expected a new or empty directory, got {path}, which holds files" + hint
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
        path = _user_path("output.dir", config["output"]["dir"])
        path.mkdir(parents=True, exist_ok=True)
        try:
            (path / "config.toml").touch(exist_ok=False)
        except FileExistsError:
            raise UsageError(f"output.dir: {path} was taken by another run") from None
        return path
    base = _default_run_dir(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    path, n = base, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def _refuse_directory_config(path: str | None) -> None:
    """``UsageError`` for a CONFIG that is a directory, naming the ``config.toml`` in it
    where it has one (a run directory's) and, when it holds checkpoints, how to continue
    its run (``--resume``)."""
    if not path or not os.path.isdir(path):
        return
    inside = Path(path) / "config.toml"
    hint = f"; the config in it: {inside}" if inside.is_file() else ""
    if hint and CheckpointDir(Path(path) / "checkpoints").files():
        hint += f"; to continue its run: {_resume_command(path)}"
    raise UsageError(f"config file {path}: expected a TOML file, got a directory{hint}")


def _resume_config(run_dir: Path, args) -> tuple[dict, Path, dict]:
    """The config of the run directory ``run_dir`` (``--resume``'s) and its newest readable
    checkpoint (path and state), read before any data (``FormatError`` when none is
    readable; each newer one passed over as unreadable is a ``chainrule: warning:`` line
    on the standard error, with ``-q`` too, not a Python warning); a run directory whose
    path UTF-8 cannot encode (see :func:`_encodable`) or that this process may not write in
    is refused first, as is a CONFIG (an empty one too) or ``--set`` with it."""
    if not _encodable(run_dir):
        raise UsageError(
            f"--resume {str(run_dir)!r}: expected a path UTF-8 can encode, as output.dir "
            "must be, got one with a byte that is not UTF-8; rename the run directory"
        )
    if not os.path.isfile(run_dir / "config.toml"):  # False, not an OSError, if too long
        raise UsageError(f"--resume {run_dir}: no config.toml there (not a run directory)")
    blocked = directory_blocker(run_dir)
    if blocked is not None:
        raise UsageError(f"--resume {run_dir}: {blocked}")
    if args.config is not None or args.overrides:
        raise UsageError("--resume takes the run's own config.toml; drop CONFIG and --set")
    config, _ = load_config(str(run_dir / "config.toml"), [], strict=False)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            checkpoint, state = CheckpointDir(run_dir / "checkpoints").load_latest()
    except FileNotFoundError:
        raise UsageError(
            f"--resume {run_dir}: expected a checkpoint-*.safetensors in "
            f"{run_dir / 'checkpoints'}, found none (the run wrote none: train.checkpoint "
            "= false, or it ended before its first checkpoint)"
        ) from None
    for warning in caught:  # a damaged newest checkpoint passed over, said as errors are
        say_warning(warning.message)
    return config, checkpoint, state


#: The one key of a run's config.toml that a resume may change: it extends (or shortens)
#: the run, whose other settings the checkpoint's state carries on.
RESUMABLE_EDITS = (("train", "epochs"),)


def _check_edits(where: str, saved, config: dict) -> None:
    """Refuse the edits of ``config`` (the run's ``config.toml`` now) to ``saved`` (the
    resolved config the checkpoint holds; None from an earlier chainrule, which saved none)
    but ``train.epochs``, and a change of ``train.epochs`` when the cosine schedule's
    duration was derived from it: the checkpoint's schedule ends where the run was to end,
    so added epochs would train at its final rate."""
    if saved is None:
        return
    if not (isinstance(saved, dict) and all(isinstance(v, dict) for v in saved.values())):
        raise UsageError(f"{where}: its metadata's config is not a config: {saved!r:.80}")
    for section in sorted(config.keys() | saved.keys()):  # sorted: the same edit named first
        now, then = config.get(section, {}), saved.get(section, {})
        for key in sorted(now.keys() | then.keys()):
            if (section, key) in RESUMABLE_EDITS or now.get(key) == then.get(key):
                continue
            raise UsageError(
                f"{where}: {section}.{key} = {now.get(key)!r}, the run's was {then.get(key)!r}; "
                "undo that edit (a resume continues the run as it was: of its config, only "
                "train.epochs may change)"
            )
    schedule, epochs = config["schedule"], config["train"]["epochs"]
    derived = schedule["name"] == "cosine" and "duration" not in schedule["params"]
    if derived and epochs != saved["train"]["epochs"]:
        raise UsageError(
            f"{where}: train.epochs = {epochs}, the run's was {saved['train']['epochs']}, "
            "but its cosine schedule decays over the run's steps (no schedule.params."
            "duration): the checkpoint's schedule would not follow; start a new run with "
            "the epochs you want"
        )


def _check_resume(run_dir: Path, config: dict, checkpoint: Path, state: dict, model, optimizer):
    """Refuse, before any data, a run whose ``config.toml`` no longer fits its checkpoint
    (edited since): only ``train.epochs`` may differ from the config the checkpoint holds
    (see :func:`_check_edits`), and not end before the checkpoint (see
    :func:`~chainrule.train.checkpoint.too_few_epochs`) nor go beyond the epochs of a run
    that stopped (see :func:`_check_stopped`); the run's batches
    (``train.batch_size`` and the training set's size) must be the checkpoint's, its
    ``history.csv`` must hold its history so far (see :func:`_check_history`), and its
    model and optimizer states must load into those the config builds (they are loaded:
    ``fit`` loads them again). A checkpoint without those states is left to ``fit``, which
    says what it lacks."""
    where = f"--resume {run_dir}: {run_dir / 'config.toml'} no longer fits {checkpoint.name}"
    metadata = state.get("metadata")  # a non-dict is refused as no config
    saved = metadata.get("config") if isinstance(metadata, dict) else metadata
    _check_edits(where, saved, config)
    fewer = too_few_epochs(config["train"]["epochs"], state)
    if fewer is not None:
        raise UsageError(f"{where}: train.epochs = {config['train']['epochs']}: {fewer}")
    _check_stopped(where, saved, config["train"]["epochs"], state)
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
    _check_history(run_dir, checkpoint, state)
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


def _check_history(run_dir: Path, checkpoint: Path, state: dict) -> None:
    """Refuse, before any data, a run whose ``history.csv`` no longer holds its history up
    to ``checkpoint`` (edited since: saved by a spreadsheet, its numbers rounded), by the
    rule of the run's :class:`HistoryLogger` (:meth:`HistoryLogger.continues`), which would
    refuse it once the data is loaded: the file may hold what the user saved, so it is
    not replaced. A ``history.csv`` moved away or deleted is written anew from the
    checkpoint's history, which holds every epoch up to it. The file's columns are the
    log keys of the history's rows (``keys=()``), those the run logs. Left to ``fit``: a
    history the checkpoint does not hold as ``fit`` saves one (``fit`` says what is
    wrong), and one without a finished epoch, whose file is the bare header of the run's
    log keys, which the data decides (its task names the metrics)."""
    path = run_dir / "history.csv"
    try:  # a .csv holds the epochs' rows only: the step losses are left out
        history = History.from_dict({**state["history"], "step_losses": []})
    except (KeyError, TypeError, ValueError):
        return
    if not path.is_file() or not history.epochs or HistoryLogger(path).continues(history, ()):
        return
    n = len(history.epochs)
    raise UsageError(
        f"--resume {run_dir}: {path}: expected the run's history up to {checkpoint.name} "
        f"(the rows chainrule wrote for its {n} epoch{'s' * (n != 1)}), but the file no "
        "longer starts with them (edited since?); move it away: the resume then writes it "
        "anew from the checkpoint's history, which holds every epoch up to it"
    )


def _check_stopped(where: str, saved_config, epochs: int, state: dict) -> None:
    """Refuse an edit of ``train.epochs`` to more than a stopped run ran: a checkpoint
    whose ``stop_training`` is set (early stopping ended the run, or another callback)
    stays stopped, as ``fit`` honours it, so the edit would have no effect (added epochs
    would silently not run), as the config's checks refuse a key without effect. The
    edit is known from the config the checkpoint holds (``saved_config``, its metadata's;
    an earlier chainrule saved none, and a run resumed unedited, to write its results,
    goes on)."""
    went = progress(state)
    if state.get("stop_training") is not True or went is None:
        return  # not stopped, or a state fit refuses, saying why
    saved = saved_config.get("train", {}).get("epochs") if isinstance(saved_config, dict) else None
    done, batch = went
    ran = done + bool(batch)  # a checkpoint inside an epoch finishes it, then stops
    if saved is None or epochs == saved or epochs <= ran:
        return
    history = state.get("history")
    reason = history.get("stopped_reason") if isinstance(history, dict) else None
    if reason in (None, "completed", "interrupted"):
        reason = "stopped"
    raise UsageError(
        f"{where}: train.epochs = {epochs}, the run's was {saved}, but the run stopped at "
        f"epoch {ran} (stopped_reason {reason!r}): a stopped run does not train further, "
        "whatever its train.epochs; undo that edit, or start a new run with the epochs you "
        "want"
    )


def _check_regularization(config: dict, model, n_train: int) -> None:
    """Refuse, before any data, a ``[regularization]`` strength that the run's first step
    would fail on: one whose penalty coefficient (``lambda / (2 m)`` for L2, ``lambda / m``
    for L1, m = ``n_train``) is beyond the range of the model's dtype, which the penalty
    refuses, or one whose penalty on the initial weights is already inf. Each penalty is
    evaluated once, without a graph, as the first step will."""
    penalties = (("l2", regularization.l2_penalty), ("l1", regularization.l1_penalty))
    for key, penalty in penalties:
        lam = config["regularization"][key]
        if not lam:
            continue
        try:
            with no_grad(), np.errstate(over="ignore"):
                value = penalty(model, lam, n_train).item()
        except ValueError as exc:
            raise UsageError(f"regularization.{key} = {lam!r}: {exc}") from None
        if not math.isfinite(value):
            raise UsageError(
                f"regularization.{key} = {lam!r}: expected a penalty the model's dtype can "
                f"hold, got {value} on the initial weights (m = {n_train}); lower it"
            )


def _trainer(
    config: dict,
    model,
    loss_fn,
    optimizer,
    run_dir: Path,
    shuffle_seed: int,
    extras,
    progress: bool,
) -> Trainer:
    """The run's ``Trainer``: the config's ``[train]`` section and penalty, its history
    logged to ``history.csv``, checkpoints (when on) in ``checkpoints/`` saved with
    ``extras``."""
    t = config["train"]
    callbacks = [HistoryLogger(run_dir / "history.csv")]
    if t["early_stopping"]:
        callbacks.append(EarlyStopping(monitor=t["monitor"], patience=t["early_stopping"]))
    return Trainer(
        model,
        loss_fn,
        optimizer,
        epochs=t["epochs"],
        batch_size=t["batch_size"],
        regularization=build_regularization(config),
        callbacks=callbacks,
        seed=shuffle_seed,
        checkpoint_dir=run_dir / "checkpoints" if t["checkpoint"] else None,
        progress=progress,
        # explicit, from the loss: a linear output under quadratic/mse/mae is on the 0/1
        # targets' scale (class 1 above 0.5), not a logit
        from_logits=cfg.outputs_are_logits(config["loss"]["name"], config["model"]["output"]),
        save_extras=extras,
    )


def _restored_epoch(trainer: Trainer) -> int | None:
    """The epoch (its ``history.csv`` number, from 1) whose weights early stopping put back
    at the run's end (``restore_best_weights``, the best epoch of its monitor), or None when
    it restored none (no early stopping)."""
    for cb in trainer.callbacks:
        restores = isinstance(cb, EarlyStopping) and cb.restore_best_weights
        if restores and cb.best_weights is not None:
            return cb.best_epoch + 1
    return None


def _metrics(trainer: Trainer, history, data: datasets.RunData, to_targets, human_error) -> dict:
    """What ``metrics.json`` holds but the total time: the loss and metrics of every part
    (``train``, ``dev``, ``test``, those of the model as it ended: with early stopping, of
    its best epoch's weights), the epochs run and why they stopped, the epoch whose weights
    early stopping restored (``restored_epoch``, only when it did), the parts' sizes,
    the training time (``train_s``: the sum of the epochs' times, history.csv's ``time``,
    so the whole run's, a resumed run's epochs before the resume included) and, with an
    accuracy, the notes' ``bias_variance`` reading of the train and dev errors
    (1 - accuracy) against ``human_error`` (``data.human_error``)."""
    parts = {"train": data.train, "dev": data.dev, "test": data.test}
    scores = {part: trainer.evaluate(X, to_targets(y)) for part, (X, y) in parts.items()}
    restored = _restored_epoch(trainer)
    metrics = {
        **scores,
        "epochs_run": len(history.epochs),
        "stopped_reason": history.stopped_reason,
        **({} if restored is None else {"restored_epoch": restored}),
        "n": {part: len(y) for part, (_, y) in parts.items()},
        "time": {"train_s": round(sum(row["time"] for row in history.epochs), 3)},
    }
    if "accuracy" in scores["train"]:
        errors = (1 - scores[part]["accuracy"] for part in ("train", "dev"))
        metrics["bias_variance"] = dataclasses.asdict(bias_variance(*errors, human_error))
    return metrics


def run(args) -> int:
    start = time.perf_counter()
    refuse_empty_path(args.resume, "--resume:", "a run directory")
    resume = _user_path("--resume", args.resume) if args.resume is not None else None
    if resume is not None:
        config, checkpoint, state = _resume_config(resume, args)
    else:
        _refuse_directory_config(args.config)
        (config, stem), checkpoint, state = load_config(args.config, args.overrides), None, None
        _check_output_dir(config, stem)
    if not args.no_report:  # the report's figures: refused before training, not after it
        require_plotting("the report needs matplotlib", "; or pass --no-report")
    say = (lambda *a: None) if args.quiet else functools.partial(print, file=sys.stderr)
    if not args.quiet:
        print(cfg.dumps(config))

    seed = seeds(config["train"]["seed"])
    # everything the config builds is built before the data: a bad optimizer or schedule
    # parameter is refused before MNIST is fetched
    model = build_model(config, seed["model"])
    loss_fn = build_loss(config)
    n_train = datasets.part_sizes(config["data"])[0]
    optimizer = build_optimizer(config, model.parameters(), n_train)
    _check_regularization(config, model, n_train)
    if checkpoint is not None:
        _check_resume(resume, config, checkpoint, state, model, optimizer)
    run_dir, stage = resume, ""
    try:
        data = datasets.load(config["data"], seed["data"], progress=not args.quiet)
        if resume is None:  # a resumed run's config.toml stays as the user left it
            run_dir = _make_run_dir(config, stem)
            atomic_write(run_dir / "config.toml", cfg.dumps(config).encode("utf-8"))

        loss_name = config["loss"]["name"]
        n_out = config["model"]["sizes"][-1]
        to_targets = functools.partial(datasets.targets, loss=loss_name, n_out=n_out)
        metadata = {"config": config, "loss": loss_name, "image_shape": data.image_shape}
        extras = {"scaler": data.scaler, "labels": data.labels, "metadata": metadata}
        trainer = _trainer(
            config, model, loss_fn, optimizer, run_dir, seed["shuffle"], extras, not args.quiet
        )
        say(f"run directory: {run_dir}")
        keep_freed_memory()  # a training process: reuse freed arrays instead of page faults
        stage = "training"
        history = trainer.fit(
            data.train[0],
            to_targets(data.train[1]),
            dev=(data.dev[0], to_targets(data.dev[1])),
            resume_from=checkpoint,
        )

        stage = "results"
        human_error = config["data"]["human_error"]
        metrics = _metrics(trainer, history, data, to_targets, human_error)
        metadata["metrics"] = {part: metrics[part] for part in ("train", "dev", "test")}
        crio.save(model, run_dir / "model.safetensors", **extras)
        # the results are saved before the report is drawn: a failing figure loses none
        metrics["time"]["total_s"] = round(time.perf_counter() - start, 3)
        metrics_text = json_text(metrics, indent=2) + "\n"
        atomic_write(run_dir / "metrics.json", metrics_text.encode("utf-8"))

        stage = "report"
        test = metrics["test"]
        summary = [f"test loss {test['loss']:.4g}"]
        if "accuracy" in test:
            summary.insert(0, f"test accuracy {100 * test['accuracy']:.2f}%")
        print(", ".join(summary) + f"; time {metrics['time']['total_s']:.1f} s")
        print(f"model: {run_dir / 'model.safetensors'}")
        if not args.no_report:
            from chainrule.cli import report

            report_path = report.write(run_dir, config, history, trainer, data, metrics)
            print(f"report: {report_path}")
        elif resume is not None:
            _remove_stale_report(run_dir, say)
    except KeyboardInterrupt:  # TrainingInterrupted too: a first Ctrl-C in training
        raise KeyboardInterrupt(_interrupted(run_dir, stage, resume is not None)) from None
    return 0


def _interrupted(run_dir: Path | None, stage: str, resumed: bool) -> str:
    """What a Ctrl-C of ``chainrule train`` says, after ``chainrule: interrupted: ``: where
    the run stopped (``stage``: ``""`` before training, ``"training"``, ``"results"`` while
    its results were saved, ``"report"`` after that) and how it goes on. With checkpoints
    in ``run_dir``, the ``--resume`` command, which for a run whose training had ended
    trains no further but saves the results and writes the report; without, that the run
    cannot be resumed. Of a resumed run stopped before its end, that ``model.safetensors``
    and the results beside it still hold the run as it ended before the resume (a
    resume extended it). ``""`` before there is a run directory."""
    if run_dir is None:
        return ""
    said = {
        "": [],
        "training": ["training stopped"],
        "results": ["stopped after training, before its results were all saved"],
        "report": [
            "stopped before the report was written (model.safetensors and metrics.json are saved)"
        ],
    }[stage]
    if resumed and stage in ("", "training") and (run_dir / "model.safetensors").exists():
        kept = "model.safetensors, metrics.json and the report"
        if not (run_dir / "report.html").exists():  # that session's --no-report
            kept = "model.safetensors and metrics.json"
        said.append(
            f"{kept} still hold the run as it ended before this resume, until the resumed "
            "run completes"
        )
    if not CheckpointDir(run_dir / "checkpoints").files():
        said.append(f"no checkpoint in {run_dir}, so the run cannot be resumed")
    elif stage in ("results", "report"):
        what = "saves them" if stage == "results" else "writes it"
        said.append(f"{_resume_command(run_dir)} {what} without training further")
    else:
        said.append(f"resume with: {_resume_command(run_dir)}")
    return "; ".join(said)


def _remove_stale_report(run_dir: Path, say) -> None:
    """Remove the report that an earlier session of a run resumed with ``--no-report``
    left, as it showed the model before the resume, which the run directory's other files
    no longer hold: ``report.html`` and the figures it draws
    (:data:`chainrule.cli.report.FIGURES`), and ``figures/`` when they leave it empty. Any
    other file in ``figures/`` stays."""
    from chainrule.cli.report import FIGURES

    page, figures = run_dir / "report.html", run_dir / "figures"
    drawn = [path for name in FIGURES if (path := figures / f"{name}.png").is_file()]
    stale = [page, *drawn] if page.is_file() else drawn
    if not stale:
        return
    for path in stale:
        path.unlink()
    if drawn and not any(figures.iterdir()):
        figures.rmdir()
    names = ", ".join(str(path.relative_to(run_dir)) for path in stale)
    say(f"removed the earlier report ({names}), which showed the run before this resume")

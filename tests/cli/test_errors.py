"""Exit statuses: 2 for usage and config errors (with the promised messages), 1 at run time."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main, train

from .conftest import drop_checkpoint_config

MOONS = "configs/moons.toml"


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "train.epochs=-3"], "train.epochs: expected an integer >= 1, got -3"),
        (["--set", "train.epoch=3"], "unknown key train.epoch; did you mean 'train.epochs'?"),
        (["--set", "optimizer.lr=fast"], "optimizer.lr: expected a number (float), got string"),
        (["--set", "model.sizes=[3, 8, 2]"], "the data (moons) has 2, model.sizes[0] is 3"),
    ],
)
def test_bad_config_exits_2_naming_the_key(capsys, args, message):
    assert main(["train", MOONS, *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_config_in_a_subprocess(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nsizes = [2, 4, 2]\n[data]\nname = "moons"\nnoize = 0.1\n')
    proc = cli("train", bad)
    assert proc.returncode == 2
    assert "unknown key data.noize; did you mean 'data.noise'?" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["train", "missing.toml"],
        ["info", "missing.safetensors"],
        ["evaluate", "missing.safetensors"],
        ["predict", "missing.safetensors", "x.npy"],
    ],
)
def test_missing_files_exit_2(capsys, args):
    assert main(args) == 2
    assert "not found" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["frobnicate"]) == 2
    assert main(["train", "--no-such-flag"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", MOONS, "--set", "train.epoch=3"], "unknown key train.epoch; did you mean"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_debug_shows_the_traceback_of_a_usage_error_but_keeps_its_exit_status(
    capsys, args, message
):
    # --debug re-raised it: exit status 1, as for a runtime failure
    for argv in (["--debug", *args], [*args, "--debug"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):")
        last = err.splitlines()[-1]
        assert last.startswith("chainrule: error: ") and message in last


def test_debug_keeps_the_exit_status_of_a_usage_error_in_a_subprocess(cli):
    proc = cli("--debug", "train", "--bogus")
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
    assert proc.stderr.endswith("chainrule: error: chainrule: unrecognized arguments: --bogus\n")


def test_runtime_failure_exits_1_with_one_line(capsys, tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model file at all")
    assert main(["info", str(junk)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--debug" in err
    with pytest.raises(Exception):  # noqa: B017 - any exception: --debug re-raises it
        main(["--debug", "info", str(junk)])


def test_a_cache_dir_that_cannot_be_a_directory_exits_2_before_fetching(capsys, tmp_path):
    (tmp_path / "afile").write_text("mine")
    assert main(["data", "fetch", "mnist", "--cache-dir", str(tmp_path / "afile"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "data fetch: cache" in err and "exists and is not a directory" in err
    assert (tmp_path / "afile").read_text() == "mine"


def test_an_empty_cache_dir_exits_2_before_fetching(capsys, monkeypatch):
    # Path("") is the current directory: MNIST was cached there
    def fetch_mnist(**kwargs):
        raise AssertionError(f"fetched with {kwargs}")

    monkeypatch.setattr("chainrule.data.fetch_mnist", fetch_mnist)
    assert main(["data", "fetch", "mnist", "--cache-dir", "", "-q"]) == 2
    assert "data fetch: --cache-dir expected a directory, got an empty path" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["predict", "", "x.npy"], "model file"),
        (["predict", "m.safetensors", ""], "input file"),
        (["evaluate", "m.safetensors", "--data", ""], "data file"),
        (["info", ""], "model file"),
    ],
)
def test_an_empty_file_name_is_a_missing_file(capsys, monkeypatch, tmp_path, args, what):
    # Path("") is the current directory: "model file : expected a file, got a directory"
    monkeypatch.chdir(tmp_path)
    cr.save(nn.MLP([2, 3, 2], seed=0), "m.safetensors")
    np.save("x.npy", np.zeros((1, 2)))
    assert main(args) == 2
    assert f"{what} not found: ''" in capsys.readouterr().err


def test_options_are_not_abbreviated(capsys, tmp_path):
    """``--deb`` parsed as --debug, but main looks for the whole word: it was ignored."""
    assert main(["--deb", "info", str(tmp_path / "missing.safetensors")]) == 2
    assert "unrecognized arguments: --deb" in capsys.readouterr().err


def test_help_on_every_subcommand(capsys):
    for args in (
        ["train"],
        ["evaluate"],
        ["predict"],
        ["info"],
        ["data", "fetch"],
        ["lab"],
        ["lab", "list"],
        ["lab", "run"],
        [],
    ):
        with pytest.raises(SystemExit) as info:
            main([*args, "--help"])
        assert info.value.code == 0
    assert "model.sizes" in capsys.readouterr().out  # train --help lists the config keys


def test_lab_list(capsys):
    assert main(["lab", "list"]) == 0
    assert capsys.readouterr().out.strip().endswith("experiments")


def test_shipped_configs_are_identical_to_the_packaged_ones():
    root = Path("configs")
    packaged = Path("src/chainrule/configs")
    names = sorted(p.name for p in root.glob("*.toml"))
    assert names == ["mnist.toml", "moons.toml", "nielsen-ch1.toml", "nielsen-ch3.toml"]
    assert names == sorted(p.name for p in packaged.glob("*.toml"))
    for name in names:
        assert (root / name).read_bytes() == (packaged / name).read_bytes(), name


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if a run gets as far as loading data."""
    from chainrule.runs import datasets

    def load(*args, **kwargs):
        raise AssertionError("the data was loaded before the config was refused")

    monkeypatch.setattr(datasets, "load", load)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "model.activation=rleu"], "model.activation: expected a string, one of"),
        (["--set", "model.init=he"], "model.init: expected a string, one of auto,"),
        (
            ["--set", "train.early_stopping=2", "--set", "train.monitor=dev_acc"],
            "train.monitor: expected a string, one of dev_loss, dev_accuracy",
        ),
        (["--set", "data.split=[1.0, 0]"], "data.split[1]: expected a number > 0, got 0"),
        (["--set", "model.sizes=[100, 10]"], "the data (mnist) has 784, model.sizes[0] is 100"),
        (["--set", "model.output=softmax"], "loss.name = 'cross_entropy' expects logits"),
        (["--set", "loss.name=nll"], "loss.name = 'nll' expects log-probabilities"),
        (
            ["--set", "schedule.params={bogus = 1}"],
            "unknown key schedule.params.bogus for schedule.name = 'cosine'; valid: ",
        ),
        (
            ["--set", "optimizer.params={beta_1 = 0.9}"],
            "unknown key optimizer.params.beta_1 for optimizer.name = 'adam'; "
            "did you mean 'optimizer.params.beta1'?",
        ),
        (
            ["--set", "optimizer.params={params = 1}"],
            "unknown key optimizer.params.params for optimizer.name = 'adam'; "
            "valid: optimizer.params.beta1, ",
        ),
    ],
)
def test_bad_values_exit_2_before_any_data_is_loaded(capsys, no_data, args, message):
    assert main(["train", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_config_that_is_not_utf8_exits_2(capsys, tmp_path):
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xfe\x33\x60[data]\n")
    assert main(["train", str(path)]) == 2
    assert f"{path}: expected a UTF-8 TOML text file" in capsys.readouterr().err


def test_two_runs_started_in_the_same_second_get_their_own_directories(monkeypatch, tmp_path):
    from datetime import datetime

    from chainrule.cli import train

    class Frozen:
        @staticmethod
        def now():
            return datetime(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(train, "datetime", Frozen)
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    moons = str(Path(MOONS).resolve())
    monkeypatch.chdir(tmp_path)
    for seed in (1, 2):
        args = ["--set", "train.epochs=1", "--set", f"train.seed={seed}", "--no-report", "-q"]
        assert main(["train", moons, *args]) == 0
    runs = sorted((tmp_path / "runs").iterdir())
    assert [p.name for p in runs] == ["moons-20260102-030405", "moons-20260102-030405-2"]
    for seed, run in zip((1, 2), runs, strict=True):
        assert f"seed = {seed}\n" in (run / "config.toml").read_text()
        assert (run / "model.safetensors").is_file()


def test_an_output_dir_holding_files_is_refused(capsys, no_data, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["train", MOONS, "--set", f"output.dir={tmp_path}"]) == 2
    assert "output.dir: expected a new or empty directory" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    below = tmp_path / "notes.txt" / "run"
    assert main(["train", MOONS, "--set", f"output.dir={below}"]) == 2
    assert (
        f"output.dir {below}: expected a directory or a path where one can be made, but "
        f"{tmp_path / 'notes.txt'} exists and is not a directory"
    ) in capsys.readouterr().err


def test_an_output_dir_is_pointed_to_resume_only_when_it_has_a_checkpoint(
    capsys, no_data, tmp_path
):
    (tmp_path / "config.toml").write_text("")  # a run that ended before its first checkpoint
    assert main(["train", MOONS, "--set", f"output.dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "--resume" not in err
    assert "which holds files of a run that ended before its first checkpoint, without " in err
    assert "; to start it over, delete them" in err
    (tmp_path / "model.safetensors").write_text("")  # a finished run: nothing to delete
    assert main(["train", MOONS, "--set", f"output.dir={tmp_path}"]) == 2
    assert capsys.readouterr().err.endswith(f"got {tmp_path}, which holds files\n")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "checkpoint-00000000.safetensors").write_bytes(b"")
    assert main(["train", MOONS, "--set", f"output.dir={tmp_path}"]) == 2
    assert f"to continue its run: chainrule train --resume {tmp_path}" in capsys.readouterr().err


def test_resume_without_checkpoints_exits_2(capsys, no_data, tmp_path):
    from chainrule.runs import config as cfg
    from chainrule.runs.build import load_config

    config, _ = load_config(MOONS, [])
    (tmp_path / "config.toml").write_text(cfg.dumps(config))
    assert main(["train", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--resume {tmp_path}: expected a checkpoint-*.safetensors" in err
    assert "found none" in err


def test_resume_from_unreadable_checkpoints_fails_before_any_data_is_loaded(
    capsys, no_data, tmp_path
):
    from chainrule.runs import config as cfg
    from chainrule.runs.build import load_config

    config, _ = load_config(MOONS, [])
    (tmp_path / "config.toml").write_text(cfg.dumps(config))
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "checkpoint-00000000.safetensors").write_bytes(b"\0" * 16)
    assert main(["train", "--resume", str(tmp_path)]) == 1  # no fallback to warn about
    err = capsys.readouterr().err
    assert f"FormatError: no readable checkpoint in {tmp_path / 'checkpoints'}" in err


def test_a_missing_schedule_field_is_reported_once_under_its_own_key(capsys, no_data):
    assert main(["train", MOONS, "--set", "schedule.name=step_decay"]) == 2
    err = capsys.readouterr().err
    origin = f"{MOONS} with --set 'schedule.name=step_decay'"  # it named no source
    assert err.startswith(f"chainrule: error: {origin}: schedule.params: ")
    assert "needs schedule.params.every (its params: alpha0, every, factor, unit" in err
    assert "schedule_from_config" not in err


@pytest.mark.parametrize(
    ("document", "sets", "says"),
    [
        ("[optimizer]\nparams = {beta1 = 2.0}\n", [], "{exp}: optimizer: Adam: beta1 expected"),
        (
            "",
            ["optimizer.params={beta2=1.5}"],
            "{exp} with --set 'optimizer.params={{beta2=1.5}}': optimizer: Adam: beta2 ",
        ),
        ("[schedule]\nname = 'step_decay'\nparams = {every = 0}\n", [], "{exp}: schedule.params:"),
    ],
)
def test_errors_of_the_optimizer_and_schedule_classes_say_where_the_value_came_from(
    capsys, no_data, tmp_path, document, sets, says
):
    exp = tmp_path / "exp.toml"
    exp.write_text('[data]\nname = "moons"\n[model]\nsizes = [2, 8, 2]\n' + document)
    assert main(["train", str(exp), *[a for s in sets for a in ("--set", s)]]) == 2
    assert capsys.readouterr().err.startswith("chainrule: error: " + says.format(exp=exp))


def test_without_matplotlib_train_exits_2_before_loading_data(capsys, monkeypatch, no_data):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    assert main(["train", MOONS]) == 2
    err = capsys.readouterr().err
    assert "the report needs matplotlib" in err and "pip install 'chainrule[plot]'" in err
    assert "or pass --no-report" in err


def test_without_matplotlib_no_report_trains(monkeypatch, tmp_path):
    from chainrule.cli import train

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    out = tmp_path / "run"
    args = ["--set", "train.epochs=1", "--set", f"output.dir={out}", "--no-report", "-q"]
    assert main(["train", MOONS, *args]) == 0
    assert (out / "metrics.json").is_file() and not (out / "report.html").exists()


def test_metrics_are_written_before_the_report(capsys, monkeypatch, tmp_path):
    from chainrule.cli import report, train

    def write(*args):
        raise RuntimeError("a figure failed")

    monkeypatch.setattr(report, "write", write)
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    out = tmp_path / "run"
    assert main(["train", MOONS, "--set", "train.epochs=1", "--set", f"output.dir={out}"]) == 1
    captured = capsys.readouterr()
    assert "RuntimeError: a figure failed" in captured.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 and "accuracy" in metrics["test"]
    assert f"model: {out / 'model.safetensors'}" in captured.out


def test_a_file_named_runs_is_refused_before_any_data_is_loaded(
    capsys, monkeypatch, no_data, tmp_path
):
    """The default run directory's parent: mkdir failed after the data was loaded, exit 1."""
    moons = str(Path(MOONS).resolve())
    (tmp_path / "runs").write_text("mine")
    monkeypatch.chdir(tmp_path)
    assert main(["train", moons]) == 2
    assert (
        "run directory runs (the default, as output.dir is empty): expected a directory or a "
        "path where one can be made, but runs exists and is not a directory"
    ) in capsys.readouterr().err
    assert (tmp_path / "runs").read_text() == "mine"


def _deny(monkeypatch, *paths):
    """``os.access`` says no for ``paths`` (this process, as root, may write anything)."""
    real = os.access
    denied = {Path(p).resolve() for p in paths}
    monkeypatch.setattr(
        os, "access", lambda p, mode: Path(p).resolve() not in denied and real(p, mode)
    )


@pytest.mark.parametrize("where", ["output.dir", "runs"])
def test_a_run_directory_this_process_may_not_write_is_refused_before_any_data_is_loaded(
    capsys, monkeypatch, no_data, tmp_path, where
):
    # mkdir failed after the data (all of MNIST) was loaded: a PermissionError, exit 1
    moons = str(Path(MOONS).resolve())
    monkeypatch.chdir(tmp_path)
    _deny(monkeypatch, tmp_path)
    args = ["--set", f"output.dir={tmp_path / 'run1'}"] if where == "output.dir" else []
    assert main(["train", moons, *args]) == 2
    err = capsys.readouterr().err
    if where == "output.dir":
        assert f"output.dir {tmp_path / 'run1'}: expected a directory or a path where one" in err
        assert f"but {tmp_path} is not writable" in err
    else:
        assert "run directory runs (the default, as output.dir is empty): expected a " in err
        assert "but . is not writable; set output.dir, or run from another directory" in err
    assert list(tmp_path.iterdir()) == []


def _one_epoch_run(monkeypatch, tmp_path):
    """A finished 1-epoch moons run (its directory), then datasets.load forbidden: what
    comes next must be refused before any data is loaded."""
    from chainrule.cli import train
    from chainrule.runs import datasets

    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    run = tmp_path / "run"
    args = ["--set", "train.epochs=1", "--set", f"output.dir={run}", "--no-report", "-q"]
    assert main(["train", MOONS, *args]) == 0

    def load(*args, **kwargs):
        raise AssertionError("the data was loaded before the refusal")

    monkeypatch.setattr(datasets, "load", load)
    return run


def test_resuming_a_run_this_process_may_not_write_is_refused_before_any_data_is_loaded(
    capsys, monkeypatch, tmp_path
):
    run = _one_epoch_run(monkeypatch, tmp_path)
    _deny(monkeypatch, run)
    assert main(["train", "--resume", str(run), "--no-report", "-q"]) == 2
    says = f"--resume {run}: expected a directory or a path where one can be made, but {run} is"
    assert says + " not writable" in capsys.readouterr().err


def test_resume_with_a_config_that_no_longer_fits_the_checkpoint_exits_2_before_the_data(
    capsys, monkeypatch, tmp_path
):
    """It failed inside fit, after the data was loaded, with an untyped ValueError. A
    checkpoint without the run's config (an earlier chainrule's) is checked by what it
    holds: the batches, the model and the optimizer."""
    run = _one_epoch_run(monkeypatch, tmp_path)
    config = (run / "config.toml").read_text()
    checkpoint = drop_checkpoint_config(run)
    for old, new, names in [
        ("sizes = [2, 16, 16, 2]", "sizes = [2, 8, 2]", "layers.2.weight"),
        ('name = "adam"', 'name = "sgd"', "expected a SGD checkpoint, got 'Adam'"),
        ("batch_size = 32", "batch_size = 16", "train.batch_size = 16, the run's was 32"),
    ]:
        assert old in config
        (run / "config.toml").write_text(config.replace(old, new))
        assert main(["train", "--resume", str(run), "--no-report", "-q"]) == 2
        err = capsys.readouterr().err
        assert f"--resume {run}: {run / 'config.toml'} no longer fits {checkpoint}" in err
        assert names in err


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("lr = 0.01", "lr = 0.1", "optimizer.lr = 0.1, the run's was 0.01"),
        ("seed = 0", "seed = 3", "train.seed = 3, the run's was 0"),
        ('normalize = "standardize"', 'normalize = "none"', "data.normalize = 'none', the"),
        ("warmup = 0", "warmup = 5", "schedule.warmup = 5, the run's was 0"),
    ],
)
def test_resume_refuses_any_edit_of_the_config_but_the_epochs(
    capsys, monkeypatch, tmp_path, old, new, says
):
    """Each was accepted: an lr edit was ignored (the checkpoint's optimizer state holds
    the rate) but written into the model's metadata; a seed edit split the data anew."""
    run = _one_epoch_run(monkeypatch, tmp_path)
    config = (run / "config.toml").read_text()
    assert old in config
    (run / "config.toml").write_text(config.replace(old, new))
    assert main(["train", "--resume", str(run), "--no-report", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"--resume {run}: {run / 'config.toml'} no longer fits checkpoint-" in err
    assert says in err and "only train.epochs may change" in err


def test_resume_refuses_fewer_epochs_than_the_run_has_done(capsys, monkeypatch, tmp_path):
    """It ran none and wrote the metrics of 2 epochs under a config of 1."""
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    run = tmp_path / "run"
    args = ["--set", "train.epochs=2", "--set", f"output.dir={run}", "--no-report", "-q"]
    assert main(["train", MOONS, *args]) == 0
    config = (run / "config.toml").read_text()
    (run / "config.toml").write_text(config.replace("epochs = 2", "epochs = 1"))
    assert main(["train", "--resume", str(run), "--no-report", "-q"]) == 2
    assert "train.epochs = 1: expected at least 2, as the checkpoint is after epoch 2" in (
        capsys.readouterr().err
    )


def test_resume_refuses_new_epochs_for_a_cosine_that_spans_the_run(capsys, monkeypatch, tmp_path):
    """The checkpoint's cosine ends at the run's last step: the added epochs trained at a
    rate of 0. With an explicit duration the epochs may change."""
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    for params, resumed in [("", 2), ("params = {duration = 100, unit = 'step'}", 0)]:
        run = tmp_path / f"run{resumed}"
        schedule = ["--set", "schedule.name='cosine'"]
        if params:
            schedule += ["--set", f"schedule.{params.replace(' = ', '=', 1)}"]
        args = ["--set", "train.epochs=1", "--set", f"output.dir={run}", "--no-report", "-q"]
        assert main(["train", MOONS, *schedule, *args]) == 0
        config = (run / "config.toml").read_text()
        (run / "config.toml").write_text(config.replace("epochs = 1", "epochs = 2"))
        assert main(["train", "--resume", str(run), "--no-report", "-q"]) == resumed
        err = capsys.readouterr().err
        if resumed == 2:
            assert "train.epochs = 2, the run's was 1, but its cosine schedule decays" in err
        else:
            assert len((run / "history.csv").read_text().splitlines()) == 3


def test_config_errors_say_where_the_value_came_from(capsys, no_data, tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text('[data]\nname = "moons"\n[model]\nsizes = [2, 8, 2]\n[train]\nepochs = "5"\n')
    assert main(["train", str(exp), "--set", "train.batch_size=16"]) == 2
    expected = f"{exp}: train.epochs: expected an integer, got string '5'"
    assert f"chainrule: error: {expected}\n" == capsys.readouterr().err
    assert main(["train", MOONS, "--set", 'train.epochs="5"']) == 2
    expected = "--set 'train.epochs=\"5\"': train.epochs: expected an integer, got string '5'"
    assert f"chainrule: error: {expected}\n" == capsys.readouterr().err
    assert main(["train", MOONS, "--set", "trian.epochs=5"]) == 2
    assert "error: --set 'trian.epochs=5': unknown section [trian]" in capsys.readouterr().err
    # a check of several keys names the file and the overrides it was given with
    assert (
        main(["train", str(exp), "--set", "model.sizes=[3, 8, 2]", "--set", "train.epochs=5"]) == 2
    )
    err = capsys.readouterr().err
    assert f"error: {exp} with --set 'model.sizes=[3, 8, 2]' --set 'train.epochs=5': " in err
    assert "model.sizes[0] is 3" in err


def test_a_missing_config_names_the_packaged_ones(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "nielsen-ch2.toml"]) == 2
    assert (
        "config file not found: nielsen-ch2.toml (the packaged configs, by name: mnist.toml, "
        "moons.toml, nielsen-ch1.toml, nielsen-ch3.toml)"
    ) in capsys.readouterr().err
    (tmp_path / "moons.toml").write_text("[data]\nnoize = 1\n")  # a file of that name wins
    assert main(["train", "moons.toml"]) == 2
    assert "moons.toml: unknown key data.noize" in capsys.readouterr().err


def test_an_empty_config_path_is_a_missing_file(capsys, monkeypatch, no_data, tmp_path):
    # "" trained the packaged mnist.toml, as if no CONFIG had been given
    monkeypatch.chdir(tmp_path)
    assert main(["train", "", "-q", "--no-report"]) == 2
    assert (
        "config file not found: '' (the packaged configs, by name: mnist.toml, moons.toml"
    ) in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_empty_config_or_resume_path_is_refused_with_resume(
    capsys, monkeypatch, no_data, tmp_path
):
    # --resume RUN_DIR "" ignored the "", and --resume "" trained the packaged mnist.toml
    (tmp_path / "config.toml").write_text("")
    assert main(["train", "--resume", str(tmp_path), "", "-q", "--no-report"]) == 2
    assert "--resume takes the run's own config.toml; drop CONFIG and --set" in (
        capsys.readouterr().err
    )
    (tmp_path / "config.toml").unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--resume", "", "-q", "--no-report"]) == 2
    assert "--resume: expected a run directory, got an empty path" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_a_closed_pipe_on_stdout_ends_quietly(tmp_path, unbuffered):
    """``chainrule predict ... | head -1`` exited 1 with a BrokenPipeError line; with
    PYTHONUNBUFFERED=1 it exited 0, as the reader's close cut the one large write short
    (the pipe took part of it, without an error) and sys.stdout dropped the rest."""
    import subprocess

    import numpy as np

    import chainrule as cr
    from chainrule import nn

    model = cr.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "m.safetensors")
    np.save(tmp_path / "x.npy", np.zeros((50_000, 2), np.float32))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with subprocess.Popen(
        [sys.executable, "-m", "chainrule", "predict", str(model), str(tmp_path / "x.npy")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout.readline() == b"index,prediction,p_0,p_1\n"
        proc.stdout.close()  # as head does once it has its lines
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=600) == 141 and err == ""


def test_a_broken_pipe_other_than_stdout_is_a_runtime_failure(capfd, monkeypatch, tmp_path):
    """Only standard output's closed pipe ends quietly: a peer's or a socket's is reported."""
    from chainrule.cli import commands

    def info(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(commands, "info", info)
    assert main(["info", str(tmp_path / "m.safetensors")]) == 1
    assert "chainrule: BrokenPipeError: [Errno 32] Broken pipe" in capfd.readouterr().err


def test_a_failed_fetch_shows_its_attempts_and_hint(capsys, monkeypatch):
    # only its first line was shown, "...; tried:", with neither the attempts nor the hint
    import chainrule.data
    from chainrule.data.fetch import FetchError

    def fails(**kwargs):
        raise FetchError("could not fetch f into d; tried:\n  - a copy: missing\nset it up so")

    monkeypatch.setattr(chainrule.data, "fetch_mnist", fails)
    assert main(["data", "fetch", "mnist"]) == 1
    assert capsys.readouterr().err == (
        "chainrule: FetchError: could not fetch f into d; tried:\n  - a copy: missing\n"
        "set it up so (--debug for the traceback)\n"
    )

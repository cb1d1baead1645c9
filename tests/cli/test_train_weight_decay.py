"""``chainrule train`` with ``optimizer.name = "adamw"`` and no weight_decay trains with
AdamW's own decay and writes it in the run's config.toml (it trained plain Adam and wrote
0.0); a run whose config.toml says ``weight_decay = 0.0`` (one of that time) resumes as it
trained, with no decay, as does one whose config.toml gives no weight_decay and resolves to
the decay the checkpoint holds; a config.toml that no longer says the checkpoint's decay is
refused."""

import inspect
import shutil

import numpy as np
import pytest

from chainrule import optim
from chainrule.cli import main, train
from chainrule.io import load_bundle
from chainrule.train import CheckpointDir

ADAMW_DEFAULT = inspect.signature(optim.AdamW).parameters["weight_decay"].default


def _train(run, epochs: int, *sets: str) -> None:
    sets = ("data.n_samples=200", f"train.epochs={epochs}", f"output.dir={run}", *sets)
    args = ["train", "moons.toml", "-q", "--no-report"]
    assert main([*args, *[a for s in sets for a in ("--set", s)]]) == 0


def _resume(run, epochs: int) -> int:
    """Resume ``run`` with its train.epochs edited to ``epochs``; the exit status."""
    config = run / "config.toml"
    config.write_text(config.read_text().replace("epochs = 2", f"epochs = {epochs}"))
    return main(["train", "--resume", str(run), "-q", "--no-report"])


def _weights(run) -> dict:
    return dict(load_bundle(run / "model.safetensors").model.state_dict())


def _decay_trained(run) -> float:
    _, state = CheckpointDir(run / "checkpoints").load_latest()
    return state["optimizer"]["hyperparameters"]["weight_decay"]


def _same(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """2-epoch adamw runs, with no weight_decay ("default") and with 0.0 ("zero"), and
    3-epoch runs of both ("default-3", "zero-3") and of adam ("adam-3")."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        for name, epochs, sets in (
            ("default", 2, ["optimizer.name=adamw"]),
            ("zero", 2, ["optimizer.name=adamw", "optimizer.weight_decay=0.0"]),
            ("default-3", 3, ["optimizer.name=adamw"]),
            ("zero-3", 3, ["optimizer.name=adamw", "optimizer.weight_decay=0.0"]),
            ("adam-3", 3, []),
        ):
            _train(root / name, epochs, *sets)
    return root


@pytest.fixture
def copy_of(runs, monkeypatch, tmp_path):
    """``copy_of(name)``: a copy of that run to resume."""
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)

    def copy(name):
        return shutil.copytree(runs / name, tmp_path / name)

    return copy


def test_adamw_trains_with_its_default_decay_and_records_it(runs):
    assert f"weight_decay = {ADAMW_DEFAULT!r}\n" in (runs / "default" / "config.toml").read_text()
    assert _decay_trained(runs / "default") == ADAMW_DEFAULT
    assert not _same(_weights(runs / "default-3"), _weights(runs / "adam-3"))
    # decoupled decay with a rate of 0 is Adam's update
    assert _same(_weights(runs / "zero-3"), _weights(runs / "adam-3"))


def test_a_run_that_says_no_decay_resumes_without_decay(runs, copy_of):
    run = copy_of("zero")
    assert "weight_decay = 0.0\n" in (run / "config.toml").read_text()
    assert _resume(run, 3) == 0
    assert _decay_trained(run) == 0.0
    assert _same(_weights(run), _weights(runs / "zero-3"))


def test_a_run_with_the_default_decay_resumes_with_it(runs, copy_of):
    run = copy_of("default")
    assert _resume(run, 3) == 0
    assert _decay_trained(run) == ADAMW_DEFAULT
    assert _same(_weights(run), _weights(runs / "default-3"))


def test_a_config_toml_without_weight_decay_resumes_with_the_optimizers_default(runs, copy_of):
    run = copy_of("default")
    config = run / "config.toml"
    config.write_text(config.read_text().replace(f"weight_decay = {ADAMW_DEFAULT!r}\n", ""))
    assert "weight_decay =" not in config.read_text()
    assert _resume(run, 3) == 0
    assert _same(_weights(run), _weights(runs / "default-3"))


def test_a_config_toml_that_drops_a_zero_decay_is_refused(capsys, copy_of):
    run = copy_of("zero")
    config = run / "config.toml"
    config.write_text(config.read_text().replace("weight_decay = 0.0\n", ""))
    assert _resume(run, 3) == 2
    err = capsys.readouterr().err
    assert f"optimizer.weight_decay = {ADAMW_DEFAULT!r}, the run's was 0.0; undo that edit" in err

"""Helpers for the CLI tests: run ``python -m chainrule`` in a subprocess, check files."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

MNIST_DIR = os.environ.get("CHAINRULE_MNIST_DIR")
needs_mnist = pytest.mark.skipif(not MNIST_DIR, reason="CHAINRULE_MNIST_DIR is not set")
RUN_FILES = ("config.toml", "model.safetensors", "history.csv", "metrics.json", "report.html")


@pytest.fixture(scope="session")
def cli(tmp_path_factory):
    """``cli(*args)`` runs the command line and returns the CompletedProcess (text)."""
    cache = tmp_path_factory.mktemp("cache")

    def run(*args, cwd=None):
        env = dict(os.environ, CHAINRULE_CACHE_DIR=str(cache), PYTHONUNBUFFERED="1")
        return subprocess.run(
            [sys.executable, "-m", "chainrule", *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=600,
        )

    return run


def frozen_moons_args(out, *extra: str) -> list[str]:
    """``chainrule train`` arguments of a moons run into ``out`` whose rate is too small to
    move a float32 weight: the dev accuracy never improves after the first epoch, so early
    stopping (patience 2) ends it after epoch 3 of 10; ``extra`` after them."""
    sets = {
        "data.n_samples": 200,
        "optimizer.lr": 1e-30,
        "train.epochs": 10,
        "train.early_stopping": 2,
        "train.monitor": "dev_accuracy",
        "output.dir": out,
    }
    args = ["train", "moons.toml", "-q"]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    return [*args, *extra]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; AssertionError if it is not a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []
        self.figures: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.sources.append(attrs.get("src", ""))
        if tag == "figure":
            self.figures.append(attrs.get("id", ""))


def check_run_dir(run_dir: Path) -> None:
    """Every promised file exists; the report inlines every figure; PNGs are real images."""
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), f"{name} missing from {run_dir}"
    assert list((run_dir / "checkpoints").glob("*.safetensors"))
    pngs = sorted((run_dir / "figures").glob("*.png"))
    names = {p.stem for p in pngs}
    assert {"loss", "accuracy", "learning_rate", "gradient_norms", "confusion_matrix"} <= names
    parser = _Images()
    parser.feed((run_dir / "report.html").read_text(encoding="utf-8"))
    assert sorted(parser.figures) == sorted(names)
    assert all(src.startswith("data:image/png;base64,") for src in parser.sources)
    assert len(parser.sources) == len(pngs)
    for png in pngs:
        width, height = png_size(png)
        assert 300 <= width <= 2500 and 200 <= height <= 2500, (png.name, width, height)


def drop_checkpoint_config(run) -> str:
    """Make the newest checkpoint of the run directory ``run`` one of an earlier chainrule,
    which saved no config in it; its name."""
    from chainrule.train import CheckpointDir
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

    path = CheckpointDir(run / "checkpoints").files()[-1]
    state = load_checkpoint(path)
    del state["metadata"], state["format"], state["version"]
    save_checkpoint(path, state)
    return path.name


@pytest.fixture
def moons_run_to_resume(monkeypatch, tmp_path):
    """A moons run of 2 epochs in ``tmp_path / "run"``, trained in this process, its
    config.toml edited to 3 epochs (a resume trains one)."""
    from chainrule.cli import main, train

    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    run = tmp_path / "run"
    sets = ["--set", "train.epochs=2", "--set", "data.n_samples=200", "--set", f"output.dir={run}"]
    assert main(["train", "moons.toml", "-q", "--no-report", *sets]) == 0
    config = run / "config.toml"
    config.write_text(config.read_text().replace("epochs = 2", "epochs = 3"))
    return run

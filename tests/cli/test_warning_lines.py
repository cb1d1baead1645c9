"""Under the command line, a warning of chainrule's (``GradientWarning``) is a
``chainrule: warning: <message>`` line on the standard error, as the CLI's other warnings
are: it was Python's, attributed to the console script (``.../bin/chainrule:8:``, with
``python -m chainrule`` ``<frozen runpy>:88:``) and followed by its line
(``sys.exit(main())``). The warning filters (``-W``, ``PYTHONWARNINGS``) still apply, and
a Python caller of ``fit`` keeps Python's warning, attributed to its own line."""

import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.cli import main, train
from chainrule.train import GradientWarning, fit

#: A moons run of 1 epoch whose deep sigmoid network's gradients vanish.
VANISHING = [
    "train",
    "moons.toml",
    "-q",
    "--no-report",
    "--set",
    "model.sizes=[2,8,8,8,8,8,8,8,8,2]",
    "--set",
    "model.activation=sigmoid",
    "--set",
    'model.init={name="normal",std=0.1}',
    "--set",
    "train.epochs=1",
    "--set",
    "data.n_samples=200",
]


@pytest.fixture
def args(monkeypatch, tmp_path):
    monkeypatch.setattr(train, "keep_freed_memory", lambda: None)
    return [*VANISHING, "--set", f"output.dir={tmp_path / 'run'}"]


def test_the_cli_says_a_gradient_warning_as_its_own_line(cli, tmp_path):
    done = cli(*VANISHING, "--set", f"output.dir={tmp_path / 'run'}")
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "vanishing gradients" in line]
    assert len(said) == 1, done.stderr
    assert said[0].startswith("chainrule: warning: vanishing gradients in layers.0.weight (")
    for python_s in ("GradientWarning", "sys.exit(main())", "runpy"):
        assert python_s not in done.stderr


def test_the_cli_leaves_the_warning_machinery_as_it_was(capsys, args):
    shown = warnings.showwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always", GradientWarning)
        assert main(args) == 0
        assert warnings.showwarning is shown
    err = capsys.readouterr().err
    assert err.startswith("chainrule: warning: vanishing gradients in layers.0.weight (")


@pytest.mark.parametrize("action", ["ignore", "error"])
def test_the_warning_filters_apply_under_the_cli(capsys, args, action):
    with warnings.catch_warnings():
        warnings.simplefilter(action, GradientWarning)
        status = main(args)
    err = capsys.readouterr().err
    if action == "ignore":
        assert (status, err) == (0, "")
    else:
        assert status == 1
        assert err.startswith("chainrule: GradientWarning: vanishing gradients in layers.0.")


def test_a_python_caller_keeps_pythons_warning_at_its_line(capsys, args):
    with warnings.catch_warnings():  # a CLI run in the same process first (under -W error too)
        warnings.simplefilter("always", GradientWarning)
        assert main(args) == 0
    X, y = cr.data.make_moons(128, noise=0.1, seed=0)
    model = nn.MLP([2] + [32] * 10 + [2], activation="sigmoid", init="normal", seed=0)
    opt = optim.SGD(model.named_parameters(), lr=0.01)
    shown = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", GradientWarning)
        warnings.showwarning = lambda *a: shown.append(warnings.formatwarning(*a[:4]))
        line = sys._getframe().f_lineno + 1
        fit(model, "cross_entropy", opt, X, y.astype(np.int64), epochs=1, progress=False)
    assert len(shown) == 1
    assert shown[0].startswith(f"{__file__}:{line}: GradientWarning: vanishing gradients")

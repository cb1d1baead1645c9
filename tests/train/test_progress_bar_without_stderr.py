"""A ProgressBar without a stream, where ``sys.stderr`` is None (Python's when the
standard error was closed, as ``2>&-`` does), is quiet: training wrote its summary line
to None and failed in its first epoch."""

import sys

import pytest

from chainrule import nn, optim
from chainrule.train import ProgressBar, fit


@pytest.mark.parametrize("quiet", [None, False])
def test_a_progress_bar_is_quiet_where_sys_stderr_is_none(monkeypatch, moons, quiet):
    monkeypatch.setattr(sys, "stderr", None)
    bar = ProgressBar(quiet=quiet)
    assert not (bar.live or bar.summary)
    X, y, Xd, yd = moons
    model = nn.MLP([2, 8, 2], seed=0)
    history = fit(
        model,
        "cross_entropy",
        optim.Adam(model.named_parameters(), lr=0.01),
        X,
        y,
        dev=(Xd, yd),
        epochs=2,
        callbacks=[bar],
    )
    assert len(history.epochs) == 2


def test_fit_with_progress_where_sys_stderr_is_none(monkeypatch, moons):
    monkeypatch.setattr(sys, "stderr", None)
    X, y, _, _ = moons
    model = nn.MLP([2, 8, 2], seed=0)
    history = fit(
        model, "cross_entropy", optim.Adam(model.named_parameters(), lr=0.01), X, y, epochs=1
    )
    assert len(history.epochs) == 1

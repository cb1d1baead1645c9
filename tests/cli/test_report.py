"""The run report's figures and captions: what they cannot draw is said, epoch ticks are
whole numbers, and the input plane is labelled as data.normalize scaled it."""

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from chainrule.cli import main, report
from chainrule.nn import MLP
from chainrule.train.history import History

MOONS = str(Path(__file__).resolve().parents[2] / "configs" / "moons.toml")
SHAPES = {"layers.0.weight": (16, 2), "layers.2.weight": (2, 16)}


def _history(n, dev_loss=0.5, norms=None):
    rows = [
        {"epoch": e, "lr": 0.01, "train_loss": 0.4, "train_accuracy": 0.8,
         "dev_loss": dev_loss(e) if callable(dev_loss) else dev_loss, "dev_accuracy": 0.7,
         "time": 0.1}
        for e in range(1, n + 1)
    ]  # fmt: skip
    norms = norms or {name: [0.3] * n for name in SHAPES}
    return History(epochs=rows, grad_norms=norms)


def _marks(fig):
    """label -> epochs of the x markers drawn for values that are not finite."""
    ax = fig.axes[0]
    return {
        line.get_label(): list(line.get_xdata())
        for line in ax.get_lines()
        if line.get_marker() == "x"
    }


def test_non_finite_values_are_marked_on_the_figure_and_named():
    history = _history(
        4,
        dev_loss=lambda e: math.nan if e > 1 else 0.5,
        norms={"layers.0.weight": [0.3, math.inf, math.nan, 0.2],
               "layers.2.weight": [0.2, 0.1, 0.1, 0.1]},
    )  # fmt: skip
    epochs = [1, 2, 3, 4]
    fig, gaps, _ = report._curves(history, epochs, "loss", "loss")
    assert _marks(fig) == {"dev loss: NaN/inf": [2, 3, 4]}
    assert gaps == ["dev loss from epoch 2"]
    assert "dev loss: NaN/inf" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    fig, gaps = report._grad_norms(history, epochs, SHAPES)
    assert _marks(fig) == {"layer 1 (16\u21922): NaN/inf": [2, 3]}
    assert gaps == ["layer 1 (16\u21922) at epochs 2-3"]
    fig, gaps, _ = report._curves(_history(4), epochs, "loss", "loss")
    assert _marks(fig) == {} and gaps == []
    assert report._gaps_note([]) == ""


@pytest.mark.parametrize("n", [1, 2, 3, 40])
def test_epoch_ticks_are_whole_numbers_and_every_epoch_of_a_short_run(n):
    history = _history(n)
    epochs = list(range(1, n + 1))
    figures = [
        report._curves(history, epochs, "loss", "loss")[0],
        report._learning_rate(history, epochs)[0],
        report._grad_norms(history, epochs, SHAPES)[0],
    ]
    for fig in figures:
        ticks = list(fig.axes[0].get_xticks())
        if n <= report.TICK_EVERY_EPOCH:
            assert ticks == epochs
        else:
            assert all(float(t).is_integer() for t in ticks)


@pytest.mark.parametrize("rate", [0.01, 0.0])
def test_the_rate_axis_starts_at_0_and_takes_a_rate_always_at_0(rate, recwarn):
    # a rate always at 0 set identical limits: Matplotlib warned and widened them itself
    history = _history(3)
    for row in history.epochs:
        row["lr"] = rate
    fig, _ = report._learning_rate(history, [1, 2, 3])
    assert fig.axes[0].get_ylim() == pytest.approx((0.0, 1.1 * rate or 1.0))
    assert not recwarn.list


@pytest.mark.parametrize(
    "normalize, xlabel", [("none", "x1"), ("standardize", "x1 (standardized)")]
)
def test_the_boundary_axes_say_how_the_inputs_were_scaled(normalize, xlabel):
    X = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    y = np.array([0, 1])
    trainer = SimpleNamespace(model=MLP([2, 2], seed=0), from_logits=True)
    data = SimpleNamespace(train=(X, y), test=(X, y), labels=["0", "1"])
    fig = report._boundary(trainer, data, y, report._scaled(normalize))
    assert fig.axes[0].get_xlabel() == xlabel
    assert fig.axes[0].get_ylabel() == xlabel.replace("x1", "x2")


def test_the_html_names_non_finite_epochs_and_follows_data_normalize(tmp_path, monkeypatch):
    write = report.write

    def dev_loss_diverges(run_dir, config, history, trainer, data, metrics):
        for row in history.epochs[1:]:
            row["dev_loss"] = math.inf
        return write(run_dir, config, history, trainer, data, metrics)

    monkeypatch.setattr(report, "write", dev_loss_diverges)
    out = tmp_path / "run"
    sets = [f"output.dir={out}", "train.epochs=3", "data.normalize=none"]
    assert main(["-q", "train", MOONS, *[a for s in sets for a in ("--set", s)]]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "marked x on the top edge: dev loss from epoch 2." in page
    assert "Decision regions on the input plane, with the test points." in page
    assert "normalized" not in page

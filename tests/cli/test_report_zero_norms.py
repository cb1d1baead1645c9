"""Gradient norms exactly 0 (a zero-initialized MLP's weights, a frozen parameter) are
marked on the bottom edge of the log axis and named in the caption, not drawn at 1e-30."""

from pathlib import Path

import numpy as np

from chainrule import plots
from chainrule.cli import main, report
from chainrule.train.history import History

MOONS = str(Path(__file__).resolve().parents[2] / "configs" / "moons.toml")
SHAPES = {"layers.0.weight": (16, 2), "layers.2.weight": (2, 16)}
EPOCHS = [1, 2, 3, 4, 5]


def _history(first, second):
    rows = [{"epoch": e, "lr": 0.01, "train_loss": 0.4} for e in EPOCHS]
    return History(epochs=rows, grad_norms={"layers.0.weight": first, "layers.2.weight": second})


def test_zero_norms_are_marked_on_the_bottom_edge_and_named_not_drawn_at_1e_30():
    # drawn as np.maximum(norm, 1e-30): a point at 1e-30 stretching the axis, no note
    history = _history([0.3, 0.0, np.nan, 0.2, 0.0], [0.2, 0.1, 0.05, 0.1, 0.1])
    fig, gaps = report._grad_norms(history, EPOCHS, SHAPES)
    ax = fig.axes[0]
    drawn = [line for line in ax.get_lines() if line.get_marker() == "o"]
    first = np.asarray(drawn[0].get_ydata(), dtype=float)
    assert np.isnan(first[[1, 2, 4]]).all() and list(first[[0, 3]]) == [0.3, 0.2]
    assert ax.get_ylim()[0] > 1e-2
    zeros = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert [line.get_label() for line in zeros] == ["layer 1 (16\u21922): exactly 0"]
    assert list(zeros[0].get_xdata()) == [2, 5] and list(zeros[0].get_ydata()) == [0.0, 0.0]
    assert zeros[0].get_color() == drawn[0].get_color()
    assert "layer 1 (16\u21922): exactly 0" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert gaps == ["layer 1 (16\u21922) at epoch 3"]
    plots.pyplot().close(fig)
    assert report._zeros_note(history, EPOCHS, SHAPES) == (
        " Exactly 0 (no gradient reached it), so not drawn on the log axis, and marked with "
        "a triangle on the bottom edge: layer 1 (16\u21922) at epochs 2, 5."
    )


def test_no_zero_norms_no_marks_and_no_note():
    history = _history([0.3] * 5, [1e-40] * 5)
    fig, _ = report._grad_norms(history, EPOCHS, SHAPES)
    assert not [line for line in fig.axes[0].get_lines() if line.get_marker() == "v"]
    plots.pyplot().close(fig)
    assert report._zeros_note(history, EPOCHS, SHAPES) == ""


def test_the_html_caption_names_zero_gradient_norms(tmp_path, monkeypatch):
    write = report.write

    def no_gradient(run_dir, config, history, trainer, data, metrics):
        for name in history.grad_norms:
            history.grad_norms[name] = [0.0] * len(history.epochs)
        return write(run_dir, config, history, trainer, data, metrics)

    monkeypatch.setattr(report, "write", no_gradient)
    out = tmp_path / "run"
    sets = [f"output.dir={out}", "train.epochs=2"]
    assert main(["-q", "train", MOONS, *[a for s in sets for a in ("--set", s)]]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "marked with a triangle on the bottom edge: layer 1 (2\u219216) from epoch 1;" in page

"""What the run report and the summary line say and draw: the epoch whose weights early
stopping restored, losses of any size, log axes for curves spanning decades, a loss label
that follows the loss, an accuracy caption naming only the dropout and batch norm the model
has, and a gradient-norm figure whose lines each look different, its legend over none."""

import contextlib
import html
import io
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from chainrule import plots
from chainrule.cli import main, report, train
from chainrule.train.history import History

from .conftest import frozen_moons_args


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs, by name: ``"frozen"`` (early stopping on dev_accuracy ends it after epoch
    3 and restores epoch 1's weights; cross_entropy, no dropout) and ``"plain"`` (mse of
    two outputs, dropout and batch norm, no early stopping, its test loss set to 8.7e-06
    and its dev loss to 1.09e26 before they are saved). Each is a namespace of its
    directory, its standard output, and its figures as drawn (name -> ylabel and the
    x data of each labelled line)."""
    root = tmp_path_factory.mktemp("readability")
    drawn = {}
    save, metrics_of = plots.save, train._metrics

    def recording(fig, path, svg=False):
        ax = fig.axes[0]
        lines = {line.get_label(): list(line.get_xdata()) for line in ax.get_lines()}
        figure = SimpleNamespace(ylabel=ax.get_ylabel(), lines=lines)
        drawn.setdefault(Path(path).parents[1].name, {})[Path(path).stem] = figure
        return save(fig, path, svg)

    def extreme_losses(*args):
        metrics = metrics_of(*args)
        metrics["test"]["loss"], metrics["dev"]["loss"] = 8.7e-06, 1.09e26
        return metrics

    plain = ["--set", "data.n_samples=200", "--set", "model.sizes=[2,8,2]"]
    plain += ["--set", "loss.name=mse", "--set", "model.dropout=0.8"]
    plain += ["--set", "model.batch_norm=true", "--set", "train.epochs=2"]
    plain = ["train", "moons.toml", "-q", *plain, "--set", f"output.dir={root / 'plain'}"]
    result = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train, "keep_freed_memory", lambda: None)
        mp.setattr(plots, "save", recording)
        for name, args in (("frozen", frozen_moons_args(root / "frozen")), ("plain", plain)):
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout), mp.context() as inner:
                if name == "plain":
                    inner.setattr(train, "_metrics", extreme_losses)
                assert main(args) == 0
            result[name] = SimpleNamespace(
                dir=root / name, stdout=stdout.getvalue(), figures=drawn[name]
            )
    return result


def _page(run) -> str:
    return (run.dir / "report.html").read_text(encoding="utf-8")


def _caption(run, figure: str) -> str:
    match = re.search(f"<figure id='{figure}'>.*?<figcaption>(.*?)</figcaption>", _page(run))
    return html.unescape(match.group(1))


def test_metrics_json_and_the_report_name_the_epoch_whose_weights_were_restored(runs):
    """The header said "3 epochs (early_stopping)" above epoch 1's metrics, unexplained."""
    frozen = runs["frozen"]
    metrics = json.loads((frozen.dir / "metrics.json").read_text())
    assert (metrics["epochs_run"], metrics["restored_epoch"]) == (3, 1)
    assert (
        "3 epochs (early_stopping), training time " in _page(frozen)
        and " s. The model holds the weights of epoch 1 (the best dev_accuracy), which "
        "early stopping restored: the metrics below are of those weights.</p>"
        in html.unescape(_page(frozen))
    )
    for figure in ("loss", "accuracy"):
        assert frozen.figures[figure].lines["restored weights: epoch 1"] == [1, 1]
        assert " Dotted line: epoch 1 (the best dev_accuracy), whose weights early " in (
            _caption(frozen, figure)
        )
    plain = runs["plain"]
    assert "restored_epoch" not in json.loads((plain.dir / "metrics.json").read_text())
    assert "restored" not in _page(plain)
    assert not [k for k in plain.figures["loss"].lines if k.startswith("restored")]


def test_losses_are_printed_with_significant_digits(runs):
    """.4f printed 8.7e-06 as 0.0000 and 1.09e26 as 27 digits."""
    plain = runs["plain"]
    assert "test loss 8.7e-06; time " in plain.stdout
    assert "<td>8.7e-06</td>" in _page(plain) and "<td>1.09e+26</td>" in _page(plain)
    assert re.search(r"test accuracy \d+\.\d\d%, test loss ", plain.stdout)


def test_the_loss_axis_label_follows_the_loss(runs):
    """mse of two outputs is the mean over both, not the mean per sample."""
    assert runs["plain"].figures["loss"].ylabel == "loss (mean per output entry)"
    assert runs["frozen"].figures["loss"].ylabel == "loss (mean per sample)"


def test_the_accuracy_caption_names_dropout_and_batch_norm_only_when_the_model_has_them(runs):
    """It said "dropout on" of every run, model.dropout = 1.0 (none) too."""
    measured = "Accuracy per epoch (train: measured during the epoch, on each mini-batch before "
    assert _caption(runs["frozen"], "accuracy").startswith(
        f"{measured}its update; dev: after the epoch, in eval mode)."
    )
    assert _caption(runs["plain"], "accuracy").startswith(
        f"{measured}its update, in training mode: dropout on (keep_prob 0.8) and batch norm "
        "with each mini-batch's statistics; dev: after the epoch, in eval mode)."
    )


def test_the_gradient_norm_lines_of_a_deep_model_each_look_different_and_none_is_covered():
    """Beyond the palette's 8 colours, layers 1 and 9 were drawn alike; the 13 entries'
    legend, inside the axes, covered some of the points."""
    sizes = [2] + [16] * 12 + [2]
    shapes = {
        f"layers.{i}.weight": (a, b) for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False))
    }
    epochs = list(range(1, 16))
    rows = [{"epoch": e, "lr": 0.01, "train_loss": 1.0} for e in epochs]
    norms = {name: [10.0 ** (-9 + 0.7 * i)] * 15 for i, name in enumerate(shapes)}
    fig, _ = report._grad_norms(History(epochs=rows, grad_norms=norms), epochs, shapes)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 13
    assert len({(ln.get_color(), ln.get_linestyle(), ln.get_marker()) for ln in lines}) == 13
    fig.tight_layout()  # as plots.save does
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())
    points = np.concatenate([ax.transData.transform(ln.get_xydata()) for ln in lines])
    assert not any(legend.contains(x, y) for x, y in points)
    assert fig.get_window_extent().contains(legend.x1 - 1, legend.y0 + 1)  # not cut off
    plots.pyplot().close(fig)


def _wide_history():
    """Five epochs whose rate, train loss and dev loss span decades, down to 0 at the last
    (the dev loss NaN at epoch 3)."""
    columns = {
        "lr": [1e-2, 1e-3, 1e-4, 1e-5, 0.0],
        "train_loss": [0.5, 1e-2, 1e-4, 1e-6, 0.0],
        "dev_loss": [0.6, 0.1, math.nan, 0.04, 0.04],
    }
    rows = [{"epoch": i + 1, **{k: v[i] for k, v in columns.items()}} for i in range(5)]
    return History(epochs=rows, grad_norms={})


def test_a_loss_spanning_decades_is_drawn_on_a_log_axis_its_zeros_marked():
    """Drawn on a linear axis, the run lay flat at 0 after its first epochs."""
    epochs = [1, 2, 3, 4, 5]
    fig, gaps, zeros = report._curves(_wide_history(), epochs, "loss", "loss", log_if_wide=True)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss, log scale"
    assert gaps == ["dev loss at epoch 3"] and zeros == ["train loss from epoch 5"]
    train_line = next(ln for ln in ax.get_lines() if ln.get_label() == "train")
    assert np.isnan(train_line.get_ydata()[4])
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "v"]
    assert [(ln.get_label(), list(ln.get_xdata())) for ln in marks] == [
        ("train loss: exactly 0", [5])
    ]
    assert report._zeros_caption(zeros) == (
        " Exactly 0, so not drawn on the log axis, and marked with a triangle on the bottom "
        "edge: train loss from epoch 5."
    )
    plots.pyplot().close(fig)
    narrow = History(epochs=[{"epoch": e, "lr": 0.01, "train_loss": 0.5 / e} for e in epochs])
    fig, _, zeros = report._curves(narrow, epochs, "loss", "loss", log_if_wide=True)
    assert fig.axes[0].get_yscale() == "linear" and zeros == []
    plots.pyplot().close(fig)
    fig, _, _ = report._curves(_wide_history(), epochs, "loss", "loss")  # log not asked
    assert fig.axes[0].get_yscale() == "linear"
    plots.pyplot().close(fig)


def test_a_rate_spanning_decades_is_drawn_on_a_log_axis_its_zeros_marked():
    fig, zeros = report._learning_rate(_wide_history(), [1, 2, 3, 4, 5])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "learning rate (step size), log scale"
    assert zeros == ["learning rate from epoch 5"]
    assert [ln.get_label() for ln in ax.get_lines() if ln.get_marker() == "v"] == [
        "learning rate: exactly 0"
    ]
    plots.pyplot().close(fig)

"""The run report: figures as PNG files and one self-contained ``report.html``.

Every image is inlined as a ``data:`` URI, so the HTML opens offline and can be mailed as
one file. Figures use :mod:`chainrule.plots` (Okabe-Ito palette, titles, labelled axes).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from chainrule import plots
from chainrule.files import atomic_write
from chainrule.optim import Schedule
from chainrule.runs.config import dumps
from chainrule.runs.datasets import predicted_classes
from chainrule.train import predict
from chainrule.train.diagnostics import BiasVarianceReading
from chainrule.train.metrics import confusion_matrix


def write(run_dir: Path, config, history, trainer, data, metrics) -> Path:
    """Draw the figures into ``run_dir/figures`` and write ``run_dir/report.html``."""
    fig_dir = run_dir / "figures"
    epochs = [row["epoch"] for row in history.epochs]
    figures: list[tuple[str, Path, str]] = []

    def add(name, fig, caption):
        figures.append((name, plots.save(fig, fig_dir / f"{name}.png")[0], caption))

    has_acc = "train_accuracy" in history.last
    # the training cost fit logs includes a regularization penalty; the dev loss does not
    penalized = bool(config["regularization"]["l2"] or config["regularization"]["l1"])
    caption = "Cost per epoch."
    if penalized:
        caption += (
            " The train curve includes the regularization penalty, the dev curve does not: "
            "part of the gap between them is the penalty, not variance."
        )
    train_label = "train (+ penalty)" if penalized else "train"
    fig, gaps = _curves(history, epochs, "loss", "loss (mean per sample)", train_label)
    add("loss", fig, caption + _gaps_note(gaps))
    if has_acc:
        fig, gaps = _curves(history, epochs, "accuracy", "accuracy (%)", scale=100)
        caption = "Accuracy per epoch (train: measured during the epoch, dropout on)."
        add("accuracy", fig, caption + _gaps_note(gaps))
    add(
        "learning_rate",
        _learning_rate(history, epochs),
        "Learning rate at the start of each epoch.",
    )
    shapes = {name: p.shape for name, p in trainer.model.named_parameters()}
    fig, gaps = _grad_norms(history, epochs, shapes)
    add(
        "gradient_norms",
        fig,
        "RMS over the epoch's steps of each "
        "weight matrix's gradient norm: vanishing or exploding gradients show as lines far "
        "apart or sliding down." + _gaps_note(gaps) + _zeros_note(history, epochs, shapes),
    )

    X_test, y_test = data.test
    outputs = predict(trainer.model, X_test)
    pred = predicted_classes(outputs, trainer.from_logits)
    add(
        "confusion_matrix",
        _confusion(y_test, pred, data.labels),
        "Test-set confusion matrix: rows are true classes, columns predictions.",
    )
    if data.image_shape is not None:
        add(
            "misclassified",
            _misclassified(data.raw_test, y_test, pred, data.image_shape),
            "Misclassified test images, with true and predicted labels.",
        )
    elif data.n_features == 2:
        scaled = _scaled(config["data"]["normalize"])
        add(
            "decision_boundary",
            _boundary(trainer, data, pred, scaled),
            f"Decision regions on the {scaled + ' ' if scaled else ''}input plane, with the "
            "test points.",
        )
    note = "Image grid skipped: the inputs are not images." if data.image_shape is None else ""

    saved = metrics.get("bias_variance")
    reading = None if saved is None else BiasVarianceReading(**saved)
    path = run_dir / "report.html"
    page = _html(run_dir, config, metrics, history, figures, reading, note, trainer.optimizer.lr)
    atomic_write(path, page.encode("utf-8"))
    return path


# -- figures --------------------------------------------------------------------------------
#: Up to this many epochs, every epoch is an x tick; beyond, whole-number ticks chosen by
#: Matplotlib (which, for a run of one or two epochs, would fall back to fractions).
TICK_EVERY_EPOCH = 12
#: How each data.normalize but "none" describes the inputs in figure labels and captions.
_SCALED_AS = {"standardize": "standardized", "minmax": "min-max scaled"}


def _scaled(normalize: str) -> str:
    """How the inputs were scaled (``data.normalize``), for a label; "" for "none"."""
    return "" if normalize == "none" else _SCALED_AS.get(normalize, f"{normalize}-scaled")


def _epoch_axis(ax, epochs) -> None:
    """Whole-number epoch ticks: each epoch of a short run, a choice of them otherwise."""
    ax.set_xlabel("epoch")
    if len(epochs) <= TICK_EVERY_EPOCH:
        ax.set_xticks(epochs)
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)


def _mark_not_finite(ax, epochs, values, label, color) -> str | None:
    """NaN and inf draw nothing on a plot: mark their epochs with an x on the top edge of
    the axes, in the line's colour, and return ``"<label> from epoch k"`` (a run of the
    last epochs) or ``"<label> at epochs i, j-k"``; None when every value is finite."""
    bad = [e for e, v in zip(epochs, values, strict=True) if not np.isfinite(v)]
    if not bad:
        return None
    ax.plot(bad, [1.0] * len(bad), "x", ms=7, mew=1.5, color=color, clip_on=False,
            transform=ax.get_xaxis_transform(), label=f"{label}: NaN/inf")  # fmt: skip
    return _epochs_note(label, bad, epochs)


def _epochs_note(label, marked, epochs) -> str:
    """``"<label> from epoch k"`` when ``marked`` (a sorted list of some of ``epochs``) is a
    run of the last epochs, else ``"<label> at epochs i, j-k"``."""
    if marked == list(epochs[len(epochs) - len(marked) :]):
        return f"{label} from epoch {marked[0]}"
    runs, start = [], marked[0]
    for prev, e in zip(marked, [*marked[1:], None], strict=True):
        if e != prev + 1:
            runs.append(str(start) if start == prev else f"{start}-{prev}")
            start = e
    return f"{label} at epoch{'s' if len(marked) > 1 else ''} {', '.join(runs)}"


def _zero_epochs(epochs, values) -> list:
    """The epochs where ``values`` are exactly 0, which a log axis cannot draw."""
    return [e for e, v in zip(epochs, values, strict=True) if v == 0]


def _gaps_note(gaps: list[str]) -> str:
    """The caption's note of the values a figure could not draw ("" when none)."""
    if not gaps:
        return ""
    return (
        f" Not finite (NaN or inf), so not drawn, and marked x on the top edge: {'; '.join(gaps)}."
    )


def _curves(history, epochs, metric, ylabel, train_label="train", scale=1.0):
    """The figure of train and dev ``metric`` per epoch, and the notes of what it could
    not draw (see :func:`_mark_not_finite`)."""
    fig, ax = plots.figure()
    gaps = []
    for part, label, style in (("train", train_label, "-o"), ("dev", "dev", "--s")):
        key = f"{part}_{metric}"
        if key in history.last:
            values = np.array(history.column(key)) * scale
            (line,) = ax.plot(epochs, values, style, ms=4, label=label)
            gaps.append(_mark_not_finite(ax, epochs, values, f"{part} {metric}", line.get_color()))
    ax.set(title=f"Train vs dev {metric}", ylabel=ylabel)
    _epoch_axis(ax, epochs)
    ax.legend()
    return fig, [g for g in gaps if g]


def _learning_rate(history, epochs):
    fig, ax = plots.figure()
    ax.plot(epochs, history.column("lr"), "-o", ms=4, label="learning rate")
    ax.set(title="Learning rate at the start of each epoch", ylabel="learning rate (step size)")
    _epoch_axis(ax, epochs)
    # a constant rate reads as constant; one always at 0 gets the axis of a rate of 1
    ax.set_ylim(0, 1.1 * max(history.column("lr")) or 1.0)
    ax.legend()
    return fig


def _norm_lines(history, shapes) -> list[tuple[str, str]]:
    """``(name, label)`` of each gradient norm the figure draws: every weight matrix's, or
    every parameter's when the model has none."""
    weights = [k for k in history.grad_norms if k.endswith("weight") and len(shapes[k]) == 2]
    lines = []
    for i, name in enumerate(weights or list(history.grad_norms), start=1):
        shape = shapes[name]
        lines.append((name, f"layer {i} ({shape[0]}\u2192{shape[1]})" if len(shape) == 2 else name))
    return lines


def _zeros_note(history, epochs, shapes) -> str:
    """The caption's note of the gradient norms exactly 0, which the log axis of
    :func:`_grad_norms` marks on its bottom edge instead of drawing ("" when none)."""
    notes = [
        _epochs_note(label, zero, epochs)
        for name, label in _norm_lines(history, shapes)
        if (zero := _zero_epochs(epochs, history.grad_norms[name]))
    ]
    if not notes:
        return ""
    return (
        " Exactly 0 (no gradient reached it), so not drawn on the log axis, and marked with "
        f"a triangle on the bottom edge: {'; '.join(notes)}."
    )


def _grad_norms(history, epochs, shapes):
    """The figure of each weight matrix's gradient norm per epoch, and the notes of what it
    could not draw (see :func:`_mark_not_finite`; norms exactly 0, marked with a triangle
    on the bottom edge, are noted by :func:`_zeros_note`)."""
    fig, ax = plots.figure(width=6.0)
    gaps = []
    for name, label in _norm_lines(history, shapes):
        values = np.asarray(history.grad_norms[name], dtype=np.float64)
        (line,) = ax.plot(epochs, np.where(values == 0, np.nan, values), "-o", ms=3, label=label)
        gaps.append(_mark_not_finite(ax, epochs, values, label, line.get_color()))
        if zero := _zero_epochs(epochs, values):
            ax.plot(zero, [0.0] * len(zero), "v", ms=7, color=line.get_color(), clip_on=False,
                    transform=ax.get_xaxis_transform(), label=f"{label}: exactly 0")  # fmt: skip
    ax.set_yscale("log")
    ax.set(
        title="Gradient norm per layer (weights)", ylabel="||dC/dW||  (RMS over steps, log scale)"
    )
    _epoch_axis(ax, epochs)
    ax.legend(fontsize=8, loc="best")
    return fig, [g for g in gaps if g]


def _confusion(y_true, y_pred, labels):
    k = len(labels)
    cm = confusion_matrix(y_true, y_pred, n_classes=k)
    size = 3.2 + 0.35 * k
    fig, ax = plots.figure(width=size + 1.0, height=size)
    im = ax.imshow(cm, cmap=plots.SEQUENTIAL)
    ax.grid(False)
    ax.set(
        title=f"Test confusion matrix ({len(y_true)} samples)",
        xlabel="predicted label",
        ylabel="true label",
        xticks=range(k),
        yticks=range(k),
        xticklabels=labels,
        yticklabels=labels,
    )
    threshold = cm.max() / 2
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                color = "black" if cm[i, j] > threshold else "white"
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8, color=color)
    fig.colorbar(im, ax=ax, label="samples", fraction=0.046, pad=0.04)
    return fig


def _misclassified(images, y_true, y_pred, shape, limit=24):
    wrong = np.flatnonzero(y_true != y_pred)[:limit]
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    plt = plots.pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.55 * rows + 0.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong, strict=False):
        ax.imshow(images[i].reshape(shape), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"true {y_true[i]}, pred {y_pred[i]}", fontsize=8)
    n_wrong = int((y_true != y_pred).sum())
    title = f"Misclassified test images: first {len(wrong)} of {n_wrong}"
    fig.suptitle(title if n_wrong else "No misclassified test images", fontsize=11)
    return fig


def _boundary(trainer, data, pred, scaled: str):
    """Decision regions over the model's input plane (inputs scaled as ``scaled`` says,
    "" for inputs as generated), with the test points."""
    X, y = data.test
    Xall = np.concatenate([data.train[0], X])
    lo, hi = Xall.min(axis=0) - 0.5, Xall.max(axis=0) + 0.5
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.stack([g0.ravel(), g1.ravel()], axis=1).astype(X.dtype)
    out = predict(trainer.model, grid)
    zone = predicted_classes(out, trainer.from_logits).reshape(g0.shape)
    fig, ax = plots.figure(width=5.2, height=4.4)
    k = len(data.labels)
    colors = plots.PALETTE[:k]
    from matplotlib.colors import ListedColormap

    ax.contourf(g0, g1, zone, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.3)
    for c in range(k):
        mask = y == c
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=14,
            color=colors[c],
            edgecolor="black",
            linewidth=0.4,
            label=f"class {data.labels[c]}",
        )
    wrong = y != pred
    if wrong.any():
        ax.scatter(
            X[wrong, 0],
            X[wrong, 1],
            s=60,
            facecolor="none",
            edgecolor="black",
            linewidth=1.0,
            label="misclassified",
        )
    suffix = f" ({scaled})" if scaled else ""
    ax.set(title="Decision boundary (test points)", xlabel=f"x1{suffix}", ylabel=f"x2{suffix}")
    ax.grid(False)
    ax.legend(fontsize=8, loc="best")
    return fig


# -- HTML -----------------------------------------------------------------------------------
_STYLE = """
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}
td,th{padding:.25em .8em;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}
figure{margin:1em 0} figure img{max-width:100%} figcaption{color:#555;font-size:.9em}
pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}
"""


def _rate(rate) -> str:
    """The optimizer's ``lr``: optimizer.lr, or the schedule the config built
    (``CosineDecay(alpha0=0.001, duration=2581, ...)``), which sets it."""
    return repr(rate) if isinstance(rate, Schedule) else f"{rate:g}"


def _html(run_dir, config, metrics, history, figures, reading, note, rate) -> str:
    e = html.escape
    keys = [k for k in ("loss", "accuracy") if k in metrics["test"]]
    rows = "".join(
        f"<tr><td>{part}</td><td>{metrics['n'][part]}</td>"
        + "".join(
            f"<td>{100 * metrics[part][k]:.2f}%</td>"
            if k == "accuracy"
            else f"<td>{metrics[part][k]:.4f}</td>"
            for k in keys
        )
        + "</tr>"
        for part in ("train", "dev", "test")
    )
    head = "".join(f"<th>{k}</th>" for k in keys)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>chainrule run {e(run_dir.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>chainrule run <code>{e(run_dir.name)}</code></h1>",
        f"<p>{e(config['data']['name'])}, model {e(str(config['model']['sizes']))} "
        f"{e(config['model']['activation'])}, {e(config['optimizer']['name'])} "
        f"lr {e(_rate(rate))}, {metrics['epochs_run']} epochs "
        f"({e(metrics['stopped_reason'])}), training time {metrics['time']['train_s']:.1f} s.</p>",
        "<h2>Metrics</h2>",
        f"<table><tr><th>set</th><th>samples</th>{head}</tr>{rows}</table>",
        "<h2>Bias and variance</h2>",
        f"<p>{e(str(reading))}</p>"
        if reading is not None
        else "<p>Not available: the task is not classification.</p>",
        "<h2>Figures</h2>",
    ]
    if note:
        parts.append(f"<p>{e(note)}</p>")
    for name, path, caption in figures:
        parts.append(
            f"<figure id='{name}'><img src='{plots.png_data_uri(path)}' alt='{e(name)}'>"
            f"<figcaption>{e(caption)} (figures/{e(path.name)})</figcaption></figure>"
        )
    parts += [
        "<h2>Config</h2>",
        f"<pre>{e(dumps(config))}</pre>",
        "<h2>History</h2>",
        f"<pre>{e(history.to_csv())}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)

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

#: The figures :func:`write` may draw, each as ``figures/<name>.png`` in the run directory:
#: ``misclassified`` of a run on images, ``decision_boundary`` of one on two inputs, the
#: others of every run.
FIGURES = (
    "loss",
    "accuracy",
    "learning_rate",
    "gradient_norms",
    "confusion_matrix",
    "misclassified",
    "decision_boundary",
)


def write(run_dir: Path, config, history, trainer, data, metrics) -> Path:
    """Draw the figures into ``run_dir/figures`` and write ``run_dir/report.html``."""
    fig_dir = run_dir / "figures"
    epochs = [row["epoch"] for row in history.epochs]
    figures: list[tuple[str, Path, str]] = []

    def add(name, fig, caption):
        figures.append((name, plots.save(fig, fig_dir / f"{name}.png")[0], caption))

    has_acc = "train_accuracy" in history.last
    restored = metrics.get("restored_epoch")
    restored_note = (
        ""
        if restored is None
        else f" Dotted line: epoch {restored} (the best {config['train']['monitor']}), whose "
        "weights early stopping restored: the model and the metrics table are of those weights."
    )
    # the training cost fit logs includes a regularization penalty; the dev loss does not
    penalized = bool(config["regularization"]["l2"] or config["regularization"]["l1"])
    caption = "Cost per epoch."
    if penalized:
        caption += (
            " The train curve includes the regularization penalty, the dev curve does not: "
            "part of the gap between them is the penalty, not variance."
        )
    train_label = "train (+ penalty)" if penalized else "train"
    ylabel = _loss_label(config["loss"]["name"], config["model"]["sizes"][-1])
    fig, gaps, zeros = _curves(
        history, epochs, "loss", ylabel, train_label, log_if_wide=True, restored=restored
    )
    add("loss", fig, caption + _gaps_note(gaps) + _zeros_caption(zeros) + restored_note)
    if has_acc:
        fig, gaps, _ = _curves(
            history, epochs, "accuracy", "accuracy (%)", scale=100, restored=restored
        )
        caption = _accuracy_caption(config["model"])
        add("accuracy", fig, caption + _gaps_note(gaps) + restored_note)
    fig, zeros = _learning_rate(history, epochs)
    add("learning_rate", fig, "Learning rate at the start of each epoch." + _zeros_caption(zeros))
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
#: A loss or rate curve whose positive values span more than this many decades is drawn on
#: a log axis: on a linear one, most of the run would lie flat at 0.
LOG_DECADES = 2
#: The gradient-norm lines' styles, one per cycle through the palette's colours: cycle c
#: has linestyle c % 4 and marker c % 5, so no two of 8 * 20 lines look alike ("x" and "v"
#: are left to the marks of NaN and of 0).
_NORM_LINESTYLES = ("-", "--", ":", "-.")
_NORM_MARKERS = ("o", "s", "^", "D", "P")
#: With more legend entries than this, the gradient-norm legend goes beside the axes,
#: where it covers no line; of 16 entries and more, in columns of 16.
LEGEND_INSIDE = 5


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


def _mark_zeros(ax, epochs, values, label, color) -> str | None:
    """Values exactly 0 draw nothing on a log axis: mark their epochs with a triangle on the
    bottom edge of the axes, in the line's colour, and return their note (see
    :func:`_epochs_note`); None when none is 0."""
    zero = _zero_epochs(epochs, values)
    if not zero:
        return None
    ax.plot(zero, [0.0] * len(zero), "v", ms=7, color=color, clip_on=False,
            transform=ax.get_xaxis_transform(), label=f"{label}: exactly 0")  # fmt: skip
    return _epochs_note(label, zero, epochs)


def _zeros_caption(notes: list[str], why: str = "") -> str:
    """The caption's note of the values exactly 0 a log axis marks (see
    :func:`_mark_zeros`) instead of drawing, ``why`` after "Exactly 0" ("" when none)."""
    if not notes:
        return ""
    return (
        f" Exactly 0{why}, so not drawn on the log axis, and marked with a triangle on the "
        f"bottom edge: {'; '.join(notes)}."
    )


def _wide(values: np.ndarray) -> bool:
    """Whether ``values`` need a log axis: none negative, and the positive finite ones
    spanning more than :data:`LOG_DECADES` decades (NaN and inf are marked apart, see
    :func:`_mark_not_finite`, and 0 too, see :func:`_mark_zeros`)."""
    finite = values[np.isfinite(values)]
    positive = finite[finite > 0]
    return bool(
        positive.size
        and (finite >= 0).all()
        and positive.max() > 10.0**LOG_DECADES * positive.min()
    )


def _loss_label(loss: str, n_out: int) -> str:
    """The loss axis's label: ``mse`` and ``mae`` average over a sample's outputs too (the
    mean over all m * n entries), the other losses sum over them (see
    :mod:`chainrule.losses`); of one output, both are the mean per sample."""
    if loss in ("mse", "mae") and n_out > 1:
        return "loss (mean per output entry)"
    return "loss (mean per sample)"


def _accuracy_caption(model: dict) -> str:
    """The accuracy figure's caption: how the train accuracy was measured, in training
    mode, naming dropout (``model.dropout`` below 1) and batch norm only when the model
    has them (the ``[model]`` section of the config)."""
    how = "measured during the epoch, on each mini-batch before its update"
    modes = []
    if model["dropout"] < 1:
        modes.append(f"dropout on (keep_prob {model['dropout']:g})")
    if model["batch_norm"]:
        modes.append("batch norm with each mini-batch's statistics")
    if modes:
        how += f", in training mode: {' and '.join(modes)}"
    return f"Accuracy per epoch (train: {how}; dev: after the epoch, in eval mode)."


def _gaps_note(gaps: list[str]) -> str:
    """The caption's note of the values a figure could not draw ("" when none)."""
    if not gaps:
        return ""
    return (
        f" Not finite (NaN or inf), so not drawn, and marked x on the top edge: {'; '.join(gaps)}."
    )


def _curves(
    history,
    epochs,
    metric,
    ylabel,
    train_label="train",
    scale=1.0,
    *,
    log_if_wide=False,
    restored=None,
):
    """The figure of train and dev ``metric`` per epoch, and the notes of what it could
    not draw: values not finite (see :func:`_mark_not_finite`) and values exactly 0 on a
    log axis (see :func:`_mark_zeros`). With ``log_if_wide`` the y axis is logarithmic when
    the curves span more than :data:`LOG_DECADES` decades (see :func:`_wide`); ``restored``,
    the epoch whose weights early stopping restored (None: none), is a dotted line."""
    fig, ax = plots.figure()
    curves = [
        (part, label, style, np.array(history.column(f"{part}_{metric}"), np.float64) * scale)
        for part, label, style in (("train", train_label, "-o"), ("dev", "dev", "--s"))
        if f"{part}_{metric}" in history.last
    ]
    log = log_if_wide and _wide(np.concatenate([values for *_, values in curves]))
    gaps, zeros = [], []
    for part, label, style, values in curves:
        shown = np.where(values == 0, np.nan, values) if log else values
        (line,) = ax.plot(epochs, shown, style, ms=4, label=label)
        gaps.append(_mark_not_finite(ax, epochs, values, f"{part} {metric}", line.get_color()))
        if log:
            zeros.append(_mark_zeros(ax, epochs, values, f"{part} {metric}", line.get_color()))
    if restored is not None:
        ax.axvline(
            restored, color="0.3", ls=":", lw=1.2, label=f"restored weights: epoch {restored}"
        )
    if log:
        ax.set_yscale("log")
        ylabel += ", log scale"
    ax.set(title=f"Train vs dev {metric}", ylabel=ylabel)
    _epoch_axis(ax, epochs)
    ax.legend()
    return fig, [g for g in gaps if g], [z for z in zeros if z]


def _learning_rate(history, epochs):
    """The figure of the rate at the start of each epoch, on a log axis when the rates span
    more than :data:`LOG_DECADES` decades (see :func:`_wide`), else on a linear one from 0,
    and the notes of the rates exactly 0 that the log axis marks (see :func:`_mark_zeros`)."""
    fig, ax = plots.figure()
    rates = np.array(history.column("lr"), np.float64)
    log = _wide(rates)
    shown = np.where(rates == 0, np.nan, rates) if log else rates
    (line,) = ax.plot(epochs, shown, "-o", ms=4, label="learning rate")
    ylabel = "learning rate (step size)"
    zeros = []
    if log:
        zeros.append(_mark_zeros(ax, epochs, rates, "learning rate", line.get_color()))
        ax.set_yscale("log")
        ylabel += ", log scale"
    else:
        # a constant rate reads as constant; one always at 0 gets the axis of a rate of 1
        ax.set_ylim(0, 1.1 * rates.max() or 1.0)
    ax.set(title="Learning rate at the start of each epoch", ylabel=ylabel)
    _epoch_axis(ax, epochs)
    ax.legend()
    return fig, [z for z in zeros if z]


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
    return _zeros_caption(notes, " (no gradient reached it)")


def _grad_norms(history, epochs, shapes):
    """The figure of each weight matrix's gradient norm per epoch, and the notes of what it
    could not draw (see :func:`_mark_not_finite`; norms exactly 0, marked with a triangle
    on the bottom edge, are noted by :func:`_zeros_note`). Each line has its own colour
    and style (see :data:`_NORM_LINESTYLES`); a legend of more than :data:`LEGEND_INSIDE`
    entries goes beside the axes."""
    lines = _norm_lines(history, shapes)
    n_colours = len(plots.PALETTE)
    fig, ax = plots.figure(width=6.0)
    gaps = []
    for i, (name, label) in enumerate(lines):
        values = np.asarray(history.grad_norms[name], dtype=np.float64)
        cycle = i // n_colours
        (line,) = ax.plot(
            epochs,
            np.where(values == 0, np.nan, values),
            color=plots.PALETTE[i % n_colours],
            ls=_NORM_LINESTYLES[cycle % len(_NORM_LINESTYLES)],
            marker=_NORM_MARKERS[cycle % len(_NORM_MARKERS)],
            ms=3,
            label=label,
        )
        gaps.append(_mark_not_finite(ax, epochs, values, label, line.get_color()))
        _mark_zeros(ax, epochs, values, label, line.get_color())
    ax.set_yscale("log")
    ax.set(
        title="Gradient norm per layer (weights)", ylabel="||dC/dW||  (RMS over steps, log scale)"
    )
    _epoch_axis(ax, epochs)
    entries = len(ax.get_legend_handles_labels()[1])  # the lines' and their marks'
    if entries <= LEGEND_INSIDE:
        ax.legend(fontsize=8, loc="best")
    else:  # beside the axes, which the figure widens for
        fig.set_figwidth(8.0)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), ncols=-(-entries // 16))
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
            else f"<td>{metrics[part][k]:.4g}</td>"
            for k in keys
        )
        + "</tr>"
        for part in ("train", "dev", "test")
    )
    head = "".join(f"<th>{k}</th>" for k in keys)
    restored = metrics.get("restored_epoch")
    held = (
        ""
        if restored is None
        else f" The model holds the weights of epoch {restored} (the best "
        f"{e(config['train']['monitor'])}), which early stopping restored: the metrics below "
        "are of those weights."
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>chainrule run {e(run_dir.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>chainrule run <code>{e(run_dir.name)}</code></h1>",
        f"<p>{e(config['data']['name'])}, model {e(str(config['model']['sizes']))} "
        f"{e(config['model']['activation'])}, {e(config['optimizer']['name'])} "
        f"lr {e(_rate(rate))}, {metrics['epochs_run']} epochs "
        f"({e(metrics['stopped_reason'])}), training time {metrics['time']['train_s']:.1f} s."
        f"{held}</p>",
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

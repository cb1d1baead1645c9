"""Decision boundaries of 2-D classifiers, shared by the lab's experiments."""

from __future__ import annotations

import numpy as np

from chainrule import plots
from chainrule.nn import ends_in_probabilities
from chainrule.train import metrics, predict

# class k's colour and marker: PALETTE[COLOURS[k % 8]] and MARKERS[k % 5], so classes keep
# distinct (colour, marker) pairs up to 40
COLOURS = (0, 4, 2, 5, 6, 1, 3, 7)
MARKERS = ("o", "^", "s", "D", "v")


def predicted_classes(model, X: np.ndarray) -> np.ndarray:
    """Class labels ``model`` predicts (:func:`chainrule.train.metrics.predictions_from_outputs`):
    arg-max over several outputs, or for one output a threshold at 0 (logits) or 0.5 (a
    final sigmoid, see :func:`chainrule.nn.ends_in_probabilities`)."""
    outputs = predict(model, X)
    return metrics.predictions_from_outputs(outputs, from_logits=not ends_in_probabilities(model))


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose predicted class is the label (integer or 0/1 float labels of
    shape (m,) or (m, 1)): :func:`chainrule.train.metrics.accuracy`."""
    return metrics.accuracy(y, predicted_classes(model, X))


def predicted_grid(model, X: np.ndarray, steps: int = 150):
    """The grid ``steps`` x ``steps`` over the range of the points ``X`` padded by 10%, as
    its axes ``xs`` and ``ys``, and the class ``model`` predicts at each point of it,
    ``classes[i, j]`` at ``(xs[j], ys[i])``."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * (hi - lo)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], steps)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], steps)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.c_[gx.ravel(), gy.ravel()].astype(X.dtype)
    return xs, ys, predicted_classes(model, grid).reshape(gx.shape)


def draw_boundary(ax, model, X: np.ndarray, y: np.ndarray, title: str, steps: int = 150) -> None:
    """Shade the class ``model`` predicts over the plane (:func:`predicted_grid`) and
    scatter the labelled points; class ``k`` in colour ``PALETTE[COLOURS[k % 8]]`` with
    marker ``MARKERS[k % 5]`` (the pair repeats only after 40 classes)."""
    y = np.asarray(y).reshape(-1).astype(np.int64)
    xs, ys, classes = predicted_grid(model, X, steps)
    gx, gy = np.meshgrid(xs, ys)
    k = int(max(y.max(), classes.max())) + 1
    colors = [plots.PALETTE[COLOURS[i % len(COLOURS)]] for i in range(k)]
    ax.contourf(gx, gy, classes, levels=np.arange(k + 1) - 0.5, colors=colors, alpha=0.25)
    for label in range(int(y.max()) + 1):
        pts = X[y == label]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=9,
            color=colors[label],
            marker=MARKERS[label % len(MARKERS)],
            label=f"class {label}",
        )
    ax.set_title(title)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")

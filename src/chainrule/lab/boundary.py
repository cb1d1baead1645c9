"""Decision boundaries of 2-D classifiers, shared by the lab's experiments."""

from __future__ import annotations

import numpy as np

from chainrule import plots
from chainrule.train import predict


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose arg-max output is the integer label."""
    return float((predict(model, X).argmax(axis=1) == y).mean())


def draw_boundary(ax, model, X: np.ndarray, y: np.ndarray, title: str, steps: int = 150) -> None:
    """Shade the class ``model`` predicts over the plane and scatter the labelled points.

    ``model`` maps ``(m, 2)`` inputs of ``X``'s dtype to one output per class (arg-max
    decides); ``y`` holds integer labels.
    """
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * (hi - lo)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], steps)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], steps)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.c_[gx.ravel(), gy.ravel()].astype(X.dtype)
    classes = predict(model, grid).argmax(axis=1).reshape(gx.shape)
    k = int(max(y.max(), classes.max())) + 1
    colors = [plots.PALETTE[i] for i in (0, 4, 2, 5, 6)[:k]]
    ax.contourf(gx, gy, classes, levels=np.arange(k + 1) - 0.5, colors=colors, alpha=0.25)
    for label in range(int(y.max()) + 1):
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=9, color=colors[label], label=f"class {label}")
    ax.set_title(title)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.grid(False)

"""Decision-boundary drawing shared by the lab's 2-D classification experiments."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import plots


def logits_on(model, X: np.ndarray) -> np.ndarray:
    """The model's single-output logits on ``X`` (eval mode, no graph), as a flat array."""
    was_training = model.training
    model.eval()
    with cr.no_grad():
        out = model(cr.tensor(X)).data.reshape(-1)
    model.train(was_training)
    return out


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of points whose logit sign matches the 0/1 label."""
    return float(np.mean((logits_on(model, X) > 0) == (y.reshape(-1) > 0.5)))


def draw(ax, model, X: np.ndarray, y: np.ndarray, title: str, resolution: int = 150) -> None:
    """Shade the two predicted regions of ``model`` over the data's box and scatter ``X``."""
    pad = 0.5
    x0 = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    x1 = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    g0, g1 = np.meshgrid(x0, x1)
    grid = np.c_[g0.ravel(), g1.ravel()].astype(X.dtype)
    z = (logits_on(model, grid) > 0).reshape(g0.shape)
    plots.pyplot()
    from matplotlib.colors import ListedColormap  # after plots.pyplot() picked the backend

    cmap = ListedColormap([plots.PALETTE[1], plots.PALETTE[0]])
    ax.contourf(g0, g1, z, levels=[-0.5, 0.5, 1.5], cmap=cmap, alpha=0.35)
    labels = y.reshape(-1) > 0.5
    for cls, colour, marker in ((False, plots.PALETTE[4], "o"), (True, plots.PALETTE[5], "^")):
        pts = X[labels == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=10, color=colour, marker=marker, label=f"y = {int(cls)}")
    ax.set(title=title, xlabel="x1", ylabel="x2")
    ax.grid(False)

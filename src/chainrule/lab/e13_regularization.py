"""Experiment 13: L2 and dropout trade training accuracy for a smaller dev gap."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chainrule import plots
from chainrule.data import make_moons
from chainrule.lab import boundary
from chainrule.lab.base import Result, experiment
from chainrule.nn import MLP
from chainrule.optim import Adam
from chainrule.regularization import l2_penalty
from chainrule.train import bias_variance, fit

NOISE = 0.35
LAMBDA = 0.5
KEEP_PROB = 0.6
STEPS = 150  # the grid draw_boundary shades, per axis, on which boundary lengths are measured


def _bayes_error(noise: float, n: int = 20000, seed: int = 7) -> float:
    """The error of the best possible classifier on make_moons(noise), by Monte Carlo.

    Each class is a uniform point on its half circle plus N(0, noise^2 I), so the class
    densities are averages of Gaussians over the curve; the Bayes classifier picks the larger.
    """
    X, y = make_moons(n, noise=noise, seed=seed, dtype=np.float64)
    t = np.linspace(0.0, np.pi, 400)
    curves = (np.c_[np.cos(t), np.sin(t)], np.c_[1.0 - np.cos(t), 0.5 - np.sin(t)])
    density = [
        np.exp(-((X[:, None, :] - c[None]) ** 2).sum(-1) / (2 * noise**2)).mean(1) for c in curves
    ]
    return float(np.mean((density[1] > density[0]) != (y == 1)))


def _boundary_length(model, X: np.ndarray) -> float:
    """Length of the decision boundary on the grid :func:`boundary.draw_boundary` shades
    (:func:`boundary.predicted_grid`: STEPS x STEPS points over the data's range padded by
    10%): every pair of neighbouring
    grid points whose predicted classes differ adds the grid spacing it crosses (dy for a
    horizontal pair, dx for a vertical one). Wiggles and islands add length, so a shorter
    boundary is a smoother one."""
    xs, ys, classes = boundary.predicted_grid(model, X, STEPS)
    across = np.count_nonzero(classes[:, 1:] != classes[:, :-1]) * (ys[1] - ys[0])
    down = np.count_nonzero(classes[1:, :] != classes[:-1, :]) * (xs[1] - xs[0])
    return float(across + down)


@experiment(
    13,
    "regularization",
    "Regularization and bias / variance",
    "A network large enough to fit a small noisy training set overfits it: high training "
    "accuracy, clearly lower dev accuracy (high variance). L2 regularization (J + lambda / "
    "(2m) sum ||W||^2) and dropout shrink that train-dev gap, with a shorter, smoother "
    "decision boundary, at the cost of training accuracy: the training error rises towards "
    "the best achievable (Bayes) error, though it need not reach it. Reading train and dev "
    "errors against the best achievable error tells which problem a model has.",
    "002",
)
def run(preset: str, outdir: Path) -> Result:
    epochs = 300 if preset == "fast" else 600
    X, y = make_moons(100, noise=NOISE, seed=0)
    Xd, yd = make_moons(400, noise=NOISE, seed=1)
    y, yd = y[:, None].astype(np.float32), yd[:, None].astype(np.float32)
    bayes = _bayes_error(NOISE, n=4000 if preset == "fast" else 20000)
    variants = {
        "no regularization": ({}, None),
        f"L2, lambda = {LAMBDA}": ({}, lambda model, m: l2_penalty(model, LAMBDA, m)),
        f"dropout, keep_prob = {KEEP_PROB}": ({"dropout": KEEP_PROB}, None),
    }
    numbers: dict = {"bayes_error_estimate": bayes, "variants": {}}
    models = {}
    for label, (options, penalty) in variants.items():
        model = MLP([2, 64, 64, 1], activation="relu", seed=1, **options)
        fit(
            model, "bce_with_logits", Adam(model.named_parameters(), lr=0.01), X, y,
            epochs=epochs, batch_size=100, regularization=penalty, seed=0, progress=False,
        )  # fmt: skip
        train_acc, dev_acc = boundary.accuracy(model, X, y), boundary.accuracy(model, Xd, yd)
        reading = bias_variance(1 - train_acc, 1 - dev_acc, baseline_error=bayes, tolerance=0.05)
        models[label] = model
        numbers["variants"][label] = {
            "train_accuracy": train_acc,
            "dev_accuracy": dev_acc,
            "train_dev_gap": train_acc - dev_acc,
            "train_error_minus_bayes": 1 - train_acc - bayes,
            "boundary_length": _boundary_length(model, X),
            "reading": reading.verdict,
            "reading_text": str(reading),
        }

    v = numbers["variants"]
    plain = v["no regularization"]
    others = [row for label, row in v.items() if label != "no regularization"]
    overfits = plain["train_dev_gap"] >= 0.05 and plain["reading"].startswith("high variance")
    narrower = all(row["train_dev_gap"] < plain["train_dev_gap"] / 2 for row in others)
    no_worse = all(row["dev_accuracy"] >= plain["dev_accuracy"] for row in others)
    smoother = all(row["boundary_length"] < plain["boundary_length"] for row in others)
    off_bayes = abs(plain["train_error_minus_bayes"])
    towards_bayes = all(
        row["train_accuracy"] < plain["train_accuracy"]
        and abs(row["train_error_minus_bayes"]) < off_bayes
        for row in others
    )
    verdict = overfits and narrower and no_worse and smoother and towards_bayes

    figures = [_draw(outdir, models, X, y, v)]
    summary = (
        "Train / dev accuracy: "
        + "; ".join(
            f"{label} {row['train_accuracy']:.1%} / {row['dev_accuracy']:.1%} "
            f"(gap {row['train_dev_gap']:.1%}, {row['reading']}, boundary length "
            f"{row['boundary_length']:.2f})"
            for label, row in v.items()
        )
        + f". Bias/variance read against an estimated Bayes error of {bayes:.1%}; training "
        "errors "
        + ", ".join(f"{label} {1 - row['train_accuracy']:.1%}" for label, row in v.items())
        + "."
    )
    setup = (
        f"make_moons(100, noise={NOISE}) seed 0 for training, make_moons(400) seed 1 as dev "
        f"set; MLP [2, 64, 64, 1] relu (He init, seed 1), bce_with_logits, Adam lr 0.01, "
        f"full batch, {epochs} epochs; L2 via chainrule.regularization.l2_penalty(lambda = "
        f"{LAMBDA}), dropout keep_prob {KEEP_PROB} after both hidden layers. "
        "chainrule.train.bias_variance(tolerance 5%) against the Bayes error of the "
        "generating distribution, estimated by Monte Carlo from its exact class densities. "
        f"Boundary length: on the {STEPS} x {STEPS} grid the figure shades, the grid spacing "
        "summed over neighbouring points with different predicted classes. Towards the "
        "Bayes error: a lower training accuracy than the unregularized net's, and a training "
        "error nearer the Bayes error than its."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _draw(outdir: Path, models: dict, X, y, rows: dict) -> Path:
    fig, axes = plots.figure(ncols=3, width=4.2, height=4.0)
    for ax, (label, model) in zip(axes[0], models.items(), strict=True):
        row = rows[label]
        title = (
            f"{label}\ntrain {row['train_accuracy']:.0%}, dev {row['dev_accuracy']:.1%}"
            f" ({row['reading']})"
        )
        boundary.draw_boundary(ax, model, X, y, title)
    axes[0, 2].legend(fontsize=8, loc="lower right")
    return plots.save(fig, outdir / "regularization_boundaries.png", svg=True)[0]

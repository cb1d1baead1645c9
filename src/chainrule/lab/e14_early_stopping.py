"""Experiment 14: early stopping at the minimum of the dev cost."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chainrule import plots
from chainrule.data import make_moons
from chainrule.lab import boundary
from chainrule.lab.base import Result, experiment
from chainrule.nn import MLP
from chainrule.optim import Adam
from chainrule.train import EarlyStopping, evaluate, fit

NOISE = 0.45
PATIENCE = 20


def _dev_cost(model, Xd, yd) -> float:
    return float(evaluate(model, "bce_with_logits", Xd, yd)["loss"])


def _train(X, y, Xd, yd, epochs: int, callbacks=()):
    model = MLP([2, 64, 64, 1], activation="relu", seed=1)
    history = fit(
        model, "bce_with_logits", Adam(model.named_parameters(), lr=0.01), X, y,
        dev=(Xd, yd), epochs=epochs, batch_size=100, callbacks=list(callbacks), seed=0,
        progress=False,
    )  # fmt: skip
    return model, history


@experiment(
    14,
    "early_stopping",
    "Early stopping",
    "While a network overfits, its training cost keeps falling but its dev cost reaches a "
    "minimum and then rises; stopping at (or restoring the weights of) the epoch where the "
    "dev cost is lowest gives a model that does better on the dev set than one trained to "
    "the end (a far lower dev cost, and a dev accuracy at least as high), after far fewer "
    "epochs.",
    "002",
)
def run(preset: str, outdir: Path) -> Result:
    epochs, n_dev = (300, 400) if preset == "fast" else (400, 1000)
    X, y = make_moons(100, noise=NOISE, seed=0)
    Xd, yd = make_moons(n_dev, noise=NOISE, seed=1)
    y, yd = y[:, None].astype(np.float32), yd[:, None].astype(np.float32)

    full_model, full = _train(X, y, Xd, yd, epochs)
    stopper = EarlyStopping("dev_loss", patience=PATIENCE, restore_best_weights=True)
    stopped_model, stopped = _train(X, y, Xd, yd, epochs, [stopper])

    train_cost = np.array([row["train_loss"] for row in full.epochs])
    dev_cost = np.array([row["dev_loss"] for row in full.epochs])
    best = int(np.argmin(dev_cost))
    numbers = {
        "epochs": epochs,
        "dev_cost_minimum_epoch": best + 1,
        "dev_cost_at_minimum": float(dev_cost[best]),
        "dev_cost_at_end": float(dev_cost[-1]),
        "train_cost_at_minimum": float(train_cost[best]),
        "train_cost_at_end": float(train_cost[-1]),
        "early_stopping_stopped_after": len(stopped.epochs),
        "restored_model_dev_cost": _dev_cost(stopped_model, Xd, yd),
        "dev_accuracy_trained_to_end": boundary.accuracy(full_model, Xd, yd),
        "dev_accuracy_early_stopped": boundary.accuracy(stopped_model, Xd, yd),
        "train_accuracy_trained_to_end": boundary.accuracy(full_model, X, y),
        "train_accuracy_early_stopped": boundary.accuracy(stopped_model, X, y),
    }
    n = numbers
    u_shaped = n["dev_cost_at_end"] > 1.5 * n["dev_cost_at_minimum"] and best < epochs - PATIENCE
    train_falls = n["train_cost_at_end"] < n["train_cost_at_minimum"]
    # the restored weights are those of the dev minimum: same dev cost, up to float32 rounding
    found = abs(n["restored_model_dev_cost"] - n["dev_cost_at_minimum"]) < 1e-4
    fewer = n["early_stopping_stopped_after"] < epochs / 2
    better = n["dev_accuracy_early_stopped"] >= n["dev_accuracy_trained_to_end"]
    verdict = u_shaped and train_falls and found and fewer and better

    figures = [_draw(outdir, train_cost, dev_cost, best, len(stopped.epochs))]
    summary = (
        f"The dev cost is lowest at epoch {best + 1} ({n['dev_cost_at_minimum']:.3f}) and "
        f"rises to {n['dev_cost_at_end']:.3f} by epoch {epochs}, while the training cost "
        f"falls from {n['train_cost_at_minimum']:.3f} to {n['train_cost_at_end']:.3f}. "
        f"EarlyStopping(patience={PATIENCE}) stopped after {n['early_stopping_stopped_after']} "
        f"epochs and restored the weights of the minimum (dev cost "
        f"{n['restored_model_dev_cost']:.3f}); dev accuracy "
        f"{n['dev_accuracy_early_stopped']:.1%} against {n['dev_accuracy_trained_to_end']:.1%} "
        "for the model trained to the end."
    )
    setup = (
        f"make_moons(100, noise={NOISE}) seed 0 for training, make_moons({n_dev}) seed 1 as dev "
        "set; MLP [2, 64, 64, 1] relu (He init, seed 1), bce_with_logits, Adam lr 0.01, full "
        f"batch, up to {epochs} epochs; chainrule.train.EarlyStopping(monitor='dev_loss', "
        f"patience={PATIENCE}, restore_best_weights=True)."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _draw(outdir: Path, train_cost, dev_cost, best: int, stopped_after: int) -> Path:
    fig, ax = plots.figure(width=6.5, height=4.0)
    epochs = np.arange(1, len(train_cost) + 1)
    ax.plot(epochs, train_cost, color=plots.PALETTE[4], label="training cost")
    ax.plot(epochs, dev_cost, color=plots.PALETTE[5], label="dev cost")
    ax.axvline(best + 1, color=plots.PALETTE[2], ls="--", label=f"dev minimum (epoch {best + 1})")
    ax.axvline(
        stopped_after, color=plots.PALETTE[7], ls=":", label=f"stopped (epoch {stopped_after})"
    )
    ax.set(
        title="Early stopping: train until the dev cost turns up",
        xlabel="epoch",
        ylabel="cross-entropy cost",
    )
    ax.legend(fontsize=8)
    return plots.save(fig, outdir / "early_stopping.png", svg=True)[0]

"""Experiment 16: batch normalization lets a deep sigmoid network train at once."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from chainrule import plots
from chainrule.data import make_circles
from chainrule.lab import boundary
from chainrule.lab.base import Result, experiment
from chainrule.nn import MLP
from chainrule.optim import SGD
from chainrule.train import GradientWarning, fit

DEPTH = 8
WIDTH = 32
LR = 0.1
THRESHOLD = 0.35  # about half the cost ln 2 = 0.693 of guessing
FEW_EPOCHS = 12  # "learns within a few epochs": the cost is below THRESHOLD by this epoch
BARELY = 0.9  # "barely moves": the cost never falls below this share of its first epoch's


def _train(X, y, batch_norm: bool, epochs: int):
    model = MLP([2] + [WIDTH] * DEPTH + [1], activation="sigmoid", seed=1, batch_norm=batch_norm)
    with warnings.catch_warnings():
        # the plain net's vanishing gradients are what this experiment shows, not a mistake
        warnings.simplefilter("ignore", GradientWarning)
        history = fit(
            model, "bce_with_logits", SGD(model.named_parameters(), lr=LR), X, y,
            epochs=epochs, batch_size=64, seed=0, progress=False,
        )  # fmt: skip
    return model, np.array([row["train_loss"] for row in history.epochs])


def _epochs_to(cost: np.ndarray, threshold: float) -> int | None:
    below = np.flatnonzero(cost < threshold)
    return int(below[0]) + 1 if below.size else None


@experiment(
    16,
    "batch_norm",
    "Batch normalization",
    "Normalizing each hidden layer's pre-activations z over the mini-batch (then scaling by "
    "gamma and shifting by beta) keeps their distribution stable while the earlier layers "
    "change, so a deep network trains much faster: with the same optimizer and learning "
    "rate a deep sigmoid network that barely moves without it (its cost stays within 10% "
    "of its first epoch's) learns with it within about ten epochs (its cost is below "
    "0.35, about half the ln 2 of guessing, by epoch 12).",
    "000, 002",
)
def run(preset: str, outdir: Path) -> Result:
    epochs, n = (30, 400) if preset == "fast" else (80, 1000)
    X, y = make_circles(n, noise=0.1, seed=0)
    y = y[:, None].astype(np.float32)
    runs = {bn: _train(X, y, bn, epochs) for bn in (False, True)}
    numbers = {"epochs": epochs}
    for bn, (model, cost) in runs.items():
        numbers["with_batch_norm" if bn else "without_batch_norm"] = {
            "first_epoch_cost": float(cost[0]),
            "final_cost": float(cost[-1]),
            "lowest_cost": float(cost.min()),
            "epochs_to_cost_below_threshold": _epochs_to(cost, THRESHOLD),
            "train_accuracy": boundary.accuracy(model, X, y),
        }
    numbers["threshold"] = THRESHOLD
    plain, normed = numbers["without_batch_norm"], numbers["with_batch_norm"]
    plain_epochs = plain["epochs_to_cost_below_threshold"]
    normed_epochs = normed["epochs_to_cost_below_threshold"]
    faster = normed_epochs is not None and (
        plain_epochs is None or 2 * normed_epochs <= plain_epochs
    )
    verdict = (
        faster
        and normed_epochs <= FEW_EPOCHS
        and plain["lowest_cost"] > BARELY * plain["first_epoch_cost"]
        and normed["train_accuracy"] > plain["train_accuracy"] + 0.1
    )

    figures = [_draw(outdir, {bn: cost for bn, (_, cost) in runs.items()})]

    def reached(k):
        return f"after {k} epochs" if k is not None else f"not within {epochs} epochs"

    summary = (
        f"With batch normalization the training cost fell below {THRESHOLD} "
        f"{reached(normed_epochs)} (final {normed['final_cost']:.3f}, training accuracy "
        f"{normed['train_accuracy']:.1%}); without it {reached(plain_epochs)} (final "
        f"{plain['final_cost']:.3f}, accuracy {plain['train_accuracy']:.1%}; its lowest "
        f"cost {plain['lowest_cost']:.3f} is "
        f"{plain['lowest_cost'] / plain['first_epoch_cost']:.0%} of its first epoch's "
        f"{plain['first_epoch_cost']:.3f})."
    )
    setup = (
        f"make_circles({n}, noise=0.1) seed 0; MLP [2] + [{WIDTH}] * {DEPTH} + [1] sigmoid "
        "(Xavier init, seed 1), with or without BatchNorm1d before each hidden activation "
        f"(momentum 0.9, eps 1e-5); bce_with_logits; SGD lr {LR}, mini-batches of 64, "
        f"{epochs} epochs, shuffle seed 0. Cost: the epoch's mean training cost. Verdict: "
        f"with batch norm the cost is below {THRESHOLD} by epoch {FEW_EPOCHS} and at most "
        f"half as many epochs as without; without it the cost never falls below "
        f"{BARELY:.0%} of its first epoch's; training accuracy at least 10 points higher "
        "with it."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _draw(outdir: Path, costs: dict) -> Path:
    fig, ax = plots.figure(width=6.5, height=4.0)
    for bn, colour in ((False, plots.PALETTE[5]), (True, plots.PALETTE[4])):
        epochs = np.arange(1, len(costs[bn]) + 1)
        label = "with batch norm" if bn else "without batch norm"
        ax.plot(epochs, costs[bn], color=colour, label=label, marker="o", ms=3)
    ax.axhline(THRESHOLD, color=plots.PALETTE[7], ls=":", label=f"cost {THRESHOLD}")
    ax.set(
        title=f"Sigmoid net, {DEPTH} hidden layers of {WIDTH}: same SGD (lr {LR})",
        xlabel="epoch",
        ylabel="training cross-entropy cost",
    )
    ax.legend(fontsize=8)
    return plots.save(fig, outdir / "batch_norm.png", svg=True)[0]

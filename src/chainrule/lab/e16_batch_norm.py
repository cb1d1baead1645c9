"""Experiment 16: batch normalization keeps each layer's pre-activations steady while the
layers before it change, and lets a deep sigmoid network train at once."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import plots
from chainrule.data import make_circles
from chainrule.lab import boundary
from chainrule.lab.base import Result, experiment
from chainrule.nn import MLP, BatchNorm1d, Linear
from chainrule.nn.module import SideState
from chainrule.optim import SGD
from chainrule.train import GradientWarning, LambdaCallback, fit

DEPTH = 8
WIDTH = 32
LR = 0.3
THRESHOLD = 0.35  # about half the cost ln 2 = 0.693 of guessing
FEW_EPOCHS = 15  # "within a few epochs": the cost is below THRESHOLD by this epoch
BARELY = 0.9  # "barely moves": the cost never falls below this share of its first epoch's
STEADY = 0.25  # "stable": a layer's normalized values drift at most this share of its z's


def _train(X, y, batch_norm: bool, epochs: int):
    """The trained model, its cost per epoch and, with batch norm, the hidden layers'
    pre-activations (see :func:`_pre_activations`) at the start and after every epoch."""
    model = MLP([2] + [WIDTH] * DEPTH + [1], activation="sigmoid", seed=1, batch_norm=batch_norm)
    seen = [_pre_activations(model, X)] if batch_norm else []

    def record(trainer, epoch, logs):
        seen.append(_pre_activations(model, X))

    watch = [LambdaCallback(on_epoch_end=record)] if batch_norm else []
    with warnings.catch_warnings():
        # the plain net's vanishing gradients are what this experiment shows, not a mistake
        warnings.simplefilter("ignore", GradientWarning)
        history = fit(
            model, "bce_with_logits", SGD(model.named_parameters(), lr=LR), X, y,
            epochs=epochs, batch_size=64, seed=0, progress=False,
            callbacks=watch,
        )  # fmt: skip
    return model, np.array([row["train_loss"] for row in history.epochs]), seen


def _pre_activations(model, X) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per hidden layer, its pre-activations z = W a on all of ``X`` and their normalized
    values gamma (z - mean) / sqrt(var + eps) + beta, as training computes them with ``X``
    as the batch (float64); the running statistics this pass moves are put back."""
    mode = model.training
    model.train()
    z, normalized = [], []
    with SideState(model).kept(), cr.no_grad():
        h = X
        for layer in model.layers:
            h = layer(h)
            if isinstance(layer, Linear):
                z.append(h.data.astype(np.float64))
            elif isinstance(layer, BatchNorm1d):
                normalized.append(h.data.astype(np.float64))
    model.train(mode)
    return list(zip(z[:-1], normalized, strict=True))  # z[-1]: the output layer's


def _recompute_running_statistics(model, X) -> None:
    """Set every batch-norm layer's running mean and variance to those of its inputs over
    all of ``X`` under the final weights (one pass of ``X`` as one batch in training mode
    with momentum 0), then put the model in evaluation mode. The estimates kept during
    training average over the weights of the last few steps, which at a high learning
    rate still lag the final ones."""
    norms = [layer for layer in model.layers if isinstance(layer, BatchNorm1d)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model.train()
    try:
        with cr.no_grad():
            model(X)
    finally:
        for layer, momentum in zip(norms, momenta, strict=True):
            layer.momentum = momentum
        model.eval()


def _drift(values: list[np.ndarray]) -> float:
    """How far a layer's distribution moved over training: the largest, over the snapshots
    v_t, of the mean over units of |mean(v_t) - mean(v_0)| / std(v_0) +
    |ln(std(v_t) / std(v_0))| (means and stds over the examples)."""
    mean0, std0 = values[0].mean(axis=0), values[0].std(axis=0)
    return max(
        float(np.mean(np.abs(v.mean(axis=0) - mean0) / std0 + np.abs(np.log(v.std(axis=0) / std0))))
        for v in values
    )


def _epochs_to(cost: np.ndarray, threshold: float) -> int | None:
    below = np.flatnonzero(cost < threshold)
    return int(below[0]) + 1 if below.size else None


@experiment(
    16,
    "batch_norm",
    "Batch normalization",
    "Normalizing each hidden layer's pre-activations z over the mini-batch (then scaling by "
    "gamma and shifting by beta) keeps their distribution stable while the earlier layers "
    "change (over training the normalized values of every layer after the first drift at "
    "most a quarter as far as its z), so a deep network trains much faster: with the same "
    "optimizer and learning rate a deep sigmoid network that barely moves without it (its "
    "cost stays within 10% of its first epoch's) learns with it within a few epochs "
    f"(its cost is below {THRESHOLD}, about half the ln 2 of guessing, by epoch {FEW_EPOCHS}).",
    "000, 002",
)
def run(preset: str, outdir: Path) -> Result:
    epochs, n = (30, 400) if preset == "fast" else (80, 1000)
    X, y = make_circles(n, noise=0.1, seed=0)
    y = y[:, None].astype(np.float32)
    runs = {bn: _train(X, y, bn, epochs) for bn in (False, True)}
    numbers = {"epochs": epochs}
    for bn, (_, cost, _) in runs.items():
        numbers["with_batch_norm" if bn else "without_batch_norm"] = {
            "first_epoch_cost": float(cost[0]),
            "final_cost": float(cost[-1]),
            "lowest_cost": float(cost.min()),
            "epochs_to_cost_below_threshold": _epochs_to(cost, THRESHOLD),
        }
    normed_model = runs[True][0]
    numbers["with_batch_norm"]["train_accuracy_with_training_running_statistics"] = (
        boundary.accuracy(normed_model, X, y)
    )
    _recompute_running_statistics(normed_model, X)
    for bn, (model, _, _) in runs.items():
        key = "with_batch_norm" if bn else "without_batch_norm"
        numbers[key]["train_accuracy"] = boundary.accuracy(model, X, y)
    numbers["threshold"] = THRESHOLD
    seen = runs[True][2]
    drift = {
        kind: [_drift([epoch[layer][k] for epoch in seen]) for layer in range(DEPTH)]
        for k, kind in enumerate(("z", "normalized"))
    }
    numbers["with_batch_norm"]["drift"] = drift
    # from the second hidden layer on, what a layer receives changes with the layers before
    steady = all(
        drift["normalized"][layer] <= STEADY * drift["z"][layer] for layer in range(1, DEPTH)
    )
    plain, normed = numbers["without_batch_norm"], numbers["with_batch_norm"]
    plain_epochs = plain["epochs_to_cost_below_threshold"]
    normed_epochs = normed["epochs_to_cost_below_threshold"]
    faster = normed_epochs is not None and (
        plain_epochs is None or 2 * normed_epochs <= plain_epochs
    )
    verdict = (
        steady
        and faster
        and normed_epochs <= FEW_EPOCHS
        and plain["lowest_cost"] > BARELY * plain["first_epoch_cost"]
        and normed["train_accuracy"] > plain["train_accuracy"] + 0.1
    )

    figures = [
        _draw(outdir, {bn: cost for bn, (_, cost, _) in runs.items()}),
        _draw_drift(outdir, drift),
    ]

    def reached(k):
        return f"after {k} epochs" if k is not None else f"not within {epochs} epochs"

    summary = (
        f"With batch normalization the training cost fell below {THRESHOLD} "
        f"{reached(normed_epochs)} (final {normed['final_cost']:.3f}, training accuracy "
        f"{normed['train_accuracy']:.1%}); without it {reached(plain_epochs)} (final "
        f"{plain['final_cost']:.3f}, accuracy {plain['train_accuracy']:.1%}; its lowest "
        f"cost {plain['lowest_cost']:.3f} is "
        f"{plain['lowest_cost'] / plain['first_epoch_cost']:.0%} of its first epoch's "
        f"{plain['first_epoch_cost']:.3f}). In the batch-norm net, from the second hidden "
        "layer on, the pre-activations z drifted by "
        f"{min(drift['z'][1:]):.2f} to {max(drift['z'][1:]):.2f} while their normalized "
        f"values drifted by {min(drift['normalized'][1:]):.2f} to "
        f"{max(drift['normalized'][1:]):.2f} (the first layer, whose input x never changes: "
        f"{drift['z'][0]:.2f} and {drift['normalized'][0]:.2f})."
    )
    setup = (
        f"make_circles({n}, noise=0.1) seed 0; MLP [2] + [{WIDTH}] * {DEPTH} + [1] sigmoid "
        "(Xavier init, seed 1), with or without BatchNorm1d before each hidden activation "
        f"(momentum 0.9, eps 1e-5); bce_with_logits; SGD lr {LR}, mini-batches of 64, "
        f"{epochs} epochs, shuffle seed 0. Cost: the epoch's mean training cost. Verdict: "
        f"with batch norm the cost is below {THRESHOLD} by epoch {FEW_EPOCHS} and at most "
        f"half as many epochs as without; without it the cost never falls below "
        f"{BARELY:.0%} of its first epoch's; training accuracy at least 10 points higher "
        "with it (measured in evaluation mode after setting each batch-norm layer's running "
        "mean and variance to those over the whole training set under the final weights: "
        "the estimates kept in training lag the weights at this rate); and in the "
        "batch-norm net, for every hidden layer after the first, the "
        f"drift of its normalized values is at most {STEADY} times that of its z. Drift of a "
        "layer's values v over the examples of the whole training set (passed as one batch "
        "in training mode, at the start and after every epoch): the largest over those "
        "times t of the mean over units of |mean(v_t) - mean(v_0)| / std(v_0) + "
        "|ln(std(v_t) / std(v_0))|."
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


def _draw_drift(outdir: Path, drift: dict) -> Path:
    fig, ax = plots.figure(width=6.5, height=4.0)
    layers = np.arange(1, DEPTH + 1)
    ax.plot(layers, drift["z"], "o-", color=plots.PALETTE[5], label="z = W a")
    label = "normalized: gamma z_hat + beta"
    ax.plot(layers, drift["normalized"], "o-", color=plots.PALETTE[4], label=label)
    ax.set_yscale("log")
    ax.set(
        title="With batch norm: how far each layer's pre-activations drift in training",
        xlabel="hidden layer",
        ylabel="drift (in units of the starting std)",
    )
    ax.legend(fontsize=8)
    return plots.save(fig, outdir / "batch_norm_drift.png", svg=True)[0]

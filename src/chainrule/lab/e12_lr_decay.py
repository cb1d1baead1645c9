"""Experiment 12: learning-rate decay lets mini-batch gradient descent settle at the minimum."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chainrule import plots
from chainrule.lab.base import Result, experiment
from chainrule.nn import MLP
from chainrule.optim import SGD, ExponentialDecay, InverseSqrtDecay, InverseTimeDecay
from chainrule.train import fit

ALPHA0 = 0.1
SCHEDULES = {
    "constant alpha0": ALPHA0,
    "alpha0 / (1 + 0.5 epoch)": InverseTimeDecay(ALPHA0, 0.5),
    "0.95^epoch alpha0": ExponentialDecay(ALPHA0, 0.95),
    "alpha0 / sqrt(epoch)": InverseSqrtDecay(ALPHA0, 1.0),
}


def _regression(n: int, d: int, seed: int):
    """y = X w + N(0, 0.5^2) noise, and the least-squares cost (the floor any fit can reach)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=(d, 1)) + 0.5 * rng.normal(size=(n, 1))
    A = np.c_[X, np.ones(n)]
    floor = float(np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2))
    return X.astype(np.float32), y.astype(np.float32), floor


@experiment(
    12,
    "lr_decay",
    "Learning-rate decay",
    "With mini-batches the gradient is noisy, so at a fixed learning rate gradient descent "
    "keeps wandering around the minimum instead of converging; shrinking the rate as "
    "training goes on (alpha0 / (1 + decay_rate epoch), 0.95^epoch alpha0, "
    "k alpha0 / sqrt(epoch)) takes large steps early and small ones near the end, so it "
    "settles in a tighter region and ends at a lower cost.",
    "002",
)
def run(preset: str, outdir: Path) -> Result:
    n, epochs, d, batch = (256, 20, 5, 4) if preset == "fast" else (512, 40, 5, 4)
    X, y, floor = _regression(n, d, seed=0)
    tail = 5
    numbers: dict = {"least_squares_cost": floor, "schedules": {}}
    excess, rates = {}, {}
    for label, lr in SCHEDULES.items():
        model = MLP([d, 1], seed=1)
        history = fit(
            model, "mse", SGD(model.named_parameters(), lr=lr), X, y, dev=(X, y),
            epochs=epochs, batch_size=batch, seed=0, progress=False,
        )  # fmt: skip
        # dev = the whole training set: its cost after each epoch, free of mini-batch noise
        excess[label] = np.array([row["dev_loss"] for row in history.epochs]) - floor
        rates[label] = [row["lr"] for row in history.epochs]
        numbers["schedules"][label] = {
            "final_lr": rates[label][-1],
            "final_excess_cost": float(excess[label][-1]),
            f"mean_excess_cost_last_{tail}_epochs": float(np.mean(excess[label][-tail:])),
        }

    key = f"mean_excess_cost_last_{tail}_epochs"
    s = numbers["schedules"]
    constant = s["constant alpha0"][key]
    decayed = {k: v[key] for k, v in s.items() if k != "constant alpha0"}
    verdict = all(v < constant / 2 for v in decayed.values())
    summary = (
        f"Cost above the least-squares floor ({floor:.4f}), averaged over the last {tail} of "
        f"{epochs} epochs: constant rate {constant:.2e}; "
        + "; ".join(f"{k} {v:.2e}" for k, v in decayed.items())
        + f". The decayed runs end {constant / max(decayed.values()):.1f}x to "
        f"{constant / min(decayed.values()):.0f}x closer to the minimum (the claim needs > 2x "
        "for every schedule)."
    )
    setup = (
        f"Linear regression y = X w + N(0, 0.25), X ~ N(0, 1) of shape ({n}, {d}), seed 0; "
        f"MLP([{d}, 1]) (one Linear, seed 1), mse cost, chainrule.optim.SGD with "
        f"mini-batches of {batch} (shuffle seed 0) for {epochs} epochs; alpha0 = {ALPHA0} "
        "constant or InverseTimeDecay(0.1, 0.5), ExponentialDecay(0.1, 0.95), "
        "InverseSqrtDecay(0.1, k=1) by epoch. Excess cost = full-training-set mse after each "
        "epoch minus the least-squares mse."
    )
    figures = [_draw(outdir, rates, excess)]
    return Result(numbers, figures, verdict, summary, setup)


def _draw(outdir: Path, rates: dict, excess: dict) -> Path:
    fig, axes = plots.figure(ncols=2, width=5.2, height=3.9)
    colours = (plots.PALETTE[0], plots.PALETTE[4], plots.PALETTE[2], plots.PALETTE[5])
    for label, colour in zip(rates, colours, strict=True):
        epochs = np.arange(1, len(rates[label]) + 1)
        axes[0, 0].plot(epochs, rates[label], color=colour, label=label)
        axes[0, 1].semilogy(epochs, excess[label], color=colour, label=label)
    axes[0, 0].set(title="The notes' decay schedules", xlabel="epoch", ylabel="learning rate alpha")
    axes[0, 1].set(
        title="Mini-batch SGD (batch 4) on linear regression",
        xlabel="epoch",
        ylabel="cost - least-squares cost (log scale)",
    )
    axes[0, 0].legend(fontsize=8)
    axes[0, 1].legend(fontsize=8)
    return plots.save(fig, outdir / "lr_decay.png", svg=True)[0]

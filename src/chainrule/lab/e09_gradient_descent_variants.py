"""Experiment 9: batch vs mini-batch vs stochastic gradient descent."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chainrule import nn, optim, plots
from chainrule.data import make_moons
from chainrule.lab.base import Result, experiment
from chainrule.train import fit

M = 512
EPOCHS = {"fast": 4, "full": 25}
LR = 0.1


@experiment(
    9,
    "gradient_descent_variants",
    "Batch vs mini-batch vs stochastic gradient descent",
    "Batch gradient descent uses all m examples per step: its cost falls smoothly but it "
    "makes one update per pass over the data. Stochastic gradient descent (batch size 1) "
    "updates after every example: its cost is very noisy and it loses the speed of "
    "vectorization, so an epoch takes much longer. Mini-batches (e.g. 64) sit in between: "
    "many updates per epoch, vectorized, with moderate noise; in practice the fastest.",
    "000, 001, 003",
)
def run(preset: str, outdir: Path) -> Result:
    X, y = make_moons(M, noise=0.2, seed=9)
    Xd, yd = make_moons(256, noise=0.2, seed=90)
    epochs = EPOCHS[preset]
    sizes = {"batch (m = 512)": M, "mini-batch (64)": 64, "stochastic (1)": 1}
    runs = {}
    for label, size in sizes.items():
        model = nn.MLP([2, 16, 16, 2], activation="tanh", seed=9)
        hist = fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters(), lr=LR),
            X,
            y,
            dev=(Xd, yd),
            epochs=epochs,
            batch_size=size,
            seed=9,
            progress=False,
        )
        steps = np.asarray(hist.step_losses)
        runs[label] = {
            "steps": steps,
            "dev_loss": [row["dev_loss"] for row in hist.epochs],
            "epoch_time": [row["time"] for row in hist.epochs],
            # noise: mean step-to-step change of the cost relative to its mean
            "noise": float(np.abs(np.diff(steps)).mean() / steps.mean()),
            "share_up": float((np.diff(steps) > 0).mean()) if len(steps) > 1 else 0.0,
        }
    noise = {k: r["noise"] for k, r in runs.items()}
    share_up = {k: r["share_up"] for k, r in runs.items()}
    per_epoch = {k: float(np.median(r["epoch_time"])) for k, r in runs.items()}
    updates = {k: len(r["steps"]) // epochs for k, r in runs.items()}
    dev_final = {k: r["dev_loss"][-1] for k, r in runs.items()}
    b, mb, s = sizes
    verdict = (
        noise[s] > noise[mb]
        and share_up[b] == 0.0 < share_up[mb]
        and per_epoch[s] > 5 * per_epoch[mb]
        and dev_final[mb] < dev_final[b]
    )
    figures = [
        _draw_steps(runs, outdir / "step_costs.png"),
        _draw_progress(runs, epochs, outdir / "dev_cost.png"),
    ]
    numbers = {
        "updates_per_epoch": updates,
        "cost_noise": noise,
        "share_of_steps_where_cost_rose": share_up,
        "seconds_per_epoch_median": per_epoch,
        "final_dev_cost": dev_final,
    }
    summary = (
        "Step-to-step cost noise: "
        + ", ".join(f"{k} {v:.3f}" for k, v in noise.items())
        + ". Share of steps where the cost rose: "
        + ", ".join(f"{k} {v:.0%}" for k, v in share_up.items())
        + ". Seconds per epoch: "
        + ", ".join(f"{k} {v:.3g}" for k, v in per_epoch.items())
        + f". Dev cost after {epochs} epochs: "
        + ", ".join(f"{k} {v:.3f}" for k, v in dev_final.items())
        + "."
    )
    setup = (
        f"make_moons({M}, noise 0.2, seed 9); dev set make_moons(256, seed 90). MLP "
        f"[2, 16, 16, 2] tanh (same initial weights, seed 9), cross-entropy, plain SGD lr "
        f"{LR}, {epochs} epochs, batch sizes {list(sizes.values())}, shuffled each epoch. "
        "Noise = mean |C_(t+1) - C_t| / mean C over the mini-batch costs of every step. "
        "Time: History's per-epoch wall time (median)."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _draw_steps(runs: dict, path: Path) -> Path:
    fig, axes = plots.figure(ncols=3, width=3.8, height=3.4)
    for ax, (label, r), color in zip(axes[0], runs.items(), plots.PALETTE, strict=False):
        steps = r["steps"]
        ax.plot(np.arange(1, len(steps) + 1), steps, color=color, lw=0.6)
        ax.set_title(f"{label}\nnoise {r['noise']:.3f}, cost rose in {r['share_up']:.0%} of steps")
        ax.set_xlabel("update step")
        ax.set_ylabel("cost of the step's batch")
    return plots.save(fig, path, svg=True)[0]


def _draw_progress(runs: dict, epochs: int, path: Path) -> Path:
    fig, axes = plots.figure(ncols=2, width=4.8, height=3.6)
    for label, r in runs.items():
        axes[0, 0].plot(np.arange(1, epochs + 1), r["dev_loss"], "o-", ms=3, label=label)
        axes[0, 1].plot(np.cumsum(r["epoch_time"]), r["dev_loss"], "o-", ms=3, label=label)
    axes[0, 0].set_xlabel("epoch")
    axes[0, 0].set_title("Dev cost per epoch")
    axes[0, 1].set_xscale("log")
    axes[0, 1].set_xlabel("training time (s, log scale)")
    axes[0, 1].set_title("Dev cost per second of training")
    for ax in axes[0]:
        ax.set_ylabel("dev cost (cross-entropy)")
        ax.legend()
    return plots.save(fig, path, svg=True)[0]

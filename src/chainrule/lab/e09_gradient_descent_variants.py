"""Experiment 9: batch vs mini-batch vs stochastic gradient descent."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from chainrule import nn, optim, plots
from chainrule.data import make_moons
from chainrule.lab.base import Result, experiment
from chainrule.train import LambdaCallback, evaluate, fit

M = 512
EPOCHS = {"fast": 4, "full": 25}
LR = 0.1
SEED = 9  # the initial weights and the shuffling
CLOSE = 0.05  # "about as far": dev costs within 5% of each other


@experiment(
    9,
    "gradient_descent_variants",
    "Batch vs mini-batch vs stochastic gradient descent",
    "Batch gradient descent uses all m examples per step: its cost falls smoothly but it "
    "makes one update per pass over the data. Stochastic gradient descent (batch size 1) "
    "updates after every example: its cost is very noisy and it loses the speed of "
    "vectorization, so an epoch takes much longer. Mini-batches (e.g. 64) sit in between: "
    "the smaller the batch, the noisier the cost. Making several updates per pass over the "
    "data, mini-batches get further per epoch than batch descent; averaging 64 examples' "
    "gradients, each of their updates gets about as far as a batch update. Many vectorized "
    "updates per epoch, each nearly as good as batch descent's, are why they are the usual "
    "choice in practice.",
    "000, 001, 003",
)
def run(preset: str, outdir: Path) -> Result:
    X, y = make_moons(M, noise=0.2, seed=9)
    Xd, yd = make_moons(256, noise=0.2, seed=90)
    epochs = EPOCHS[preset]
    sizes = {"batch (m = 512)": M, "mini-batch (64)": 64, "stochastic (1)": 1}
    runs = {}
    for label, size in sizes.items():
        hist = _train(size, epochs, X, y, dev=(Xd, yd))
        steps = np.asarray(hist.step_losses)
        runs[label] = {
            "steps": steps,
            "dev_loss": [row["dev_loss"] for row in hist.epochs],
            "epoch_time": [row["time"] for row in hist.epochs],
            # batch descent's number of updates in the whole run: `epochs`
            "dev_per_update": _dev_per_update(size, epochs, X, y, Xd, yd),
            # noise: mean step-to-step change of the cost relative to its mean
            "noise": float(np.abs(np.diff(steps)).mean() / steps.mean()),
            "share_up": float((np.diff(steps) > 0).mean()) if len(steps) > 1 else 0.0,
        }
    numbers = {
        "updates_per_epoch": {k: len(r["steps"]) // epochs for k, r in runs.items()},
        "cost_noise": {k: r["noise"] for k, r in runs.items()},
        "share_of_steps_where_cost_rose": {k: r["share_up"] for k, r in runs.items()},
        "seconds_per_epoch_median": {k: float(np.median(r["epoch_time"])) for k, r in runs.items()},
        "final_dev_cost": {k: r["dev_loss"][-1] for k, r in runs.items()},
        "updates_compared": epochs,
        "dev_cost_after_same_updates": {k: r["dev_per_update"][-1] for k, r in runs.items()},
    }
    verdict = _holds(numbers)
    figures = [
        _draw_steps(runs, outdir / "step_costs.png"),
        _draw_progress(runs, epochs, outdir / "dev_cost.png"),
    ]
    summary = (
        "Step-to-step cost noise: "
        + ", ".join(f"{k} {v:.3f}" for k, v in numbers["cost_noise"].items())
        + ". Share of steps where the cost rose: "
        + ", ".join(f"{k} {v:.0%}" for k, v in numbers["share_of_steps_where_cost_rose"].items())
        + ". Seconds per epoch: "
        + ", ".join(f"{k} {v:.3g}" for k, v in numbers["seconds_per_epoch_median"].items())
        + f". Dev cost after {epochs} epochs: "
        + ", ".join(f"{k} {v:.3f}" for k, v in numbers["final_dev_cost"].items())
        + f"; after {epochs} updates: "
        + ", ".join(f"{k} {v:.3f}" for k, v in numbers["dev_cost_after_same_updates"].items())
        + "."
    )
    setup = (
        f"make_moons({M}, noise 0.2, seed 9); dev set make_moons(256, seed 90). MLP "
        f"[2, 16, 16, 2] tanh (same initial weights, seed {SEED}), cross-entropy, plain SGD lr "
        f"{LR}, {epochs} epochs, batch sizes {list(sizes.values())}, shuffled each epoch. "
        "Noise = mean |C_(t+1) - C_t| / mean C over the mini-batch costs of every step. "
        "Time: History's per-epoch wall time (median). Per update: the dev cost after "
        f"{epochs} updates (as many as batch descent makes in the run), from a second, "
        "identical run that evaluates the dev set after every step (apart, so that its "
        "evaluations stay out of the times). Verdict: the noise and rises as claimed, "
        "stochastic's epoch over 5 times mini-batch's, and mini-batch's dev cost below "
        f"batch's after the same epochs and within {CLOSE:.0%} of it after the same updates. "
        "Stochastic descent is not compared: its single-example steps are noisy, so whether "
        "it is ahead after the same epochs or updates depends on the seed (initial weights "
        "and order of the examples)."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _holds(numbers: dict) -> bool:
    """The verdict on the measured ``numbers`` (the keys of :func:`run`'s)."""
    b, mb, s = numbers["updates_per_epoch"]
    noise, share_up = numbers["cost_noise"], numbers["share_of_steps_where_cost_rose"]
    per_epoch = numbers["seconds_per_epoch_median"]
    same_epochs = numbers["final_dev_cost"]
    same_updates = numbers["dev_cost_after_same_updates"]
    return (
        noise[s] > noise[mb]
        and share_up[b] == 0.0 < share_up[mb]
        and per_epoch[s] > 5 * per_epoch[mb]
        and same_epochs[mb] < same_epochs[b]
        and abs(same_updates[mb] - same_updates[b]) <= CLOSE * same_updates[b]
    )


def _train(size: int, epochs: int, X, y, dev=None, callbacks=()):
    model = nn.MLP([2, 16, 16, 2], activation="tanh", seed=SEED)
    return fit(
        model,
        "cross_entropy",
        optim.SGD(model.named_parameters(), lr=LR),
        X,
        y,
        dev=dev,
        epochs=epochs,
        batch_size=size,
        seed=SEED,
        progress=False,
        callbacks=list(callbacks),
    )


def _dev_per_update(size: int, updates: int, X, y, Xd, yd) -> list[float]:
    """The dev cost after each of the first ``updates`` updates of a run of :func:`_train`
    (the same initial weights and shuffling as the timed run, whose times it stays out of)."""
    costs = []

    def record(trainer, batch, loss):
        if len(costs) < updates:
            costs.append(evaluate(trainer.model, "cross_entropy", Xd, yd)["loss"])

    _train(
        size,
        math.ceil(updates / (M // size)),
        X,
        y,
        callbacks=[LambdaCallback(on_batch_end=record)],
    )
    return costs


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
    fig, axes = plots.figure(ncols=3, width=4.8, height=3.6)
    for label, r in runs.items():
        axes[0, 0].plot(np.arange(1, epochs + 1), r["dev_loss"], "o-", ms=3, label=label)
        axes[0, 1].plot(np.arange(1, epochs + 1), r["dev_per_update"], "o-", ms=3, label=label)
        axes[0, 2].plot(np.cumsum(r["epoch_time"]), r["dev_loss"], "o-", ms=3, label=label)
    axes[0, 0].set_xlabel("epoch")
    axes[0, 0].set_title("Dev cost per epoch")
    axes[0, 1].set_xlabel("update")
    axes[0, 1].set_title(f"Dev cost per update (the first {epochs})")
    axes[0, 2].set_xscale("log")
    axes[0, 2].set_xlabel("training time (s, log scale)")
    axes[0, 2].set_title("Dev cost per second of training")
    for ax in axes[0]:
        ax.set_ylabel("dev cost (cross-entropy)")
        ax.legend()
    return plots.save(fig, path, svg=True)[0]

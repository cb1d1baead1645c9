"""Experiment 15: debug with keep_prob = 1 (a monotone cost), then turn dropout on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chainrule import plots
from chainrule.data import make_moons
from chainrule.lab.base import Result, experiment
from chainrule.nn import MLP
from chainrule.optim import SGD
from chainrule.train import fit

KEEP_PROB = 0.5
LR = 0.1
N_TRAIN = 200


def _cost_curve(X, y, keep_prob: float, epochs: int) -> np.ndarray:
    """Full-batch gradient descent; the cost J of each step, dropout masks included."""
    model = MLP([2, 64, 64, 1], activation="relu", seed=1, dropout=keep_prob)
    history = fit(
        model, "bce_with_logits", SGD(model.named_parameters(), lr=LR), X, y,
        epochs=epochs, batch_size=N_TRAIN, seed=0, progress=False,
    )  # fmt: skip
    return np.asarray(history.step_losses, dtype=np.float64)


@experiment(
    15,
    "dropout_debugging",
    "Debugging with dropout off",
    "With dropout the cost J is no longer well defined (every step samples a new network), "
    "so it is hard to check that gradient descent works; the notes advise setting "
    "keep_prob = 1 first: full-batch gradient descent then decreases J at every step, and "
    "only then turning dropout on, whose cost curve is noisy.",
    "002",
)
def run(preset: str, outdir: Path) -> Result:
    epochs = 120 if preset == "fast" else 600
    X, y = make_moons(N_TRAIN, noise=0.2, seed=0)
    y = y[:, None].astype(np.float32)
    curves = {1.0: _cost_curve(X, y, 1.0, epochs), KEEP_PROB: _cost_curve(X, y, KEEP_PROB, epochs)}

    def stats(cost: np.ndarray) -> dict:
        rises = np.diff(cost)
        return {
            "first_cost": float(cost[0]),
            "last_cost": float(cost[-1]),
            "steps_where_cost_rose": int(np.sum(rises > 0)),
            "fraction_of_steps_where_cost_rose": float(np.mean(rises > 0)),
            "largest_rise": float(max(rises.max(), 0.0)),
        }

    plain, dropped = stats(curves[1.0]), stats(curves[KEEP_PROB])
    numbers = {"steps": epochs, "keep_prob_1": plain, f"keep_prob_{KEEP_PROB}": dropped}
    monotone = plain["steps_where_cost_rose"] == 0 and plain["last_cost"] < plain["first_cost"]
    noisy = dropped["fraction_of_steps_where_cost_rose"] > 0.2
    verdict = monotone and noisy

    figures = [_draw(outdir, curves)]
    summary = (
        f"With keep_prob = 1 the cost fell at every one of {epochs - 1} full-batch steps "
        f"({plain['first_cost']:.3f} -> {plain['last_cost']:.3f}; rose "
        f"{plain['steps_where_cost_rose']} times). With keep_prob = {KEEP_PROB} it rose on "
        f"{dropped['fraction_of_steps_where_cost_rose']:.0%} of the steps (largest rise "
        f"{dropped['largest_rise']:.3f}), so a rising cost could not reveal a bug."
    )
    setup = (
        f"make_moons({N_TRAIN}, noise=0.2) seed 0; MLP [2, 64, 64, 1] relu (He init, seed 1) "
        f"with dropout keep_prob 1 (no dropout layer) or {KEEP_PROB} after each hidden layer; "
        f"bce_with_logits; plain gradient descent (SGD lr {LR}) on the full batch, {epochs} "
        "steps; the cost of each step is recorded as computed (with that step's mask)."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _draw(outdir: Path, curves: dict) -> Path:
    fig, ax = plots.figure(width=6.5, height=4.0)
    colours = (plots.PALETTE[4], plots.PALETTE[5])
    for (keep_prob, cost), colour in zip(curves.items(), colours, strict=True):
        steps = np.arange(1, len(cost) + 1)
        label = "keep_prob = 1 (dropout off)" if keep_prob == 1.0 else f"keep_prob = {keep_prob}"
        ax.plot(steps, cost, color=colour, label=label, lw=1.2)
    ax.set(
        title="Debug with dropout off: the cost then falls at every step",
        xlabel="gradient-descent step (full batch)",
        ylabel="cross-entropy cost J",
    )
    ax.legend(fontsize=8)
    return plots.save(fig, outdir / "dropout_debugging.png", svg=True)[0]

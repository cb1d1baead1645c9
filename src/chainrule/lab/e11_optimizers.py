"""Experiment 11: GD, momentum, RMSprop and Adam on a ravine and on two moons."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import plots
from chainrule.data import make_moons
from chainrule.lab import boundary
from chainrule.lab.base import Result, experiment
from chainrule.nn import MLP
from chainrule.optim import SGD, Adam, Momentum, RMSprop
from chainrule.train import fit

# f(w, b) = (w^2 + CURVATURE * b^2) / 2: shallow along w, steep along b (the notes' figure)
CURVATURE = 100.0
START = (-4.5, 1.0)
OPTIMIZERS = {
    "GD": lambda params, lr: SGD(params, lr=lr),
    "Momentum": lambda params, lr: Momentum(params, lr=lr, beta=0.9),
    "RMSprop": lambda params, lr: RMSprop(params, lr=lr, beta=0.9),
    "Adam": lambda params, lr: Adam(params, lr=lr),
}
# The notes' picture: one rate for GD and momentum, where GD zig-zags (lr * 100 = 1.9).
SHARED_LR = 0.019
# Each optimizer runs at its best rate from this grid (the lowest cost after the last step),
# so the comparison is of methods, not of one lucky learning rate. LOG_RATES' steps are
# 1.58x wide; GD's best rates lie just below its stability limit 2 / 100, between two of
# them, so the grid also holds SHARED_LR.
LOG_RATES = tuple(float(x) for x in np.geomspace(0.002, 0.5, 13))
LR_GRID = tuple(sorted({*LOG_RATES, SHARED_LR}))
MOONS_LR = 0.01
COLOURS = dict(zip(OPTIMIZERS, (plots.PALETTE[5], plots.PALETTE[4], plots.PALETTE[2],
                                plots.PALETTE[0]), strict=True))  # fmt: skip


def _ravine(name: str, lr: float, steps: int) -> np.ndarray:
    """The path of optimizer ``name`` on f from START: (steps + 1, 2) points."""
    p = cr.tensor(np.array(START), requires_grad=True)
    scale = cr.tensor(np.array([1.0, CURVATURE]))
    opt = OPTIMIZERS[name]([("w_b", p)], lr)
    path = [p.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (scale * p * p).sum()).backward()
        opt.step()
        path.append(p.data.copy())
    return np.array(path)


def _best_path(name: str, steps: int) -> tuple[float, np.ndarray]:
    """The grid rate giving the lowest final cost (diverged runs count as infinite)."""
    best = (np.inf, 0.0, None)
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in LR_GRID:
            path = _ravine(name, lr, steps)
            final = _cost(path)[-1]
            if np.isfinite(final) and final < best[0]:
                best = (final, lr, path)
    return best[1], best[2]


def _cost(path: np.ndarray) -> np.ndarray:
    return 0.5 * (path[:, 0] ** 2 + CURVATURE * path[:, 1] ** 2)


@experiment(
    11,
    "optimizers",
    "Gradient descent, momentum, RMSprop and Adam",
    "Plain gradient descent oscillates across a ravine (the steep direction) and advances "
    "slowly along it; momentum averages the gradients so the oscillations cancel, RMSprop "
    "divides each direction by its root-mean-square gradient so the steep direction is "
    "slowed and the shallow one sped up, and Adam combines both. On a real network (two "
    "moons) Adam trains faster than plain gradient descent at the same learning rate.",
    "002",
)
def run(preset: str, outdir: Path) -> Result:
    steps = 60
    epochs = 100 if preset == "fast" else 400
    numbers: dict = {"same_lr": {}, "ravine": {}, "moons": {}}
    shared = {name: _ravine(name, SHARED_LR, steps) for name in ("GD", "Momentum")}
    for name, path in shared.items():
        numbers["same_lr"][name] = {
            "lr": SHARED_LR,
            "steep_direction_travel": float(np.abs(np.diff(path[:, 1])).sum()),
            "sign_flips_in_b": int(np.sum(np.diff(np.sign(path[:, 1])) != 0)),
            "final_cost": float(_cost(path)[-1]),
        }
    paths, ravine_lr = {}, {}
    for name in OPTIMIZERS:
        ravine_lr[name], paths[name] = _best_path(name, steps)
        path = paths[name]
        numbers["ravine"][name] = {
            "best_lr": ravine_lr[name],
            "final_cost": float(_cost(path)[-1]),
        }

    X, y = make_moons(300, noise=0.2, seed=0)
    Xd, yd = make_moons(300, noise=0.2, seed=1)
    y, yd = y[:, None].astype(np.float32), yd[:, None].astype(np.float32)
    models, curves = {}, {}
    for name, make in OPTIMIZERS.items():
        model = MLP([2, 5, 2, 1], activation="relu", seed=1)
        history = fit(
            model, "bce_with_logits", make(model.named_parameters(), MOONS_LR), X, y,
            epochs=epochs, batch_size=64, seed=0, progress=False,
        )  # fmt: skip
        models[name] = model
        curves[name] = [row["train_loss"] for row in history.epochs]
        numbers["moons"][name] = {
            "final_train_cost": curves[name][-1],
            "train_accuracy": boundary.accuracy(model, X, y),
            "dev_accuracy": boundary.accuracy(model, Xd, yd),
        }

    s, r, m = numbers["same_lr"], numbers["ravine"], numbers["moons"]
    damped = s["Momentum"]["steep_direction_travel"] < s["GD"]["steep_direction_travel"] / 2
    faster = all(r[k]["final_cost"] < r["GD"]["final_cost"] / 10 for k in r if k != "GD")
    adam_wins = m["Adam"]["dev_accuracy"] > m["GD"]["dev_accuracy"] + 0.03
    verdict = damped and faster and adam_wins

    figures = [
        _draw_paths(outdir, shared, paths, ravine_lr),
        _draw_moons(outdir, models, curves, X, y, numbers["moons"]),
    ]
    summary = (
        f"On the ravine f = (w^2 + {CURVATURE:g} b^2) / 2 at the same rate {SHARED_LR}, GD "
        f"travels {s['GD']['steep_direction_travel']:.1f} along the steep axis b "
        f"({s['GD']['sign_flips_in_b']} sign flips in {steps} steps), momentum "
        f"{s['Momentum']['steep_direction_travel']:.1f} ({s['Momentum']['sign_flips_in_b']} "
        f"flips). Cost after {steps} steps, each optimizer at its best "
        f"rate: GD {r['GD']['final_cost']:.3g}, momentum {r['Momentum']['final_cost']:.3g}, "
        f"RMSprop {r['RMSprop']['final_cost']:.3g}, Adam {r['Adam']['final_cost']:.3g}. "
        f"On two moons after {epochs} epochs at lr {MOONS_LR}: dev accuracy GD "
        f"{m['GD']['dev_accuracy']:.1%}, momentum {m['Momentum']['dev_accuracy']:.1%}, RMSprop "
        f"{m['RMSprop']['dev_accuracy']:.1%}, Adam {m['Adam']['dev_accuracy']:.1%}."
    )
    setup = (
        f"Ravine: f(w, b) = (w^2 + {CURVATURE:g} b^2) / 2 from {START}, {steps} steps, float64; "
        f"each optimizer at the rate with the lowest final cost ({ravine_lr}) of {len(LR_GRID)} "
        f"rates: {len(LOG_RATES)} log-spaced in [{LOG_RATES[0]:g}, {LOG_RATES[-1]:g}] and the "
        f"shared rate {SHARED_LR}; momentum and RMSprop beta 0.9, Adam defaults. Moons: "
        "make_moons(300, noise=0.2) seed 0 for training and seed 1 as dev set, MLP [2, 5, 2, 1] "
        f"relu (He init, seed 1), bce_with_logits, mini-batches of 64 (shuffle seed 0), "
        f"{epochs} epochs, lr {MOONS_LR} for every optimizer (chainrule.optim SGD, Momentum, "
        "RMSprop, Adam)."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _draw_paths(outdir: Path, shared: dict, paths: dict, lrs: dict) -> Path:
    fig, axes = plots.figure(ncols=3, width=4.6, height=4.0)
    w, b = np.meshgrid(np.linspace(-5, 1, 200), np.linspace(-1.3, 1.3, 200))
    colours = COLOURS
    titles = (f"Same rate {SHARED_LR}: momentum damps", "Each at its best rate")
    for ax, group, title in zip(axes[0, :2], (shared, paths), titles, strict=True):
        ax.contour(w, b, 0.5 * (w**2 + CURVATURE * b**2), levels=12, colors="#bbbbbb",
                   linewidths=0.7)  # fmt: skip
        for name, path in group.items():
            ax.plot(path[:, 0], path[:, 1], "-o", ms=2, lw=1.0, color=colours[name], label=name)
        ax.plot([0], [0], "k*", ms=10, label="minimum")
        ax.set(title=title, xlabel="w (shallow direction)", ylabel="b (steep direction)")
        ax.legend(fontsize=8, loc="lower right")
    ax = axes[0, 2]
    for name, path in paths.items():
        ax.semilogy(_cost(path), color=colours[name], label=f"{name} (lr {lrs[name]:.3g})")
    ax.set(
        title=f"f = (w^2 + {CURVATURE:g} b^2) / 2, best rates",
        xlabel="step",
        ylabel="f(w, b) (log scale)",
    )
    ax.legend(fontsize=8)
    return plots.save(fig, outdir / "optimizer_paths.png", svg=True)[0]


def _draw_moons(outdir, models, curves, X, y, moons) -> Path:
    fig, axes = plots.figure(ncols=3, width=4.2, height=3.8)
    ax = axes[0, 0]
    for name, curve in curves.items():
        ls = "--" if name == "Momentum" else "-"  # it runs on top of GD at this rate
        ax.semilogy(np.arange(1, len(curve) + 1), curve, ls, color=COLOURS[name], label=name)
    ax.set(title=f"Two moons, lr {MOONS_LR}", xlabel="epoch", ylabel="training cost (log scale)")
    ax.legend(fontsize=8)
    for ax, name in zip(axes[0, 1:], ("GD", "Adam"), strict=True):
        acc = moons[name]["dev_accuracy"]
        boundary.draw_boundary(
            ax, models[name], X, y, f"{name}: dev accuracy {acc:.1%}\n(training points shown)"
        )
    axes[0, 2].legend(fontsize=8, loc="lower right")
    return plots.save(fig, outdir / "optimizer_moons.png", svg=True)[0]

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
# Two moons: GD and Adam, each at the rate of this grid (half-decade steps) that leaves the
# lowest training cost after MOONS_EPOCHS epochs, from each of the initializations
# MOONS_SEEDS. GD's best rates lie between 0.3 and 3 (above, at 5, its units die), Adam's
# between 0.03 and 0.1: the grid holds both ranges and rates beyond them.
MOONS_RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
MOONS_SEEDS = {"fast": (1, 2, 3), "full": (1, 2, 3, 4, 5)}
MOONS_EPOCHS = 100
MOONS_OPTIMIZERS = ("GD", "Adam")
# Two hidden relu layers of 10: with a 2-unit bottleneck ([2, 5, 2, 1]) one initialization
# in three lost its units to relu's dead zone, both optimizers ended at ln 2 and the winner
# was decided by 1e-4.
MOONS_SIZES = [2, 10, 10, 1]
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


def _effective_rates(path: np.ndarray) -> tuple[float, float]:
    """Per coordinate (w, b), the median over the steps of |step_i| / |df/dp_i|: the rate
    plain gradient descent would need to take the same step (GD's own is its lr in both).
    Steps from a point where df/dp_i is exactly 0 are left out."""
    grad = np.abs(path[:-1] * np.array([1.0, CURVATURE]))
    step = np.abs(np.diff(path, axis=0))
    moving = grad > 0
    return tuple(float(np.median(step[moving[:, i], i] / grad[moving[:, i], i])) for i in (0, 1))


def _best_moons_run(name: str, seed: int, X, y):
    """Train MLP MOONS_SIZES (init ``seed``) with optimizer ``name`` at every rate of
    MOONS_RATES; the (lr, training costs per epoch, model) with the lowest final cost (a
    run whose cost became NaN or inf counts as infinite)."""
    best = (np.inf, None, None, None)
    for lr in MOONS_RATES:
        model = MLP(MOONS_SIZES, activation="relu", seed=seed)
        try:
            history = fit(
                model, "bce_with_logits", OPTIMIZERS[name](model.named_parameters(), lr), X, y,
                epochs=MOONS_EPOCHS, batch_size=64, seed=0, progress=False,
            )  # fmt: skip
        except FloatingPointError:  # fit stops at a non-finite cost or update
            continue
        curve = [row["train_loss"] for row in history.epochs]
        if curve[-1] < best[0]:
            best = (curve[-1], lr, curve, model)
    return best[1:]


@experiment(
    11,
    "optimizers",
    "Gradient descent, momentum, RMSprop and Adam",
    "Plain gradient descent oscillates across a ravine (the steep direction) and advances "
    "slowly along it; momentum averages the gradients so the oscillations cancel, RMSprop "
    "divides each direction by its root-mean-square gradient so that, against gradient "
    "descent, the steep direction is slowed and the shallow one sped up, and Adam combines "
    "both. On a real network (two moons), each at its best learning rate, Adam reaches a "
    "lower training cost than plain gradient descent in the same number of epochs.",
    "002",
)
def run(preset: str, outdir: Path) -> Result:
    steps = 60
    seeds = MOONS_SEEDS[preset]
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
        rate_w, rate_b = _effective_rates(path)
        numbers["ravine"][name] = {
            "best_lr": ravine_lr[name],
            "final_cost": float(_cost(path)[-1]),
            "effective_rate_w": rate_w,
            "effective_rate_b": rate_b,
        }

    X, y = make_moons(300, noise=0.2, seed=0)
    Xd, yd = make_moons(300, noise=0.2, seed=1)
    y, yd = y[:, None].astype(np.float32), yd[:, None].astype(np.float32)
    models, curves = {}, {}
    for name in MOONS_OPTIMIZERS:
        rows = {"best_lr": [], "final_train_cost": [], "train_accuracy": [], "dev_accuracy": []}
        curves[name] = []
        for seed in seeds:
            lr, curve, model = _best_moons_run(name, seed, X, y)
            curves[name].append(curve)
            models.setdefault(name, model)  # the first initialization's, for the figure
            rows["best_lr"].append(lr)
            rows["final_train_cost"].append(curve[-1])
            rows["train_accuracy"].append(boundary.accuracy(model, X, y))
            rows["dev_accuracy"].append(boundary.accuracy(model, Xd, yd))
        numbers["moons"][name] = rows

    s, r, m = numbers["same_lr"], numbers["ravine"], numbers["moons"]
    damped = s["Momentum"]["steep_direction_travel"] < s["GD"]["steep_direction_travel"] / 2
    faster = all(r[k]["final_cost"] < r["GD"]["final_cost"] / 10 for k in r if k != "GD")
    rescaled = (
        r["RMSprop"]["effective_rate_w"] > r["GD"]["effective_rate_w"]
        and r["RMSprop"]["effective_rate_b"] < r["GD"]["effective_rate_b"]
    )
    pairs = list(zip(m["Adam"]["final_train_cost"], m["GD"]["final_train_cost"], strict=True))
    adam_wins = all(adam < gd for adam, gd in pairs)
    verdict = damped and faster and rescaled and adam_wins

    figures = [
        _draw_paths(outdir, shared, paths, ravine_lr),
        _draw_moons(outdir, models, curves, X, y, numbers["moons"], seeds),
    ]
    summary = (
        f"On the ravine f = (w^2 + {CURVATURE:g} b^2) / 2 at the same rate {SHARED_LR}, GD "
        f"travels {s['GD']['steep_direction_travel']:.1f} along the steep axis b "
        f"({s['GD']['sign_flips_in_b']} sign flips in {steps} steps), momentum "
        f"{s['Momentum']['steep_direction_travel']:.1f} ({s['Momentum']['sign_flips_in_b']} "
        f"flips). Cost after {steps} steps, each optimizer at its best "
        f"rate: GD {r['GD']['final_cost']:.3g}, momentum {r['Momentum']['final_cost']:.3g}, "
        f"RMSprop {r['RMSprop']['final_cost']:.3g}, Adam {r['Adam']['final_cost']:.3g}; "
        f"RMSprop's effective rates |step| / |gradient| are {r['RMSprop']['effective_rate_w']:.3g}"
        f" along w and {r['RMSprop']['effective_rate_b']:.3g} along b, GD's "
        f"{r['GD']['effective_rate_w']:.3g} along both (medians over the steps). On two moons, "
        f"training cost after {MOONS_EPOCHS} epochs, each at its best rate, for the "
        f"initializations {list(seeds)}: GD {_costs(m['GD'])}, Adam {_costs(m['Adam'])} "
        f"(Adam / GD: {', '.join(f'{a / g:.2f}' for a, g in pairs)})."
    )
    setup = (
        f"Ravine: f(w, b) = (w^2 + {CURVATURE:g} b^2) / 2 from {START}, {steps} steps, float64; "
        f"each optimizer at the rate with the lowest final cost ({ravine_lr}) of {len(LR_GRID)} "
        f"rates: {len(LOG_RATES)} log-spaced in [{LOG_RATES[0]:g}, {LOG_RATES[-1]:g}] and the "
        f"shared rate {SHARED_LR}; momentum and RMSprop beta 0.9, Adam defaults; effective "
        "rate per coordinate: median over the steps of |step| / |df/dp|. Moons: "
        "make_moons(300, noise=0.2) seed 0 for training and seed 1 as dev set, MLP "
        f"{MOONS_SIZES} relu (He init, seeds {list(seeds)}), bce_with_logits, mini-batches "
        f"of 64 (shuffle seed 0), {MOONS_EPOCHS} epochs; chainrule.optim SGD and Adam "
        f"(defaults), each at the rate of {list(MOONS_RATES)} with the lowest final training "
        "cost, per initialization."
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


def _costs(rows: dict) -> str:
    pairs = zip(rows["final_train_cost"], rows["best_lr"], strict=True)
    return ", ".join(f"{cost:.3g} (lr {lr:g})" for cost, lr in pairs)


def _draw_moons(outdir, models, curves, X, y, moons, seeds) -> Path:
    fig, axes = plots.figure(ncols=3, width=4.2, height=3.8)
    ax = axes[0, 0]
    for name, runs in curves.items():
        for k, curve in enumerate(runs):
            label = f"{name} (init seeds {', '.join(map(str, seeds))})" if k == 0 else None
            epochs = np.arange(1, len(curve) + 1)
            ls = "--" if name == "Adam" else "-"  # its colour is close to GD's
            ax.semilogy(epochs, curve, ls, color=COLOURS[name], lw=1.0, label=label)
    ax.set(title="Two moons, each at its best rate", xlabel="epoch", ylabel="cost (log scale)")
    ax.legend(fontsize=8)
    for ax, name in zip(axes[0, 1:], MOONS_OPTIMIZERS, strict=True):
        row = moons[name]
        title = (
            f"{name}, lr {row['best_lr'][0]:g}, init seed {seeds[0]}: dev accuracy "
            f"{row['dev_accuracy'][0]:.1%}\n(training points shown)"
        )
        boundary.draw_boundary(ax, models[name], X, y, title)
    axes[0, 2].legend(fontsize=8, loc="lower right")
    return plots.save(fig, outdir / "optimizer_moons.png", svg=True)[0]

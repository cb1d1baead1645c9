"""Experiment 18: gradient descent lingers on the plateau around a saddle point; Adam does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import plots
from chainrule.lab.base import Result, experiment
from chainrule.optim import SGD, Adam, Momentum

X0 = 1.0
#: How far from the saddle's attracting line (y = 0) each run starts: the smaller, the
#: longer the run stays where the gradient along y is about y itself, nearly zero.
Y0S = (1e-2, 1e-4, 1e-6, 1e-8)
LR = 0.05
ESCAPED = -0.2  # the minima are at -0.25; the saddle at 0
STEPS = 600

OPTIMIZERS = {
    "gradient descent": lambda params: SGD(params, lr=LR),
    "momentum (beta 0.9)": lambda params: Momentum(params, lr=LR, beta=0.9),
    "Adam": lambda params: Adam(params, lr=LR),
}


def _cost(p):
    """f(x, y) = x^2 / 2 + y^4 / 4 - y^2 / 2: a saddle at 0, minima at (0, +-1)."""
    x, y = p[0], p[1]
    return 0.5 * x * x + 0.25 * y**4 - 0.5 * y * y


def _descend(make_optimizer, y0: float, steps: int):
    p = cr.tensor(np.array((X0, y0), dtype=np.float64), requires_grad=True)
    opt = make_optimizer([("p", p)])
    path, costs = [p.data.copy()], []
    for _ in range(steps):
        opt.zero_grad()
        cost = _cost(p)
        costs.append(cost.item())
        cost.backward()
        opt.step()
        path.append(p.data.copy())
    return np.array(path), np.array(costs)


def _steps_to_escape(costs: np.ndarray) -> int | None:
    below = np.flatnonzero(costs < ESCAPED)
    return int(below[0]) if below.size else None


@experiment(
    18,
    "saddle_points",
    "Plateaus and saddle points",
    "A point of zero gradient is more likely a saddle point than a bad local minimum; what "
    "slows learning is the plateau around it, where the gradient is nearly zero: gradient "
    "descent lingers there, the longer the closer it passes to the saddle. Adam, whose step "
    "is the gradient divided by its running RMS, keeps a full-size step on the plateau.",
    "002, 003",
)
def run(preset: str, outdir: Path) -> Result:
    runs = {
        label: {y0: _descend(make, y0, STEPS) for y0 in Y0S} for label, make in OPTIMIZERS.items()
    }
    escape = {
        label: [_steps_to_escape(costs) for _, costs in by_start.values()]
        for label, by_start in runs.items()
    }
    numbers: dict = {
        "steps": STEPS,
        "lr": LR,
        "x0": X0,
        "y0": list(Y0S),
        "escaped_below": ESCAPED,
        "steps_to_escape": escape,
        "final_cost": {
            label: [float(costs[-1]) for _, costs in by_start.values()]
            for label, by_start in runs.items()
        },
    }
    gd, adam = escape["gradient descent"], escape["Adam"]
    escaped = all(k is not None for k in gd + adam)
    numbers["gd_slowdown"] = gd[-1] / gd[0] if escaped else None
    numbers["adam_slowdown"] = adam[-1] / adam[0] if escaped else None
    # GD lingers longer the closer it starts; Adam barely notices, and is far faster there
    verdict = bool(
        escaped
        and bool(np.all(np.diff(gd) > 0))
        and numbers["gd_slowdown"] >= 3
        and numbers["adam_slowdown"] <= 1.5
        and 5 * adam[-1] <= gd[-1]
    )

    def took(ks):
        return ", ".join(str(k) if k is not None else f">{STEPS}" for k in ks)

    mom = escape["momentum (beta 0.9)"]
    summary = (
        f"Starting at y0 = {', '.join(f'{y:g}' for y in Y0S)} from the saddle's attracting "
        f"line, the cost fell below {ESCAPED} (minima -0.25) after {took(gd)} steps of "
        f"gradient descent and {took(adam)} of Adam (lr {LR} for all). Each factor of 100 "
        "closer costs gradient descent about the same number of extra steps (near the saddle "
        "y grows by (1 + lr) a step); Adam's step does not shrink with the gradient. The "
        f"notes' momentum, v = beta v + (1 - beta) dW, took {took(mom)}: it averages the "
        "gradient without enlarging it, so at the same rate it lingers like gradient descent "
        "(longer at first, while v builds up)."
    )
    setup = (
        "f(x, y) = x^2 / 2 + y^4 / 4 - y^2 / 2 (saddle at (0, 0), minima at (0, +-1)), "
        f"start (1, y0) for y0 in {list(Y0S)}, float64 cr.tensor; SGD lr {LR}, Momentum lr "
        f"{LR} beta 0.9 (the notes' form), Adam lr {LR} (beta1 0.9, beta2 0.999); {STEPS} "
        "steps each; escaped = first step with cost below "
        f"{ESCAPED}. The preset does not change this experiment."
    )
    return Result(numbers, [_draw(outdir, runs, escape)], verdict, summary, setup)


def _draw(outdir: Path, runs: dict, escape: dict) -> Path:
    fig, axes = plots.figure(ncols=2, width=5.5, height=4.3)
    left, right = axes[0]
    g0, g1 = np.meshgrid(np.linspace(-1.2, 1.2, 200), np.linspace(-0.4, 1.4, 200))
    f = 0.5 * g0**2 + 0.25 * g1**4 - 0.5 * g1**2
    left.contour(g0, g1, f, levels=20, colors="0.75", linewidths=0.7)
    colours = (plots.PALETTE[5], plots.PALETTE[4], plots.PALETTE[2])
    shown = Y0S[1]
    for (label, by_start), colour in zip(runs.items(), colours, strict=True):
        path = by_start[shown][0]
        left.plot(path[:, 0], path[:, 1], color=colour, label=label, lw=1.3)
        steps = [np.nan if k is None else k for k in escape[label]]
        right.plot(Y0S, steps, "o-", color=colour, label=label)
    left.plot([0], [0], "kx", ms=8, label="saddle")
    left.set(title=f"Paths from (1, {shown:g})", xlabel="x", ylabel="y")
    left.legend(fontsize=7, loc="lower left")
    right.set_xscale("log")
    right.invert_xaxis()
    right.set(
        title="Time on the plateau",
        xlabel="start y0 (distance from the saddle's attracting line)",
        ylabel=f"steps until cost < {ESCAPED}",
    )
    right.legend(fontsize=7)
    return plots.save(fig, outdir / "saddle_points.png", svg=True)[0]

"""Experiment 18: gradient descent crawls past a saddle point; momentum and Adam do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import plots
from chainrule.lab.base import Result, experiment
from chainrule.optim import SGD, Adam

START = (1.0, 1e-4)  # almost on the saddle's attracting direction
LR = 0.05
ESCAPED = -0.2  # the minima are at -0.25; the saddle at 0


def _cost(p):
    """f(x, y) = x^2 / 2 + y^4 / 4 - y^2 / 2: a saddle at 0, minima at (0, +-1)."""
    x, y = p[0], p[1]
    return 0.5 * x * x + 0.25 * y**4 - 0.5 * y * y


def _descend(make_optimizer, steps: int):
    p = cr.tensor(np.array(START, dtype=np.float64), requires_grad=True)
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


OPTIMIZERS = {
    "gradient descent": lambda params: SGD(params, lr=LR),
    "momentum (beta 0.9)": lambda params: SGD(params, lr=LR, momentum=0.9),
    "Adam": lambda params: Adam(params, lr=LR),
}


@experiment(
    18,
    "saddle_points",
    "Plateaus and saddle points",
    "In high dimensions most points of zero gradient are saddle points, not bad local "
    "minima; the problem is the plateau around them, where the gradient is nearly zero for "
    "a long time. Plain gradient descent lingers there; momentum and Adam get through much "
    "faster.",
    "002, 003",
)
def run(preset: str, outdir: Path) -> Result:
    steps = 300 if preset == "fast" else 400
    runs = {label: _descend(make, steps) for label, make in OPTIMIZERS.items()}
    numbers: dict = {"steps": steps, "start": list(START), "escaped_below": ESCAPED, "runs": {}}
    for label, (path, costs) in runs.items():
        numbers["runs"][label] = {
            "steps_to_escape": _steps_to_escape(costs),
            "final_cost": float(costs[-1]),
            "final_point": [float(v) for v in path[-1]],
        }
    r = numbers["runs"]
    gd = r["gradient descent"]["steps_to_escape"]
    others = [r[k]["steps_to_escape"] for k in ("momentum (beta 0.9)", "Adam")]
    verdict = all(k is not None for k in others) and (
        gd is None or all(2 * k <= gd for k in others)
    )

    figures = [_draw(outdir, runs)]

    def took(k):
        return f"{k} steps" if k is not None else f"more than {steps} steps"

    summary = (
        f"From {START}, next to the saddle at the origin, the cost fell below {ESCAPED} "
        f"(minima -0.25) after {took(gd)} with gradient descent, "
        f"{took(others[0])} with momentum and {took(others[1])} with Adam (lr {LR} for all)."
    )
    setup = (
        "f(x, y) = x^2 / 2 + y^4 / 4 - y^2 / 2 (saddle at (0, 0), minima at (0, +-1)), "
        f"start {START}, float64 cr.tensor; SGD lr {LR}, SGD lr {LR} momentum 0.9, Adam lr "
        f"{LR} (beta1 0.9, beta2 0.999); {steps} steps each."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _draw(outdir: Path, runs: dict) -> Path:
    fig, axes = plots.figure(ncols=2, width=5.5, height=4.3)
    left, right = axes[0]
    g0, g1 = np.meshgrid(np.linspace(-1.2, 1.2, 200), np.linspace(-0.4, 1.4, 200))
    f = 0.5 * g0**2 + 0.25 * g1**4 - 0.5 * g1**2
    left.contour(g0, g1, f, levels=20, colors="0.75", linewidths=0.7)
    colours = (plots.PALETTE[5], plots.PALETTE[4], plots.PALETTE[2])
    for (label, (path, costs)), colour in zip(runs.items(), colours, strict=True):
        left.plot(path[:, 0], path[:, 1], color=colour, label=label, lw=1.3)
        right.plot(np.arange(len(costs)), costs, color=colour, label=label)
    left.plot([0], [0], "kx", ms=8, label="saddle")
    left.set(title="Paths on x²/2 + y⁴/4 − y²/2", xlabel="x", ylabel="y")
    left.legend(fontsize=7, loc="lower left")
    right.axhline(ESCAPED, color=plots.PALETTE[7], ls=":", label=f"cost {ESCAPED}")
    right.set(title="Cost: the plateau at the saddle", xlabel="step", ylabel="cost f(x, y)")
    right.legend(fontsize=7)
    return plots.save(fig, outdir / "saddle_points.png", svg=True)[0]

"""Experiment 18: in many dimensions critical points are saddles; gradient descent lingers on
the plateau around one, Adam does not."""

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


#: Critical points of random smooth functions of this many variables are counted.
DIMENSIONS = (1, 2, 4, 8, 16)
FEATURES = 256  # cosines summed into each random function
FIELDS = 4  # random functions per dimension
STARTS = 64  # Newton runs per function
NEWTON_STEPS = 40
MAX_STEP = 0.5  # Newton steps longer than this are cut to this length
BOX = 2.0  # starts are uniform in [-BOX, BOX]^n
#: At most this share of the critical points are minima at the highest dimension, and of
#: the bad ones (value above the mean) from BAD_FROM dimensions on.
RARE = 0.05
BAD_FROM = 4
KINDS = ("minima", "saddles", "maxima")


def _random_function(n: int, rng: np.random.Generator):
    """f(x) = sqrt(2 / K) sum_k cos(w_k . x + b_k), K = FEATURES, w_k ~ N(0, I_n),
    b_k ~ U[0, 2 pi): a smooth random function of ``n`` variables with mean 0 and variance
    1 at every point (a random-feature draw of the Gaussian field of covariance
    exp(-|x - x'|^2 / 2)). Returns ``parts(X) -> (f, gradient, Hessian)`` for the points
    ``X`` (rows): gradient -sqrt(2 / K) sum_k sin(w_k . x + b_k) w_k, Hessian
    -sqrt(2 / K) sum_k cos(w_k . x + b_k) w_k w_k^T."""
    w = rng.standard_normal((FEATURES, n))
    b = rng.uniform(0.0, 2 * np.pi, FEATURES)
    scale = np.sqrt(2.0 / FEATURES)
    outer = (w[:, :, None] * w[:, None, :]).reshape(FEATURES, n * n)

    def parts(X):
        phase = X @ w.T + b
        cos = scale * np.cos(phase)
        return cos.sum(axis=1), -(scale * np.sin(phase)) @ w, -(cos @ outer).reshape(-1, n, n)

    return parts


def _critical_points(n: int, rng: np.random.Generator):
    """The distinct critical points that Newton's method on the gradient, x <- x - H^-1 g
    (steps cut to MAX_STEP), reaches from STARTS uniform starts in [-BOX, BOX]^n on one
    random function: their values f and their indices (the number of negative Hessian
    eigenvalues; 0 a minimum, n a maximum, a saddle between). Newton's method is drawn to
    critical points of every index, not only to minima as descent is."""
    parts = _random_function(n, rng)
    X = rng.uniform(-BOX, BOX, (STARTS, n))
    for _ in range(NEWTON_STEPS):
        _, grad, hess = parts(X)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        length = np.linalg.norm(step, axis=1, keepdims=True)
        X = X - step * np.minimum(1.0, MAX_STEP / np.maximum(length, 1e-300))
    f, grad, hess = parts(X)
    X, f, hess = (a[np.linalg.norm(grad, axis=1) < 1e-9] for a in (X, f, hess))
    distance = np.linalg.norm(X[:, None] - X[None], axis=2)
    first = ~np.triu(distance < 1e-6, 1).any(axis=0)  # keep one of each point reached
    return f[first], (np.linalg.eigvalsh(hess[first]) < 0).sum(axis=1)


def _census() -> tuple[dict, np.ndarray, np.ndarray]:
    """Per dimension, how many critical points (over FIELDS random functions, seeded by the
    dimension) are minima, saddles and maxima, in all and among the "bad" ones, whose
    value is above the functions' mean 0; and the values and index shares (index / n) of
    those at the highest dimension."""
    counts = {}
    for n in DIMENSIONS:
        rng = np.random.default_rng(n)
        found = [_critical_points(n, rng) for _ in range(FIELDS)]
        f = np.concatenate([value for value, _ in found])
        index = np.concatenate([i for _, i in found])
        kinds = {"minima": index == 0, "maxima": index == n}
        kinds["saddles"] = ~kinds["minima"] & ~kinds["maxima"]
        counts[n] = {kind: int(mask.sum()) for kind, mask in kinds.items()}
        counts[n] |= {f"bad {kind}": int((mask & (f > 0)).sum()) for kind, mask in kinds.items()}
    return counts, f, index / n


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
    "In many dimensions a point of zero gradient is far more likely a saddle point than a "
    "bad local minimum: on random smooth functions the share of minima among the critical "
    "points falls as the dimension grows, to under 5% in 16 dimensions, and from four "
    "dimensions on at most 5% of the critical points whose cost is above the mean are "
    "minima. "
    "What slows learning is the plateau around a saddle, where the gradient is nearly zero: "
    "gradient descent lingers there, the longer the closer it passes to the saddle. Adam, "
    "whose step is the gradient divided by its running RMS, keeps a full-size step on the "
    "plateau.",
    "002, 003",
)
def run(preset: str, outdir: Path) -> Result:
    counts, top_values, top_index_share = _census()
    total = {n: sum(counts[n][k] for k in KINDS) for n in DIMENSIONS}
    bad = {n: sum(counts[n][f"bad {k}"] for k in KINDS) for n in DIMENSIONS}
    shares = {kind: [counts[n][kind] / max(1, total[n]) for n in DIMENSIONS] for kind in KINDS}
    minima_share = shares["minima"]
    bad_minima_share = {n: counts[n]["bad minima"] / max(1, bad[n]) for n in DIMENSIONS}
    # some critical points found in every dimension, bad ones from BAD_FROM on
    rare = bool(
        all(total.values())
        and all(bad[n] for n in DIMENSIONS if n >= BAD_FROM)
        and np.all(np.diff(minima_share) <= 0)
        and minima_share[-1] <= RARE
        and all(bad_minima_share[n] <= RARE for n in DIMENSIONS if n >= BAD_FROM)
    )
    runs = {
        label: {y0: _descend(make, y0, STEPS) for y0 in Y0S} for label, make in OPTIMIZERS.items()
    }
    escape = {
        label: [_steps_to_escape(costs) for _, costs in by_start.values()]
        for label, by_start in runs.items()
    }
    numbers: dict = {
        "dimensions": list(DIMENSIONS),
        "critical_points": {str(n): counts[n] for n in DIMENSIONS},
        "minima_share": minima_share,
        "bad_minima_share": [bad_minima_share[n] for n in DIMENSIONS],
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
        rare
        and escaped
        and bool(np.all(np.diff(gd) > 0))
        and numbers["gd_slowdown"] >= 3
        and numbers["adam_slowdown"] <= 1.5
        and 5 * adam[-1] <= gd[-1]
    )

    def took(ks):
        return ", ".join(str(k) if k is not None else f">{STEPS}" for k in ks)

    mom = escape["momentum (beta 0.9)"]
    top = counts[DIMENSIONS[-1]]
    summary = (
        f"Of the critical points Newton's method found on random smooth functions of "
        f"{', '.join(map(str, DIMENSIONS))} variables, "
        f"{', '.join(f'{share:.1%}' for share in minima_share)} were minima; in "
        f"{DIMENSIONS[-1]} dimensions {top['saddles']} saddles, {top['minima']} minima and "
        f"{top['maxima']} maxima. Of the critical points above the mean value (bad), "
        f"{', '.join(f'{bad_minima_share[n]:.0%}' for n in DIMENSIONS)} were minima. "
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
        f"Critical points: for n in {list(DIMENSIONS)}, {FIELDS} random functions f(x) = "
        f"sqrt(2 / K) sum_k cos(w_k . x + b_k), K = {FEATURES}, w_k ~ N(0, I_n), "
        "b_k ~ U[0, 2 pi) (mean 0, variance 1; rng seeded by n); Newton's method on the "
        f"gradient from {STARTS} uniform starts in [-{BOX:g}, {BOX:g}]^n each, "
        f"{NEWTON_STEPS} steps cut to length {MAX_STEP}; a critical point is a point where "
        "|gradient| < 1e-9, counted once; its kind is read from the signs of its Hessian's "
        "eigenvalues; bad = value above 0. Verdict: the share of minima never rises with "
        f"n and is at most {RARE:.0%} at n = {DIMENSIONS[-1]}, and from n = {BAD_FROM} on at "
        f"most {RARE:.0%} of the bad critical points are minima. Saddle: "
        "f(x, y) = x^2 / 2 + y^4 / 4 - y^2 / 2 (saddle at (0, 0), minima at (0, +-1)), "
        f"start (1, y0) for y0 in {list(Y0S)}, float64 cr.tensor; SGD lr {LR}, Momentum lr "
        f"{LR} beta 0.9 (the notes' form), Adam lr {LR} (beta1 0.9, beta2 0.999); {STEPS} "
        "steps each; escaped = first step with cost below "
        f"{ESCAPED}. The preset does not change this experiment."
    )
    figures = [
        _draw_census(outdir, shares, top_values, top_index_share),
        _draw(outdir, runs, escape),
    ]
    return Result(numbers, figures, verdict, summary, setup)


def _draw_census(outdir: Path, shares: dict, values: np.ndarray, index_share: np.ndarray) -> Path:
    fig, axes = plots.figure(ncols=2, width=5.5, height=4.3)
    left, right = axes[0]
    for kind, colour in zip(
        KINDS, (plots.PALETTE[2], plots.PALETTE[5], plots.PALETTE[4]), strict=True
    ):
        left.plot(DIMENSIONS, shares[kind], "o-", color=colour, label=kind)
    left.set_xscale("log", base=2)
    left.set_xticks(DIMENSIONS, [str(n) for n in DIMENSIONS])
    left.set(
        title="Critical points of random functions",
        xlabel="dimension n",
        ylabel="share of the critical points found",
    )
    left.legend(fontsize=7)
    right.plot(index_share, values, "o", ms=3, color=plots.PALETTE[5])
    right.axhline(0.0, color=plots.PALETTE[7], ls=":", lw=1)
    right.set(
        title=f"n = {DIMENSIONS[-1]}: cost vs descending directions",
        xlabel="share of negative Hessian eigenvalues (0: minimum)",
        ylabel="value f at the critical point",
    )
    return plots.save(fig, outdir / "critical_points.png", svg=True)[0]


def _draw(outdir: Path, runs: dict, escape: dict) -> Path:
    fig, axes = plots.figure(ncols=2, width=5.5, height=4.3)
    left, right = axes[0]
    g0, g1 = np.meshgrid(np.linspace(-1.2, 1.2, 200), np.linspace(-0.4, 1.4, 200))
    f = 0.5 * g0**2 + 0.25 * g1**4 - 0.5 * g1**2
    left.contour(g0, g1, f, levels=20, colors="0.75", linewidths=0.7)
    colours = (plots.PALETTE[5], plots.PALETTE[4], plots.PALETTE[2])
    shown = Y0S[1]
    # momentum's path runs along gradient descent's and would hide it: gradient descent is
    # drawn on top, dashed, with a marker every 20 steps
    on_top = {
        "gradient descent": {"ls": "--", "marker": "o", "ms": 3, "markevery": 20, "zorder": 3}
    }
    for (label, by_start), colour in zip(runs.items(), colours, strict=True):
        path = by_start[shown][0]
        left.plot(
            path[:, 0], path[:, 1], color=colour, label=label, lw=1.3, **on_top.get(label, {})
        )
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

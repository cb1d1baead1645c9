"""Experiment 2: one backward pass vs n + 1 cost evaluations of finite differences."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import plots
from chainrule.gradcheck import relative_error
from chainrule.lab.base import Result, experiment

M = 32  # examples in the cost
EPS = 1e-6
# above this many parameters the n + 1 evaluations are timed on a sample and scaled up
MEASURE_UP_TO = {"fast": 1_000, "full": 10_000}
SIZES = {"fast": [10, 100, 1_000], "full": [10, 100, 1_000, 10_000, 100_000]}
SAMPLE = 200  # coordinates probed (and compared) when scaling up: SAMPLE + 1 costs timed
# "in proportion to n": the least-squares slope of log(time ratio) against log(n) is at
# least this (1 is exact proportion; the fixed per-call overheads of both methods, which
# dominate at small n, pull it below 1)
MIN_SLOPE = 0.7


@experiment(
    2,
    "backprop_vs_numeric",
    "Backprop vs finite differences",
    "Estimating the gradient by finite differences, dC/dw_j ~ (C(w + eps e_j) - C(w)) / eps, "
    "needs n + 1 evaluations of the cost for n parameters; backpropagation gets all n "
    "partial derivatives from one forward and one backward pass, so its advantage grows "
    "roughly in proportion to n, while both give the same gradient.",
    "003",
)
def run(preset: str, outdir: Path) -> Result:
    rng = np.random.default_rng(2)
    rows = []
    for n in SIZES[preset]:
        X = rng.normal(0.0, 1.0 / np.sqrt(n), (M, n))
        y = rng.uniform(-0.5, 0.5, M)
        w0 = rng.normal(0.0, 1.0, n)
        rows.append(_compare(X, y, w0, n <= MEASURE_UP_TO[preset], rng))

    ns = [r["n"] for r in rows]
    ratios = [r["numeric_s"] / r["backprop_s"] for r in rows]
    worst_err = max(r["rel_error"] for r in rows)
    agree = worst_err < 1e-5
    growing = all(b > a for a, b in zip(ratios, ratios[1:], strict=False))
    slope = float(np.polyfit(np.log(ns), np.log(ratios), 1)[0])
    verdict = agree and growing and slope >= MIN_SLOPE and ratios[-1] > 100
    figures = [_draw(rows, outdir / "timing.png")]
    numbers = {
        "n_parameters": ns,
        "cost_evaluations_numeric": [r["evaluations"] for r in rows],
        "backprop_seconds": [r["backprop_s"] for r in rows],
        "numeric_seconds": [r["numeric_s"] for r in rows],
        "numeric_measured_in_full": [r["measured"] for r in rows],
        "speedup_numeric_over_backprop": ratios,
        "log_log_slope_of_speedup": slope,
        "relative_error": [r["rel_error"] for r in rows],
        "worst_relative_error": worst_err,
    }
    summary = (
        f"At n = {ns[-1]:,} parameters finite differences take {rows[-1]['numeric_s']:.3g} s "
        f"({rows[-1]['evaluations']:,} cost evaluations) against {rows[-1]['backprop_s']:.2g} s "
        f"for one backward pass, {ratios[-1]:,.0f} times longer; the ratio grows with n "
        f"({', '.join(f'{r:,.0f}' for r in ratios)}), as n^{slope:.2f} on a log-log fit "
        f"(n^1 is exact proportion; the verdict asks for a slope of at least {MIN_SLOPE:g}), "
        f"and the gradients agree to a relative error of {worst_err:.1e} or better."
    )
    setup = (
        f"Cost C(w) = (1/2m) sum (tanh(x_i . w) - y_i)^2 over m = {M} random examples, "
        f"float64, n in {ns}. Backprop: chainrule forward + backward (best of 5). Numeric: "
        f"forward differences with eps = {EPS:g}, n + 1 evaluations of the same chainrule "
        f"cost under no_grad; for n above {MEASURE_UP_TO[preset]:,} the time of {SAMPLE + 1} "
        f"evaluations (C(w) and {SAMPLE} random coordinates, which are the ones compared) is "
        "scaled to n + 1 (marked 'scaled' in the figure). Seed 2."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _cost(X: cr.Tensor, y: np.ndarray, w: cr.Tensor) -> cr.Tensor:
    r = cr.tanh(X @ w) - y
    return (r * r).sum() * (0.5 / X.shape[0])


def _compare(X, y, w0, measure_all: bool, rng) -> dict:
    n = w0.size
    Xt = cr.tensor(X)
    backprop_s = np.inf
    for _ in range(5):
        w = cr.tensor(w0.copy(), requires_grad=True)
        start = time.perf_counter()
        _cost(Xt, y, w).backward()
        backprop_s = min(backprop_s, time.perf_counter() - start)
    grad = w.grad

    coords = np.arange(n) if measure_all else rng.choice(n, SAMPLE, replace=False)
    numeric = np.empty(coords.size)
    w_probe = w0.copy()
    with cr.no_grad():
        start = time.perf_counter()
        base = _cost(Xt, y, cr.tensor(w_probe)).item()
        for k, j in enumerate(coords):
            w_probe[j] += EPS
            numeric[k] = (_cost(Xt, y, cr.tensor(w_probe)).item() - base) / EPS
            w_probe[j] = w0[j]
        elapsed = time.perf_counter() - start
    numeric_s = elapsed if measure_all else elapsed * (n + 1) / (coords.size + 1)
    return {
        "n": n,
        "evaluations": n + 1,
        "backprop_s": backprop_s,
        "numeric_s": numeric_s,
        "measured": measure_all,
        "rel_error": relative_error(grad[coords], numeric),
    }


def _draw(rows: list[dict], path: Path) -> Path:
    fig, ax = plots.figure(width=6.4, height=4.2)
    ns = np.array([r["n"] for r in rows])
    ax.loglog(ns, [r["backprop_s"] for r in rows], "o-", label="backprop: 1 forward + 1 backward")
    ax.loglog(ns, [r["numeric_s"] for r in rows], "s-", label="finite differences: n + 1 costs")
    scaled = [r for r in rows if not r["measured"]]
    if scaled:
        ax.loglog(
            [r["n"] for r in scaled],
            [r["numeric_s"] for r in scaled],
            "s",
            mfc="white",
            color=plots.PALETTE[1],
            label=f"scaled from {SAMPLE + 1} timed evaluations",
        )
    ax.set_xlabel("number of parameters n")
    ax.set_ylabel("time for the whole gradient (s)")
    ax.set_title(
        "Time for one gradient: backprop costs about one cost evaluation,\n"
        "finite differences n + 1 of them"
    )
    ax.legend()
    return plots.save(fig, path, svg=True)[0]

"""Experiment 10: exponentially weighted averages smooth a noisy series; bias correction."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chainrule import plots
from chainrule.lab.base import Result, experiment
from chainrule.optim import ewma

BETAS = (0.5, 0.9, 0.98)


def _temperatures(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A year of daily 'temperatures' (the notes' example): a seasonal curve plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(days, dtype=np.float64)
    trend = 12.0 - 8.0 * np.cos(2.0 * np.pi * (t - 15.0) / 365.0)
    return trend, trend + rng.normal(0.0, 3.0, days)


@experiment(
    10,
    "ewma",
    "Exponentially weighted averages and bias correction",
    "V_t = beta V_{t-1} + (1 - beta) theta_t averages roughly the last 1 / (1 - beta) "
    "values (the weight of the value 1 / (1 - beta) days back, beta^(1 / (1 - beta)) times "
    "the newest's, is about 1/e for beta near 1): a larger beta gives a smoother curve that "
    "lags the data more. Starting from "
    "V_0 = 0 makes the first values too low: V_t's weights on the values seen so far sum "
    "to only 1 - beta^t. Dividing by 1 - beta^t corrects that early bias, making V_t the "
    "weighted mean of the values seen so far (on day 1, theta_1 itself), and changes "
    "nothing later on.",
    "002, 003",
)
def run(preset: str, outdir: Path) -> Result:
    days = 365  # both presets: a year of EWMA takes milliseconds
    seed = 0
    trend, theta = _temperatures(days, seed)
    head = 10  # the first days, where beta^t is far from 0 for beta = 0.98

    numbers: dict = {"days": days, "noise_std": 3.0, "theta_1": float(theta[0])}
    curves, corrected = {}, {}
    for beta in BETAS:
        v = ewma(theta, beta)
        vc = ewma(theta, beta, bias_correction=True)
        curves[beta], corrected[beta] = v, vc
        mean, weight_sum = _weighted_mean(theta, beta)
        shrunk = weight_sum * mean  # the notes' sum of beta^(t-i) (1 - beta) theta_i
        window = int(round(1.0 / (1.0 - beta)))
        rest = slice(3 * window, None)  # after the start-up transient has died out
        numbers[f"beta={beta}"] = {
            "window_1_over_1_minus_beta": window,
            "weight_at_window_over_newest": _weight_ratio(beta, window),
            "roughness": float(np.std(np.diff(vc[rest]))),
            "lag_days": _lag(vc[rest], trend[rest]),
            "head_error_uncorrected": float(np.mean(np.abs(v[:head] - trend[:head]))),
            "head_error_corrected": float(np.mean(np.abs(vc[:head] - trend[:head]))),
            "uncorrected_vs_shrunk_mean_max_gap": float(np.max(np.abs(v - shrunk))),
            "corrected_vs_weighted_mean_max_gap": float(np.max(np.abs(vc - mean))),
            "day_1_uncorrected_corrected": [float(v[0]), float(vc[0])],
            "late_gap_corrected_vs_not": float(np.max(np.abs(v[-30:] - vc[-30:]))),
        }
    raw_roughness = float(np.std(np.diff(theta)))
    numbers["raw_roughness"] = raw_roughness

    rough = [numbers[f"beta={b}"]["roughness"] for b in BETAS]
    lags = [numbers[f"beta={b}"]["lag_days"] for b in BETAS]
    big = numbers[f"beta={BETAS[-1]}"]
    smoother = rough[0] < raw_roughness and bool(np.all(np.diff(rough) < 0))
    lags_more = bool(np.all(np.diff(lags) > 0))
    # V_t is the mean of the values seen shrunk by its weights' sum 1 - beta^t; corrected,
    # the mean itself, to rounding (values of order 10)
    gaps = ("uncorrected_vs_shrunk_mean_max_gap", "corrected_vs_weighted_mean_max_gap")
    unc_gap, cor_gap = (max(numbers[f"beta={b}"][key] for b in BETAS) for key in gaps)
    bias_fixed = max(unc_gap, cor_gap) < 1e-9
    vanishes = big["late_gap_corrected_vs_not"] < 0.05
    ratios = {b: numbers[f"beta={b}"]["weight_at_window_over_newest"] for b in BETAS}
    one_over_e = all(abs(ratios[b] - np.exp(-1.0)) < 0.03 for b in BETAS if b >= 0.9)
    verdict = smoother and lags_more and bias_fixed and vanishes and one_over_e

    day_1 = big["day_1_uncorrected_corrected"]
    figures = [_draw_smoothing(outdir, theta, corrected), _draw_bias(outdir, theta, curves)]
    summary = (
        f"Day-to-day roughness (std of first differences) falls from {raw_roughness:.2f} (raw) "
        f"to {rough[0]:.2f} / {rough[1]:.3f} / {rough[2]:.3f} for beta = 0.5 / 0.9 / 0.98, "
        f"while the lag behind the true seasonal curve grows: {lags[0]} / {lags[1]} / "
        f"{lags[2]} days. Bias correction: for every beta and day the uncorrected V_t is the "
        f"weighted mean of the values seen so far times 1 - beta^t (to within {unc_gap:.1g}) "
        f"and the corrected one that mean (to within {cor_gap:.1g}); on day 1 with beta = "
        f"0.98, V_1 = {day_1[0]:.2f} and V_1 / (1 - beta) = {day_1[1]:.2f}, theta_1 = "
        f"{theta[0]:.2f}. Against "
        f"the noise-free curve the first {head} days are off by "
        f"{big['head_error_uncorrected']:.1f} degrees on average without bias correction and "
        f"{big['head_error_corrected']:.1f} with it; over the last 30 days "
        f"the two differ by at most {big['late_gap_corrected_vs_not']:.3f}. The value "
        f"1 / (1 - beta) days back weighs {ratios[0.9]:.3f} (beta = 0.9, 10 days) and "
        f"{ratios[0.98]:.3f} (beta = 0.98, 50 days) times the newest, against "
        f"1/e = {np.exp(-1.0):.3f}."
    )
    setup = (
        f"{days} daily values 12 - 8 cos(2 pi (t - 15) / 365) + N(0, 3^2) noise, seed {seed}; "
        "chainrule.optim.ewma with beta in (0.5, 0.9, 0.98), with and without "
        "bias_correction. Roughness and lag are measured after 3 / (1 - beta) days; the lag "
        "is the shift (in days) that best aligns the average with the noise-free curve. "
        "Weighted mean of the values seen by day t: sum_i w_i theta_i / sum_i w_i with "
        "w_i = beta^(t-i) (1 - beta), i = 1..t, computed directly (not by the recursion); "
        "the verdict asks the uncorrected V_t to equal (sum_i w_i) times it and the corrected "
        "one to equal it, within 1e-9."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _weighted_mean(theta: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """For each day t, the mean of theta_1..theta_t weighted by w_i = beta^(t-i) (1 - beta),
    sum_i w_i theta_i / sum_i w_i, and the weights' sum (1 - beta^t), by direct sums."""
    t = np.arange(len(theta))
    back = t[:, None] - t[None, :]  # t - i, negative above the diagonal: not yet seen
    weights = np.where(back >= 0, beta ** np.maximum(back, 0) * (1.0 - beta), 0.0)
    weight_sum = weights.sum(axis=1)
    return weights @ theta / weight_sum, weight_sum


def _weight_ratio(beta: float, window: int) -> float:
    """The weight in V_t of the value ``window`` days back over the newest one's, read off
    ``ewma`` itself: the average of an impulse that many days back, over that of a newest
    impulse (the notes' beta^x (1 - beta) against 1 - beta)."""
    impulse = np.zeros(window + 1)
    impulse[0] = 1.0
    back = ewma(impulse, beta)[-1]
    impulse[0], impulse[-1] = 0.0, 1.0
    return float(back / ewma(impulse, beta)[-1])


def _lag(smooth: np.ndarray, truth: np.ndarray, max_lag: int = 60) -> int:
    """The delay d (days) minimising the mean squared gap between smooth[t] and truth[t-d]."""
    errors = [np.mean((smooth[d:] - truth[: len(truth) - d]) ** 2) for d in range(max_lag)]
    return int(np.argmin(errors))


def _draw_smoothing(outdir: Path, theta: np.ndarray, corrected: dict) -> Path:
    fig, ax = plots.figure(width=7.0, height=4.0)
    days = np.arange(1, len(theta) + 1)
    ax.scatter(days, theta, s=6, color=plots.PALETTE[7], label="daily value theta_t")
    for colour, beta in zip(
        (plots.PALETTE[0], plots.PALETTE[2], plots.PALETTE[5]), BETAS, strict=True
    ):
        window = round(1.0 / (1.0 - beta))
        ax.plot(days, corrected[beta], color=colour, lw=2, label=f"beta = {beta} (~{window} days)")
    ax.set(
        title="EWMA: larger beta is smoother but lags (bias-corrected)",
        xlabel="day t",
        ylabel="temperature (degrees C)",
    )
    ax.legend(loc="upper left", fontsize=8)
    return plots.save(fig, outdir / "ewma_smoothing.png", svg=True)[0]


def _draw_bias(outdir: Path, theta: np.ndarray, curves: dict) -> Path:
    beta = BETAS[-1]
    fig, ax = plots.figure(width=7.0, height=4.0)
    n = min(len(theta), 120)
    days = np.arange(1, n + 1)
    ax.scatter(days, theta[:n], s=6, color=plots.PALETTE[7], label="daily value theta_t")
    ax.plot(days, curves[beta][:n], color=plots.PALETTE[6], lw=2, label="V_t (no correction)")
    corrected = curves[beta][:n] / (1.0 - beta**days)
    ax.plot(days, corrected, color=plots.PALETTE[2], lw=2, label="V_t / (1 - beta^t)")
    ax.set(
        title=f"Bias correction, beta = {beta}: V_0 = 0 drags the start down",
        xlabel="day t",
        ylabel="temperature (degrees C)",
    )
    ax.legend(loc="upper left", fontsize=8)
    return plots.save(fig, outdir / "ewma_bias_correction.png", svg=True)[0]

"""Experiment 17: gradient checking finds a planted backward bug, and dropout fools it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import plots
from chainrule.autodiff import node
from chainrule.functional import dropout
from chainrule.init import xavier_normal
from chainrule.lab.base import Result, experiment
from chainrule.losses import get_loss

SIZES = (4, 6, 6, 1)
NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
TOL = 1e-7
KEEP_PROB = 0.5


def _linear_with_wrong_bias_gradient(x, W, b):
    """x @ W + b whose backward averages db over the batch instead of summing it.

    A classic slip (dividing by m twice: the cost already has its 1/m); forward is right,
    so training still runs, just with a wrong bias gradient.
    """
    out = x.data @ W.data + b.data

    def vjp(g):
        return g @ W.data.T, x.data.T @ g, g.mean(axis=0)

    return node(out, (x, W, b), vjp, "linear_with_wrong_bias_gradient")


def _network(X, y, planted_bug: bool, keep_prob: float, seed: int):
    """The cost J(W1, b1, ..., b3) of a tanh net, optionally with a bug or dropout."""
    loss = get_loss("bce_with_logits")
    masks = np.random.default_rng(seed)  # advances at every call: a new mask per evaluation
    second = _linear_with_wrong_bias_gradient if planted_bug else cr.linear

    def cost(W1, b1, W2, b2, W3, b3):
        a1 = dropout(cr.tanh(cr.linear(X, W1, b1)), keep_prob, masks)
        a2 = dropout(cr.tanh(second(a1, W2, b2)), keep_prob, masks)
        return loss(cr.linear(a2, W3, b3), y)

    return cost


def _parameters(seed: int) -> list:
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(SIZES, SIZES[1:], strict=False):
        params.append(cr.tensor(xavier_normal((n_in, n_out), rng, "float64"), requires_grad=True))
        params.append(cr.tensor(0.1 * rng.standard_normal(n_out), requires_grad=True))
    return params


@experiment(
    17,
    "gradient_checking",
    "Gradient checking",
    "Comparing backprop's gradient with the two-sided difference (J(theta + eps) - "
    "J(theta - eps)) / (2 eps) catches a wrong backward pass: the relative error "
    "||d_approx - d|| / (||d_approx|| + ||d||) is about 1e-7 or less when it is right and far "
    "larger when it is wrong, and looking at which parameters fail tells where the bug is. "
    "With dropout on the check is meaningless (every evaluation draws a new mask), so turn "
    "it off (keep_prob = 1) to check gradients.",
    "002",
)
def run(preset: str, outdir: Path) -> Result:
    m = 16 if preset == "fast" else 64
    rng = np.random.default_rng(0)
    X = cr.tensor(rng.standard_normal((m, SIZES[0])))
    y = cr.tensor((rng.random((m, 1)) < 0.5).astype(np.float64))
    cases = {
        "correct backward": (False, 1.0),
        "planted bug in db2": (True, 1.0),
        f"correct backward, dropout keep_prob = {KEEP_PROB}": (False, KEEP_PROB),
    }
    numbers: dict = {"tolerance": TOL, "cases": {}}
    for label, (planted, keep_prob) in cases.items():
        check = cr.gradcheck(
            _network(X, y, planted, keep_prob, seed=1), *_parameters(seed=2), eps=1e-6, tol=TOL
        )
        errors = {name: rep.rel_error for name, rep in zip(NAMES, check.inputs, strict=True)}
        numbers["cases"][label] = {
            "passed": check.passed,
            "relative_errors": errors,
            "failing_parameters": [name for name, e in errors.items() if e > TOL],
            "report": str(check),
        }

    c = numbers["cases"]
    correct, buggy = c["correct backward"], c["planted bug in db2"]
    with_dropout = c[f"correct backward, dropout keep_prob = {KEEP_PROB}"]
    verdict = (
        correct["passed"]
        and buggy["failing_parameters"] == ["b2"]
        and buggy["relative_errors"]["b2"] > 1e-3
        and not with_dropout["passed"]
        and max(with_dropout["relative_errors"].values()) > 1e-3
    )

    figures = [_draw(outdir, c)]
    summary = (
        f"Correct backward: largest relative error "
        f"{max(correct['relative_errors'].values()):.1e} (passes at {TOL:g}). Planted bug "
        f"(db2 averaged instead of summed): failing parameters {buggy['failing_parameters']} "
        f"with relative error {buggy['relative_errors']['b2']:.2f}, every other parameter "
        f"below {max(e for k, e in buggy['relative_errors'].items() if k != 'b2'):.1e}. Same "
        f"correct backward with dropout keep_prob = {KEEP_PROB}: relative errors up to "
        f"{max(with_dropout['relative_errors'].values()):.2f}, a false alarm."
    )
    setup = (
        f"A tanh network {list(SIZES)} in float64 (Xavier weights, seed 2), bce_with_logits "
        f"on {m} random examples (seed 0); cr.gradcheck (full mode, eps 1e-6, random upstream "
        f"gradient seed 0, tolerance {TOL:g}) on all six parameters. The bug: layer 2's "
        "linear op with db = mean over the batch instead of the sum. Dropout: inverted "
        "dropout after each hidden layer, masks from one generator (seed 1) redrawn at "
        "every evaluation, as in training."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _draw(outdir: Path, cases: dict) -> Path:
    fig, ax = plots.figure(width=7.0, height=4.2)
    x = np.arange(len(NAMES))
    width = 0.27
    colours = (plots.PALETTE[2], plots.PALETTE[5], plots.PALETTE[0])
    for i, ((label, case), colour) in enumerate(zip(cases.items(), colours, strict=True)):
        errors = [max(case["relative_errors"][name], 1e-16) for name in NAMES]
        ax.bar(x + (i - 1) * width, errors, width, color=colour, label=label)
    ax.axhline(TOL, color="black", ls="--", lw=1, label=f"tolerance {TOL:g}")
    ax.set_yscale("log")
    ax.set_ylim(1e-11, 1e4)  # relative errors are <= 1; the room above holds the legend
    ax.set_xticks(x, NAMES)
    ax.set(
        title="Gradient check per parameter: the planted bug fails in b2 only",
        xlabel="parameter",
        ylabel="relative error (log scale)",
    )
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    return plots.save(fig, outdir / "gradient_checking.png", svg=True)[0]

"""Experiment 1: the computational graph of J = 3(a + bc), forward values and gradients."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import plots
from chainrule.lab.base import Result, experiment

# The course's example (its lecture; the notes give J = 3(a + bc) and the gradients 3, 6, 9
# only): a = 5, b = 3, c = 2 gives u = 6, v = 11, J = 33
INPUTS = {"a": 5.0, "b": 3.0, "c": 2.0}
# Node positions (x, y) in the drawing, left to right as the forward pass runs
LAYOUT = {"a": (0, 2), "b": (0, 1), "c": (0, 0), "u": (1, 0.5), "v": (2, 1.25), "J": (3, 1.25)}
EDGES = [("b", "u"), ("c", "u"), ("a", "v"), ("u", "v"), ("v", "J")]
FORMULAS = {"u": "u = b c", "v": "v = a + u", "J": "J = 3 v"}


@experiment(
    1,
    "graph",
    "The computational graph of J = 3(a + bc)",
    "A computation is a graph: the forward pass computes u = bc, v = a + u, J = 3v from left "
    "to right; the backward pass applies the chain rule from right to left, giving "
    "dJ/dv = 3, dJ/du = 3, dJ/da = 3, dJ/db = 3c = 6 and dJ/dc = 3b = 9 at a=5, b=3, c=2.",
    "004",
)
def run(preset: str, outdir: Path) -> Result:
    leaves = {k: cr.tensor(np.float64(v), requires_grad=True) for k, v in INPUTS.items()}
    a, b, c = leaves["a"], leaves["b"], leaves["c"]
    # The engine keeps gradients only in leaves, so the graph is cut at u and v: each is
    # the output of one segment and, as a leaf holding the same value, the input of the next.
    u = b * c
    u_in = cr.tensor(u.data, requires_grad=True)
    v = a + u_in
    v_in = cr.tensor(v.data, requires_grad=True)
    J = v_in * 3.0
    # One backward pass from J, right to left: each segment's backward is seeded with the
    # gradient its output received, computed once and reused by every path below it
    # (dJ/dv serves the path to a and the path through u to b and c).
    J.backward()
    v.backward(v_in.grad)
    u.backward(u_in.grad)
    # the same leaf gradients from one J.backward() over the uncut graph
    whole = {k: cr.tensor(np.float64(x), requires_grad=True) for k, x in INPUTS.items()}
    ((whole["a"] + whole["b"] * whole["c"]) * 3.0).backward()
    uncut_equal = all(float(whole[k].grad) == float(leaves[k].grad) for k in INPUTS)

    values = {"a": 5.0, "b": 3.0, "c": 2.0, "u": u.item(), "v": v.item(), "J": J.item()}
    grads = {
        "a": float(a.grad),
        "b": float(b.grad),
        "c": float(c.grad),
        "u": float(u_in.grad),
        "v": float(v_in.grad),
        "J": 1.0,
    }
    expected = {"a": 3.0, "b": 3.0 * INPUTS["c"], "c": 3.0 * INPUTS["b"], "u": 3.0, "v": 3.0}
    # finite differences of J(a, b, c) confirm the leaves' gradients independently
    eps = 1e-6
    numeric = {}
    for k in INPUTS:
        hi, lo = dict(INPUTS), dict(INPUTS)
        hi[k] += eps
        lo[k] -= eps
        numeric[k] = (_J(**hi) - _J(**lo)) / (2 * eps)
    max_err = max(abs(grads[k] - expected[k]) for k in expected)
    max_fd_err = max(abs(grads[k] - numeric[k]) for k in INPUTS)
    verdict = values["J"] == 33.0 and max_err < 1e-12 and max_fd_err < 1e-6 and uncut_equal

    figures = [_draw(values, grads, outdir / "graph.png")]
    numbers = {
        "J": values["J"],
        "forward_values": {k: values[k] for k in ("u", "v", "J")},
        "backprop_gradients": {k: grads[k] for k in ("a", "b", "c", "u", "v")},
        "notes_gradients": expected,
        "finite_difference_gradients": {k: round(numeric[k], 9) for k in INPUTS},
        "max_abs_error_vs_notes": max_err,
        "max_abs_error_vs_finite_differences": max_fd_err,
        "leaf_gradients_equal_uncut_graph": uncut_equal,
    }
    summary = (
        f"chainrule's backward pass gives dJ/da = {grads['a']:g}, dJ/db = {grads['b']:g}, "
        f"dJ/dc = {grads['c']:g} (notes: 3, 6, 9; largest difference {max_err:.1e}; "
        f"central differences agree to {max_fd_err:.1e}), and J = {values['J']:g}."
    )
    setup = (
        "Scalars a=5, b=3, c=2 as float64 chainrule tensors; J = 3(a + bc) built from "
        "primitives mul and add in three segments, cut at u and v (u and v are each a "
        "segment's output and, as leaves of the same value, the next segment's input, since "
        "only leaves keep .grad). Backward from J: J.backward() gives dJ/dv, "
        "v.backward(dJ/dv) gives dJ/da and dJ/du, u.backward(dJ/du) gives dJ/db and dJ/dc, "
        "each upstream gradient computed once and reused; a single J.backward() over the "
        "uncut graph gives the same leaf gradients; finite differences with eps = 1e-6."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _J(a: float, b: float, c: float) -> float:
    return 3.0 * (a + b * c)


def _draw(values: dict, grads: dict, path: Path) -> Path:
    fig, ax = plots.figure(width=8.0, height=4.2)
    blue, vermillion = plots.PALETTE[4], plots.PALETTE[5]
    for src, dst in EDGES:
        (x0, y0), (x1, y1) = LAYOUT[src], LAYOUT[dst]
        ax.annotate(
            "",
            xy=(x1 - 0.16, y1 + (y0 - y1) * 0.16 / max(x1 - x0, 1e-9)),
            xytext=(x0 + 0.16, y0 + (y1 - y0) * 0.16 / max(x1 - x0, 1e-9)),
            arrowprops={"arrowstyle": "->", "color": "#555", "lw": 1.4},
        )
    for name, (x, y) in LAYOUT.items():
        ax.add_patch(plots.pyplot().Circle((x, y), 0.15, color="#eeeeee", ec="#333", zorder=2))
        ax.text(x, y, name, ha="center", va="center", fontsize=14, zorder=3)
        label = FORMULAS.get(name, f"{name} (input)")
        ax.text(x, y + 0.24, label, ha="center", fontsize=9, color="#333")
        ax.text(x, y - 0.27, f"{name} = {values[name]:g}", ha="center", color=blue, fontsize=10)
        ax.text(
            x, y - 0.42, f"dJ/d{name} = {grads[name]:g}", ha="center", color=vermillion, fontsize=10
        )
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(-0.65, 2.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(
        "J = 3(a + bc): forward values (blue, left to right), "
        "backward gradients (orange, right to left)"
    )
    return plots.save(fig, path, svg=True)[0]

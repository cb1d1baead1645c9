"""Experiment 6: initialization: symmetry, saturation, and keeping variances near one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, optim, plots
from chainrule.data import make_circles
from chainrule.lab.base import Result, experiment
from chainrule.lab.boundary import accuracy
from chainrule.losses import cross_entropy

INITS = {
    "zeros": {"name": "zeros"},
    "N(0,1) * 10": {"name": "normal", "std": 10.0},
    "He": "he_normal",
}
SYMMETRIC = {"name": "constant", "value": 0.5}
SCALES = {"N(0,1)": {"name": "normal", "std": 1.0}, "Xavier": "xavier_normal", "He": "he_normal"}
EPOCHS = {"fast": 300, "full": 1500}
LR = 0.1
WIDTH, DEPTH = 100, 10  # of the nets whose activations are traced


@experiment(
    6,
    "initialization",
    "Initialization: zeros, large random, He; activation scales per layer",
    "Weights that start equal keep every hidden unit of a layer identical: each unit "
    "computes the same function and gets the same update, so symmetry is never broken and "
    "the network is no better than one unit per layer; all zeros (with ReLU nothing moves "
    "at all) stays near 50% on circles. Large "
    "random weights (N(0,1) * 10) start with a huge cost and learn slowly; He "
    "initialization (std sqrt(2/n)) learns fast. Weights should have variance about 1/n "
    "(Xavier, for tanh) or 2/n (He, for ReLU) so activations keep their scale through a "
    "deep net; N(0,1) saturates tanh and makes ReLU activations explode.",
    "000",
)
def run(preset: str, outdir: Path) -> Result:
    X, y = make_circles(300, noise=0.08, factor=0.5, seed=6)
    epochs = EPOCHS[preset]
    curves, acc, models = {}, {}, {}
    for label, init in INITS.items():
        model = nn.MLP([2, 10, 5, 2], activation="relu", init=init, seed=6)
        curves[label] = _descend(model, X, y, epochs)
        acc[label] = accuracy(model, X, y)
        models[label] = model
    # zeros with ReLU receive no gradient at all; a nonzero constant shows the symmetry
    equal_start = nn.MLP([2, 10, 5, 2], activation="relu", init=SYMMETRIC, seed=6)
    _descend(equal_start, X, y, epochs)
    W1 = equal_start.layers[0].weight.data
    units_equal = bool(np.all(W1[:, :1] == W1))
    moved = float(np.abs(W1 - SYMMETRIC["value"]).max())
    acc_equal = accuracy(equal_start, X, y)
    first = {k: c[0] for k, c in curves.items()}
    final = {k: c[-1] for k, c in curves.items()}

    spreads, saturation = _trace_activations()
    verdict = (
        units_equal
        and moved > 1e-3
        and acc_equal < 0.75
        and abs(acc["zeros"] - 0.5) < 0.05
        and acc["He"] > 0.9
        and first["N(0,1) * 10"] > 100 * first["He"]
        and final["N(0,1) * 10"] > 2 * final["He"]
        and acc["He"] >= acc["N(0,1) * 10"]
        and spreads["tanh"]["Xavier"][-1] > 0.1
        and saturation["N(0,1)"] > 0.5 > 0.05 > saturation["Xavier"]
        and 0.3 < spreads["relu"]["He"][-1] < 3.0
        and spreads["relu"]["N(0,1)"][-1] > 1e3 * spreads["relu"]["He"][-1]
    )
    figures = [
        _draw_training(curves, acc, outdir / "init_training.png"),
        _draw_spreads(spreads, outdir / "activation_scales.png"),
    ]
    numbers = {
        "train_accuracy": acc,
        "equal_init_hidden_units_equal": units_equal,
        "equal_init_first_layer_moved": moved,
        "equal_init_accuracy": acc_equal,
        "first_cost": first,
        "final_cost": final,
        "activation_std_layer_10": {
            act: {k: v[-1] for k, v in per.items()} for act, per in spreads.items()
        },
        "tanh_saturated_share_layer_10": saturation,
    }
    summary = (
        f"All weights {SYMMETRIC['value']}: after {epochs} steps the first layer's weights "
        f"had moved by up to {moved:.3g}, yet its units were all identical ({units_equal}); "
        f"accuracy {acc_equal:.0%}. Zero init: accuracy {acc['zeros']:.0%}. N(0,1)*10: "
        f"cost {first['N(0,1) * 10']:.4g} at the start, "
        f"{final['N(0,1) * 10']:.3g} after {epochs} steps, accuracy "
        f"{acc['N(0,1) * 10']:.0%}. He: cost {first['He']:.3g} -> {final['He']:.3g}, "
        f"accuracy {acc['He']:.0%}. After {DEPTH} layers the activation std is "
        f"{spreads['tanh']['Xavier'][-1]:.2f} for tanh + Xavier ({saturation['Xavier']:.1%} "
        f"saturated) and {spreads['relu']['He'][-1]:.2f} for ReLU + He; under N(0,1) "
        f"{saturation['N(0,1)']:.0%} of tanh units saturate (|a| > 0.99) and ReLU's std "
        f"reaches {spreads['relu']['N(0,1)'][-1]:.3g}; ReLU + Xavier shrinks to "
        f"{spreads['relu']['Xavier'][-1]:.3f}."
    )
    setup = (
        "Training: make_circles(300, noise 0.08, factor 0.5, seed 6); MLP [2, 10, 5, 2] "
        "ReLU (the course's 3-layer net), cross-entropy on logits, plain gradient descent "
        f"(SGD lr {LR}, full batch), {epochs} steps, seed 6; inits zeros, N(0,1) * 10, He, "
        f"and for the symmetry check every weight {SYMMETRIC['value']} (biases 0). "
        f"Scales: {DEPTH} layers of "
        f"{WIDTH} units, input 1000 x {WIDTH} standard normal (seed 6), forward pass only, "
        "biases zero."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _descend(model, X, y, steps: int) -> list[float]:
    """Full-batch gradient descent; the cost before each step."""
    opt = optim.SGD(model.named_parameters(), lr=LR)
    x, costs = cr.tensor(X), []
    for _ in range(steps):
        opt.zero_grad()
        cost = cross_entropy(model(x), y)
        costs.append(cost.item())
        cost.backward()
        opt.step()
    return costs


def _trace_activations() -> tuple[dict, dict]:
    """Per-layer activation std of deep tanh/ReLU nets under each scale; tanh saturation."""
    x = np.random.default_rng(6).standard_normal((1000, WIDTH)).astype(np.float32)
    spreads, saturation = {}, {}
    for act in ("tanh", "relu"):
        spreads[act] = {}
        for label, init in SCALES.items():
            model = nn.MLP([WIDTH] * (DEPTH + 1) + [1], activation=act, init=init, seed=6)
            stds, a = [], cr.tensor(x)
            with cr.no_grad():
                for layer in model.layers:
                    a = layer(a)
                    if not isinstance(layer, nn.Linear):
                        stds.append(float(a.data.std()))
            spreads[act][label] = stds
            if act == "tanh":
                saturation[label] = float((np.abs(a.data) > 0.99).mean())
    return spreads, saturation


def _draw_training(curves: dict, acc: dict, path: Path) -> Path:
    fig, ax = plots.figure(width=6.0, height=4.0)
    for label, c in curves.items():
        ax.semilogy(np.arange(1, len(c) + 1), c, label=f"{label} init: {acc[label]:.0%} accuracy")
    ax.set_xlabel("full-batch gradient descent step")
    ax.set_ylabel("training cost (cross-entropy, log scale)")
    ax.set_title("3-layer ReLU net on circles under three initializations")
    ax.legend()
    return plots.save(fig, path, svg=True)[0]


def _draw_spreads(spreads: dict, path: Path) -> Path:
    fig, axes = plots.figure(ncols=2, width=4.8, height=3.8)
    layers = np.arange(1, DEPTH + 1)
    for ax, (act, per) in zip(axes[0], spreads.items(), strict=False):
        for label, stds in per.items():
            ax.plot(layers, stds, "o-", ms=3, label=f"{label}")
        ax.set_title(f"{DEPTH}-layer {act} net: activation scale per layer")
        ax.set_xlabel("hidden layer")
        if act == "relu":  # spans ten decades; tanh stays within [0, 1]
            ax.set_yscale("log")
            ax.set_ylabel("std of activations (log scale)")
        else:
            ax.set_ylim(0, 1.05)
            ax.set_ylabel("std of activations (|a| <= 1)")
        ax.legend(title="weight init")
    return plots.save(fig, path, svg=True)[0]

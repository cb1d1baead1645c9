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
WORKED_INPUTS, WORKED_UNITS = 1000, 20_000  # seed 001's p inputs, and units sampled
SCALES = {"N(0,1)": {"name": "normal", "std": 1.0}, "Xavier": "xavier_normal", "He": "he_normal"}
EPOCHS = {"fast": 300, "full": 1500}
LR = 0.1
WIDTH, DEPTH = 100, 10  # of the nets whose activations are traced
MEAN_FIELD_TOL = 0.15  # tanh + Xavier's std per layer against the infinite-width recursion


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
    "(Xavier, for tanh) or 2/n (He, for ReLU), so that their effect compounded over the "
    "layers is neither too large nor too small. Through 10 layers N(0,1) saturates most "
    "tanh units and makes ReLU activations explode, and 1/n halves ReLU's variance at every "
    "layer; He keeps ReLU's activations at their scale, and with 1/n almost no tanh unit "
    "saturates while their std shrinks only slowly, as the mean-field recursion predicts "
    "(about 1/sqrt(2l) at layer l: tanh(z) is a little below z), not by a constant factor "
    "per layer. The notes' worked example: with N(0,1) weights and bias and "
    "half of p inputs equal to 1, z has standard deviation sqrt(p/2 + 1) and sigmoid(z) "
    "saturates; with standard deviation 1/sqrt(n_in + 1) z is of order 1 and most units "
    "start away from 0 and 1.",
    "002, 001, 000",
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
    hidden = [layer for layer in equal_start.layers[:-1] if isinstance(layer, nn.Linear)]
    units_equal = all(
        np.all(param.data[..., :1] == param.data)
        for layer in hidden
        for param in (layer.weight, layer.bias)
    )
    W1 = hidden[0].weight.data
    moved = float(np.abs(W1 - SYMMETRIC["value"]).max())
    acc_equal = accuracy(equal_start, X, y)
    first = {k: c[0] for k, c in curves.items()}
    final = {k: c[-1] for k, c in curves.items()}

    spreads, saturation = _trace_activations()
    predicted = _mean_field_tanh(DEPTH)
    measured = spreads["tanh"]["Xavier"]
    off_prediction = max(abs(m / p - 1) for m, p in zip(measured, predicted, strict=True))
    worked = _worked_example()
    p, big, small = WORKED_INPUTS, worked["N(0, 1)"], worked["N(0, 1/(n_in + 1))"]
    verdict = bool(
        abs(worked["N(0, 1)"]["z_std"] / np.sqrt(p / 2 + 1) - 1) < 0.03
        and abs(worked["N(0, 1/(n_in + 1))"]["z_std"] / np.sqrt((p / 2 + 1) / (p + 1)) - 1) < 0.03
        and worked["N(0, 1)"]["saturated"] > 0.8
        and worked["N(0, 1/(n_in + 1))"]["saturated"] < 0.001
        and units_equal
        and moved > 1e-3
        and acc_equal < 0.75
        and abs(acc["zeros"] - 0.5) < 0.05
        and acc["He"] > 0.9
        and first["N(0,1) * 10"] > 100 * first["He"]
        and final["N(0,1) * 10"] > 2 * final["He"]
        and acc["He"] >= acc["N(0,1) * 10"]
        and off_prediction < MEAN_FIELD_TOL
        and saturation["N(0,1)"] > 0.5 > 0.01 > saturation["Xavier"]
        and 0.3 < spreads["relu"]["He"][-1] < 3.0
        and spreads["relu"]["N(0,1)"][-1] > 1e3 * spreads["relu"]["He"][-1]
        and spreads["relu"]["Xavier"][-1] < 0.1 * spreads["relu"]["He"][-1]
    )
    figures = [
        _draw_training(curves, acc, outdir / "init_training.png"),
        _draw_spreads(spreads, predicted, outdir / "activation_scales.png"),
        _draw_worked(worked, outdir / "worked_example_z.png"),
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
        "tanh_xavier_std_per_layer": spreads["tanh"]["Xavier"],
        "tanh_xavier_std_mean_field": predicted,
        "tanh_xavier_max_relative_gap_to_mean_field": off_prediction,
        "worked_example_inputs": p,
        "worked_example": {
            k: {"z_std": v["z_std"], "saturated": v["saturated"]} for k, v in worked.items()
        },
    }
    summary = (
        f"All weights {SYMMETRIC['value']}: after {epochs} steps the first layer's weights "
        f"had moved by up to {moved:.3g}, yet the units of each hidden layer stayed "
        f"identical ({units_equal}); "
        f"accuracy {acc_equal:.0%}. Zero init: accuracy {acc['zeros']:.0%}. N(0,1)*10: "
        f"cost {first['N(0,1) * 10']:.4g} at the start, "
        f"{final['N(0,1) * 10']:.3g} after {epochs} steps, accuracy "
        f"{acc['N(0,1) * 10']:.0%}. He: cost {first['He']:.3g} -> {final['He']:.3g}, "
        f"accuracy {acc['He']:.0%}. Over {DEPTH} hidden layers the activation std goes "
        f"from {measured[0]:.2f} to {measured[-1]:.2f} "
        f"for tanh + Xavier (mean-field prediction {predicted[0]:.2f} to {predicted[-1]:.2f}, "
        f"at most {off_prediction:.1%} off at any layer; 1/sqrt(2 * {DEPTH}) = "
        f"{1 / np.sqrt(2 * DEPTH):.2f}) and ends at "
        f"{spreads['relu']['He'][-1]:.2f} for ReLU + He; in the {DEPTH}th tanh layer "
        f"{saturation['N(0,1)']:.0%} of the activations saturate (|a| > 0.99) under N(0,1), "
        f"{saturation['Xavier']:.2%} under Xavier and {saturation['He']:.2%} under He; "
        f"under N(0,1) ReLU's std reaches {spreads['relu']['N(0,1)'][-1]:.3g}; ReLU + Xavier "
        f"shrinks to {spreads['relu']['Xavier'][-1]:.3f}. Worked example (p = {p}, half the "
        f"inputs 1): z's std is {big['z_std']:.2f} under N(0,1) (sqrt(p/2 + 1) = "
        f"{np.sqrt(p / 2 + 1):.2f}), {big['saturated']:.0%} of sigmoid units saturated; "
        f"{small['z_std']:.3f} under std 1/sqrt(n_in + 1) (sqrt((p/2 + 1)/(p + 1)) = "
        f"{np.sqrt((p / 2 + 1) / (p + 1)):.3f}: the notes' 'std 1' holds when every input is "
        f"1), {small['saturated']:.1%} saturated."
    )
    setup = (
        "Training: make_circles(300, noise 0.08, factor 0.5, seed 6); MLP [2, 10, 5, 2] "
        "ReLU (the course's 3-layer net), cross-entropy on logits, plain gradient descent "
        f"(SGD lr {LR}, full batch), {epochs} steps, seed 6; inits zeros, N(0,1) * 10, He, "
        f"and for the symmetry check every weight {SYMMETRIC['value']} (biases 0). "
        f"Scales: {DEPTH} hidden layers of {WIDTH} units and one output unit, input 1000 x "
        f"{WIDTH} standard normal (seed 6), forward pass only, biases zero; saturated = "
        f"share of the {DEPTH}th tanh layer's activations with |a| > 0.99; mean-field "
        "prediction for tanh + Xavier (variance 1/n for these square layers): q_0 = 1 (the "
        "input's variance), q_l = E[tanh(sqrt(q_(l-1)) u)^2], u ~ N(0, 1) (Gauss-Hermite "
        f"quadrature), std sqrt(q_l); the measured std must be within {MEAN_FIELD_TOL:.0%} "
        "of it at every layer. Worked example: "
        "p = 1000 inputs, the first half 1, 20,000 units with w and b from N(0, 1) or "
        "N(0, 1/(p + 1)) (seed 6); saturated = |z| > ln 99."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _worked_example() -> dict:
    """Seed 001's first hidden layer: ``WORKED_INPUTS`` inputs, half 1 and half 0, and
    ``WORKED_UNITS`` units z = w . x + b with w and b drawn from N(0, 1) or from N(0, 1 /
    (n_in + 1)); the std of z over the units, and the share with sigmoid(z) within 0.01 of
    0 or 1 (|z| > ln 99)."""
    rng = np.random.default_rng(6)
    p = WORKED_INPUTS
    x = np.zeros(p)
    x[: p // 2] = 1.0
    out = {}
    for label, std in (("N(0, 1)", 1.0), ("N(0, 1/(n_in + 1))", 1.0 / np.sqrt(p + 1))):
        z = np.concatenate(
            [  # blocks of 4000 units: each W block is 32 MB
                rng.standard_normal((4000, p)) @ x + rng.standard_normal(4000)
                for _ in range(WORKED_UNITS // 4000)
            ]
        )
        z *= std
        out[label] = {
            "z": z,
            "z_std": float(z.std()),
            "saturated": float(np.mean(np.abs(z) > np.log(99.0))),
        }
    return out


def _mean_field_tanh(depth: int) -> list[float]:
    """The std of each of ``depth`` tanh layers' activations that the infinite-width
    (mean-field) recursion predicts for weights of variance 1/n_in and zero biases, from
    inputs of variance 1: the pre-activations of layer l are N(0, q_(l-1)) with q_0 = 1,
    so q_l = E[tanh(sqrt(q_(l-1)) u)^2], u ~ N(0, 1), by 101-point Gauss-Hermite
    quadrature; the std is sqrt(q_l). For small q, E[tanh^2] ~ q - 2 q^2, so q_l ~ 1/(2l)."""
    u, weights = np.polynomial.hermite_e.hermegauss(101)
    weights = weights / weights.sum()
    q, stds = 1.0, []
    for _ in range(depth):
        q = float(weights @ np.tanh(np.sqrt(q) * u) ** 2)
        stds.append(float(np.sqrt(q)))
    return stds


def _descend(model, X, y, steps: int) -> list[float]:
    """Full-batch gradient descent; the cost before each step and after the last
    (``steps + 1`` values)."""
    opt = optim.SGD(model.named_parameters(), lr=LR)
    x, costs = cr.tensor(X), []
    for _ in range(steps):
        opt.zero_grad()
        cost = cross_entropy(model(x), y)
        costs.append(cost.item())
        cost.backward()
        opt.step()
    with cr.no_grad():
        costs.append(cross_entropy(model(x), y).item())
    return costs


def _trace_activations() -> tuple[dict, dict]:
    """Forward pass of a 1000 x ``WIDTH`` standard normal input (seed 6) through MLPs of
    ``DEPTH`` hidden layers of ``WIDTH`` units and one output unit, per activation
    (tanh, relu) and weight scale in ``SCALES`` (seed 6, biases zero).

    Returns ``spreads[act][label]``, the std of each hidden layer's activations (``DEPTH``
    values, first layer first), and ``saturation[label]``, the share of the last tanh
    layer's activations with |a| > 0.99. The output ``Linear`` is not traced.
    """
    x = np.random.default_rng(6).standard_normal((1000, WIDTH)).astype(np.float32)
    spreads, saturation = {}, {}
    for act in ("tanh", "relu"):
        spreads[act] = {}
        for label, init in SCALES.items():
            model = nn.MLP([WIDTH] * (DEPTH + 1) + [1], activation=act, init=init, seed=6)
            stds, a = [], cr.tensor(x)
            with cr.no_grad():
                for layer in model.layers[:-1]:  # the hidden layers, not the output Linear
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
        ax.semilogy(np.arange(len(c)), c, label=f"{label} init: {acc[label]:.0%} accuracy")
    ax.set_xlabel("full-batch gradient descent steps taken")
    ax.set_ylabel("training cost (cross-entropy, log scale)")
    ax.set_title("3-layer ReLU net on circles under three initializations")
    ax.legend()
    return plots.save(fig, path, svg=True)[0]


def _draw_spreads(spreads: dict, predicted: list[float], path: Path) -> Path:
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
            ax.plot(layers, predicted, "k--", lw=1, label="Xavier, mean-field prediction")
            ax.set_ylim(0, 1.4)  # room for the legend above N(0,1)'s line at about 1
            ax.set_ylabel("std of activations (|a| <= 1)")
        ax.legend(title="weight init", ncols=2, fontsize=8, loc="upper left")
    return plots.save(fig, path, svg=True)[0]


def _draw_worked(worked: dict, path: Path) -> Path:
    fig, ax = plots.figure(width=6.0, height=4.0)
    edges = np.linspace(-80, 80, 161)
    for label, run in worked.items():
        ax.hist(run["z"], bins=edges, histtype="step", density=True, lw=1.4,
                label=f"w, b ~ {label}: std of z {run['z_std']:.2f}")  # fmt: skip
    ax.axvspan(-np.log(99.0), np.log(99.0), color="#ddd", label="sigmoid(z) in (0.01, 0.99)")
    ax.set_yscale("log")
    ax.set_xlabel(f"z = w . x + b, {WORKED_INPUTS} inputs, half of them 1")
    ax.set_ylabel("density (log scale)")
    ax.set_title("The notes' worked example: z of a first hidden layer")
    ax.legend(fontsize=8)
    return plots.save(fig, path, svg=True)[0]

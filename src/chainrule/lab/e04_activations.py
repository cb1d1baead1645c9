"""Experiment 4: activations, their derivatives, and why a network needs a non-linearity."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, optim, plots
from chainrule.data import make_circles
from chainrule.lab.base import Result, experiment
from chainrule.lab.boundary import accuracy, draw_boundary
from chainrule.train import fit

# name -> (closed-form derivative of the activation at z), the notes' formulas
DERIVATIVES = {
    "sigmoid": lambda z: (s := 1 / (1 + np.exp(-z))) * (1 - s),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(z.dtype),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01),
}
EPOCHS = {"fast": 60, "full": 200}
DEPTH = 5  # hidden layers of the deep nets


@experiment(
    4,
    "activations",
    "Activations, their derivatives, and the collapse of a linear network",
    "sigmoid'(z) = s(1 - s) peaks at 0.25, tanh'(z) = 1 - tanh^2 peaks at 1, ReLU's "
    "derivative is 0 or 1 and leaky ReLU's 0.01 or 1. Without a non-linear activation a "
    "network of any depth computes a product of matrices, i.e. one linear function: a deep "
    "linear network is a linear model and cannot fit a non-linear boundary, while the same "
    "network with tanh can.",
    "000, 002",
)
def run(preset: str, outdir: Path) -> Result:
    z = np.linspace(-5.0, 5.0, 1001)
    curves, deriv_err = {}, {}
    for name in DERIVATIVES:
        zt = cr.tensor(z, requires_grad=True)
        a = nn.get_activation(name)(zt)
        a.sum().backward()  # elementwise: the gradient of the sum is the derivative
        curves[name] = (a.data, zt.grad)
        # exclude z = 0, where ReLU's derivative is a convention
        away = np.abs(z) > 1e-9
        deriv_err[name] = float(np.abs(zt.grad - DERIVATIVES[name](z))[away].max())
    peaks = {name: float(d.max()) for name, (_, d) in curves.items()}

    X, y = make_circles(400, noise=0.08, factor=0.5, seed=4)
    epochs = EPOCHS[preset]
    models = {}
    for act in ("identity", "tanh"):
        model = nn.MLP([2] + [16] * DEPTH + [2], activation=act, seed=4)
        fit(
            model,
            "cross_entropy",
            optim.Adam(model.named_parameters(), lr=0.01),
            X,
            y,
            epochs=epochs,
            batch_size=64,
            seed=4,
            progress=False,
        )
        models[act] = model
    acc = {act: accuracy(m, X, y) for act, m in models.items()}
    collapse_err = _collapse_error(models["identity"], X)

    verdict = (
        max(deriv_err.values()) < 1e-6
        and abs(peaks["sigmoid"] - 0.25) < 1e-3
        and abs(peaks["tanh"] - 1.0) < 1e-3
        and collapse_err < 1e-4
        and acc["identity"] < 0.7
        and acc["tanh"] > 0.95
    )
    figures = [
        _draw_activations(z, curves, outdir / "activations.png"),
        _draw_boundaries(models, acc, X, y, outdir / "linear_vs_tanh.png"),
    ]
    numbers = {
        "max_derivative_error_vs_formula": deriv_err,
        "derivative_peak": peaks,
        "depth_hidden_layers": DEPTH,
        "train_accuracy": acc,
        "linear_net_vs_single_matrix_max_abs_diff": collapse_err,
    }
    summary = (
        f"Backprop derivatives match the closed forms to {max(deriv_err.values()):.1e}; "
        f"sigmoid' peaks at {peaks['sigmoid']:.3f}, tanh' at {peaks['tanh']:.3f}. The "
        f"{DEPTH}-hidden-layer network without activation equals one matrix x @ W + b to "
        f"{collapse_err:.1e} and reaches {acc['identity']:.0%} training accuracy on the "
        f"circles; with tanh the same network reaches {acc['tanh']:.0%}."
    )
    setup = (
        "Derivatives: chainrule activation layers on z in [-5, 5] (1001 points, float64), "
        "gradient of sum(a) by backprop. Networks: MLP 2 -> "
        + " -> ".join(["16"] * DEPTH)
        + " -> 2, identity vs tanh activation, Xavier normal init, cross-entropy on logits, "
        f"Adam lr 0.01, batch 64, {epochs} epochs, make_circles(400, noise 0.08, factor "
        "0.5, seed 4), seed 4."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _collapse_error(model, X) -> float:
    """Largest difference between the linear network and its one-matrix equivalent."""
    W = np.eye(X.shape[1], dtype=np.float64)
    b = np.zeros(X.shape[1])
    for layer in model.layers:
        if isinstance(layer, nn.Linear):
            W, b = W @ layer.weight.data, b @ layer.weight.data + layer.bias.data
    with cr.no_grad():
        net = model(cr.tensor(X)).data
    return float(np.abs(net - (X @ W + b)).max())


def _draw_activations(z, curves: dict, path: Path) -> Path:
    fig, axes = plots.figure(ncols=2, width=4.8, height=3.6)
    styles = {
        "sigmoid": (plots.PALETTE[0], "-"),
        "tanh": (plots.PALETTE[1], "-"),
        "relu": (plots.PALETTE[2], "-"),
        "leaky_relu": (plots.PALETTE[5], "--"),  # dashed: it lies on top of relu for z > 0
    }
    for name, (a, d) in curves.items():
        color, ls = styles[name]
        label = "leaky_relu (alpha = 0.01)" if name == "leaky_relu" else name
        axes[0, 0].plot(z, a, color=color, ls=ls, label=label)
        axes[0, 1].plot(z, d, color=color, ls=ls, label=label)
    axes[0, 0].set_title("Activations g(z)")
    axes[0, 0].set_ylabel("g(z)")
    axes[0, 1].set_title("Derivatives g'(z), computed by backprop")
    axes[0, 1].set_ylabel("g'(z)")
    for ax in axes[0]:
        ax.set_xlabel("z")
        ax.legend()
    return plots.save(fig, path, svg=True)[0]


def _draw_boundaries(models: dict, acc: dict, X, y, path: Path) -> Path:
    fig, axes = plots.figure(ncols=2, width=4.4, height=4.0)
    for ax, (act, model) in zip(axes[0], models.items(), strict=False):
        label = "no activation (linear)" if act == "identity" else act
        draw_boundary(ax, model, X, y, f"{DEPTH} hidden layers, {label}: {acc[act]:.0%}")
    axes[0, 0].legend(loc="upper right")
    return plots.save(fig, path, svg=True)[0]

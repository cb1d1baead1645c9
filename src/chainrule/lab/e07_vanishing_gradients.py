"""Experiment 7: vanishing and exploding gradients in deep networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, optim, plots
from chainrule.data import Standardizer, make_moons
from chainrule.lab.base import Result, experiment
from chainrule.losses import cross_entropy
from chainrule.train import fit

WIDTH = 32
DEPTHS = {"fast": [2, 6, 10], "full": [2, 4, 6, 8, 10, 12, 15]}
TRAIN_EPOCHS = {"fast": 5, "full": 30}
# vanished (exploded): the first layer's RMS below 1/APART (above APART) times the output
# layer's; the same scale: no two layers' RMS APART or more apart (see _holds)
APART = 100.0
NETS = {  # label -> (activation, weight init)
    "sigmoid, Xavier": ("sigmoid", "xavier_normal"),
    "ReLU, He": ("relu", "he_normal"),
    "ReLU, N(0,1)": ("relu", {"name": "normal", "std": 1.0}),
}


@experiment(
    7,
    "vanishing_gradients",
    "Vanishing and exploding gradients",
    "In a deep network backprop multiplies, layer after layer, by the weights and by "
    "sigma'(z) <= 1/4: with sigmoid units the gradient shrinks geometrically toward the "
    "input, so early layers learn far more slowly than late ones, the more so the deeper "
    "the network (vanishing gradients); with weights too large it grows geometrically "
    "instead (exploding). ReLU, whose derivative is 1 where active, with He "
    "initialization keeps it bounded: at every depth its layers' gradients stay within "
    f"a factor {APART:g} of each other (the factor by which sigmoid's vanish within a few "
    "layers), a bound that does not grow with depth, so they neither vanish nor explode "
    "as layers are added.",
    "001, 004",
)
def run(preset: str, outdir: Path) -> Result:
    X, y = make_moons(256, noise=0.2, seed=7)
    X = Standardizer().fit_transform(X)
    deepest = DEPTHS[preset][-1]
    norms = {
        label: [_layer_norms(act, init, d, X, y) for d in DEPTHS[preset]]
        for label, (act, init) in NETS.items()
    }
    per_layer = {label: ns[-1] for label, ns in norms.items()}
    ratio = {label: _ratio(n) for label, n in per_layer.items()}
    spread = {label: _spread(n) for label, n in per_layer.items()}
    by_depth = {label: [_ratio(n) for n in ns] for label, ns in norms.items()}
    spread_by_depth = {label: [_spread(n) for n in ns] for label, ns in norms.items()}
    speeds = _learning_speeds(deepest, X, y, TRAIN_EPOCHS[preset])
    figures = [
        _draw_layers(per_layer, deepest, outdir / "gradient_norms_per_layer.png"),
        _draw_depth(by_depth, DEPTHS[preset], outdir / "first_over_last_vs_depth.png"),
        _draw_speed(speeds, outdir / "learning_speed_per_layer.png"),
    ]
    numbers = {
        "hidden_layers": deepest,
        "first_over_last_gradient_rms": ratio,
        "largest_over_smallest_layer": spread,
        "depths": DEPTHS[preset],
        "first_over_last_by_depth": by_depth,
        "largest_over_smallest_by_depth": spread_by_depth,
        "gradient_rms_per_layer": per_layer,
        "sigmoid_training_first_over_last_mean": speeds["first_over_last"],
    }
    verdict = _holds(numbers)
    summary = (
        f"With {deepest} hidden layers the first layer's RMS of dC/db over the output "
        f"layer's is {ratio['sigmoid, Xavier']:.1e} for sigmoid + Xavier, "
        f"{ratio['ReLU, He']:.2f} for ReLU + He and {ratio['ReLU, N(0,1)']:.1e} for ReLU + "
        f"N(0,1) (exploding); with ReLU + He the largest layer's RMS is "
        f"{spread['ReLU, He']:.1f} times the smallest, with sigmoid + Xavier "
        f"{spread['sigmoid, Xavier']:.1e} times. For sigmoid the ratio falls as layers are "
        "added ("
        + ", ".join(f"{r:.1e}" for r in by_depth["sigmoid, Xavier"])
        + f" for depths {DEPTHS[preset]}); for ReLU + He it stays between "
        f"{min(by_depth['ReLU, He']):.2f} and {max(by_depth['ReLU, He']):.2f}, and its "
        f"largest layer over the smallest is at most {max(spread_by_depth['ReLU, He']):.1f} "
        "("
        + ", ".join(f"{r:.1f}" for r in spread_by_depth["ReLU, He"])
        + f" by depth; the same scale: below {APART:g}); while "
        f"training, the first layer learns {speeds['first_over_last']:.1e} times as fast as "
        "the last on average."
    )
    setup = (
        f"make_moons(256, noise 0.2, seed 7), standardized. MLP 2 -> {WIDTH} x depth -> 2, "
        "cross-entropy on logits, seed 7. Speed of learning of layer l (Nielsen): "
        "the RMS of delta^l = dC/db^l for one full-batch backward pass at initialization "
        "(first = layer 1, last = output layer). Verdict, with one factor "
        f"{APART:g} both ways: vanished (exploded) when first over last is below "
        f"1/{APART:g} (above {APART:g}) on the deepest net, and for sigmoid (ReLU + "
        "N(0,1)) first over last falls (rises) with every depth added; same scale for "
        f"ReLU + He when, at every depth, the largest of its layers' RMS is less than "
        f"{APART:g} times the smallest, output layer included; and the deepest sigmoid net "
        f"learning its first layer less than 1/{APART:g} as fast as its last. "
        "Training: the deepest sigmoid net with plain "
        f"SGD (lr 0.5, batch 32, {TRAIN_EPOCHS[preset]} epochs); per epoch, History.grad_norms "
        "of the biases (the RMS over the epoch's steps of each gradient's L2 norm) divided by "
        "sqrt(units), the RMS over the layer's units as above."
    )
    return Result(numbers, figures, verdict, summary, setup)


def _net(act: str, init, depth: int) -> nn.MLP:
    return nn.MLP([2] + [WIDTH] * depth + [2], activation=act, init=init, seed=7)


def _layer_norms(act: str, init, depth: int, X, y) -> list[float]:
    """RMS of dC/db^l = delta^l (Nielsen's speed of learning) per layer, input first.

    RMS rather than the norm so that layers of different widths compare.
    """
    model = _net(act, init, depth)
    cross_entropy(model(cr.tensor(X)), y).backward()
    return [
        float(np.sqrt(np.mean(p.grad.astype(np.float64) ** 2)))
        for name, p in model.named_parameters()
        if name.endswith("bias")
    ]


def _ratio(norms: list[float]) -> float:
    return norms[0] / norms[-1]


def _spread(norms: list[float]) -> float:
    return max(norms) / min(norms)


def _holds(numbers: dict) -> bool:
    """The verdict on the measured ``numbers`` (the keys of :func:`run`'s), every depth.

    One factor, ``APART`` = 100, both ways: a gradient has vanished (exploded) when the
    first layer's RMS is below 1/100 (above 100) times the output layer's, and a net keeps
    its layers on the same scale when no two of them are 100 apart, so a net passes as
    "neither vanishing nor exploding" only if it would not be called vanishing or
    exploding itself. The bound is the same at every depth, so it tests that ReLU + He's
    spread does not grow with depth: a factor f per layer would break it once f^depth
    reaches 100, at 15 hidden layers for any f above 100^(1/15) = 1.36, whereas sigmoid's
    sigma' <= 1/4 makes f about 4 (past 100 within four layers), and N(0,1) weights, 4
    times He's standard deviation at width 32, about 4 the other way. The spread ReLU + He
    does have does not compound: measured at the full preset's depths, 2 to 15 hidden
    layers, its largest layer's RMS over the smallest is 6.1, 6.4, 7.1, 2.9, 5.2, 10.8 and
    5.9, and its hidden layers alone stay within a factor 6 of each other. At five of the
    seven depths the output layer makes most of it: its dC/db is the batch mean of p - y,
    whose two entries, the moons' two classes being balanced, are plus and minus the net's
    mean predicted probability of class 1 less 1/2, so its RMS is small when that mean is
    near 1/2 (0.35 at 2 hidden layers, 0.009 at 10) although each example's p - y has an
    RMS of 0.46 to 0.65. A hidden layer's RMS is thus 0.09 to 0.26 times the output
    layer's at 2, 4, 6 and 12 hidden layers, 0.7 to 4.2 times at 8 and 15, and 2.6 to 5.2
    times at 10: no fixed fraction of it.
    Sigmoid's first over last must fall, and ReLU + N(0,1)'s rise, with every depth added:
    the exponential trend the claim is about, not only its end point.
    """
    first_over_last = numbers["first_over_last_by_depth"]
    sigmoid, exploding = first_over_last["sigmoid, Xavier"], first_over_last["ReLU, N(0,1)"]
    return bool(
        sigmoid[-1] < 1 / APART
        and sigmoid[-1] < sigmoid[0] / APART
        and np.all(np.diff(sigmoid) < 0)
        and exploding[-1] > APART
        and np.all(np.diff(exploding) > 0)
        and all(s < APART for s in numbers["largest_over_smallest_by_depth"]["ReLU, He"])
        and numbers["sigmoid_training_first_over_last_mean"] < 1 / APART
    )


def _learning_speeds(depth: int, X, y, epochs: int) -> dict:
    model = _net("sigmoid", "xavier_normal", depth)
    opt = optim.SGD(model.named_parameters(), lr=0.5)
    hist = fit(
        model, "cross_entropy", opt, X, y, epochs=epochs, batch_size=32, seed=7, progress=False
    )
    weights = {k: v for k, v in hist.grad_norms.items() if k.endswith("bias")}
    names = sorted(weights, key=lambda k: int(k.split(".")[1]))
    units = dict(model.named_parameters())
    # the L2 norm over sqrt(units): an RMS over the layer's units, as in _layer_norms
    curves = [np.asarray(weights[k]) / np.sqrt(units[k].size) for k in names]
    return {
        "curves": [c.tolist() for c in curves],
        "first_over_last": float(np.mean(curves[0] / curves[-1])),
    }


def _draw_layers(per_layer: dict, depth: int, path: Path) -> Path:
    fig, ax = plots.figure(width=6.0, height=4.0)
    for label, norms in per_layer.items():
        ax.semilogy(np.arange(1, len(norms) + 1), norms, "o-", ms=3, label=label)
    ax.set_xlabel(f"layer (1 = first hidden, {depth + 1} = output)")
    ax.set_ylabel("RMS of dC/db over the layer's units (log)")
    ax.set_title(f"Gradient per layer at initialization, {depth} hidden layers")
    ax.legend()
    return plots.save(fig, path, svg=True)[0]


def _draw_depth(by_depth: dict, depths: list[int], path: Path) -> Path:
    fig, ax = plots.figure(width=6.0, height=4.0)
    for label, ratios in by_depth.items():
        ax.semilogy(depths, ratios, "o-", ms=3, label=label)
    ax.axhline(1.0, color="#999", ls=":", lw=1)
    ax.set_xlabel("number of hidden layers")
    ax.set_ylabel("first-layer / output-layer RMS of dC/db")
    ax.set_title("Does the first layer still get a gradient? (1 = same scale)")
    ax.legend()
    return plots.save(fig, path, svg=True)[0]


def _draw_speed(speeds: dict, path: Path) -> Path:
    fig, ax = plots.figure(width=7.2, height=4.0)
    curves = speeds["curves"]
    colors = plots.pyplot().get_cmap(plots.SEQUENTIAL)(np.linspace(0, 0.9, len(curves)))
    for i, (c, color) in enumerate(zip(curves, colors, strict=False)):
        last = i == len(curves) - 1
        label = "output layer" if last else f"hidden layer {i + 1}"
        if i in (0, len(curves) // 2) or last:
            ax.semilogy(np.arange(1, len(c) + 1), c, color=color, label=label)
        else:
            ax.semilogy(np.arange(1, len(c) + 1), c, color=color)
    ax.set_xlabel("epoch")
    ax.set_ylabel("RMS of dC/db over units and the epoch's steps (log)")
    ax.set_title("Learning speed per layer while training a deep sigmoid net")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return plots.save(fig, path, svg=True)[0]

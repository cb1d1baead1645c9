"""Engine overhead per op: a 10-op graph through chainrule vs the same math in plain NumPy.

Run: ``python benchmarks/engine_overhead.py [--size 10] [--repeat 7] [--number 2000]``.
Prints medians (microseconds) of forward-only and forward+backward for both, and the
engine's overhead per op: (chainrule - numpy) / 10. Not a test: timings are reported,
never asserted.
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import chainrule as cr

N_OPS = 10

#: The docstring's first line, for --help (no docstring under python -OO).
_SUMMARY = (__doc__ or "").partition("\n")[0]


def engine_forward(x, w, b):
    z = cr.linear(x, w, b)  # 1
    a = cr.tanh(z)  # 2
    s = a * a  # 3
    s = s + a  # 4
    s = s - 0.5  # 5
    s = cr.sigmoid(s)  # 6
    s = s / 2.0  # 7
    s = cr.exp(s)  # 8
    s = s.mean(axis=1)  # 9
    return s.sum()  # 10


def engine_step(x, w, b):
    w.grad = b.grad = None
    engine_forward(x, w, b).backward()


def numpy_forward(x, w, b):
    """:func:`engine_forward`'s math in plain NumPy: its value, then the intermediates
    that :func:`numpy_step`'s backward needs."""
    z = x @ w + b
    a = np.tanh(z)
    s = a * a + a - 0.5
    s = 1 / (1 + np.exp(-s))
    e = np.exp(s / 2.0)
    return e.mean(axis=1).sum(), e, s, a


def numpy_step(x, w, b):
    """The same forward plus its hand-written backward (what the engine automates): the
    gradients of :func:`numpy_forward`'s value with respect to ``w`` and ``b``."""
    _, e, s, a = numpy_forward(x, w, b)
    g = np.full(e.shape, 1.0 / e.shape[1], dtype=x.dtype)  # sum then mean over axis 1
    g = g * e / 2.0
    g = g * s * (1 - s)
    g = g * (2 * a + 1)
    g = g * (1 - a * a)
    return x.T @ g, g.sum(axis=0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=_SUMMARY)
    parser.add_argument("--size", type=int, default=10, help="side of the square arrays")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n = args.size
    xa = rng.standard_normal((n, n)).astype(np.float32)
    wa = rng.standard_normal((n, n)).astype(np.float32)
    ba = np.zeros(n, np.float32)
    x = cr.tensor(xa)
    w = cr.tensor(wa, requires_grad=True)
    b = cr.tensor(ba, requires_grad=True)
    cases = {
        "chainrule forward": lambda: engine_forward(x, w, b),
        "chainrule forward+backward": lambda: engine_step(x, w, b),
        "numpy forward": lambda: numpy_forward(xa, wa, ba),
        "numpy forward+backward": lambda: numpy_step(xa, wa, ba),
    }
    medians = {}
    for name, fn in cases.items():
        runs = timeit.repeat(fn, repeat=args.repeat, number=args.number)
        medians[name] = float(np.median(runs)) / args.number * 1e6
    print(f"{N_OPS}-op graph on {n}x{n} float32 arrays (median of {args.repeat}, us per call)")
    for name, us in medians.items():
        print(f"  {name:28s} {us:8.2f} us")
    for phase in ("forward", "forward+backward"):
        extra = (medians[f"chainrule {phase}"] - medians[f"numpy {phase}"]) / N_OPS
        print(f"  engine overhead per op, {phase:17s} {extra:6.2f} us")


if __name__ == "__main__":
    main()

"""``chainrule bench``: the benchmark suite, measured in a child process with pinned threads.

Thread pools are sized when their library loads, and this command has loaded NumPy long
before it parses its options: so it checks them here and runs the measurement in
``python -m chainrule.bench.run`` with the thread counts in the child's environment.
Needs the ``bench`` extra for the peers; a missing peer is reported as missing.
"""

from __future__ import annotations

from chainrule.bench import options, threads


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmark training against PyTorch, JAX, scikit-learn and NumPy",
        description="Training throughput (samples/s of forward, loss, backward and Adam "
        "steps), achieved share of the float32 matmul peak and peak memory of chainrule and "
        "its peers, all under the same thread settings; prints markdown tables.",
    )
    options.add_arguments(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    return threads.run_pinned("chainrule.bench.run", options.to_argv(args), args.threads)

"""``chainrule bench``: the benchmark suite, measured in a child process with pinned threads.

Thread pools are sized when their library loads, and this command has loaded NumPy long
before it parses its options: so it checks them here (and, for ``--to-accuracy``, the
recipe's config) and runs the measurement in ``python -m chainrule.bench.run`` with the
thread counts in the child's environment. The peers come with the ``bench`` extra; a
missing one is reported as missing.
"""

from __future__ import annotations

from chainrule.bench import options, threads
from chainrule.cli.errors import UsageError, output_file, refuse_idle_force


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmark training against PyTorch, JAX, scikit-learn and NumPy",
        description="Training throughput (samples/s of forward, loss, backward and Adam "
        "steps), achieved share of the float32 matmul peak and peak memory of chainrule and "
        "its peers; or, with --to-accuracy, the training time chainrule, PyTorch and JAX "
        "take to reach a test accuracy with the main job's recipe. All under the same thread "
        "settings; prints markdown tables.",
    )
    options.add_arguments(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    try:
        options.check(args)
    except ValueError as exc:
        raise UsageError(f"bench: {exc}") from None
    if args.json is not None:
        output_file("bench: --json", args.json, "; nothing was measured", force=args.force)
    else:
        refuse_idle_force(args.force, "--json OUT")
    if args.to_accuracy is not None:
        from chainrule.bench.accuracy.recipe import resolve

        resolve(args.config, args.overrides or [])
    argv = options.to_argv(args) + (["--quiet"] if args.quiet else [])
    return threads.run_pinned("chainrule.bench.run", argv, args.threads)

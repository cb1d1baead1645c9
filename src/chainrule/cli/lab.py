"""``chainrule lab``: list and run the experiments of :mod:`chainrule.lab`."""

from __future__ import annotations

from chainrule.cli.errors import UsageError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "lab", help="the lab: list or run experiments", description="List or run experiments."
    )
    sub = p.add_subparsers(dest="lab_command", metavar="ACTION")
    sub.required = True
    ls = sub.add_parser(
        "list",
        help="list the registered experiments",
        description="List the registered experiments: number, name, title.",
    )
    ls.set_defaults(handler=list_experiments)
    r = sub.add_parser(
        "run",
        help="run experiments",
        description="Run experiments by name, or all of them with --all.",
    )
    r.add_argument("names", nargs="*", metavar="NAME", help="experiment names")
    r.add_argument("--all", action="store_true", help="run every experiment")
    r.add_argument("--preset", choices=("fast", "full"), default="fast", help="default: fast")
    r.add_argument("--out", metavar="DIR", default="lab-output", help="default: lab-output")
    r.set_defaults(handler=run_experiments)


def list_experiments(args) -> int:
    from chainrule.lab import EXPERIMENTS

    for name, exp in EXPERIMENTS.items():
        print(f"{exp.number:>3}  {name:<28} {exp.title}")
    print(f"{len(EXPERIMENTS)} experiments")
    return 0


def run_experiments(args) -> int:
    from chainrule.lab import EXPERIMENTS

    if args.all == bool(args.names):
        raise UsageError("lab run: give experiment NAMEs or --all (not both)")
    unknown = [n for n in args.names if n not in EXPERIMENTS]
    if unknown:
        raise UsageError(
            f"lab run: unknown experiment(s) {', '.join(unknown)}; "
            f"`chainrule lab list` shows the {len(EXPERIMENTS)} registered"
        )
    from chainrule.lab import runner  # lands separately; imported only when running

    results = runner.run_experiments(
        None if args.all else args.names, args.preset, args.out, not args.quiet
    )
    if isinstance(results, int):
        return results
    values = results.values() if isinstance(results, dict) else results or ()
    return 1 if any(not getattr(r, "verdict", True) for r in values) else 0

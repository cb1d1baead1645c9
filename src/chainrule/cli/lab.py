"""``chainrule lab``: list and run the experiments of :mod:`chainrule.lab`."""

from __future__ import annotations

import sys
from pathlib import Path

from chainrule.cli.errors import UsageError, refuse_empty_path, require_plotting


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
    """Exit 0 when every experiment run reproduced its claim, 1 when one did not or failed.

    An experiment's error is printed as the last line of its traceback (the whole
    traceback with ``--debug``); the report and ``results.json`` keep the whole of it. A
    Ctrl-C ends the experiment's progress line and says that the report was not written.
    """
    from chainrule.lab import EXPERIMENTS

    if args.all == bool(args.names):
        raise UsageError("lab run: give experiment NAMEs or --all (not both)")
    unknown = [n for n in args.names if n not in EXPERIMENTS]
    if unknown:
        raise UsageError(
            f"lab run: unknown experiment(s) {', '.join(map(repr, unknown))}; "
            f"`chainrule lab list` shows the {len(EXPERIMENTS)} registered"
        )
    from chainrule.lab import runner

    refuse_empty_path(
        args.out,
        "lab run: --out",
        "a directory",
        "; leave it out for the default lab-output, or give . for the current directory",
    )
    out = Path(args.out)
    names = list(EXPERIMENTS) if args.all else args.names
    try:  # run_experiments checks this too: here it is a usage error
        runner.check_outdir(out, names, "lab run", "--out")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # every experiment draws its figure: refused before any runs
    require_plotting("lab run: every experiment draws a figure")
    try:
        outcomes = runner.run_experiments(names, args.preset, out, not args.quiet)
    except KeyboardInterrupt:  # TrainingInterrupted too, whose message is fit's
        if not args.quiet:  # the experiment's progress line, left open
            print(file=sys.stderr)
        raise KeyboardInterrupt(
            f"lab run stopped; its report.html and results.json in {out} were not written "
            "(run it again for them)"
        ) from None
    failed = [o for o in outcomes if o.status != "reproduced"]
    for o in failed:
        if o.error is not None:  # the traceback is in the report; here with --debug
            traceback = o.error.rstrip()
            if args.debug:
                print(traceback, file=sys.stderr)
            print(f"lab run: {o.experiment.name}: {traceback.splitlines()[-1]}", file=sys.stderr)
    if failed:
        listed = ", ".join(f"{o.experiment.name} ({o.status})" for o in failed)
        print(
            f"lab run: {len(failed)} of {len(outcomes)} not reproduced: {listed}", file=sys.stderr
        )
        return 1
    return 0

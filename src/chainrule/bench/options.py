"""The options of ``chainrule bench``, defined once for the command and for its worker.

``chainrule bench`` parses them (usage errors end there, with exit status 2), then measures
in a child process, ``python -m chainrule.bench.run``, whose thread counts are pinned
before NumPy loads; :func:`to_argv` turns the parsed options back into that child's
command line, and the child parses them again with the same definitions.
"""

from __future__ import annotations

import argparse

SYSTEMS = ("chainrule", "torch", "jax", "sklearn", "numpy")
CONFIG_KEYS = "abcd"


def _names(choices: tuple[str, ...]):
    """An argparse type: a subset of ``choices``, returned normalized as comma-joined text."""

    def parse(text: str) -> str:
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [t for t in items if t not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(choices)}, got {text!r}"
            )
        return ",".join(items)

    return parse


def _at_least(low: int | float, kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a value >= {low}, got {text!r}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Add the options to ``parser``; return their actions (what :func:`to_argv` inverts)."""
    throughput = parser.add_argument_group("throughput (samples/s, matmul peak, memory)")
    process = parser.add_argument_group("process settings")
    add = throughput.add_argument
    return [
        add(
            "--configs",
            type=_names(tuple(CONFIG_KEYS)),
            default=",".join(CONFIG_KEYS),
            metavar="a,b,c,d",
            help="configurations to measure (default: all four)",
        ),
        add(
            "--systems",
            type=_names(SYSTEMS),
            default=",".join(SYSTEMS),
            metavar=",".join(SYSTEMS),
            help="systems to measure (default: all; a missing peer is reported as missing)",
        ),
        add(
            "--steps",
            type=_at_least(1, int),
            default=None,
            help="training steps per repetition (default: calibrated to --seconds)",
        ),
        add(
            "--seconds",
            type=_at_least(0.0, float),
            default=0.5,
            help="target time per repetition (default: 0.5)",
        ),
        add("--reps", type=_at_least(1, int), default=5, help="interleaved repetitions (5)"),
        add("--warmup", type=_at_least(1, int), default=5, help="untimed warm-up steps (5)"),
        add(
            "--pause",
            type=_at_least(0.0, float),
            default=0.2,
            help="seconds of pause before each timed block (0.2)",
        ),
        add(
            "--peak-n",
            type=_at_least(1, int),
            default=2048,
            help="size of the sgemm peak probe (2048)",
        ),
        add(
            "--no-memory",
            dest="memory",
            action="store_false",
            help="skip the peak-memory probes (one fresh process per cell)",
        ),
        add(
            "--memory-steps",
            type=_at_least(1, int),
            default=5,
            help="measured steps of each memory probe (5)",
        ),
        process.add_argument(
            "--threads",
            type=_at_least(1, int),
            default=2,
            help="threads of every library, pinned before any of them loads (2)",
        ),
        process.add_argument(
            "--keep-freed-memory",
            action="store_true",
            help="mallopt: keep freed memory mapped (no page faults on fresh arrays), all systems",
        ),
        process.add_argument("--json", metavar="OUT", default=None, help="also write JSON here"),
    ]


def to_argv(args: argparse.Namespace) -> list[str]:
    """The command line that parses back to ``args``; options at their default are left out."""
    argv: list[str] = []
    for action in add_arguments(argparse.ArgumentParser(add_help=False)):
        value = getattr(args, action.dest)
        if value == action.default:
            continue
        flag = action.option_strings[-1]
        if action.nargs == 0:  # a switch
            argv.append(flag)
        else:
            argv += [flag, str(value)]
    return argv


def names(text: str) -> list[str]:
    """The items of a comma-separated option value."""
    return text.split(",")

"""The options of ``chainrule bench``, defined once for the command and for its worker.

``chainrule bench`` parses and checks them (usage errors end there, with exit status 2),
then measures in a child process, ``python -m chainrule.bench.run``, whose thread counts
are pinned before NumPy loads; :func:`to_argv` turns the parsed options back into that
child's command line, and the child parses them again with the same definitions.

Two measurements: training throughput (the default) and, with ``--to-accuracy``, the race
to a test accuracy. Each has its own options; :func:`check` refuses the other one's, and
of the throughput's, those another option makes idle.
"""

from __future__ import annotations

import argparse
import math

from chainrule.bench.threads import usable_cpus

SYSTEMS = ("chainrule", "chainrule-eager", "chainrule-numpy", "torch", "jax", "sklearn", "numpy")
RACE_SYSTEMS = ("chainrule", "torch", "jax")
CONFIG_KEYS = "abcd"
DEFAULT_TARGET = 0.98
THROUGHPUT_ONLY = ("configs", "steps", "seconds", "reps", "warmup", "pause", "peak_n")
THROUGHPUT_ONLY += ("memory", "memory_steps")
RACE_ONLY = ("config", "overrides")
#: Throughput options (the second of each) that another (the first) makes idle, and why.
IDLE_WITH = (("steps", "seconds", "sets the steps --seconds would calibrate"),)
IDLE_WITH += (("memory", "memory_steps", "skips the memory probes whose steps it sets"),)


def subset_of(choices: tuple[str, ...]):
    """An argparse type: a subset of ``choices``, returned normalized as comma-joined text."""

    def parse(text: str) -> str:
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [t for t in items if t not in choices]
        if unknown or not items or len(set(items)) < len(items):
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(choices)}, each at most "
                f"once, got {text!r}"
            )
        return ",".join(items)

    return parse


def at_least(low: int | float, kind):
    """An argparse type: a finite ``kind`` (int or float) of at least ``low``."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not math.isfinite(value) or value < low:
            raise argparse.ArgumentTypeError(f"expected a finite value >= {low}, got {text!r}")
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a test accuracy as a fraction in (0, 1], e.g. 0.98, got {text!r}"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Add the options to ``parser``; return their actions (what :func:`to_argv` inverts)."""
    throughput = parser.add_argument_group("throughput (the default measurement)")
    race = parser.add_argument_group("time to accuracy (--to-accuracy)")
    common = parser.add_argument_group("both")
    add = throughput.add_argument
    return [
        race.add_argument(
            "--to-accuracy",
            type=_fraction,
            nargs="?",
            const=DEFAULT_TARGET,
            default=None,
            metavar="FRACTION",
            help="instead of throughput: train the recipe with chainrule, PyTorch and JAX "
            "from the same weights on the same batches; report the training time at which "
            f"each first reaches this test accuracy (default {DEFAULT_TARGET})",
        ),
        race.add_argument(
            "--config",
            metavar="CONFIG.toml",
            default=None,
            help="the recipe: a chainrule train config (default: the packaged mnist.toml, "
            "the main job)",
        ),
        race.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=None,
            metavar="KEY=VALUE",
            help="override a key of the recipe's config, as chainrule train --set does",
        ),
        common.add_argument(
            "--systems",
            type=subset_of(SYSTEMS),
            default=None,
            metavar="NAMES",
            help=f"systems to run, a subset of {','.join(SYSTEMS)} (default: all; with "
            f"--to-accuracy, a subset of {','.join(RACE_SYSTEMS)}); a missing peer is "
            "reported as missing",
        ),
        add(
            "--configs",
            type=subset_of(tuple(CONFIG_KEYS)),
            default=",".join(CONFIG_KEYS),
            metavar="a,b,c,d",
            help="configurations to measure (default: all four)",
        ),
        add(
            "--steps",
            type=at_least(1, int),
            default=None,
            help="training steps per repetition (default: calibrated to --seconds)",
        ),
        add(
            "--seconds",
            type=at_least(0.0, float),
            default=0.5,
            help="target time per repetition (default: 0.5)",
        ),
        add("--reps", type=at_least(1, int), default=5, help="interleaved repetitions (5)"),
        add(
            "--warmup",
            type=at_least(1, int),
            default=5,
            help="untimed warm-up steps (5; twice where the step count is calibrated)",
        ),
        add(
            "--pause",
            type=at_least(0.0, float),
            default=0.2,
            help="seconds of pause before each timed block (0.2)",
        ),
        add(
            "--peak-n",
            type=at_least(1, int),
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
            type=at_least(1, int),
            default=5,
            help="measured steps of each memory probe (5)",
        ),
        common.add_argument(
            "--threads",
            type=at_least(1, int),
            default=min(2, usable_cpus()),
            help=(
                "threads of every library, pinned before any of them loads, at most the CPUs "
                "this process may run on (2, or 1 where it may run on one)"
            ),
        ),
        common.add_argument(
            "--keep-freed-memory",
            action="store_true",
            help="mallopt: keep freed memory mapped (no page faults on fresh arrays), all systems",
        ),
        common.add_argument("--json", metavar="OUT", default=None, help="also write JSON here"),
        common.add_argument(
            "--force", action="store_true", help="replace --json OUT where it exists"
        ),
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
        elif isinstance(value, list):  # a repeated option
            argv += [f"{flag}={item}" for item in value]
        else:  # one token: a value starting with "-" would read as an option
            argv.append(f"{flag}={value}")
    return argv


def check_threads(threads: int, why: str = "") -> None:
    """Refuse (``ValueError``) more threads than the CPUs this process may run on; ``why``
    says what more would do."""
    cpus = usable_cpus()
    if threads > cpus:
        raise ValueError(
            f"--threads: expected at most {cpus}, the CPUs this process may run on, got "
            f"{threads}{why}"
        )


def check(args: argparse.Namespace) -> None:
    """Refuse more threads than the CPUs this process may run on, options of the
    measurement not asked for, and a throughput option given with one that makes it idle
    (:data:`IDLE_WITH`); ValueError says which and why. Only options given at another
    value than their default count as given."""
    scratch = argparse.ArgumentParser(add_help=False)
    flags = {action.dest: action.option_strings[-1] for action in add_arguments(scratch)}

    def given(dests):
        return [flags[d] for d in dests if getattr(args, d) != scratch.get_default(d)]

    check_threads(
        args.threads,
        ": XLA sizes JAX's pool from those CPUs, so JAX would run on fewer threads than the "
        "other systems",
    )

    if args.to_accuracy is None:
        if given(RACE_ONLY):
            raise ValueError(
                f"{', '.join(given(RACE_ONLY))}: options of the race to a test accuracy; "
                "add --to-accuracy"
            )
        for first, idle, why in IDLE_WITH:
            if given([first]) and given([idle]):
                raise ValueError(
                    f"{flags[idle]}: has no effect with {flags[first]}, which {why}; drop one "
                    "of them"
                )
        return
    if given(THROUGHPUT_ONLY):
        raise ValueError(
            f"{', '.join(given(THROUGHPUT_ONLY))}: options of the throughput measurement, "
            "not of --to-accuracy"
        )
    other = [name for name in systems(args) if name not in RACE_SYSTEMS]
    if other:
        raise ValueError(
            f"--to-accuracy: expected --systems among {','.join(RACE_SYSTEMS)}, got "
            f"{','.join(other)}"
        )


def systems(args: argparse.Namespace) -> list[str]:
    """The systems to run: ``--systems``, or every one the measurement supports."""
    if args.systems is not None:
        return names(args.systems)
    return list(SYSTEMS if args.to_accuracy is None else RACE_SYSTEMS)


def names(text: str) -> list[str]:
    """The items of a comma-separated option value."""
    return text.split(",")

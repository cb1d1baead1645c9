"""The worker of ``chainrule bench``: measure in this process, print markdown tables.

``chainrule bench`` starts it as ``python -m chainrule.bench.run OPTIONS`` with the thread
counts already in the environment (:func:`chainrule.bench.threads.run_pinned`), so that
NumPy, which loads with ``chainrule`` before this module runs, sizes its pools right.
:func:`main` can also be called in-process (the smoke tests); :func:`pin_threads` then
limits the pools that are already loaded through ``threadpoolctl``.
"""

from __future__ import annotations

import argparse
import functools
import sys

from chainrule.bench import options
from chainrule.bench.threads import environment_pinned, pin_threads
from chainrule.files import atomic_write, json_text
from chainrule.malloc import keep_freed_memory

#: The docstring's first line, for --help (no docstring under python -OO).
_SUMMARY = (__doc__ or "").partition("\n")[0]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chainrule bench", description=_SUMMARY)
    options.add_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    try:
        options.check(args)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv=None) -> dict:
    """Run the measurement that the options ``argv`` describe; print and return the results."""
    args = parse_args(argv)
    started_pinned = environment_pinned(args.threads)
    settings = pin_threads(args.threads)
    settings["pinned_at_start"] = started_pinned
    if args.keep_freed_memory:
        settings["mallopt"] = "kept" if keep_freed_memory() else "unavailable"
    if args.to_accuracy is None:
        from chainrule.bench import report, throughput

        results = throughput.run(args, settings)
        text = report.markdown(results)
    else:
        from chainrule.bench.accuracy import race, report

        say = (lambda line: None) if args.quiet else functools.partial(print, file=sys.stderr)
        results = race.run(args, settings, say)
        text = report.markdown(results)
    print(text)
    if args.json:
        atomic_write(args.json, json_text(results, indent=2).encode("utf-8"))
    return results


if __name__ == "__main__":
    main()

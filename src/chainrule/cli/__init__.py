"""The ``chainrule`` command: train, evaluate, predict, info, data, lab, bench.

Exit statuses: 0 success; 2 usage and config errors (the message names the key, the
expected type and, for a misspelt key, the closest valid one, and where the value came
from: the config file or ``--set``; with ``--debug``, after its traceback); 1 runtime
failures, with a one-line cause (the traceback only with ``--debug``, which raises them);
130 when interrupted (Ctrl-C); 141 (128 + SIGPIPE, as a Unix tool killed by it) without a
word when the reader of standard output closed it (``chainrule predict MODEL INPUT |
head``). A closed standard output or error (``>&-``, which Python gives as ``None``) does
not fail a command: what would go there is dropped. A warning of chainrule's own
(``GradientWarning``) is a ``chainrule: warning: <message>`` line on the standard error;
the warning filters (``-W``, ``PYTHONWARNINGS``) apply to it as to any warning.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import traceback
import warnings

from chainrule.cli import bench, commands, lab, train
from chainrule.cli.errors import say_warning
from chainrule.data.fetch import FetchError
from chainrule.runs.config import ConfigError

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 130, 141


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors raised (and reported by :func:`main`) instead of exiting,
    and options spelt out: no abbreviations (``--deb`` would parse as ``--debug`` where
    :func:`main` looks for the whole word)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise ConfigError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule",
        description="Train, evaluate and inspect chainrule models; run the lab and the benchmarks.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    train.add_parser(sub)
    commands.add_parsers(sub)
    lab.add_parser(sub)
    bench.add_parser(sub)
    _add_common_options(sub)
    return parser


def _add_common_options(subparsers) -> None:
    """Accept --debug and --quiet after any subcommand too (``chainrule train -q``)."""
    for child in subparsers.choices.values():
        child.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks of failures",
        )
        child.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            default=argparse.SUPPRESS,
            help="no progress output",
        )
        for action in child._subparsers._group_actions if child._subparsers else ():
            _add_common_options(action)


def _reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (poll's POLLERR on its
    file descriptor): a ``BrokenPipeError`` then is standard output's, not another pipe's
    or socket's. False where that cannot be told (no file descriptor, no ``poll``)."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
    except (AttributeError, OSError, ValueError):
        return False
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


@contextlib.contextmanager
def _closed_streams_dropped():
    """Inside, a standard output or error that was closed when Python started (its
    ``sys.stdout`` or ``sys.stderr`` is then ``None``: ``chainrule ... >&-``, a daemon's) is
    :data:`os.devnull`, so that what is written there is dropped: the command's work is
    not failed for it, and ``print(file=sys.stderr)`` does not fall back to the standard
    output."""
    closed = [name for name in ("stdout", "stderr") if getattr(sys, name) is None]
    with contextlib.ExitStack() as stack:
        for name in closed:
            setattr(sys, name, stack.enter_context(open(os.devnull, "w", encoding="utf-8")))
            stack.callback(setattr, sys, name, None)
        yield


@contextlib.contextmanager
def _own_warnings_said():
    """Inside, a warning of one of chainrule's own categories (``GradientWarning``) that the
    warning filters let through (``-W`` and ``PYTHONWARNINGS`` included: ``ignore`` drops
    it, ``error`` raises it) is said as the CLI's other warnings are (see
    :func:`~chainrule.cli.errors.say_warning`), not as Python shows one: at the frame
    outside chainrule, which under the CLI is the console script's ``sys.exit(main())``.
    Other warnings are shown as before; ``warnings.showwarning`` is put back on the way
    out, so that a Python caller's warnings stay Python's."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.partition(".")[0] == "chainrule":
            say_warning(message)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    with _closed_streams_dropped(), _own_warnings_said():
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    """:func:`main`, inside :func:`_closed_streams_dropped`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        status = args.handler(args)
        sys.stdout.flush()  # a closed pipe raises here, not at exit (as an "ignored" error)
        return status
    except ConfigError as exc:
        if debug:  # the traceback, but the status stays that of a usage error
            traceback.print_exc()
        print(f"chainrule: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print(f"chainrule: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if isinstance(exc, BrokenPipeError) and _reader_gone():
            # as the Python docs' note on SIGPIPE says: stdout to devnull, so that the
            # flush at exit fails no more, and end without a word
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_BROKEN_PIPE
        if debug:
            raise
        # one line, but a failed fetch's attempts and its hint on setting up the data
        cause = str(exc) if isinstance(exc, FetchError) else "".join(str(exc).splitlines()[:1])
        print(
            f"chainrule: {type(exc).__name__}: {cause} (--debug for the traceback)", file=sys.stderr
        )
        return EXIT_FAILURE


__all__ = ["build_parser", "main"]

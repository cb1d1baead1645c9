"""Errors the CLI turns into exit statuses, and how it says a warning."""

import sys
from pathlib import Path

from chainrule.files import file_blocker
from chainrule.runs.config import ConfigError


class UsageError(ConfigError):
    """A usage or input problem found before work is done (bad argument, missing file,
    wrong feature count); exit status 2."""


def output_file(what: str, path: str, after: str = "", *, force: bool = False) -> Path:
    """``path`` for a file a command will write (atomically, making missing folders),
    checked before any work: ``UsageError("<what> <path>: expected a file path, but
    <why><after>")`` where :func:`chainrule.files.file_blocker` finds why it cannot be
    written (a trailing path separator, a directory, a special file such as /dev/null,
    a file above, a folder this process may not write in, a read-only file), and
    ``UsageError("<what> <path>: expected a new file, but <path> exists; pass --force
    ...")`` for an existing file (a link to one too) unless ``force``: a file the user
    saved is replaced only on request."""
    blocked = file_blocker(path)
    if blocked is not None:
        raise UsageError(f"{what} {path}: expected a file path, but {blocked}{after}")
    if Path(path).exists() and not force:
        raise UsageError(
            f"{what} {path}: expected a new file, but {path} exists; pass --force to "
            f"replace it, or choose another FILE{after}"
        )
    return Path(path)


def refuse_empty_path(value, what: str, expected: str, hint: str = "") -> None:
    """``UsageError("<what> expected <expected>, got an empty path<hint>")`` for a path
    argument given as ``""``, which ``Path`` would take for the current directory."""
    if value == "":
        raise UsageError(f"{what} expected {expected}, got an empty path{hint}")


def refuse_idle_force(force: bool, option: str) -> None:
    """``UsageError`` for ``--force`` without the ``option`` (``-o FILE``, ``--json OUT``)
    whose existing file it lets a command replace: it would do nothing."""
    if force:
        raise UsageError(
            f"--force: expected with {option}, which it lets replace a file, got no "
            f"{option.split()[0]}"
        )


def say_warning(message) -> None:
    """Say ``message`` as the CLI says a warning: a ``chainrule: warning: <message>`` line
    on the standard error (with ``-q`` too), without the source location and code line of
    Python's warnings, which under the CLI name the console script."""
    print(f"chainrule: warning: {message}", file=sys.stderr)


def require_plotting(what: str, otherwise: str = "") -> None:
    """Refuse, before any work, a command whose figures need matplotlib where it is
    missing: ``UsageError("<what> (<why and how to install>)<otherwise>")``."""
    from chainrule import plots

    try:
        plots.pyplot()
    except ImportError as exc:
        raise UsageError(f"{what} ({exc}){otherwise}") from None


__all__ = [
    "UsageError",
    "output_file",
    "refuse_empty_path",
    "refuse_idle_force",
    "require_plotting",
    "say_warning",
]

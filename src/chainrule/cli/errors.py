"""Errors the CLI turns into exit statuses."""

from pathlib import Path

from chainrule.files import file_blocker
from chainrule.runs.config import ConfigError


class UsageError(ConfigError):
    """A usage or input problem found before work is done (bad argument, missing file,
    wrong feature count); exit status 2."""


def output_file(what: str, path: str, after: str = "") -> Path:
    """``path`` for a file a command will write (atomically, making missing folders),
    checked before any work: ``UsageError("<what> <path>: expected a file path, but
    <why><after>")`` where :func:`chainrule.files.file_blocker` finds why it cannot be
    written (a trailing path separator, a directory, a special file such as /dev/null,
    a file above, a folder this process may not write in, a read-only file)."""
    blocked = file_blocker(path)
    if blocked is not None:
        raise UsageError(f"{what} {path}: expected a file path, but {blocked}{after}")
    return Path(path)


def require_plotting(what: str, otherwise: str = "") -> None:
    """Refuse, before any work, a command whose figures need matplotlib where it is
    missing: ``UsageError("<what> (<why and how to install>)<otherwise>")``."""
    from chainrule import plots

    try:
        plots.pyplot()
    except ImportError as exc:
        raise UsageError(f"{what} ({exc}){otherwise}") from None


__all__ = ["UsageError", "output_file", "require_plotting"]

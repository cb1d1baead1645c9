"""Errors the CLI turns into exit statuses."""

from chainrule.cli.config import ConfigError


class UsageError(ConfigError):
    """A usage or input problem found before work is done (bad argument, missing file,
    wrong feature count); exit status 2."""


def require_plotting(what: str, otherwise: str = "") -> None:
    """Refuse, before any work, a command whose figures need matplotlib where it is
    missing: ``UsageError("<what> (<why and how to install>)<otherwise>")``."""
    from chainrule import plots

    try:
        plots.pyplot()
    except ImportError as exc:
        raise UsageError(f"{what} ({exc}){otherwise}") from None


__all__ = ["ConfigError", "UsageError", "require_plotting"]

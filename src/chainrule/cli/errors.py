"""Errors the CLI turns into exit statuses."""

from chainrule.cli.config import ConfigError


class UsageError(ConfigError):
    """A usage or input problem found before work is done (bad argument, missing file,
    wrong feature count); exit status 2."""


__all__ = ["ConfigError", "UsageError"]

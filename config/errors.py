"""The root of Loa's exception tree, and the configuration error.

They live in ``config/`` because configuration is the bottom layer: it
imports no other Loa package, yet reports its own errors. The whole tree is
drawn in :mod:`news.errors` (and the delivery branch in :mod:`bot.errors`).
"""

from __future__ import annotations


class LoaError(Exception):
    """Base of every error Loa raises on purpose."""


class ConfigError(LoaError):
    """Configuration is invalid; names the file and the offending field."""

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.source = source
        self.field = field
        where = f" in {source}" if source else ""
        at = f" at '{field}'" if field else ""
        super().__init__(f"invalid configuration{where}{at}: {message}")

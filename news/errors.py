"""Loa's exception tree.

Every error Loa raises on purpose derives from :class:`LoaError`, so callers
(a Celery task, a bot handler, the CLI, an HTTP endpoint) can catch one base
class and show a clear message. Each carries the context needed to act on it
(the source URL, the config file and field, the chat id)::

    LoaError
    ├── ConfigError                  bad or missing configuration (file + field)
    ├── StorageError                 database unreachable or a migration problem
    │   └── StorageFull              the disk under the database is full (nothing written)
    ├── SourceError                  anything about reading a news site
    │   ├── FetchError               network, HTTP status, size cap, timeout
    │   └── ExtractionError          the page is not an article we can read
    │       └── LegacyEncodingError  TCVN3/VNI font encoding (news.extract.charset)
    ├── ServiceError                 an embedded service (Redis) failed to start
    ├── EditorialError               an editor's action was refused (message safe to show)
    │   └── ArticleNotFound          no article matches the id or URL given
    └── DeliveryError                a message could not be delivered (bot.errors)
        ├── TelegramApiError         Telegram answered with an error (code, description)
        ├── TelegramNetworkError     Telegram could not be reached (timeout, connection)
        └── ChannelUnusable          Telegram refused this chat before: no more sends

``news`` never talks to Telegram, so the delivery branch lives in
:mod:`bot.errors`; this module holds the rest.
"""

from __future__ import annotations

# The root and the configuration error live in config/, the bottom layer that
# imports no other Loa package; every other layer imports them from here.
from config.errors import ConfigError, LoaError

__all__ = [
    "ArticleNotFound",
    "ConfigError",
    "EditorialError",
    "ExtractionError",
    "FetchError",
    "LoaError",
    "ServiceError",
    "SourceError",
    "StorageError",
    "StorageFull",
]


class StorageError(LoaError):
    """The database cannot be used (unreachable, not migrated, ...)."""


class StorageFull(StorageError):
    """The disk under the database is full: the transaction was rolled back, nothing written.

    Raised instead of SQLite's bare "database or disk is full" so a task can
    say so in one line and leave its work due (the reconciler retries it once
    space is freed) rather than die with a traceback.
    """


class SourceError(LoaError):
    """A news source could not be read; carries the URL involved."""

    def __init__(self, message: str, *, url: str | None = None):
        self.url = url
        suffix = f" ({url})" if url else ""
        super().__init__(f"{message}{suffix}")


class FetchError(SourceError):
    """Fetching a page failed: network error, bad status, too large, too slow."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        self.status = status
        super().__init__(message, url=url)


class ExtractionError(SourceError):
    """The page was fetched but is not an article Loa can extract."""


class ServiceError(LoaError):
    """An embedded service (such as the bundled Redis server) failed."""


class EditorialError(LoaError):
    """An editor's action was refused; the message says why and is safe to show them.

    Raised by the service layer (news.editorial) that the bot, the CLI and the
    HTTP API share, so each can show the same sentence (no paths, no secrets).
    """


class ArticleNotFound(EditorialError):
    """No stored article matches the id or URL an editor gave."""

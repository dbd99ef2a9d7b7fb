"""Logging setup, called once by each entry point (never at import).

Readable console lines by default, one JSON object per line with `json=True`;
JSON lines also carry the source, article, chat and delivery the code logging
was working on (news.log_context).
Secrets (the bot token, also inside ``/bot<token>/`` URLs) are replaced by
``[REDACTED]`` in every record, whatever logger produced it, and the `httpx`
logger (which logs request URLs, token included) is held at WARNING.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from news import log_context

REDACTED = "[REDACTED]"
#: Every secret this process was told about, so the entry point can redact the
#: one line it prints for an error that escaped logging (see loa.entry).
_KNOWN_SECRETS: set[str] = set()
#: Loggers held above INFO: httpx logs URLs (token inside); alembic, Celery's
#: per-task "received/succeeded" lines and the like are not what an operator
#: watches for. `--log-level DEBUG` still lowers the root, not these.
_NOISY = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "urllib3": logging.ERROR,  # its "Retrying …" lines; the final failure is Loa's to report
    "alembic": logging.WARNING,
    "celery.worker.strategy": logging.WARNING,
    "celery.app.trace": logging.WARNING,
    "celery.worker.consumer": logging.WARNING,
    "celery.beat": logging.WARNING,
    "uvicorn.error": logging.WARNING,  # start-up lines; `loa run` already says where to go
}


def redact_secrets(text: str, *, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret (and `extra`) replaced by ``[REDACTED]``."""
    return RedactingFilter([*_KNOWN_SECRETS, *extra]).redact(text)


class RedactingFilter(logging.Filter):
    """Replaces every secret in the formatted message and exception text."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        """Also redact `secret` (one learnt after logging was set up)."""
        if secret and len(secret) >= 6 and secret not in self.secrets:
            self.secrets = sorted([*self.secrets, secret], key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = self.redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def register_secret(secret: str) -> None:
    """Redact `secret` from now on in every handler `setup_logging` installed.

    For a secret known only after start-up, such as the webhook secret that
    the bot generates on its first run (PTB logs it at DEBUG with setWebhook).
    """
    _KNOWN_SECRETS.add(secret)
    for handler in logging.getLogger().handlers:
        for each in handler.filters:
            if isinstance(each, RedactingFilter):
                each.add(secret)


class ThirdPartyTracebackTrimmer(logging.Filter):
    """Keeps the message of a library's error record but drops its traceback.

    python-telegram-bot logs a 40-line traceback for a refused token or a 502
    on every retry; Loa says what happened in its own line next to it. With
    ``--log-level DEBUG`` this filter is not installed and tracebacks stay.
    """

    def __init__(self, prefixes: tuple[str, ...] = ("telegram",)):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(self.prefixes) and (record.exc_info or record.exc_text):
            error = record.exc_info[1] if record.exc_info else None
            record.msg = f"{record.getMessage()}" + (f" ({type(error).__name__})" if error else "")
            record.args = None
            record.exc_info, record.exc_text = None, None
        return True


class ContextFilter(logging.Filter):
    """Copies what the running code is about (news.log_context) onto each record.

    A filter on the handler runs in the thread that logs, so each task's line
    gets its own article, source, chat and delivery ids.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in log_context.current().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids it is about, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.processName,
        }
        for key in log_context.FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


class LogFileHandler(logging.handlers.WatchedFileHandler):
    """The log file; when it cannot be written (disk full), one line says so, not a traceback.

    The stdlib prints "--- Logging error ---" and a traceback to stderr for
    every record a file handler fails to write: on a full disk that buries the
    one error an operator needs. This handler says it once (the console
    handler carries on meanwhile) and once more when the file works again.
    """

    failing = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)
        if self.failing and not self._failed_now:
            self.failing = False
            sys.stderr.write(f"loa: the log file {self.baseFilename} is writable again\n")

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed_now = True
        if self.stream is not None:  # a half-written buffer would fail every later flush
            try:
                self.stream.close()
            except OSError:
                pass
            self.stream = None  # reopened (and retried) by the next record
        if self.failing:
            return
        self.failing = True
        error = sys.exc_info()[1]
        sys.stderr.write(
            f"loa: cannot write the log file {self.baseFilename} ({error}); "
            "logging to the console only until it can\n"
        )


def setup_logging(
    *,
    json_lines: bool = False,
    level: int | str = logging.INFO,
    secrets: Iterable[str] = (),
    stream: Any = None,
    log_file: Path | None = None,
) -> logging.Handler:
    """Install Loa's root handlers (console, and `log_file` if given); returns the console one.

    Several processes may append to the same `log_file`: each record is one
    short write in append mode, and WatchedFileHandler reopens the file after
    logrotate moves it.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handlers: list[logging.Handler] = [handler]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(LogFileHandler(log_file, encoding="utf-8"))
    secrets = list(secrets)
    _KNOWN_SECRETS.update(s for s in secrets if s)
    redactor = RedactingFilter(secrets)
    formatter: logging.Formatter = (
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    debug = logging.getLevelName(level) == "DEBUG" if isinstance(level, int) else level == "DEBUG"
    for each in handlers:
        each.addFilter(ContextFilter())
        if not debug:
            each.addFilter(ThirdPartyTracebackTrimmer())
        each.addFilter(redactor)
        each.setFormatter(formatter)
        root.addHandler(each)
    root.setLevel(level)
    for name, noisy_level in _NOISY.items():
        logging.getLogger(name).setLevel(noisy_level)
    return handler

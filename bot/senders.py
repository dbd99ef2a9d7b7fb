"""Where Bot API requests go: Telegram itself, or the dry-run outbox.

Both implement :class:`Sender`. The outbox writes exactly the request that
would have been sent, one JSON file per delivery, atomically (write to a temp
file, then rename), so a newcomer without a token can watch messages appear
and a crash never leaves half a file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import threading
import warnings
import zlib
from pathlib import Path
from typing import Any, Protocol

from bot.errors import DeliveryError, OutboxUnwritable, TelegramApiError, TelegramNetworkError
from bot.render import BotRequest
from bot.transport import Urllib3Request

log = logging.getLogger(__name__)
#: HTTP connections a TelegramSender keeps: one per send in flight (bot.publisher).
SEND_CONNECTIONS = 16


class Sender(Protocol):
    """Sends one Bot API request and returns Telegram's `result` object."""

    def send(self, request: BotRequest, *, key: str) -> dict[str, Any]:
        """Send `request`; `key` names the delivery (used by the outbox)."""
        ...

    def close(self) -> None:
        """Release connections and loops."""
        ...


class OutboxSender:
    """Dry run: writes each request to ``<outbox>/<key>.json`` instead of sending it."""

    dry_run = True

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, request: BotRequest, *, key: str) -> dict[str, Any]:
        target = self.directory / f"{key}.json"
        payload = json.dumps(request.to_json_dict(), ensure_ascii=False, indent=2)
        try:
            self._write(target, payload)
        except OSError as exc:  # disk full, read-only, permissions: nothing was written
            raise OutboxUnwritable(
                f"outbox: cannot write {target}: {exc.strerror or exc}",
                chat_id=request.params.get("chat_id"),
            ) from None
        log.info(
            "outbox: %s to %s -> %s", request.method, request.params.get("chat_id"), target.name
        )
        # A stable fake message id derived from the key keeps the ledger consistent.
        return {
            "message_id": zlib.crc32(key.encode()) & 0x7FFFFFFF,
            "chat": {"id": request.params.get("chat_id")},
        }

    def _write(self, target: Path, payload: str) -> None:
        """Write `payload` to `target` atomically: a temp file, fsync, rename."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        return None


class TelegramSender:
    """Sends through python-telegram-bot's `Bot` on one event loop per process.

    PTB's HTTP client is bound to the loop it was initialised on, so a worker
    process keeps one loop and one `Bot` for its whole life (see
    ``tasks.runtime``) instead of calling ``asyncio.run`` per task. The loop
    runs on a thread of its own and :meth:`send` hands it the request, so
    several threads of a fan-out (bot.publisher) can each have a request in
    flight on the one loop and the one connection pool.
    """

    def __init__(self, token: str, *, base_url: str, connections: int = SEND_CONNECTIONS):
        from telegram import Bot
        from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

        # Our requests are already exact Bot API JSON (the same the outbox shows),
        # so they go through do_api_request; PTB suggests its typed methods for
        # known names, which would only convert back and forth. RetryAfter
        # announces a future type change of retry_after; we read both. Set for
        # the process, not per call: `warnings.catch_warnings` is not thread-safe.
        warnings.filterwarnings("ignore", "Please use", PTBUserWarning)
        warnings.filterwarnings("ignore", ".*retry_after", PTBDeprecationWarning)
        self._token = token
        # PTB's default transport holds one connection and costs ~2 ms of CPU a
        # request: pipelined sends get several connections on urllib3 (bot.transport).
        self._transport = Urllib3Request(connections=connections)
        self._bot = Bot(token=token, base_url=base_url, request=self._transport)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # Initialised on the first send, not here: a worker must start (and
        # poll, and build feeds) even while Telegram is down or refuses the token.
        self._ready: asyncio.Future[None] | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The sender's loop, started on its thread on first use (after any fork)."""
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=loop.run_forever, name="telegram-sender", daemon=True
                )
                self._thread.start()
                self._loop = loop
            return self._loop

    async def _send(self, request: BotRequest) -> object:
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._bot.initialize())
        try:
            await asyncio.shield(self._ready)
        except BaseException:
            self._ready = None  # tried again on the next send
            raise
        return await self._bot.do_api_request(request.method, api_kwargs=dict(request.params))

    def send(self, request: BotRequest, *, key: str) -> dict[str, Any]:
        from telegram.error import TelegramError

        chat_id = request.params.get("chat_id")
        try:
            if self._initialized():
                result = self._send_inline(request)
            else:
                loop = self._running_loop()
                result = asyncio.run_coroutine_threadsafe(self._send(request), loop).result()
        except TelegramError as exc:
            raise telegram_error(exc, chat_id, secret=self._token) from None
        return result if isinstance(result, dict) else {"result": result}

    def _initialized(self) -> bool:
        """Has the bot been initialised (getMe answered) on the loop already?"""
        ready = self._ready
        return (
            ready is not None
            and ready.done()
            and not ready.cancelled()
            and ready.exception() is None
        )

    def _send_inline(self, request: BotRequest) -> object:
        """PTB's request coroutine run to its end on this thread, the HTTP call blocking it.

        Once initialised, PTB's path to the wire awaits nothing but the
        transport, which (inline) sends right away: the coroutine finishes at
        its first step. This saves a fan-out's send four thread hand-offs (to
        the loop, to an HTTP thread and back twice), a good part of its CPU.
        """
        self._transport.inline.on = True
        coro = self._bot.do_api_request(request.method, api_kwargs=dict(request.params))
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value
        finally:
            self._transport.inline.on = False
        coro.close()  # never happens with PTB 21; the row stays `sending` (retried, flagged)
        raise RuntimeError("python-telegram-bot suspended a request sent inline")

    def close(self) -> None:
        with self._start_lock:
            loop, thread = self._loop, self._thread
            self._loop, self._thread = None, None
        if loop is None or thread is None:
            return
        if self._ready is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    async def _shutdown(self) -> None:
        ready, self._ready = self._ready, None
        if (
            ready is not None
            and ready.done()
            and not ready.cancelled()
            and ready.exception() is None
        ):
            await self._bot.shutdown()


#: What Loa says for a rejected token; PTB's own message quotes the token itself.
TOKEN_REJECTED = "Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN (from @BotFather)"


def telegram_error(exc: Exception, chat_id: object, *, secret: str = "") -> DeliveryError:
    """Translate python-telegram-bot's exception into Loa's (code, description, params).

    The result is raised ``from None`` and its text never carries `secret` (the
    token): these messages are logged, stored in the ledger and shown to editors.
    """
    from telegram.error import (
        BadRequest,
        ChatMigrated,
        Forbidden,
        InvalidToken,
        NetworkError,
        RetryAfter,
        TimedOut,
    )

    chat = chat_id if isinstance(chat_id, str | int) else None
    message = str(getattr(exc, "message", exc))
    if secret:
        message = message.replace(secret, "[REDACTED]")
    if isinstance(exc, RetryAfter):
        from telegram.warnings import PTBDeprecationWarning

        with warnings.catch_warnings():  # int today, timedelta in a future PTB: accept both
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            seconds = exc.retry_after
        wait = seconds.total_seconds() if hasattr(seconds, "total_seconds") else float(seconds)
        return TelegramApiError(message, chat_id=chat, error_code=429, retry_after=wait)
    if isinstance(exc, ChatMigrated):
        return TelegramApiError(
            message, chat_id=chat, error_code=400, migrate_to_chat_id=int(exc.new_chat_id)
        )
    if isinstance(exc, Forbidden):
        return TelegramApiError(message, chat_id=chat, error_code=403)
    if isinstance(exc, InvalidToken):
        return TelegramApiError(TOKEN_REJECTED, chat_id=chat, error_code=401)
    if isinstance(exc, BadRequest):
        return TelegramApiError(message, chat_id=chat, error_code=400)
    if isinstance(exc, TimedOut | NetworkError):
        # PTB reports 5xx answers as NetworkError too: both are worth a retry.
        return TelegramNetworkError(f"{exc.__class__.__name__}: {message}", chat_id=chat)
    return TelegramApiError(message, chat_id=chat)

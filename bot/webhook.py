"""Webhook mode: Telegram POSTs each update to us instead of us long-polling it.

PTB's built-in `run_webhook` answers a wrong secret with 403 and has no body
limit of ours, so the receiver is a small Starlette app served by uvicorn, as
PTB's "customwebhookbot" example builds it. Every request must carry the
secret in ``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time), or
it gets 401 before its body is read; bodies over 1 MB get 413 and anything
that is not an update's JSON 400. Accepted updates go on the application's
`update_queue`, so the handlers are the very ones `bot.app` wires for polling.

Telegram only calls HTTPS on ports 443, 80, 88 or 8443: the receiver listens
on plain HTTP on loopback (`LOA_WEBHOOK_HOST`/`PORT`) behind a TLS reverse
proxy that forwards `LOA_WEBHOOK_URL`'s path to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import json
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from config.settings import Settings
from news.errors import ConfigError, ServiceError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024  # Telegram's updates are a few kB; 1 MB is generous
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram must send back: `LOA_WEBHOOK_SECRET`, else one kept in the data dir.

    Generated once (mode 0600, created exclusively so two starting processes
    agree on one), then reused: a restart must not invalidate the copy
    Telegram holds until the next `setWebhook`.
    """
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    path = settings.webhook_secret_file
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(32) + "\n")
    log.info("generated a webhook secret in %s", path)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    """The stored secret; a damaged file is a configuration problem naming the file."""
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # readable by others: tighten it rather than trust it
    value = path.read_text(encoding="ascii", errors="replace").strip()
    if not value or len(value) > 256 or not set(value) <= _SECRET_CHARS:
        raise ConfigError(
            "the stored webhook secret is not valid: delete the file to generate a new one",
            source=str(path),
        )
    return value


def listen_path(settings: Settings) -> str:
    """The path the receiver answers on: the one in `LOA_WEBHOOK_URL` (a proxy forwards it)."""
    assert settings.webhook_url is not None
    return urlsplit(settings.webhook_url).path or "/"


def create_receiver(
    application: Application,  # type: ignore[type-arg]
    secret: str,
    path: str = "/",
) -> Starlette:
    """The ASGI app taking Telegram's POSTs: 401, 413 and 400 before anything is handled."""
    expected = secret.encode()

    async def receive_update(request: Request) -> Response:
        """Check the secret, then size, then shape; queue the update for the handlers."""
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, expected):
            return PlainTextResponse("Unauthorized\n", status_code=401)
        body = await _bounded_body(request)
        if body is None:
            return PlainTextResponse("Payload Too Large\n", status_code=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, application.bot)
        except Exception:  # noqa: BLE001 - any undecodable body is the sender's mistake
            return PlainTextResponse("Bad Request\n", status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Starlette(routes=[Route(path, receive_update, methods=["POST"])])


async def _bounded_body(request: Request) -> bytes | None:
    """The request body, or None once it exceeds MAX_BODY_BYTES (never buffered past it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket for the receiver; a port in use is one clear ServiceError.

    Bound before Telegram is told the URL, so no update arrives at a port we
    then fail to take (connections wait in the backlog until uvicorn serves).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "is already in use" if exc.errno == errno.EADDRINUSE else f"failed ({exc.strerror})"
        raise ServiceError(
            f"webhook port {port} on {host} {why}: choose another with LOA_WEBHOOK_PORT"
        ) from None
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the runner stops it, then the application.

    uvicorn re-raises a captured SIGTERM after serving, which would kill the
    process before PTB's application had stopped.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebhookRunner:
    """Runs one application in webhook mode until `stop()` (or SIGINT/SIGTERM)."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        settings: Settings,
        sock: socket.socket,
    ) -> None:
        assert settings.webhook_url is not None
        self.application = application
        self.settings = settings
        self.sock = sock
        self.secret = webhook_secret(settings)
        receiver = create_receiver(application, self.secret, listen_path(settings))
        config = uvicorn.Config(
            receiver, log_config=None, access_log=False, server_header=False, ws="none"
        )
        self.server = _Server(config)
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Start the application, tell Telegram where to POST, serve until asked to stop."""
        app, bot = self.application, self.application.bot
        async with app:  # initialize: getMe (a refused token raises InvalidToken here)
            if app.post_init is not None:
                await app.post_init(app)
            await app.start()
            try:
                await bot.set_webhook(
                    self.settings.webhook_url or "",
                    secret_token=self.secret,
                    allowed_updates=Update.ALL_TYPES,
                )
                log.info("bot webhook set; listening on %s", self._address())
                self.ready.set()
                with _stop_on_signals(self.stop):
                    await self.server.serve(sockets=[self.sock])
            finally:
                await app.stop()

    def stop(self) -> None:
        """Ask uvicorn to finish (it polls the flag); thread-safe enough for a bool."""
        self.server.should_exit = True

    def _address(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}{listen_path(self.settings)}"


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT/SIGTERM call `stop` while serving (only the main thread may listen)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    try:
        yield
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run_webhook(application: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Run `application` in webhook mode until SIGINT/SIGTERM (`loa bot` with LOA_WEBHOOK_URL)."""
    sock = bind_socket(settings.webhook_host, settings.webhook_port)
    try:
        asyncio.run(WebhookRunner(application, settings, sock).run())
    finally:
        with contextlib.suppress(OSError):
            sock.close()

"""The HTTP API's tests share: settings with tokens and routes, a real server, a publisher."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis
import requests
from sqlalchemy.orm import Session, sessionmaker

from bot.limiter import Limits, TelegramLimiter
from bot.publisher import Publisher
from bot.senders import TelegramSender
from config.loader import load_settings
from config.settings import Settings
from feeds.server import create_app
from feeds.serving import uvicorn_options
from tests.conftest import free_port
from tests.helpers import running_server

TOKEN = "tok-" + "a" * 28
OTHER_TOKEN = "tok-" + "b" * 28
BOT_TOKEN = "555555:" + "D" * 35
CHATS = ["@kenh_a", "@kenh_b"]


def api_settings(
    tmp_path: Path, *, tokens: str = f"{TOKEN},{OTHER_TOKEN}", **overrides: Any
) -> Settings:
    """Settings for an API server on a free port: two tokens, two routed channels, no broker.

    Without REDIS_URL nothing is enqueued: the tests publish the planned rows
    themselves (the publisher below), which is what a worker would do.
    """
    environ = {
        "LOA_HTTP_PORT": str(free_port()),
        "LOA_DATA_DIR": str(tmp_path / "data"),
        "LOA_API_TOKENS": tokens,
    }
    extra = {"routes": [{"channel": chat} for chat in CHATS], **overrides}
    return load_settings(None, environ=environ, overrides=extra)


@contextmanager
def api_server(settings: Settings, factory: sessionmaker[Session]) -> Iterator[str]:
    """`loa serve`'s app and uvicorn options on 127.0.0.1; yields the base URL."""
    options = {k: v for k, v in uvicorn_options(settings).items() if k not in ("host", "port")}
    with running_server(create_app(settings, factory), settings.http_port, options=options) as url:
        yield url


def client(token: str | None = TOKEN) -> requests.Session:
    """A keep-alive HTTP client sending `token` as the bearer."""
    session = requests.Session()
    session.trust_env = False
    if token is not None:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


@contextmanager
def emulator_publisher(
    factory: sessionmaker[Session], base_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[Publisher]:
    """What a worker sends planned rows with: PTB to the emulator, the limiter on real Redis."""
    settings = load_settings(
        None,
        environ={
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_BASE_URL": base_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
        },
    )
    sender = TelegramSender(BOT_TOKEN, base_url=base_url)
    limiter = TelegramLimiter(redis_client, Limits(), prefix=f"loa:test:{uuid.uuid4().hex}")
    try:
        yield Publisher(factory, sender, settings, limiter=limiter)
    finally:
        sender.close()


class _Redirector(BaseHTTPRequestHandler):
    """A source site whose /away redirects to another loopback address."""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        port = self.server.server_address[1]
        self.send_response(302 if self.path == "/away" else 404)
        self.send_header("Location", f"http://127.0.0.3:{port}/page")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def redirecting_site() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a site that redirects ``/away`` to 127.0.0.3."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

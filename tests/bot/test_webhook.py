"""Webhook mode: the emulator POSTs updates to the real bot's receiver on loopback.

The emulator pushes every injected update to the URL given in setWebhook, with
the secret header, exactly as Telegram does. Raw POSTs check what a stranger
gets: 401 without the right secret, 413 for a huge body, 400 for junk, and in
each case nothing reaches a handler.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update

from bot.app import build_application
from bot.webhook import (
    MAX_BODY_BYTES,
    SECRET_HEADER,
    WebhookRunner,
    bind_socket,
    webhook_secret,
)
from config.loader import load_settings
from config.settings import Settings
from news.errors import ConfigError, ServiceError
from telegram_emulator import Emulator
from tests.bot.running_bot import BOT_ID, BOT_USERNAME, TOKEN
from tests.conftest import free_port

READER = 1001
PATH = "/telegram/hook"


@dataclass
class WebhookBot:
    """The running bot: where it listens and the secret it expects."""

    url: str
    secret: str
    emulator: Emulator

    def wait_for_reply(self, chat_id: int, before: int = 0, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = self.emulator.sent(chat_id)[before:]
            if sent:
                return sent[0].text or ""
            time.sleep(0.02)
        raise AssertionError("the bot did not answer in time")


def webhook_settings(emulator: Emulator, tmp_path: Path, port: int, **extra: str) -> Settings:
    return load_settings(
        None,
        environ={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": emulator.base_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
            "LOA_WEBHOOK_URL": f"http://127.0.0.1:{port}{PATH}",
            "LOA_WEBHOOK_PORT": str(port),
            **extra,
        },
    )


@pytest.fixture
def hook(
    telegram_emulator: Emulator, tmp_path: Path, factory: sessionmaker[Session]
) -> Iterator[WebhookBot]:
    """The real application in webhook mode, served in a background thread."""
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(READER, "Lan", language_code="vi")
    port = free_port()
    settings = webhook_settings(telegram_emulator, tmp_path, port)
    sock = bind_socket(settings.webhook_host, settings.webhook_port)
    runner = WebhookRunner(build_application(settings, factory), settings, sock)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(runner.run(),))
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not runner.ready.is_set():
            assert thread.is_alive() and time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.02)
        yield WebhookBot(f"http://127.0.0.1:{port}{PATH}", runner.secret, telegram_emulator)
    finally:
        runner.stop()
        thread.join(15)
        loop.close()
        sock.close()


def help_update(update_id: int = 10**6) -> dict[str, object]:
    """A /help update as Telegram would POST it, for raw requests."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": READER, "type": "private", "first_name": "Lan"},
            "from": {"id": READER, "is_bot": False, "first_name": "Lan", "language_code": "vi"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


def test_an_injected_command_is_answered_through_the_webhook(
    hook: WebhookBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="httpx")  # as loa.logs sets it: URLs hold the token
    hook.emulator.inject_message(READER, "/help")
    assert "/latest" in hook.wait_for_reply(READER)
    registered = hook.emulator.bot(BOT_ID).webhook
    assert registered is not None and registered.url == hook.url
    assert registered.secret_token == hook.secret
    assert set(registered.allowed_updates or []) == set(Update.ALL_TYPES)
    assert hook.emulator.calls("getUpdates") == []  # no polling at all
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
    assert hook.secret not in logged


@pytest.mark.parametrize("secret", [None, "", "wrong", "x" * 300, "ünïcode"])
def test_a_request_without_the_right_secret_gets_401_and_is_not_handled(
    hook: WebhookBot, secret: str | None
) -> None:
    headers = {} if secret is None else {SECRET_HEADER.encode(): secret.encode()}
    response = httpx.post(hook.url, json=help_update(), headers=headers)
    assert response.status_code == 401
    almost = hook.secret[:-1] + ("A" if hook.secret[-1] != "A" else "B")
    nearly = httpx.post(hook.url, json=help_update(), headers={SECRET_HEADER: almost})
    assert nearly.status_code == 401
    # Injected after the refused ones: the only reply is to it, so they were never queued.
    hook.emulator.inject_message(READER, "/start")
    assert hook.wait_for_reply(READER).startswith("Xin chào")
    time.sleep(0.3)
    assert len(hook.emulator.sent(READER)) == 1


def test_oversized_and_junk_bodies_are_refused_before_any_handler(hook: WebhookBot) -> None:
    ok = {SECRET_HEADER: hook.secret}
    huge = b'{"update_id": 1, "x": "' + b"a" * MAX_BODY_BYTES + b'"}'
    assert httpx.post(hook.url, content=huge, headers=ok).status_code == 413

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"a" * 65536

    assert httpx.post(hook.url, content=chunked(), headers=ok).status_code == 413
    for junk in (b"{not json", b"", b"[1, 2]", b'"text"', b'{"update_id": "x"}', b"\xff\xfe"):
        assert httpx.post(hook.url, content=junk, headers=ok).status_code == 400, junk
    assert httpx.get(hook.url, headers=ok).status_code == 405
    assert httpx.post(hook.url.replace(PATH, "/other"), json={}, headers=ok).status_code == 404
    # the receiver still works, and none of the above produced a reply
    assert httpx.post(hook.url, json=help_update(), headers=ok).status_code == 200
    assert "/latest" in hook.wait_for_reply(READER)
    time.sleep(0.3)
    assert len(hook.emulator.sent(READER)) == 1


def test_a_generated_secret_is_kept_private_and_reused(
    telegram_emulator: Emulator, tmp_path: Path
) -> None:
    settings = webhook_settings(telegram_emulator, tmp_path, 8443)
    first = webhook_secret(settings)
    path = settings.webhook_secret_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32 and webhook_secret(settings) == first
    path.chmod(0o644)
    assert webhook_secret(settings) == first and stat.S_IMODE(path.stat().st_mode) == 0o600
    given = webhook_settings(telegram_emulator, tmp_path, 8443, LOA_WEBHOOK_SECRET="Given_1-x")
    assert webhook_secret(given) == "Given_1-x"
    path.write_text("not allowed!\n")
    with pytest.raises(ConfigError, match="webhook secret"):
        webhook_secret(settings)


@pytest.mark.parametrize(
    "url",
    [
        "https://bot.example.org/telegram",
        "https://bot.example.org:8443/telegram",
        "http://127.0.0.1:8443/hook",
        "http://localhost/hook",
        "http://[::1]:8443/",
    ],
)
def test_webhook_url_must_be_https_except_on_loopback(url: str) -> None:
    assert load_settings(None, environ={"LOA_WEBHOOK_URL": url}).webhook_url == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://bot.example.org/hook", "https"),
        ("ftp://x/", "https"),
        ("https:///nohost", "https"),
        ("127.0.0.1:8443", "https"),
        ("https://bot.example.org:9000/hook", "443, 80, 88 or 8443"),
    ],
)
def test_a_plain_http_webhook_url_elsewhere_is_refused(url: str, why: str) -> None:
    with pytest.raises((ConfigError, ValidationError), match=why):
        load_settings(None, environ={"LOA_WEBHOOK_URL": url})


def test_a_bad_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises((ConfigError, ValidationError)) as caught:
        load_settings(None, environ={"LOA_WEBHOOK_SECRET": "sécret with spaces"})
    assert "sécret" not in str(caught.value)


def test_a_busy_webhook_port_is_one_clear_error() -> None:
    port = free_port()
    with bind_socket("127.0.0.1", port), pytest.raises(ServiceError, match="LOA_WEBHOOK_PORT"):
        bind_socket("127.0.0.1", port)


def test_loa_bot_runs_in_webhook_mode_and_never_prints_the_token(
    telegram_emulator: Emulator, tmp_path: Path, database_url: str
) -> None:
    """The `loa bot` process itself: webhook chosen by settings, SIGTERM ends it cleanly."""
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(READER, "Lan", language_code="en")
    telegram_emulator.create_bot(TOKEN)
    port = free_port()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": telegram_emulator.base_url,
        "LOA_DATA_DIR": str(data),
        "LOA_WEBHOOK_URL": f"http://127.0.0.1:{port}{PATH}",
        "LOA_WEBHOOK_PORT": str(port),
        "DATABASE_URL": database_url,
    }
    env.pop("LOA_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "loa", "--log-level", "DEBUG", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while telegram_emulator.bot(BOT_ID).webhook is None:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "no setWebhook"
            time.sleep(0.05)
        telegram_emulator.inject_message(READER, "/help")
        bot = WebhookBot("", "", telegram_emulator)
        assert "Commands" in bot.wait_for_reply(READER, timeout=20)
        assert (data / "bot-username").read_text().strip() == BOT_USERNAME
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    secret = (data / "webhook-secret").read_text().strip()
    logs = output + (data / "logs" / "loa.log").read_text()
    assert "webhook" in logs  # it said where it listens
    for hidden in (TOKEN, TOKEN.split(":")[1], secret):
        assert hidden not in logs

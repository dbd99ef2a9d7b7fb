"""The control API over HTTP, and the emulator as a separate process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from telegram_emulator import Emulator

from .helpers import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def _control(emulator_url: str, name: str, **args: object) -> object:
    reply = httpx.post(f"{emulator_url}/_emulator/{name}", json=args)
    payload = reply.json()
    assert reply.status_code == 200, payload
    return payload["result"]


def test_control_over_http(telegram_emulator: Emulator) -> None:
    url = telegram_emulator.url
    chat = _control(url, "create_chat", type="channel", username="loa_tech")
    assert isinstance(chat, dict) and chat["username"] == "loa_tech"
    _control(url, "set_limits", enabled=False)
    _control(url, "add_fault", kind="retry_after", chat_id="@loa_tech", retry_after=3, times=1)
    api = telegram_emulator.api_url(TOKEN, "sendMessage")
    first = httpx.post(api, data={"chat_id": "@loa_tech", "text": "<b>a</b>", "parse_mode": "HTML"})
    assert first.status_code == 429 and first.json()["parameters"] == {"retry_after": 3}
    second = httpx.post(
        api, data={"chat_id": "@loa_tech", "text": "<b>a</b>", "parse_mode": "HTML"}
    )
    assert second.json()["ok"] is True
    records = httpx.get(f"{url}/_emulator/messages", params={"chat_id": '"@loa_tech"'}).json()
    assert [r["text"] for r in records["result"]] == ["a"]
    assert records["result"][0]["entities"] == [{"type": "bold", "offset": 0, "length": 1}]
    update = _control(url, "inject_command", chat_id=chat["id"], command="help")
    assert isinstance(update, dict) and update["channel_post"]["text"] == "/help"
    bad = httpx.post(f"{url}/_emulator/create_chat", json={"type": "planet"})
    assert bad.status_code == 400 and "unknown chat type" in bad.json()["description"]
    assert httpx.post(f"{url}/_emulator/nope", json={}).status_code == 404
    _control(url, "reset")
    assert httpx.get(f"{url}/_emulator/messages").json()["result"] == []


def test_runs_as_a_module() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "telegram_emulator", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                reply = httpx.post(f"{base}/bot{TOKEN}/getMe")
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert reply.json()["result"]["id"] == 123456789
        created = httpx.post(f"{base}/_emulator/create_user", json={"user_id": 99}).json()
        assert created["result"]["id"] == 99
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_control_api_accepts_only_json_posts(telegram_emulator: Emulator) -> None:
    """A cross-origin text/plain or form POST (no CORS preflight) must not reach an action."""
    emulator_url = telegram_emulator.url
    for headers, body in (
        ({"Content-Type": "text/plain"}, '{"user_id": 7}'),
        ({"Content-Type": "application/x-www-form-urlencoded"}, "user_id=7"),
        ({}, ""),
    ):
        reply = httpx.post(
            f"{emulator_url}/_emulator/create_user?user_id=7", content=body, headers=headers
        )
        assert reply.status_code == 415, reply.text
    users = httpx.post(f"{emulator_url}/_emulator/create_user", json={"user_id": 8})
    assert users.status_code == 200

"""Incoming updates: getUpdates long polling, 409 conflicts, callbacks, inline, webhooks."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    MessageOriginChannel,
    MessageOriginUser,
)
from telegram.error import BadRequest, Conflict

from telegram_emulator import Emulator
from telegram_emulator.errors import ControlError

from .helpers import TOKEN, make_bot, run_with_bot


def test_get_updates_returns_injected_commands(telegram_emulator: Emulator) -> None:
    group = telegram_emulator.create_chat("supergroup", title="Readers")
    telegram_emulator.inject_command(group["id"], "latest", "tuyên giáo", user_id=5005)

    async def body(bot: Bot) -> None:
        updates = await bot.get_updates(timeout=1)
        assert len(updates) == 1
        message = updates[0].message
        assert message is not None and message.text == "/latest tuyên giáo"
        assert message.from_user is not None and message.from_user.id == 5005
        command = message.entities[0]
        assert (command.type, command.offset, command.length) == ("bot_command", 0, 7)
        # Confirming by offset empties the queue; a later injection wakes a long poll.
        threading.Timer(0.2, telegram_emulator.inject_message, (group["id"], "hi")).start()
        started = time.monotonic()
        later = await bot.get_updates(offset=updates[0].update_id + 1, timeout=5)
        assert 0.1 < time.monotonic() - started < 2
        assert [u.message.text for u in later if u.message] == ["hi"]

    run_with_bot(telegram_emulator, body)


def test_two_long_polls_conflict(telegram_emulator: Emulator) -> None:
    async def main() -> None:
        async with make_bot(telegram_emulator) as first, make_bot(telegram_emulator) as second:
            older = asyncio.create_task(first.get_updates(timeout=3))
            await asyncio.sleep(0.2)
            newer = asyncio.create_task(second.get_updates(timeout=1))
            with pytest.raises(Conflict, match="terminated by other getUpdates request"):
                await older
            assert await newer == ()

    asyncio.run(main())


def test_callback_and_inline_queries(telegram_emulator: Emulator) -> None:
    user = telegram_emulator.create_user(6006, "Dana")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:7")]])

    async def body(bot: Bot) -> None:
        sent = await bot.send_message(user["id"], "Article", reply_markup=keyboard)
        telegram_emulator.inject_callback_query(user["id"], sent.message_id, "more:7")
        telegram_emulator.inject_inline_query("hà nội", user_id=user["id"])
        callback, inline = await bot.get_updates()
        assert callback.callback_query is not None and callback.callback_query.data == "more:7"
        assert await callback.callback_query.answer("ok") is True
        with pytest.raises(BadRequest, match="Query is too old"):
            await callback.callback_query.answer("again")
        assert inline.inline_query is not None and inline.inline_query.query == "hà nội"
        result = InlineQueryResultArticle("1", "Title", InputTextMessageContent("body"))
        assert await inline.inline_query.answer([result]) is True

    run_with_bot(telegram_emulator, body)
    answers = telegram_emulator.answers()
    assert [a["type"] for a in answers] == ["callback_query", "inline_query"]
    assert answers[0]["text"] == "ok" and answers[1]["results"][0]["id"] == "1"


def test_edits_stickers_and_forwards_parse_in_ptb(telegram_emulator: Emulator) -> None:
    user = telegram_emulator.create_user(7007, "Minh")
    channel = telegram_emulator.create_chat("channel", username="loa_src")
    group = telegram_emulator.create_chat("group", title="Readers")
    first = telegram_emulator.inject_message(user["id"], "/latest")
    message_id = first["message"]["message_id"]
    telegram_emulator.inject_edited_message(user["id"], message_id, "/latest 3")
    telegram_emulator.inject_sticker(group["id"], user_id=user["id"], emoji="🔥")
    telegram_emulator.inject_message(user["id"], "fwd", forward_from="@loa_src")
    telegram_emulator.inject_message(group["id"], "fwd", user_id=7007, forward_from=7007)
    post = telegram_emulator.inject_message(channel["id"], "news")
    telegram_emulator.inject_edited_message(channel["id"], post["channel_post"]["message_id"], "x")

    async def body(bot: Bot) -> None:
        _, edited, sticker, from_channel, from_user, _, edited_post = await bot.get_updates()
        assert edited.edited_message is not None and edited.message is None
        assert edited.edited_message.message_id == message_id
        assert edited.edited_message.text == "/latest 3" and edited.edited_message.edit_date
        assert sticker.message is not None and sticker.message.sticker is not None
        assert sticker.message.sticker.emoji == "🔥" and sticker.message.text is None
        origin = from_channel.message.forward_origin if from_channel.message else None
        assert isinstance(origin, MessageOriginChannel) and origin.chat.username == "loa_src"
        origin = from_user.message.forward_origin if from_user.message else None
        assert isinstance(origin, MessageOriginUser) and origin.sender_user.id == 7007
        assert edited_post.edited_channel_post is not None

    run_with_bot(telegram_emulator, body)
    record = telegram_emulator.messages(user["id"])[0]
    assert record.text == "/latest 3" and [v.text for v in record.history] == [
        "/latest",
        "/latest 3",
    ]
    with pytest.raises(ControlError):
        telegram_emulator.inject_edited_message(user["id"], 999, "nope")
    with pytest.raises(ControlError):
        telegram_emulator.inject_message(user["id"], "x", forward_from=424242)


def test_sticker_and_edit_over_http(telegram_emulator: Emulator) -> None:
    user = telegram_emulator.create_user(7008, "An")
    url = f"{telegram_emulator.url}/_emulator"
    sticker = httpx.post(f"{url}/inject_sticker", json={"chat_id": user["id"]}).json()
    assert sticker["ok"] and "sticker" in sticker["result"]["message"]
    sent = httpx.post(f"{url}/inject_message", json={"chat_id": user["id"], "text": "a"}).json()
    message_id = sent["result"]["message"]["message_id"]
    edit = {"chat_id": user["id"], "message_id": message_id, "text": "b"}
    edited = httpx.post(f"{url}/inject_edited_message", json=edit).json()
    assert edited["result"]["edited_message"]["text"] == "b"


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str | None, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr logging."""


@pytest.fixture
def hook_server() -> Iterator[tuple[str, list[tuple[str | None, bytes]]]]:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hook.received
    server.shutdown()
    server.server_close()


def test_webhook_delivery_and_get_updates_conflict(
    telegram_emulator: Emulator, hook_server: tuple[str, list[tuple[str | None, bytes]]]
) -> None:
    url, received = hook_server
    user = telegram_emulator.create_user(7007, "Eve")

    async def body(bot: Bot) -> None:
        assert await bot.set_webhook(url, secret_token="s3cret_token-1") is True
        info = await bot.get_webhook_info()
        assert info.url == url
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        telegram_emulator.inject_command(user["id"], "start")
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.01)
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert await bot.delete_webhook() is True
        assert await bot.get_updates() == ()

    run_with_bot(telegram_emulator, body)
    assert received and received[0][0] == "s3cret_token-1"
    assert b'"/start"' in received[0][1]


def test_webhook_failure_is_reported(telegram_emulator: Emulator) -> None:
    telegram_emulator.create_user(8008)
    reply = httpx.post(telegram_emulator.api_url(TOKEN, "setWebhook"),
                       data={"url": "http://127.0.0.1:9/nowhere"})  # fmt: skip
    assert reply.json() == {"ok": True, "result": True}
    telegram_emulator.inject_message(8008, "hello")
    for _ in range(200):
        info = httpx.get(telegram_emulator.api_url(TOKEN, "getWebhookInfo")).json()["result"]
        if "last_error_message" in info:
            break
        time.sleep(0.01)
    assert info["pending_update_count"] == 1
    assert info["last_error_message"].startswith("Connection failed")

"""Core Bot API behaviour through python-telegram-bot, unmodified, as the client."""

from __future__ import annotations

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest

from telegram_emulator import Emulator

from .helpers import TOKEN, run_with_bot


def test_get_me_registers_any_well_formed_token(telegram_emulator: Emulator) -> None:
    async def body(bot: Bot) -> None:
        me = await bot.get_me()
        assert me.id == 123456789 and me.is_bot and me.username

    run_with_bot(telegram_emulator, body)


def test_bad_token_and_unknown_method(telegram_emulator: Emulator) -> None:
    malformed = httpx.post(telegram_emulator.api_url("nonsense", "getMe"))
    assert malformed.status_code == 404 and malformed.json()["description"] == "Not Found"
    telegram_emulator.set_settings(auto_register_bots=False)
    unknown = httpx.post(telegram_emulator.api_url("42:" + "x" * 35, "getMe"))
    assert unknown.status_code == 401
    assert unknown.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    telegram_emulator.set_settings(auto_register_bots=True)
    missing = httpx.post(telegram_emulator.api_url(TOKEN, "sendCarrierPigeon"))
    assert missing.status_code == 404 and missing.json()["description"] == "Not Found"
    # Method names are case-insensitive and JSON bodies work too.
    ok = httpx.post(telegram_emulator.api_url(TOKEN, "getme"), json={})
    assert ok.json()["ok"] is True


def test_registered_bots_only_mode() -> None:
    with Emulator(auto_register_bots=False) as emulator:
        assert httpx.post(emulator.api_url(TOKEN, "getMe")).status_code == 401
        token = emulator.create_bot()["token"]
        assert httpx.post(emulator.api_url(token, "getMe")).json()["ok"] is True


def test_send_edit_delete_in_a_channel(telegram_emulator: Emulator) -> None:
    telegram_emulator.create_chat("channel", username="loa_news", title="Loa")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Open", callback_data="open:1")]])

    async def body(bot: Bot) -> None:
        chat = await bot.get_chat("@loa_news")
        assert str(chat.id).startswith("-100") and chat.username == "loa_news"
        member = await bot.get_chat_member(chat.id, bot.id)
        assert member.status == ChatMemberStatus.ADMINISTRATOR
        sent = await bot.send_message(
            chat.id,
            "<b>Tin mới</b> &amp; <a href='https://example.com/a'>link</a>",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        assert sent.text == "Tin mới & link"
        assert sent.entities[1].url == "https://example.com/a"
        second = await bot.send_message(chat.id, "two")
        assert second.message_id == sent.message_id + 1
        with pytest.raises(BadRequest, match="exactly the same"):
            await bot.edit_message_text(
                "<b>Tin mới</b> &amp; <a href='https://example.com/a'>link</a>",
                chat_id=chat.id, message_id=sent.message_id, parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
            )  # fmt: skip
        edited = await bot.edit_message_text("changed", chat_id=chat.id, message_id=sent.message_id)
        assert isinstance(edited, object) and getattr(edited, "text", None) == "changed"
        assert await bot.delete_message(chat.id, second.message_id) is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(chat.id, second.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", chat_id=chat.id, message_id=999)

    run_with_bot(telegram_emulator, body)
    first, second = telegram_emulator.messages("@loa_news")
    assert first.raw_text == "changed" and first.text == "changed"
    assert [v.text for v in first.history] == ["Tin mới & link", "changed"]
    assert first.history[0].entities[0] == {"type": "bold", "offset": 0, "length": 7}
    assert first.link_preview_options == {"is_disabled": True}
    assert first.history[0].reply_markup == {
        "inline_keyboard": [[{"text": "Open", "callback_data": "open:1"}]]
    }
    assert second.deleted and not first.deleted
    assert first.accepted_at < second.accepted_at


def test_delete_after_48_hours_is_refused(telegram_emulator: Emulator) -> None:
    user = telegram_emulator.create_user(1001, "Ann")

    async def body(bot: Bot) -> None:
        message = await bot.send_message(user["id"], "hello")
        telegram_emulator.advance_clock(48 * 3600 + 1)
        with pytest.raises(BadRequest, match="can't be deleted for everyone"):
            await bot.delete_message(user["id"], message.message_id)

    run_with_bot(telegram_emulator, body)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Hi <script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 3'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
    ],
)
def test_html_errors(telegram_emulator: Emulator, text: str, error: str) -> None:
    telegram_emulator.create_chat("channel", username="c")
    reply = httpx.post(
        telegram_emulator.api_url(TOKEN, "sendMessage"),
        data={"chat_id": "@c", "text": text, "parse_mode": "HTML"},
    )
    assert reply.status_code == 400
    assert reply.json()["description"] == f"Bad Request: can't parse entities: {error}"

    async def body(bot: Bot) -> None:
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message("@c", text, parse_mode=ParseMode.HTML)

    run_with_bot(telegram_emulator, body)
    assert telegram_emulator.messages() == []


def test_bare_ampersand_is_literal_unless_strict(telegram_emulator: Emulator) -> None:
    telegram_emulator.create_chat("channel", username="c")

    async def body(bot: Bot) -> None:
        sent = await bot.send_message("@c", "AT&T", parse_mode=ParseMode.HTML)
        assert sent.text == "AT&T"
        telegram_emulator.set_settings(strict_html_ampersand=True)
        with pytest.raises(BadRequest, match="(?i)can.t parse entities: unescaped"):
            await bot.send_message("@c", "AT&T", parse_mode=ParseMode.HTML)

    run_with_bot(telegram_emulator, body)


def test_lengths_after_entity_parsing(telegram_emulator: Emulator) -> None:
    telegram_emulator.create_chat("channel", username="c")
    telegram_emulator.set_limits(enabled=False)

    async def body(bot: Bot) -> None:
        sent = await bot.send_message("@c", "&amp;" * 4096, parse_mode=ParseMode.HTML)
        assert sent.text == "&" * 4096
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message("@c", "<b>" + "x" * 4097 + "</b>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message("@c", "<b></b>", parse_mode=ParseMode.HTML)
        photo = await bot.send_photo("@c", "https://example.com/p.jpg", caption="&lt;" * 1024,
                                     parse_mode=ParseMode.HTML)  # fmt: skip
        assert photo.caption == "<" * 1024
        with pytest.raises(BadRequest, match="Message caption is too long"):
            await bot.send_photo("@c", photo.photo[-1].file_id, caption="y" * 1025)
        with pytest.raises(BadRequest, match="Wrong file identifier"):
            await bot.send_photo("@c", "not-a-file-id")
        recaptioned = await bot.edit_message_caption(
            chat_id=photo.chat_id, message_id=photo.message_id, caption="<i>new</i>",
            parse_mode=ParseMode.HTML,
        )  # fmt: skip
        assert getattr(recaptioned, "caption", None) == "new"

    run_with_bot(telegram_emulator, body)
    photo_record = telegram_emulator.messages("@c")[-1]
    assert photo_record.photo == "https://example.com/p.jpg"
    assert photo_record.caption == "new" and photo_record.entities[0]["type"] == "italic"

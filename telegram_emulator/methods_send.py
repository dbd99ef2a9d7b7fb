"""Bot API methods that create, change or remove messages.

Each handler runs with the state lock held. Validation order mirrors Telegram: the chat,
then the bot's rights, then the text, and only an acceptable message spends rate-limit
budget, so a 400 never costs quota.
"""

from __future__ import annotations

import secrets
from typing import Any

from .access import check_can_delete, check_can_edit, check_can_send, check_inline_keyboard
from .errors import bad_request
from .models import Chat, MessageRecord, message_json
from .params import Params, Upload
from .state import Bot, State
from .text import caption_text, message_text

DELETE_WINDOW = 48 * 3600
CHAT_ACTIONS = frozenset(
    {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
     "upload_document", "choose_sticker", "find_location", "record_video_note",
     "upload_video_note"}
)  # fmt: skip


def _preview_options(p: Params) -> dict[str, Any] | None:
    options = p.get_json("link_preview_options")
    if options is None and p.get_bool("disable_web_page_preview"):
        options = {"is_disabled": True}
    return options if isinstance(options, dict) else None


def _check_reply(state: State, chat: Chat, p: Params) -> None:
    """A reply to a missing message is a 400 unless the client allowed sending without it."""
    params = p.get_json("reply_parameters")
    target = p.get_int("reply_to_message_id")
    allow = p.get_bool("allow_sending_without_reply")
    if isinstance(params, dict):
        target = params.get("message_id", target)
        allow = bool(params.get("allow_sending_without_reply", allow))
    if target is not None and not allow and state.message(chat.id, int(target)) is None:
        raise bad_request("message to be replied not found")


def _accept(state: State, bot: Bot, chat: Chat, record: MessageRecord) -> dict[str, Any]:
    state.limiter.acquire(bot.user.id, chat.id, chat.type, state.clock.monotonic())
    record.message_id = state.next_message_id(chat)
    record.accepted_at = state.clock.monotonic()
    record.snapshot(record.method, record.raw_text)
    state.add_message(record)
    return message_json(record, chat, bot.user)


def _new_record(state: State, bot: Bot, chat: Chat, method: str, p: Params) -> MessageRecord:
    markup = p.get_json("reply_markup")
    check_inline_keyboard(markup)
    return MessageRecord(
        chat_id=chat.id,
        message_id=0,
        method=method,
        date=int(state.clock.time()),
        accepted_at=0.0,
        bot_id=bot.user.id,
        parse_mode=p.get_str("parse_mode"),
        reply_markup=markup,
        link_preview_options=_preview_options(p),
    )


def send_message(state: State, bot: Bot, p: Params) -> Any:
    """sendMessage."""
    chat = state.chat_for_request(p.chat_ref())
    check_can_send(chat, bot)
    raw = p.get_str("text")
    parsed = message_text(
        raw, p.get_str("parse_mode"), p.get_json("entities"), state.settings.strict_html_ampersand
    )
    _check_reply(state, chat, p)
    record = _new_record(state, bot, chat, "sendMessage", p)
    record.text, record.entities, record.raw_text = parsed.text, parsed.entities, raw
    return _accept(state, bot, chat, record)


def _photo_file_id(state: State, photo: Upload | str | None) -> tuple[str, str]:
    """(file_id, what was sent): uploads and URLs get a new id, a file_id must be known."""
    if photo is None or photo == "":
        raise bad_request("there is no photo in the request")
    if isinstance(photo, Upload):
        file_id = "AgAC" + secrets.token_urlsafe(36)
        state.files[file_id] = photo.content
        return file_id, f"upload:{photo.filename}"
    if photo.startswith(("http://", "https://")):
        file_id = "AgAC" + secrets.token_urlsafe(36)
        state.files[file_id] = None
        return file_id, photo
    if photo in state.files or photo.removesuffix("_s") in state.files:
        return photo.removesuffix("_s"), photo
    raise bad_request("wrong file identifier/HTTP URL specified")


def send_photo(state: State, bot: Bot, p: Params) -> Any:
    """sendPhoto with a URL, a known file_id or an upload."""
    chat = state.chat_for_request(p.chat_ref())
    check_can_send(chat, bot)
    raw = p.get_str("caption")
    parsed = caption_text(
        raw,
        p.get_str("parse_mode"),
        p.get_json("caption_entities"),
        state.settings.strict_html_ampersand,
    )
    file_id, source = _photo_file_id(state, p.upload_or_ref("photo"))
    _check_reply(state, chat, p)
    record = _new_record(state, bot, chat, "sendPhoto", p)
    record.caption, record.entities, record.raw_text = parsed.text, parsed.entities, raw
    record.photo, record.photo_file_id = source, file_id
    return _accept(state, bot, chat, record)


def _target(state: State, bot: Bot, p: Params, verb: str) -> tuple[Chat, MessageRecord]:
    if p.has("inline_message_id") and not p.has("chat_id"):
        raise bad_request(f"message to {verb} not found")
    chat = state.chat_for_request(p.chat_ref())
    message_id = p.require_int("message_id", "message identifier is not specified")
    record = state.message(chat.id, message_id)
    if record is None:
        raise bad_request(f"message to {verb} not found")
    return chat, record


def _apply_edit(
    state: State, bot: Bot, chat: Chat, record: MessageRecord, method: str, p: Params, **new: Any
) -> Any:
    """Refuse a no-op edit exactly as Telegram does, else store the change with history."""
    current = (record.text, record.caption, record.entities, record.reply_markup)
    candidate = (
        new.get("text", record.text),
        new.get("caption", record.caption),
        new.get("entities", record.entities),
        new.get("reply_markup"),
    )
    if candidate == current:
        raise bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    if state.limiter.limits.count_edits:
        state.limiter.acquire(bot.user.id, chat.id, chat.type, state.clock.monotonic())
    record.text, record.caption, record.entities, record.reply_markup = candidate
    if "raw" in new:
        record.raw_text = new["raw"]
    if "parse_mode" in new:
        record.parse_mode = new["parse_mode"]
    record.edit_date = int(state.clock.time())
    record.edited_at = state.clock.monotonic()
    record.snapshot(method, new.get("raw"))
    return message_json(record, chat, bot.user)


def edit_message_text(state: State, bot: Bot, p: Params) -> Any:
    """editMessageText."""
    chat, record = _target(state, bot, p, "edit")
    check_can_edit(chat, bot, record)
    if record.text is None:
        raise bad_request("there is no text in the message to edit")
    mode = p.get_str("parse_mode")
    parsed = message_text(
        p.get_str("text"), mode, p.get_json("entities"), state.settings.strict_html_ampersand
    )
    markup = p.get_json("reply_markup")
    check_inline_keyboard(markup)
    if p.has("link_preview_options"):
        record.link_preview_options = _preview_options(p)
    return _apply_edit(
        state, bot, chat, record, "editMessageText", p,
        text=parsed.text, entities=parsed.entities, reply_markup=markup, parse_mode=mode,
        raw=p.get_str("text"),
    )  # fmt: skip


def edit_message_caption(state: State, bot: Bot, p: Params) -> Any:
    """editMessageCaption."""
    chat, record = _target(state, bot, p, "edit")
    check_can_edit(chat, bot, record)
    if record.photo_file_id is None:
        raise bad_request("there is no caption in the message to edit")
    mode = p.get_str("parse_mode")
    parsed = caption_text(
        p.get_str("caption"),
        mode,
        p.get_json("caption_entities"),
        state.settings.strict_html_ampersand,
    )
    markup = p.get_json("reply_markup")
    check_inline_keyboard(markup)
    return _apply_edit(
        state, bot, chat, record, "editMessageCaption", p,
        caption=parsed.text, entities=parsed.entities, reply_markup=markup, parse_mode=mode,
        raw=p.get_str("caption"),
    )  # fmt: skip


def edit_message_reply_markup(state: State, bot: Bot, p: Params) -> Any:
    """editMessageReplyMarkup: only the inline keyboard changes."""
    chat, record = _target(state, bot, p, "edit")
    check_can_edit(chat, bot, record)
    markup = p.get_json("reply_markup")
    check_inline_keyboard(markup)
    return _apply_edit(state, bot, chat, record, "editMessageReplyMarkup", p, reply_markup=markup)


def delete_message(state: State, bot: Bot, p: Params) -> Any:
    """deleteMessage: only within 48 hours of sending."""
    chat, record = _target(state, bot, p, "delete")
    check_can_delete(chat, bot, record)
    if state.clock.time() - record.date > DELETE_WINDOW:
        raise bad_request("message can't be deleted for everyone")
    record.deleted = True
    record.deleted_at = state.clock.monotonic()
    return True


def send_chat_action(state: State, bot: Bot, p: Params) -> Any:
    """sendChatAction: same rights as sending; unknown actions are a 400."""
    chat = state.chat_for_request(p.chat_ref())
    check_can_send(chat, bot)
    if p.get_str("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True

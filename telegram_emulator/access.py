"""Who may do what in a chat: the rights checks Telegram makes before sending or editing.

Wording follows Telegram: a bot that left or was never added gets 403 "bot is not a member
of the <type> chat", a kicked bot 403 "bot was kicked from the <type> chat", a blocked
private chat 403 "bot was blocked by the user", and a channel member without the right to
post 400 "need administrator rights in the channel chat".
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request, forbidden
from .models import Chat, MessageRecord
from .state import Bot


def check_can_send(chat: Chat, bot: Bot) -> None:
    """Raise the error Telegram gives when this bot may not post in the chat."""
    if chat.type == "private":
        if chat.blocked(bot.user.id):
            raise forbidden("bot was blocked by the user")
        if chat.id == bot.user.id:
            raise forbidden("bots can't send messages to bots")
        return
    member = chat.membership(bot.user.id)
    if member.status == "kicked":
        raise forbidden(f"bot was kicked from the {chat.type} chat")
    if member.status == "left":
        raise forbidden(f"bot is not a member of the {chat.type} chat")
    if chat.type == "channel":
        if member.status == "creator":
            return
        if member.status != "administrator" or not member.can_post_messages:
            raise bad_request("need administrator rights in the channel chat")
    elif member.status == "restricted":
        raise bad_request("not enough rights to send text messages to the chat")


def check_can_edit(chat: Chat, bot: Bot, record: MessageRecord) -> None:
    """Editing needs the same standing as sending, and the message must be the bot's own."""
    if chat.type == "channel":
        member = chat.membership(bot.user.id)
        if member.status in ("kicked", "left"):
            check_can_send(chat, bot)
        if member.status == "administrator" and not (
            member.can_edit_messages or member.can_post_messages
        ):
            raise bad_request("need administrator rights in the channel chat")
    elif chat.type != "private":
        check_can_send(chat, bot)
    if record.bot_id != bot.user.id:
        raise bad_request("message can't be edited")


def check_can_delete(chat: Chat, bot: Bot, record: MessageRecord) -> None:
    """Own messages may be deleted; others' need admin rights with can_delete_messages."""
    if chat.type != "private":
        member = chat.membership(bot.user.id)
        if member.status in ("kicked", "left"):
            check_can_send(chat, bot)
        if record.bot_id != bot.user.id and not (
            member.status == "creator"
            or (member.status == "administrator" and member.can_delete_messages)
        ):
            raise bad_request("message can't be deleted")
    elif record.bot_id != bot.user.id and record.from_user_id is None:
        raise bad_request("message can't be deleted")


def check_inline_keyboard(markup: Any) -> None:
    """Validate an inline keyboard the way Telegram rejects malformed ones."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
            actions = set(button) - {"text"}
            if not actions:
                raise bad_request("text buttons are unallowed in the inline keyboard")

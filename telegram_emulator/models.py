"""The emulator's records and their Bot API JSON shapes.

Records are plain dataclasses (what tests inspect); the ``*_json`` functions render the
objects exactly as the Bot API returns them, including the fields python-telegram-bot
requires (``is_bot``, ``accent_color_id``, ``accepted_gift_types``, admin rights, ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class User:
    """A Telegram user (or a bot's own user)."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    is_bot: bool = False
    language_code: str | None = None

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


@dataclass
class Membership:
    """A bot's standing in a chat: status plus the admin rights the emulator checks."""

    status: str = "member"  # creator | administrator | member | restricted | left | kicked
    can_post_messages: bool = False
    can_edit_messages: bool = False
    can_delete_messages: bool = False


@dataclass
class Chat:
    """A chat of any type; private chats share the user's id."""

    id: int
    type: str  # private | group | supergroup | channel
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    migrated_to: int | None = None
    migrated_from: int | None = None
    blocked_by_user: set[int | None] = field(default_factory=set)  # bot ids; None = all bots
    members: dict[int | None, Membership] = field(default_factory=dict)  # None = default
    next_message_id: int = 1

    def membership(self, bot_id: int) -> Membership:
        """The bot's membership: its own entry, else the chat's default for bots."""
        return self.members.get(bot_id) or self.members.get(None) or Membership(status="left")

    def blocked(self, bot_id: int) -> bool:
        return None in self.blocked_by_user or bot_id in self.blocked_by_user

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    def full_json(self) -> dict[str, Any]:
        """ChatFullInfo, as getChat returns it."""
        data = self.json()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        )  # fmt: skip
        if self.migrated_from is not None:
            data["migrated_from_chat_id"] = self.migrated_from
        return data


@dataclass
class Version:
    """One version of a message's content: as sent, then after each accepted edit."""

    method: str
    raw: str | None
    text: str | None
    caption: str | None
    entities: list[dict[str, Any]]
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    date: int
    accepted_at: float


@dataclass
class MessageRecord:
    """One message the emulator accepted (sent by a bot, or injected from a user)."""

    chat_id: int
    message_id: int
    method: str
    date: int
    accepted_at: float
    bot_id: int | None = None
    from_user_id: int | None = None
    text: str | None = None
    caption: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None
    raw_text: str | None = None
    reply_markup: dict[str, Any] | None = None
    link_preview_options: dict[str, Any] | None = None
    photo: str | None = None
    photo_file_id: str | None = None
    sticker: dict[str, Any] | None = None  # injected stickers: the Sticker object
    forward_origin: dict[str, Any] | None = None  # injected forwards: the MessageOrigin
    edit_date: int | None = None
    edited_at: float | None = None
    history: list[Version] = field(default_factory=list)
    deleted: bool = False
    deleted_at: float | None = None

    def snapshot(self, method: str, raw: str | None) -> None:
        """Append the current content to the history (called on send and on every edit)."""
        self.history.append(
            Version(
                method=method, raw=raw, text=self.text, caption=self.caption,
                entities=list(self.entities), parse_mode=self.parse_mode,
                reply_markup=self.reply_markup, date=self.edit_date or self.date,
                accepted_at=self.edited_at or self.accepted_at,
            )
        )  # fmt: skip

    @property
    def edits(self) -> list[Version]:
        """The versions after the first: one per accepted edit."""
        return self.history[1:]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def photo_sizes(file_id: str, unique_id: str) -> list[dict[str, Any]]:
    """The PhotoSize list Telegram returns for a photo (sizes are nominal)."""
    return [
        {"file_id": f"{file_id}_s", "file_unique_id": f"{unique_id}s", "width": 90,
         "height": 60, "file_size": 1200},
        {"file_id": file_id, "file_unique_id": unique_id, "width": 1280, "height": 853,
         "file_size": 98000},
    ]  # fmt: skip


def message_json(record: MessageRecord, chat: Chat, sender: User | None) -> dict[str, Any]:
    """The Message object for a record; channel posts carry sender_chat instead of from."""
    data: dict[str, Any] = {
        "message_id": record.message_id,
        "date": record.date,
        "chat": chat.json(),
    }
    if chat.type == "channel":
        data["sender_chat"] = chat.json()
    elif sender is not None:
        data["from"] = sender.json()
    if record.forward_origin is not None:
        data["forward_origin"] = record.forward_origin
    if record.edit_date is not None:
        data["edit_date"] = record.edit_date
    if record.sticker is not None:
        data["sticker"] = record.sticker
    if record.text is not None:
        data["text"] = record.text
        if record.entities:
            data["entities"] = record.entities
    if record.photo_file_id is not None:
        data["photo"] = photo_sizes(record.photo_file_id, record.photo_file_id[-12:])
        if record.caption:
            data["caption"] = record.caption
            if record.entities:
                data["caption_entities"] = record.entities
    if record.link_preview_options:
        data["link_preview_options"] = record.link_preview_options
    if record.reply_markup and "inline_keyboard" in record.reply_markup:
        data["reply_markup"] = record.reply_markup
    return data


def admin_json(user: User, member: Membership, chat_type: str) -> dict[str, Any]:
    """A ChatMember object with every field python-telegram-bot requires for its status."""
    base: dict[str, Any] = {"user": user.json(), "status": member.status}
    if member.status == "administrator":
        base.update(
            can_be_edited=False, is_anonymous=False, can_manage_chat=True,
            can_delete_messages=member.can_delete_messages, can_manage_video_chats=False,
            can_restrict_members=False, can_promote_members=False, can_change_info=False,
            can_invite_users=False, can_post_stories=False, can_edit_stories=False,
            can_delete_stories=False,
        )  # fmt: skip
        if chat_type == "channel":
            base["can_post_messages"] = member.can_post_messages
            base["can_edit_messages"] = member.can_edit_messages
    elif member.status == "kicked":
        base["until_date"] = 0
    elif member.status == "restricted":
        base.update(
            is_member=True, can_change_info=False, can_invite_users=False, can_pin_messages=False,
            can_send_messages=False, can_send_polls=False, can_send_other_messages=False,
            can_add_web_page_previews=False, can_manage_topics=False, can_send_audios=False,
            can_send_documents=False, can_send_photos=False, can_send_videos=False,
            can_send_video_notes=False, can_send_voice_notes=False, until_date=0,
        )  # fmt: skip
    elif member.status == "creator":
        base["is_anonymous"] = False
    return base

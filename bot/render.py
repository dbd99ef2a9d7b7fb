"""Render articles as Telegram Bot API requests (HTML parse mode).

Every piece of article text is escaped with :func:`html.escape` before it
meets a template, and templates may only use tags Telegram accepts. Telegram
counts length after parsing entities, in UTF-16 code units; the summary is the
part that gives way when a message would pass 4096 characters (1024 for a
caption), so the title, date and link always survive, and nothing is ever cut
inside a tag or an entity (the cut happens on the plain summary, before it is
escaped).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from news.models import Article
from news.text import hashtag, summarize

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
SendMode = Literal["preview", "photo"]
LongCaption = Literal["split", "preview"]

LABELS = {
    "vi": {
        "read_more": "Đọc tiếp",
        "withdrawn": "Bài viết đã được gỡ bỏ",
        "corrected": "Đã cập nhật",
    },
    "en": {
        "read_more": "Read more",
        "withdrawn": "This article was withdrawn",
        "corrected": "Updated",
    },
}
DEFAULT_TEMPLATE = (
    '<b>{title}</b>\n{category_line}{date}\n\n{summary}\n\n<a href="{url}">{read_more}</a>'
)
ALLOWED_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote".split()
)
_TAG = re.compile(r"</?([a-zA-Z][\w-]*)[^>]*>")


@dataclass(frozen=True)
class BotRequest:
    """One Bot API call: the method name and its JSON parameters."""

    method: str
    params: dict[str, Any]

    def to_json_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}


@dataclass(frozen=True)
class RenderOptions:
    """How one channel wants its posts to look."""

    tz: ZoneInfo
    language: str = "vi"
    template: str = DEFAULT_TEMPLATE
    send_mode: SendMode = "preview"
    long_caption: LongCaption = "split"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        return LABELS.get(self.language, LABELS["vi"])


def check_template(template: str) -> str:
    """Validate a channel template: known fields only, Telegram's tags only."""
    sample = {key: "x" for key in ("title", "category_line", "date", "summary", "url", "read_more")}
    try:
        template.format(**sample)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"template field {exc} is not one of {', '.join(sample)}") from exc
    for match in _TAG.finditer(template):
        if match.group(1).lower() not in ALLOWED_TAGS:
            raise ValueError(f"tag <{match.group(1)}> is not allowed by Telegram")
    if "{url}" not in template:
        raise ValueError("the template must contain {url}: the link is never dropped")
    return template


def visible_length(text: str) -> int:
    """Length as Telegram counts it: tags removed, entities decoded, UTF-16 code units."""
    plain = html.unescape(_TAG.sub("", text))
    return len(plain.encode("utf-16-le")) // 2


def to_plain(text: str) -> str:
    """The fallback when Telegram cannot parse our HTML: the same words, no markup."""
    return html.unescape(_TAG.sub("", text))


def _fields(article: Article, opts: RenderOptions) -> dict[str, str]:
    category_line = ""
    if article.category is not None:
        tag = hashtag(article.category.name)
        name = html.escape(article.category.name)
        category_line = f"#{tag} · {name}\n" if tag else f"{name}\n"
    when = article.published_at or article.first_seen_at
    return {
        "title": html.escape(article.title),
        "category_line": category_line,
        "date": when.astimezone(opts.tz).strftime("%H:%M, %d/%m/%Y"),
        "url": html.escape(article.canonical_url, quote=True),
        "read_more": html.escape(opts.labels["read_more"]),
    }


def compose(
    article: Article, opts: RenderOptions, *, limit: int, summary: str | None = None
) -> str:
    """The message text within `limit`, shrinking only the summary (at sentence/word ends)."""
    values = _fields(article, opts)
    source = article.summary if summary is None else summary
    budget = len(source)
    while True:
        values["summary"] = html.escape(summarize(source, max_chars=max(budget, 0)))
        text = opts.template.format(**values)
        over = visible_length(text) - limit
        if over <= 0 or budget <= 0:
            break
        budget -= max(over, 1)
    if visible_length(text) > limit:  # even an empty summary does not fit: drop the date
        values["summary"], values["date"], values["category_line"] = "", "", ""
        text = opts.template.format(**values)
    return text.replace("\n\n\n\n", "\n\n")


def _button(article: Article, opts: RenderOptions) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": opts.labels["read_more"], "url": article.canonical_url}]]}


def render_post(article: Article, *, chat_id: str, opts: RenderOptions) -> list[BotRequest]:
    """The requests that announce `article` in `chat_id` (one, or photo + text)."""
    markup = _button(article, opts)
    if opts.send_mode == "photo" and article.image:
        caption = compose(article, opts, limit=CAPTION_LIMIT)
        full = compose(article, opts, limit=TEXT_LIMIT)
        if caption == full or opts.long_caption == "split":
            photo = BotRequest(
                "sendPhoto",
                {
                    "chat_id": chat_id,
                    "photo": article.image,
                    "caption": caption
                    if caption == full
                    else compose(article, opts, limit=CAPTION_LIMIT, summary=""),
                    "parse_mode": "HTML",
                    "reply_markup": markup,
                },
            )
            if caption == full:
                return [photo]
            return [photo, _text_request(article, chat_id, full, markup, preview=False)]
    return [_text_request(article, chat_id, compose(article, opts, limit=TEXT_LIMIT), markup)]


def _text_request(
    article: Article, chat_id: str, text: str, markup: dict[str, Any], *, preview: bool = True
) -> BotRequest:
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "reply_markup": markup,
    }
    if preview:
        params["link_preview_options"] = {
            "url": article.image or article.canonical_url,
            "prefer_large_media": True,
            "show_above_text": True,
        }
    else:
        params["link_preview_options"] = {"is_disabled": True}
    return BotRequest("sendMessage", params)


def render_edits(
    article: Article,
    *,
    chat_id: str,
    message_ids: list[int],
    methods: list[str],
    opts: RenderOptions,
) -> list[BotRequest]:
    """Edit requests that bring posted messages in line with a corrected article.

    `methods` are the send methods used for each message (sendPhoto messages
    get their caption edited, sendMessage ones their text).
    """
    wanted = render_post(article, chat_id=chat_id, opts=opts)
    edits = []
    for message_id, method, new in zip(message_ids, methods, wanted, strict=False):
        if method == "sendPhoto":
            params = {"chat_id": chat_id, "message_id": message_id, "parse_mode": "HTML"}
            params["caption"] = new.params.get("caption", new.params.get("text", ""))
            params["reply_markup"] = new.params["reply_markup"]
            edits.append(BotRequest("editMessageCaption", params))
        else:
            text = new.params.get("text") or compose(article, opts, limit=TEXT_LIMIT)
            params = {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": text,
                "parse_mode": "HTML",
                "reply_markup": new.params["reply_markup"],
            }
            if "link_preview_options" in new.params:
                params["link_preview_options"] = new.params["link_preview_options"]
            edits.append(BotRequest("editMessageText", params))
    return edits


def render_withdrawn(
    article: Article, *, chat_id: str, message_id: int, method: str, opts: RenderOptions
) -> BotRequest:
    """The edit that marks a post whose article was withdrawn (when deleting is too late)."""
    text = f"<s>{html.escape(article.title)}</s>\n<i>{html.escape(opts.labels['withdrawn'])}</i>"
    if method == "sendPhoto":
        return BotRequest(
            "editMessageCaption",
            {"chat_id": chat_id, "message_id": message_id, "caption": text, "parse_mode": "HTML"},
        )
    return BotRequest(
        "editMessageText",
        {"chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": "HTML"},
    )


def plain_text_fallback(request: BotRequest) -> BotRequest:
    """The same request without HTML: sent once when Telegram cannot parse ours."""
    params = dict(request.params)
    params.pop("parse_mode", None)
    for key in ("text", "caption"):
        if key in params:
            params[key] = to_plain(str(params[key]))
    return BotRequest(request.method, params)

"""Render an article as a Telegram Bot API request (HTML parse mode).

Every piece of text is escaped with :func:`html.escape`; only tags Telegram
accepts (`b`, `a`) are produced here. The summary is the part that gives way
when the message would pass Telegram's 4096-character limit: the title, date
and link always survive.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from news.models import Article
from news.text import hashtag, summarize

TEXT_LIMIT = 4096
READ_MORE = {"vi": "Đọc tiếp", "en": "Read more"}


@dataclass(frozen=True)
class BotRequest:
    """One Bot API call: the method name and its JSON parameters."""

    method: str
    params: dict[str, Any]

    def to_json_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}


def render_article(
    article: Article, *, chat_id: str, tz: ZoneInfo, language: str = "vi"
) -> BotRequest:
    """A `sendMessage` request announcing `article` in `chat_id`."""
    head = [f"<b>{html.escape(article.title)}</b>"]
    if article.category is not None:
        tag = hashtag(article.category.name)
        head.append(f"#{tag} · {html.escape(article.category.name)}" if tag else "")
    if article.published_at is not None:
        head.append(article.published_at.astimezone(tz).strftime("%H:%M, %d/%m/%Y"))
    link = (
        f'<a href="{html.escape(article.canonical_url, quote=True)}">'
        f"{READ_MORE.get(language, READ_MORE['vi'])}</a>"
    )
    fixed = "\n".join(line for line in head if line) + "\n\n" + "\n\n" + link
    room = TEXT_LIMIT - len(fixed)
    budget = room
    summary = html.escape(summarize(article.summary, max_chars=budget))
    while len(summary) > room:  # escaping lengthens text: shrink the plain budget
        budget -= len(summary) - room
        summary = html.escape(summarize(article.summary, max_chars=max(budget, 0)))
    text = "\n".join(line for line in head if line) + "\n\n" + summary + "\n\n" + link
    return BotRequest(
        method="sendMessage",
        params={
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {
                "url": article.image or article.canonical_url,
                "prefer_large_media": True,
                "show_above_text": True,
            },
            "reply_markup": {
                "inline_keyboard": [
                    [
                        {
                            "text": READ_MORE.get(language, READ_MORE["vi"]),
                            "url": article.canonical_url,
                        }
                    ]
                ]
            },
        },
    )

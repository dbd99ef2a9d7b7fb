"""Render articles as Telegram Bot API requests (HTML parse mode).

Every piece of article text is escaped with :func:`html.escape` before it
meets a template, and templates may only use tags Telegram accepts. Telegram
counts length after parsing entities, in UTF-16 code units; the summary is the
part that gives way when a message would pass 4096 characters (1024 for a
caption), so the title, date and link always survive, and nothing is ever cut
inside a tag or an entity (the cut happens on the plain summary, before it is
escaped).

Each channel says where the article link goes (`read_more`): an inline
button under the post (the default), a "Đọc tiếp" link at the end of the
text, or both. The link preview shows the article's image, unless that image
is an SVG, which Telegram does not show as a picture: then the article page's
own preview is used, and photo mode falls back to the preview post.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from config.templates import TAG, TELEGRAM_TAGS
from config.templates import check_template as check_template  # re-exported
from news.models import Article
from news.text import hashtag, summarize

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
SendMode = Literal["preview", "photo"]
LongCaption = Literal["split", "preview"]
ReadMore = Literal["button", "link", "both"]

LABELS = {
    "vi": {
        "read_more": "Đọc tiếp",
        "withdrawn": "Bài viết đã được gỡ bỏ",
        "corrected": "Đã cập nhật",
        "also_on": "Cũng đăng trên",
    },
    "en": {
        "read_more": "Read more",
        "withdrawn": "This article was withdrawn",
        "corrected": "Updated",
        "also_on": "Also on",
    },
}
#: The post without the article link in its text (`read_more: button`).
BUTTON_TEMPLATE = "<b>{title}</b>\n{category_line}{date}\n\n{summary}"
#: The post with a "Đọc tiếp" link at its end (`read_more: link` or `both`).
DEFAULT_TEMPLATE = BUTTON_TEMPLATE + '\n\n<a href="{url}">{read_more}</a>'
#: Telegram's HTML tags, and the check of a channel's template: config owns both
#: (a template is checked when the configuration is read); rendering reuses them.
ALLOWED_TAGS = TELEGRAM_TAGS
_TAG = TAG


@dataclass(frozen=True)
class BotRequest:
    """One Bot API call: the method name and its JSON parameters."""

    method: str
    params: dict[str, Any]
    #: how many "Also on" links this message shows (see :func:`with_links`)
    links: int = field(default=0, compare=False)

    def to_json_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}


@dataclass(frozen=True)
class RenderOptions:
    """How one channel wants its posts to look."""

    tz: ZoneInfo
    language: str = "vi"
    #: A channel's own template, used as written; None: the default for `read_more`.
    template: str | None = None
    send_mode: SendMode = "preview"
    long_caption: LongCaption = "split"
    read_more: ReadMore = "button"
    extra: dict[str, str] = field(default_factory=dict)
    #: source name → the title readers see (SourceConfig.title), for "Also on" links
    source_titles: dict[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        return LABELS.get(self.language, LABELS["vi"])

    @property
    def text_template(self) -> str:
        """The template the text is made from (the link is in it unless button-only)."""
        if self.template is not None:
            return self.template
        return BUTTON_TEMPLATE if self.read_more == "button" else DEFAULT_TEMPLATE


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
        text = opts.text_template.format(**values)
        over = visible_length(text) - limit
        if over <= 0 or budget <= 0:
            break
        budget -= max(over, 1)
    if visible_length(text) > limit:  # even an empty summary does not fit: drop the date
        values["summary"], values["date"], values["category_line"] = "", "", ""
        text = opts.text_template.format(**values)
    return text.replace("\n\n\n\n", "\n\n").rstrip()


def _button(article: Article, opts: RenderOptions) -> dict[str, Any] | None:
    """The inline "read more" button, unless the channel wants the link in the text only."""
    if opts.read_more == "link":
        return None
    return {"inline_keyboard": [[{"text": opts.labels["read_more"], "url": article.canonical_url}]]}


def is_svg(url: str) -> bool:
    """True for an SVG image URL (Telegram shows no picture for those)."""
    if url[:15].lower().startswith("data:image/svg"):
        return True
    return urlsplit(url).path.lower().endswith((".svg", ".svgz"))


def picture(article: Article) -> str | None:
    """The article's image if Telegram can show it as a picture, else None."""
    return article.image if article.image and not is_svg(article.image) else None


#: One "Also on" link: the copy's URL and its source's name.
Link = tuple[str, str]


def with_links(
    text: str, links: Sequence[Link], opts: RenderOptions, *, limit: int
) -> tuple[str, int]:
    """`text` with an "Also on: <a>…</a>, …" line, and how many links it holds.

    Links are added in order while the message stays within `limit` (visible
    length): a link that does not fit is dropped, never the article's text.
    """
    label = html.escape(opts.labels["also_on"])
    anchors: list[str] = []
    best = text
    for url, name in links:
        shown = opts.source_titles.get(name, name)
        anchor = f'<a href="{html.escape(url, quote=True)}">{html.escape(shown)}</a>'
        candidate = f"{text}\n\n{label}: " + ", ".join([*anchors, anchor])
        if visible_length(candidate) > limit:
            break
        anchors.append(anchor)
        best = candidate
    return best, len(anchors)


def links_shown(requests: Sequence[BotRequest]) -> int:
    """How many "Also on" links a rendered post shows."""
    return max((request.links for request in requests), default=0)


def render_post(
    article: Article, *, chat_id: str, opts: RenderOptions, also_on: Sequence[Link] = ()
) -> list[BotRequest]:
    """The requests that announce `article` in `chat_id` (one, or photo + text).

    `also_on`: the story's other copies this chat gets as links on this post
    (news.stories.copies); they go on the message with the full text.
    """
    markup = _button(article, opts)
    image = picture(article)
    if opts.send_mode == "photo" and image:
        caption = compose(article, opts, limit=CAPTION_LIMIT)
        full = compose(article, opts, limit=TEXT_LIMIT)
        if caption == full or opts.long_caption == "split":
            shown, whole = 0, caption == full  # the caption holds the whole post
            if whole:
                caption, shown = with_links(caption, also_on, opts, limit=CAPTION_LIMIT)
            else:
                caption = compose(article, opts, limit=CAPTION_LIMIT, summary="")
            photo = BotRequest(
                "sendPhoto",
                {
                    "chat_id": chat_id,
                    "photo": image,
                    "caption": caption,
                    "parse_mode": "HTML",
                    **_markup(markup),
                },
                shown,
            )
            if whole:
                return [photo]
            full, shown = with_links(full, also_on, opts, limit=TEXT_LIMIT)
            request = _text_request(article, chat_id, full, markup, preview=False)
            return [photo, replace(request, links=shown)]
    body = compose(article, opts, limit=TEXT_LIMIT)
    body, shown = with_links(body, also_on, opts, limit=TEXT_LIMIT)
    return [replace(_text_request(article, chat_id, body, markup), links=shown)]


def _markup(markup: dict[str, Any] | None) -> dict[str, Any]:
    """The `reply_markup` parameter, or none at all when there is no button."""
    return {} if markup is None else {"reply_markup": markup}


def _text_request(
    article: Article,
    chat_id: str,
    text: str,
    markup: dict[str, Any] | None,
    *,
    preview: bool = True,
) -> BotRequest:
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        **_markup(markup),
    }
    if preview:
        params["link_preview_options"] = {
            "url": picture(article) or article.canonical_url,
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
    also_on: Sequence[Link] = (),
) -> list[BotRequest]:
    """Edit requests that bring posted messages in line with a corrected article.

    `methods` are the send methods used for each message (sendPhoto messages
    get their caption edited, sendMessage ones their text). `also_on`: the
    post's "Also on" links, kept by a correction and changed by a story edit.
    """
    wanted = render_post(article, chat_id=chat_id, opts=opts, also_on=also_on)
    edits = []
    for message_id, method, new in zip(message_ids, methods, wanted, strict=False):
        if method == "sendPhoto":
            params = {"chat_id": chat_id, "message_id": message_id, "parse_mode": "HTML"}
            params["caption"] = new.params.get("caption", new.params.get("text", ""))
            params.update(_markup(new.params.get("reply_markup")))
            edits.append(BotRequest("editMessageCaption", params, new.links))
        else:
            text = new.params.get("text") or compose(article, opts, limit=TEXT_LIMIT)
            params = {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": text,
                "parse_mode": "HTML",
                **_markup(new.params.get("reply_markup")),
            }
            if "link_preview_options" in new.params:
                params["link_preview_options"] = new.params["link_preview_options"]
            edits.append(BotRequest("editMessageText", params, new.links))
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

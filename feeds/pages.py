"""Loa's human page (`/`) and the OPML list of every feed (`/feeds/opml`).

The page is small, Vietnamese by default (`?lang=en` switches), and escapes
every text it shows. The OPML lets a reader import all categories at once.
"""

from __future__ import annotations

import html
from xml.etree import ElementTree

from feeds.deep_links import category_payload, start_link
from feeds.specs import FeedSpec

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "tagline": "Tin tức mới nhất, qua RSS và Telegram",
        "feeds": "Nguồn tin theo chuyên mục",
        "all": "Tất cả tin",
        "latest": "Tin mới nhất",
        "telegram": "Theo dõi trên Telegram",
        "subscribe_bot": "Theo dõi trên Telegram",
        "opml": "Tải OPML (tất cả nguồn tin)",
        "switch_to": "en",
        "switch_name": "English",
    },
    "en": {
        "tagline": "The latest news, by RSS and Telegram",
        "feeds": "Feeds by category",
        "all": "All news",
        "latest": "Latest headlines",
        "telegram": "Follow on Telegram",
        "subscribe_bot": "Subscribe on Telegram",
        "opml": "Download OPML (every feed)",
        "switch_to": "vi",
        "switch_name": "Tiếng Việt",
    },
}


def home_page(
    *,
    title: str,
    language: str,
    feeds: list[FeedSpec],
    headlines: list[tuple[str, str]],
    telegram_url: str | None,
    bot_username: str | None = None,
) -> str:
    """The HTML of `/`; `feeds` are RSS specs (Atom and JSON links are derived).

    With the bot's username known, each row also links the bot's deep link
    that subscribes to that category (or to everything).
    """
    t = TEXTS.get(language, TEXTS["vi"])
    other, other_name = t["switch_to"], t["switch_name"]
    esc = html.escape

    def links(spec: FeedSpec) -> str:
        return " ".join(
            f'<a href="{esc(spec.with_format(fmt).path)}">{fmt.upper()}</a>'
            for fmt in ("rss", "atom", "json")
        )

    def subscribe(spec: FeedSpec) -> str:
        slug = None if spec.scope == "all" else spec.name
        url = bot_username and start_link(bot_username, category_payload(slug))
        if not url:
            return ""
        label = esc(t["subscribe_bot"])
        return f' — <a class="telegram-bot" href="{esc(url, quote=True)}">{label}</a>'

    rows = "".join(
        f"<li>{esc(t['all'] if s.scope == 'all' else s.title)} — {links(s)}{subscribe(s)}</li>"
        for s in feeds
        if s.scope != "source"
    )
    news = "".join(
        f'<li><a href="{esc(url, quote=True)}">{esc(headline)}</a></li>'
        for headline, url in headlines
    )
    telegram = ""
    if telegram_url:
        href = esc(telegram_url, quote=True)
        telegram = f'<p><a class="telegram" href="{href}">{esc(t["telegram"])}</a></p>'
    alternates = "".join(
        f'<link rel="alternate" type="{mime}" href="/feeds/all.{fmt}" title="{esc(title)}">'
        for fmt, mime in (("rss", "application/rss+xml"), ("atom", "application/atom+xml"))
    )
    return (
        f'<!DOCTYPE html><html lang="{esc(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>{alternates}</head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(t['tagline'])}</p>"
        f'<p><a href="/?lang={other}" hreflang="{other}">{esc(other_name)}</a></p></header>'
        f"<main>{telegram}<h2>{esc(t['feeds'])}</h2><ul>{rows}</ul>"
        f'<p><a href="/feeds/opml">{esc(t["opml"])}</a></p>'
        f"<h2>{esc(t['latest'])}</h2><ul>{news}</ul></main></body></html>"
    )


def opml(*, title: str, base_url: str, feeds: list[FeedSpec]) -> bytes:
    """OPML 2.0 listing every RSS feed, for a one-click import in a reader."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    body = ElementTree.SubElement(root, "body")
    for spec in feeds:
        if spec.fmt != "rss":
            continue
        name = title if spec.scope == "all" else spec.title
        ElementTree.SubElement(
            body,
            "outline",
            type="rss",
            text=name,
            title=name,
            xmlUrl=f"{base_url}{spec.path}",
            htmlUrl=f"{base_url}/",
        )
    return bytes(ElementTree.tostring(root, encoding="utf-8", xml_declaration=True))

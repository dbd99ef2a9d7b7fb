"""Render feeds: RSS 2.0 and Atom with feedgen, JSON Feed 1.1 by hand.

One adapter, :func:`add_entry`, maps an Article to a feedgen entry; JSON Feed
items come from :func:`json_item`. Entry ids are `tag:` URIs built from the
article's first identity (source host, first-seen date, database id), so a
corrected article whose URL or slug changes keeps its id in every reader.
Dates keep the newsroom's offset (+07:00). Control characters, which break
XML parsers, are stripped from every text. Copies of one story from other
sources are cross-referenced (:mod:`feeds.stories`): a JSON Feed ``_loa``
extension and Atom ``rel="related"`` links; `stories` maps an article id to them.
"""

from __future__ import annotations

import html
import json
import mimetypes
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedgen.feed import FeedGenerator
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from feeds.specs import FeedSpec
from feeds.stories import StoryLinks
from news.models import Article, ArticleStatus, Category, Source
from news.text import slugify

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
TTL_MINUTES = 15
_ATOM = "{http://www.w3.org/2005/Atom}"
NO_STORIES: Mapping[int, StoryLinks] = {}
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True)
class FeedContext:
    """What every feed needs besides its articles."""

    base_url: str
    site_title: str
    tz: ZoneInfo
    full_content: bool = True
    logo_url: str | None = None
    language: str = "vi"
    #: source name → the title readers see (SourceConfig.title), for a story's copies
    source_titles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    """Reader-chosen filters (`?limit=`, `?q=`, `?exclude=`)."""

    limit: int = DEFAULT_LIMIT
    q: str = ""
    exclude: str = ""

    @property
    def is_default(self) -> bool:
        return self.limit == DEFAULT_LIMIT and not self.q and not self.exclude


def clean(text: str | None) -> str:
    """Text safe for XML 1.0 and readers: control characters removed, NFC."""
    return unicodedata.normalize("NFC", _CONTROL_CHARS.sub("", text or ""))


def entry_id(article: Article) -> str:
    """A stable `tag:` URI for the article (RFC 4151)."""
    host = urlsplit(article.url).hostname or "loa"
    return f"tag:{host},{article.first_seen_at:%Y-%m-%d}:article/{article.id}"


def select_articles(session: Session, spec: FeedSpec, query: Query) -> list[Article]:
    """The feed's newest articles (withdrawn ones left out), filtered by the query."""
    stmt = select(Article).where(Article.status == ArticleStatus.ACTIVE)
    if spec.scope == "category":
        stmt = stmt.join(Category, Category.id == Article.category_id).where(
            Category.slug == spec.name
        )
    elif spec.scope == "source":
        stmt = stmt.join(Source, Source.id == Article.source_id).where(Source.name == spec.name)
    for word in query_words(query.q):
        stmt = stmt.where(Article.search_text.contains(f" {word} ", autoescape=True))
    for word in query_words(query.exclude):
        stmt = stmt.where(~Article.search_text.contains(f" {word} ", autoescape=True))
    stmt = stmt.order_by(
        Article.published_at.desc().nulls_last(), Article.first_seen_at.desc(), Article.id.desc()
    ).limit(min(query.limit, MAX_LIMIT))
    return list(session.scalars(stmt))


def query_words(text: str) -> list[str]:
    """A reader's words, folded like Article.search_text ("Giá" → "gia")."""
    return [w for w in slugify(text).split("-") if w]


def _published(article: Article, tz: ZoneInfo) -> datetime:
    return (article.published_at or article.first_seen_at).astimezone(tz)


def _updated(article: Article, tz: ZoneInfo) -> datetime:
    return max(article.updated_at, _published(article, tz)).astimezone(tz)


def _image_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def add_entry(feed: FeedGenerator, article: Article, ctx: FeedContext, *, atom: bool) -> None:
    """Map one Article onto a feedgen entry (appended: articles arrive newest first).

    feedgen keeps one content slot for both formats, with different rules:
    RSS wants the lead in <description> and the full text in a CDATA
    <content:encoded>; Atom wants <summary> and an escaped type="html" <content>.
    """
    entry = feed.add_entry(order="append")
    entry.id(entry_id(article))
    entry.guid(entry_id(article), permalink=False)
    entry.title(clean(article.title))
    entry.link(href=article.canonical_url)
    lead = clean(article.summary) or clean(article.title)
    if atom:
        entry.summary(lead)  # no type attribute: Atom text, shown as is
    else:
        # Readers render an RSS description as HTML: the lead is text, so it is
        # escaped, or a "<script>" in a site's sapo would run in their view.
        entry.description(html.escape(lead, quote=False))
    if ctx.full_content and article.body:
        paragraphs = "".join(
            f"<p>{html.escape(p)}</p>" for p in article.body.split("\n") if p.strip()
        )
        entry.content(clean(paragraphs), type="html" if atom else "CDATA")
    entry.published(_published(article, ctx.tz))
    entry.updated(_updated(article, ctx.tz))
    if article.author:
        if atom:
            entry.author(name=clean(article.author))
        else:  # RSS <author> must be an e-mail address: names go in dc:creator
            entry.dc.dc_creator(clean(article.author))
    if article.category is not None:
        entry.category(term=article.category.slug, label=clean(article.category.name))
    if article.image:
        entry.enclosure(article.image, "0", _image_type(article.image))


def _feed(
    spec: FeedSpec, ctx: FeedContext, articles: Sequence[Article], *, atom: bool
) -> FeedGenerator:
    feed = FeedGenerator()
    if not atom:
        feed.load_extension("dc")
    title = ctx.site_title if spec.scope == "all" else f"{spec.title} · {ctx.site_title}"
    feed.id(f"{ctx.base_url}{spec.path}")
    feed.title(clean(title))
    feed.subtitle(clean(f"{title}: tin mới nhất"))
    feed.link(href=f"{ctx.base_url}/", rel="alternate")
    feed.link(href=f"{ctx.base_url}{spec.path}", rel="self")
    feed.language(ctx.language)
    feed.generator("Loa")
    feed.ttl(TTL_MINUTES)
    if ctx.logo_url:
        feed.logo(ctx.logo_url)
        feed.image(url=ctx.logo_url, title=clean(title), link=f"{ctx.base_url}/")
    newest = max((_updated(a, ctx.tz) for a in articles), default=None)
    if newest is not None:
        feed.updated(newest)
        feed.lastBuildDate(newest)
    for article in articles:
        add_entry(feed, article, ctx, atom=atom)
    return feed


def json_item(
    article: Article, ctx: FeedContext, story: StoryLinks | None = None
) -> dict[str, Any]:
    """One JSON Feed 1.1 item; with `story`, its ``_loa`` extension naming the other copies."""
    item: dict[str, Any] = {
        "id": entry_id(article),
        "url": article.canonical_url,
        "title": clean(article.title),
        "summary": clean(article.summary),
        "date_published": _published(article, ctx.tz).isoformat(),
        "date_modified": _updated(article, ctx.tz).isoformat(),
        "language": ctx.language,
    }
    if ctx.full_content and article.body:
        item["content_text"] = clean(article.body)
    else:
        item["content_text"] = clean(article.summary) or clean(article.title)
    if article.image:
        item["image"] = article.image
    if article.author:
        item["authors"] = [{"name": clean(article.author)}]
    if article.category is not None:
        item["tags"] = [clean(article.category.name)]
    if story is not None:
        item["_loa"] = {
            "story_id": story.story_id,
            "also_on": [
                {"url": c.url, "title": clean(c.title), "source": clean(c.source)}
                for c in story.also_on
            ],
        }
    return item


def render(
    spec: FeedSpec,
    ctx: FeedContext,
    articles: Sequence[Article],
    stories: Mapping[int, StoryLinks] = NO_STORIES,
) -> bytes:
    """The feed document for `spec` in its format, as UTF-8 bytes."""
    if spec.fmt == "json":
        title = ctx.site_title if spec.scope == "all" else f"{spec.title} · {ctx.site_title}"
        document: dict[str, Any] = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": clean(title),
            "home_page_url": f"{ctx.base_url}/",
            "feed_url": f"{ctx.base_url}{spec.path}",
            "description": clean(f"{title}: tin mới nhất"),
            "language": ctx.language,
            "items": [json_item(a, ctx, stories.get(a.id)) for a in articles],
        }
        if ctx.logo_url:
            document["icon"] = ctx.logo_url
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    if spec.fmt == "atom":
        atom = bytes(_feed(spec, ctx, articles, atom=True).atom_str(pretty=True))
        return _fix_atom_links(atom, articles, stories)
    return bytes(_feed(spec, ctx, articles, atom=False).rss_str(pretty=True))


def _fix_atom_links(
    document: bytes, articles: Sequence[Article], stories: Mapping[int, StoryLinks]
) -> bytes:
    """Restore rel="enclosure" and type on Atom image links; add the story's related links.

    feedgen 1.0.0 drops every attribute but href from entry links in Atom (it
    tests the new XML element instead of the link data), so the image would
    read as a second alternate link, and a rel="related" link given to feedgen
    as an alternate one: the related links are added here instead.
    """
    images = {entry_id(a): a.image for a in articles if a.image}
    related = {entry_id(a): stories[a.id] for a in articles if a.id in stories}
    if not images and not related:
        return document
    root = etree.fromstring(document)
    for entry in root.iter(f"{_ATOM}entry"):
        key = entry.findtext(f"{_ATOM}id") or ""
        image = images.get(key)
        links = list(entry.iter(f"{_ATOM}link"))
        for link in links:
            if image and link.get("href") == image:
                link.set("rel", "enclosure")
                link.set("type", _image_type(image))
            elif link.get("rel") is None:
                link.set("rel", "alternate")
        story = related.get(key)
        if story is not None:
            anchor = links[-1] if links else None
            for copy in reversed(story.also_on):
                element = etree.Element(f"{_ATOM}link")
                element.set("href", clean(copy.url))
                element.set("rel", "related")
                label = f"{copy.title} ({copy.source})" if copy.source else copy.title
                element.set("title", clean(label))
                if anchor is not None:
                    anchor.addnext(element)
                else:
                    entry.append(element)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))

"""The editors' actions: one implementation each, shared by the bot, the CLI and the API.

Handlers only parse what an editor typed and show the result; everything an
action does to the database happens here, so `/republish 12`, `loa republish
12` and ``POST /api/articles/12/republish`` cannot drift apart. Refusals are
:class:`EditorialError` with a sentence safe to show the editor (no paths, no
secrets); enqueueing the work that follows (sends, post fixes, feed rebuilds)
is :mod:`tasks.actions`' job, since ``news`` never imports Celery.

- :func:`republish` is the one deliberate way to send an article twice: a new
  *generation* in the delivery ledger (see :class:`news.models.Delivery`), so
  "each article once per chat" still holds within a generation.
- :func:`withdraw` marks the article withdrawn exactly as a source's removal
  does; the posts are then fixed by the same ``fix_posts`` task (deleted or
  marked per the channel's ``on_withdraw``) and the feeds drop it on rebuild.
- Pauses live in :mod:`news.pauses` and are re-exported here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import RouteRule
from news.db import utcnow, write_session
from news.errors import ArticleNotFound, EditorialError
from news.events import record_event
from news.extract import article_identity
from news.extract.page import canonicalize_url
from news.ledger import plan_deliveries
from news.models import (
    Article,
    ArticleStatus,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryState,
    EventKind,
    Source,
)
from news.pauses import (
    PauseInfo,
    active_pauses,
    chat_aliases,
    is_chat_paused,
    is_source_paused,
    pause,
    resume,
)
from news.routing import chats_for
from news.search import query_words, search_page
from ops.metrics import record_withdrawal

__all__ = [
    "ArticleNotFound",
    "EditorialError",
    "FoundArticle",
    "PauseInfo",
    "PostedTo",
    "RepublishResult",
    "active_pauses",
    "article_info",
    "article_state",
    "find_articles",
    "is_chat_paused",
    "is_source_paused",
    "pause",
    "republish",
    "resolve_article",
    "resume",
    "retry_failed",
    "withdraw",
]

_ID = re.compile(r"#?([0-9]{1,18})")
_MAX_ID = 2**31 - 1  # articles.id is a 32-bit integer on PostgreSQL
_MAX_REF = 2000
_CHUNK = 500


@dataclass(frozen=True)
class PostedTo:
    """One ledger row of an article: which chat, which generation, how it went."""

    chat: str
    state: str
    generation: int
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class FoundArticle:
    """An article as editors see it: id, state and where it was posted."""

    id: int
    title: str
    url: str
    #: "new" (version 1), "corrected" (version > 1) or "withdrawn"
    state: str
    version: int
    published_at: datetime | None
    source: str | None
    #: its posts to channels and groups, by generation then chat
    posted: tuple[PostedTo, ...]
    #: readers (private chats) the article was sent to as a subscription alert
    readers: int = 0


@dataclass(frozen=True)
class RepublishResult:
    """The new generation's pending rows; the caller enqueues them (tasks.actions)."""

    article_id: int
    generation: int
    delivery_ids: tuple[int, ...]
    chats: tuple[str, ...]


def resolve_article(session: Session, ref: str) -> Article:
    """The article an editor means by ``123``, ``#123`` or a URL it was read, listed or
    canonically published at; raises ArticleNotFound with what was looked for."""
    ref = (ref or "").strip()
    if not ref:
        raise ArticleNotFound("which article? give its id (like 123) or its URL")
    if (match := _ID.fullmatch(ref)) is not None:
        article_id = int(match.group(1))
        article = session.get(Article, article_id) if article_id <= _MAX_ID else None
        if article is None:
            raise ArticleNotFound(f"no article #{article_id}")
        return article
    if len(ref) > _MAX_REF or not ref.lower().startswith(("http://", "https://")):
        raise ArticleNotFound(f"{ref[:60]!r} is neither an article id nor a URL")
    for url in dict.fromkeys([ref, canonicalize_url(ref)]):
        found = session.scalars(
            select(Article)
            .where(
                or_(
                    Article.url == url,
                    Article.canonical_url == url,
                    Article.listed_url == url,
                    Article.identity == url,
                )
            )
            .order_by(Article.id)
            .limit(1)
        ).first()
        if found is not None:
            return found
    # Stored under its identity (scheme, www., trailing slash, tracking dropped).
    found = session.scalars(
        select(Article).where(Article.identity == article_identity(None, ref)).limit(1)
    ).first()
    if found is None:
        raise ArticleNotFound(f"no article at {ref[:200]}")
    return found


def article_state(article: Article) -> str:
    """``withdrawn``, ``corrected`` (a later version was stored) or ``new``."""
    if article.status is ArticleStatus.WITHDRAWN:
        return "withdrawn"
    return "corrected" if article.version > 1 else "new"


def article_info(factory: sessionmaker[Session], ref: str) -> FoundArticle:
    """One article by id or URL, with its state and posts."""
    with factory() as session:
        article = resolve_article(session, ref)
        return _describe(session, [article])[0]


def find_articles(
    factory: sessionmaker[Session], words: str, *, limit: int = 10
) -> list[FoundArticle]:
    """Articles matching `words` (the reader search, then withdrawn ones), or an id or URL.

    Active articles come first, in the search's order (newest day, then title
    hits); withdrawn ones, which the reader search never shows, follow, newest
    first, matched on the same folded words.
    """
    limit = max(1, min(limit, 50))
    words = (words or "").strip()
    if _ID.fullmatch(words) or words.lower().startswith(("http://", "https://")):
        try:
            return [article_info(factory, words)]
        except ArticleNotFound:
            if words.lower().startswith(("http://", "https://")):
                return []
    ids = [hit.article_id for hit in search_page(factory, words, page=0, size=limit).items]
    if len(ids) < limit:
        ids += _withdrawn_matching(factory, query_words(words), limit - len(ids))
    if not ids:
        return []
    with factory() as session:
        articles = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(ids)))}
        return _describe(session, [articles[i] for i in ids if i in articles])


def _withdrawn_matching(
    factory: sessionmaker[Session], words: tuple[str, ...], limit: int
) -> list[int]:
    """Withdrawn articles whose folded title and lead hold every word (the last a prefix)."""
    if not words:
        return []
    conditions = [Article.search_text.contains(f" {w} ", autoescape=True) for w in words[:-1]]
    conditions.append(Article.search_text.contains(f" {words[-1]}", autoescape=True))
    with factory() as session:
        query = (
            select(Article.id)
            .where(Article.status == ArticleStatus.WITHDRAWN, *conditions)
            .order_by(Article.withdrawn_at.desc(), Article.id.desc())
            .limit(limit)
        )
        return list(session.scalars(query))


def _describe(session: Session, articles: Sequence[Article]) -> list[FoundArticle]:
    """FoundArticle for each, with its channel posts and a count of its reader alerts."""
    ids = [a.id for a in articles]
    posted: dict[int, list[PostedTo]] = defaultdict(list)
    readers: dict[int, int] = defaultdict(int)
    rows = session.execute(
        select(
            Delivery.article_id,
            Delivery.chat_id,
            Delivery.state,
            Delivery.generation,
            Delivery.message_ids,
        )
        .where(Delivery.article_id.in_(ids))
        .order_by(Delivery.generation, Delivery.id)
    )
    for article_id, chat, state, generation, message_ids in rows:
        if _is_private_chat(chat):
            readers[article_id] += state == DeliveryState.SENT
            continue
        posted[article_id].append(PostedTo(chat, str(state), generation, tuple(message_ids or ())))
    wanted = {a.source_id for a in articles if a.source_id}
    sources: dict[int, str] = {
        source_id: name
        for source_id, name in session.execute(
            select(Source.id, Source.name).where(Source.id.in_(wanted))
        )
    }
    return [
        FoundArticle(
            id=a.id,
            title=a.title,
            url=a.url,
            state=article_state(a),
            version=a.version,
            published_at=a.published_at,
            source=sources.get(a.source_id) if a.source_id else None,
            posted=tuple(posted[a.id]),
            readers=readers[a.id],
        )
        for a in articles
    ]


def _is_private_chat(chat: str) -> bool:
    """A reader's private chat: its id is the user's, a positive number (groups are negative)."""
    return chat.isascii() and chat.isdigit()


def republish(
    factory: sessionmaker[Session],
    ref: str,
    routes: Sequence[RouteRule],
    *,
    chat: str | None = None,
    channels: Iterable[str] = (),
) -> RepublishResult:
    """Plan the article again as a new generation: every routed chat, or just `chat`.

    The routed chats are the ones the announcement used (:func:`chats_for` over
    `routes`). A given `chat` must be one a route names or a configured chat
    (`channels`); a withdrawn article is refused. Two editors republishing at
    the same moment get the same generation (the article row is locked while
    it is chosen), so the article is sent once more, not twice.
    """
    chat = chat.strip() if chat else None
    with write_session(factory) as session:
        article = resolve_article(session, ref)
        session.scalars(select(Article.id).where(Article.id == article.id).with_for_update())
        if article.status is ArticleStatus.WITHDRAWN:
            raise EditorialError(f"article #{article.id} is withdrawn; it cannot be republished")
        source = session.get(Source, article.source_id) if article.source_id else None
        slug = article.category.slug if article.category else None
        routed = chats_for(
            routes,
            category_slug=slug,
            source=source.name if source else "",
            text=f"{article.title} {article.summary}",
        )
        if chat is not None:
            if chat not in routed and not _named(chat, routes, set(channels)):
                raise EditorialError(
                    f"no route or configured channel names {chat[:100]}; "
                    "republish goes only to the chats Loa is set up to post to"
                )
            targets = [chat]
        elif not routed:
            raise EditorialError(f"no route sends article #{article.id} to any chat")
        else:
            targets = routed
        latest = session.scalar(
            select(func.max(Delivery.generation)).where(Delivery.article_id == article.id)
        )
        generation = (latest or 0) + 1
        ids = plan_deliveries(session, article.id, targets, generation=generation)
        return RepublishResult(article.id, generation, tuple(ids), tuple(targets))


def _named(chat: str, routes: Sequence[RouteRule], channels: set[str]) -> bool:
    """Whether a route's channel (templated ones by pattern) or a configured chat is `chat`."""
    if chat in channels:
        return True
    for rule in routes:
        if "{category_slug}" not in rule.channel:
            if rule.channel == chat:
                return True
            continue
        head, _, tail = rule.channel.partition("{category_slug}")
        pattern = re.escape(head) + r"[a-z0-9_]+" + re.escape(tail)
        if re.fullmatch(pattern, chat):
            return True
    return False


def withdraw(factory: sessionmaker[Session], ref: str, *, by: str) -> int:
    """Take an article down by hand; returns its id. Withdrawing it again changes nothing.

    The article is kept (never deleted), marked withdrawn, and an event
    records who did it. Rows not yet sent are cancelled (failed with the
    reason), so it is not posted after all; the posts already out are fixed
    by ``fix_posts`` (tasks.actions.dispatch_withdrawn) and the feeds drop it
    at their next rebuild.
    """
    by = (by or "an editor").strip()[:100]
    with write_session(factory) as session:
        article = resolve_article(session, ref)
        if article.status is ArticleStatus.WITHDRAWN:
            return article.id
        now = utcnow()
        article.status = ArticleStatus.WITHDRAWN
        article.withdrawn_at = now
        article.updated_at = now  # corrections measure how long a fix has waited from here
        _cancel_unsent(session, article.id, f"article withdrawn by {by}")
        record_withdrawal(session, article.source_id)
        record_event(
            session,
            EventKind.ARTICLE_WITHDRAWN,
            f"article withdrawn by {by}: {article.title}",
            source_id=article.source_id,
            article_id=article.id,
        )
        return article.id


def _cancel_unsent(session: Session, article_id: int, reason: str) -> None:
    """Rows not sent yet will not be: failed with `reason`.

    A multi-message post cut short (some messages out, a retry pending) is
    closed as sent instead, so ``fix_posts`` takes down the part that is out.
    """
    rows = session.scalars(
        select(Delivery).where(
            Delivery.article_id == article_id, Delivery.state == DeliveryState.PENDING
        )
    )
    for row in rows:
        if row.message_ids:
            row.state = DeliveryState.SENT
            row.sent_at = row.claimed_at or utcnow()
        else:
            row.state = DeliveryState.FAILED
        row.last_error = reason


def retry_failed(factory: sessionmaker[Session], *, chat: str | None = None) -> list[int]:
    """Failed deliveries (of one chat, or all) back to pending and due now; returns their ids.

    Each gets a fresh set of attempts. Rows of withdrawn articles stay failed.
    A channel marked failed (rights, kicked, not found) is given another
    chance too: retrying is how an editor says "fixed, try again".
    """
    with write_session(factory) as session:
        query = (
            select(Delivery.id, Delivery.chat_id)
            .join(Article, Article.id == Delivery.article_id)
            .where(
                Delivery.state == DeliveryState.FAILED,
                Article.status == ArticleStatus.ACTIVE,
            )
            .order_by(Delivery.id)
        )
        chats: set[str] | None = None
        if chat is not None:
            chats = chat_aliases(session, chat.strip())
            query = query.where(Delivery.chat_id.in_(chats))
        rows = session.execute(query).all()
        ids = [row_id for row_id, _ in rows]
        for start in range(0, len(ids), _CHUNK):
            session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids[start : start + _CHUNK]))
                .values(state=DeliveryState.PENDING, next_attempt_at=utcnow(), attempts=0)
            )
        retried = chats if chats is not None else {c for _, c in rows}
        if retried:
            session.execute(
                update(Channel)
                .where(
                    and_(
                        Channel.status == ChannelStatus.FAILED,
                        or_(Channel.configured.in_(retried), Channel.chat_id.in_(retried)),
                    )
                )
                .values(status=ChannelStatus.UNKNOWN)
            )
        return ids

"""One post per story per chat: a later copy becomes a link on the chat's existing post.

Planning (:func:`divert_copies`) runs where deliveries are planned: for each
chat that dedupes stories and already has a live automatic post (generation
0, not failed) of another article of the same story, the new article gets a
:class:`news.models.StoryCopy` row on that post instead of a delivery of its
own. The post then shows it as an "Also on" link: when it is sent, if it was
still pending (the publisher marks the link SHOWN), or through an edit
(bot.story_edits), which the reconciler also sweeps for (:func:`posts_to_edit`),
so a worker killed mid-edit loses nothing.

A held reader post (digest, quiet hours) lists headlines and is never edited:
a copy on it is SKIPPED at once and gets no row of its own either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow, write_session
from news.models import (
    Article,
    ArticleFingerprint,
    ArticleStatus,
    Delivery,
    DeliveryState,
    Source,
    Story,
    StoryCopy,
    StoryCopyState,
)
from news.stories.fingerprint import similarity

#: Chats looked up per statement (a story for 10,000 readers stays a few queries).
CHUNK = 500
#: A post in one of these states shows (or will show) the story: copies join it.
LIVE_POST = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.SENT)
#: Copies whose post must still change: show the link, or drop it (a split).
TO_EDIT = (StoryCopyState.PENDING.value, StoryCopyState.DROPPING.value)
#: Copies a post shows, or should show after its next render.
WANTED = (StoryCopyState.PENDING.value, StoryCopyState.SHOWN.value)
DIGEST_REASON = "a digest lists headlines and is never edited"


@dataclass(frozen=True)
class StoryLink:
    """One "Also on" link of a post: the copy row, and where and whose the copy is."""

    copy_id: int
    url: str
    name: str
    state: str


def divert_copies(session: Session, article: Article, chats: Sequence[str]) -> list[str]:
    """Of `chats`, the ones that still need a post of their own; the others get a copy row.

    A chat is diverted when another article of `article`'s story has a live
    generation-0 post there and `article` has none of its own (a repeated
    planning keeps what the first one did). The story's row is locked first
    (FOR UPDATE on PostgreSQL; SQLite's write transaction already serializes),
    so two copies planned at once by two workers never both get a post.
    """
    if article.story_id is None or not chats:
        return list(chats)
    session.scalar(select(Story.id).where(Story.id == article.story_id).with_for_update())
    others = session.scalar(
        select(Article.id)
        .where(Article.story_id == article.story_id, Article.id != article.id)
        .limit(1)
    )
    if others is None:
        return list(chats)  # the story's only article: nothing to join
    keep: list[str] = []
    copies: list[dict[str, object]] = []
    wanted = list(dict.fromkeys(chats))
    for offset in range(0, len(wanted), CHUNK):
        chunk = wanted[offset : offset + CHUNK]
        own = set(
            session.scalars(
                select(Delivery.chat_id).where(
                    Delivery.article_id == article.id,
                    Delivery.generation == 0,
                    Delivery.chat_id.in_(chunk),
                )
            )
        )
        posts: dict[str, tuple[int, str | None, int]] = {}
        rows = session.execute(
            select(Delivery.chat_id, Delivery.id, Delivery.bundle, Delivery.article_id)
            .join(Article, Article.id == Delivery.article_id)
            .where(
                Article.story_id == article.story_id,
                Article.id != article.id,
                Delivery.generation == 0,
                Delivery.state.in_(LIVE_POST),
                Delivery.chat_id.in_(chunk),
            )
            .order_by(Delivery.id)
        )
        for chat, delivery_id, bundle, posted in rows:
            posts.setdefault(chat, (delivery_id, bundle, posted))
        alike = _similarities(session, article.id, {post[2] for post in posts.values()})
        for chat in chunk:
            if chat in own or chat not in posts:
                keep.append(chat)
                continue
            delivery_id, bundle, posted = posts[chat]
            held = bundle is not None
            copies.append(
                {
                    "delivery_id": delivery_id,
                    "article_id": article.id,
                    "state": (StoryCopyState.SKIPPED if held else StoryCopyState.PENDING).value,
                    "last_error": DIGEST_REASON if held else None,
                    "similarity": alike.get(posted),
                    "created_at": utcnow(),
                }
            )
    if copies:
        session.execute(_insert_ignoring_conflicts(session), copies)
    return keep


def _similarities(session: Session, copy_id: int, posted: set[int]) -> dict[int, float]:
    """Estimated Jaccard similarity of the copy to each posted article (their MinHash
    signatures; none for an article without a fingerprint)."""
    if not posted:
        return {}
    rows = session.execute(
        select(ArticleFingerprint.article_id, ArticleFingerprint.signature).where(
            ArticleFingerprint.article_id.in_([copy_id, *posted])
        )
    )
    signatures = {article_id: bytes(sig) for article_id, sig in rows}
    mine = signatures.get(copy_id)
    if mine is None:
        return {}
    return {a: similarity(mine, signatures[a]) for a in posted if a in signatures}


def _insert_ignoring_conflicts(session: Session) -> Insert:
    """INSERT … ON CONFLICT (post, copy) DO NOTHING: a copy joins a post once."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(StoryCopy).on_conflict_do_nothing(index_elements=["delivery_id", "article_id"])


def post_links(
    session: Session, delivery_ids: Iterable[int], *, max_links: int
) -> dict[int, list[StoryLink]]:
    """The links each post should show (pending or shown copies, oldest first, at most
    `max_links`); posts without any are left out."""
    ids = list(dict.fromkeys(delivery_ids))
    links: dict[int, list[StoryLink]] = {}
    for offset in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(
                StoryCopy.delivery_id,
                StoryCopy.id,
                StoryCopy.state,
                Article.canonical_url,
                Source.name,
            )  # fmt: skip
            .join(Article, Article.id == StoryCopy.article_id)
            .outerjoin(Source, Source.id == Article.source_id)
            .where(
                StoryCopy.delivery_id.in_(ids[offset : offset + CHUNK]),
                StoryCopy.state.in_(WANTED),
                Article.status != ArticleStatus.WITHDRAWN,  # its link leaves with it
            )
            .order_by(StoryCopy.delivery_id, StoryCopy.id)
        )
        for delivery_id, copy_id, state, url, name in rows:
            shown = links.setdefault(delivery_id, [])
            if len(shown) < max_links:
                shown.append(StoryLink(copy_id, url, name or _host(url), state))
    return links


def _host(url: str) -> str:
    """A link's name when its source is unknown (a pushed article): the site's host."""
    return urlsplit(url).hostname or url


def mark_shown(factory: sessionmaker[Session], copy_ids: Sequence[int]) -> None:
    """Record that a sent post shows these copies (those still pending: a split may have
    turned one to DROPPING meanwhile, and then the post must still be edited)."""
    if not copy_ids:
        return
    with write_session(factory) as session:
        session.execute(
            update(StoryCopy)
            .where(
                StoryCopy.id.in_(list(copy_ids)),
                StoryCopy.state == StoryCopyState.PENDING.value,
            )
            .values(
                state=StoryCopyState.SHOWN.value,
                shown_at=utcnow(),
                last_error=None,
                next_attempt_at=None,
            )  # fmt: skip
        )


def posts_to_edit(
    session: Session,
    *,
    now: datetime | None = None,
    article_ids: Sequence[int] | None = None,
    limit: int = 200,
) -> list[int]:
    """Posts (delivery ids) with copies due to be shown or dropped: the edits to run.

    A post still pending or sending is left out (its send shows its copies); a
    failed one is included, so its copies are settled (skipped) rather than
    left pending for ever. `article_ids` narrows it to the copies just planned.
    """
    now = now or utcnow()
    query = (
        select(StoryCopy.delivery_id)
        .join(Delivery, Delivery.id == StoryCopy.delivery_id)
        .where(
            StoryCopy.state.in_(TO_EDIT),
            or_(StoryCopy.next_attempt_at.is_(None), StoryCopy.next_attempt_at <= now),
            Delivery.state.in_((DeliveryState.SENT, DeliveryState.FAILED)),
        )
    )
    if article_ids is not None:
        if not article_ids:
            return []
        query = query.where(
            or_(
                StoryCopy.article_id.in_(list(article_ids)),
                Delivery.article_id.in_(list(article_ids)),
            )
        )
    return list(session.scalars(query.distinct().order_by(StoryCopy.delivery_id).limit(limit)))


def drop_withdrawn(factory: sessionmaker[Session], article_id: int) -> list[int]:
    """A withdrawn copy's links are taken back: its rows → DROPPING; the posts to edit.

    Called when an article is withdrawn (tasks.jobs.fix_posts); a post rendered
    meanwhile already leaves it out (see :func:`post_links`).
    """
    with factory() as session:  # a correction (the usual fix) writes nothing here
        shown = session.scalar(
            select(StoryCopy.id)
            .join(Article, Article.id == StoryCopy.article_id)
            .where(
                StoryCopy.article_id == article_id,
                StoryCopy.state.in_(WANTED),
                Article.status == ArticleStatus.WITHDRAWN,
            )
            .limit(1)
        )
    if shown is None:
        return []  # not withdrawn, or its links already dropping (the sweep has those)
    with write_session(factory) as session:
        session.execute(
            update(StoryCopy)
            .where(StoryCopy.article_id == article_id, StoryCopy.state.in_(WANTED))
            .values(state=StoryCopyState.DROPPING.value, next_attempt_at=None)
        )
        return posts_to_edit(session, article_ids=[article_id], limit=10_000)


def withdrawn_copies(session: Session, *, limit: int = 100) -> list[int]:
    """Withdrawn articles whose links posts still show: what the reconciler drops
    (:func:`drop_withdrawn`) if the withdrawal's own task was lost."""
    query = (
        select(StoryCopy.article_id)
        .join(Article, Article.id == StoryCopy.article_id)
        .where(StoryCopy.state.in_(WANTED), Article.status == ArticleStatus.WITHDRAWN)
        .distinct()
        .limit(limit)
    )
    return list(session.scalars(query))

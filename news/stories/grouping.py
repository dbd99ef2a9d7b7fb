"""Put each new article in a story: the one of its closest copy from another source, or a new one.

:func:`assign_story` runs inside the transaction that stores the article
(news.store.upsert_article, every path: poll, CMS push, /post, fetch). It
fingerprints the text, stores the fingerprint, and looks among the other
sources' articles first seen within ``stories.window_hours`` for the most
alike one at or above ``stories.threshold``; the article joins that story,
else it starts its own. An article an editor split out (``story_pinned``) is
never joined to, and never moves.

Two workers storing two copies at the same moment cannot see each other's
uncommitted rows. On SQLite writers are serialised (``BEGIN IMMEDIATE``), so
it cannot happen; on PostgreSQL a transaction-scoped advisory lock, taken by
the statement that stores the fingerprint (before the lookup), serialises
story assignment until commit (held for the rest of a short transaction: the
poll and the push store one article per transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import StoriesConfig
from news.db import utcnow, write_session
from news.models import Article, ArticleFingerprint, Story
from news.stories.fingerprint import Fingerprint, fingerprint
from news.stories.index import Match, matches, store_fingerprint

__all__ = ["StoryAssignment", "assign_story", "fingerprint_existing", "refingerprint"]

#: the PostgreSQL advisory lock key that serialises story assignment ("loa-stor")
_LOCK_KEY = 0x6C6F612D73746F72


@dataclass(frozen=True)
class StoryAssignment:
    """Where an article went: its story, and whether it joined another source's copy."""

    story_id: int
    joined: bool
    matched_article_id: int | None = None
    similarity: float | None = None


def article_fingerprint(article: Article) -> Fingerprint | None:
    """The article's fingerprint from its stored title, lead and body."""
    return fingerprint(article.title or "", article.summary or "", article.body or "")


def assign_story(
    session: Session, article: Article, config: StoriesConfig
) -> StoryAssignment | None:
    """Fingerprint a new article and give it a story (None: disabled, or too short to compare).

    The article must be flushed (it has an id) and have no fingerprint yet (a
    new article, or one :func:`fingerprint_existing` found without). See the
    module docstring.
    """
    if not config.enabled:
        return None
    fp = article_fingerprint(article)
    if fp is None:
        return None
    seen_at = article.first_seen_at or utcnow()
    store_fingerprint(
        session, article.id, fp, source_id=article.source_id, seen_at=seen_at, replace=False,
        lock_key=_LOCK_KEY,
    )  # fmt: skip
    best = _best(
        matches(
            session,
            fp,
            since=seen_at - timedelta(hours=config.window_hours),
            exclude_source_id=article.source_id,
            exclude_article_id=article.id,
        ),
        config.threshold,
    )
    now = utcnow()
    if best is not None and best.story_id is not None:
        session.execute(update(Story).where(Story.id == best.story_id).values(updated_at=now))
        article.story_id = best.story_id
        session.flush()
        return StoryAssignment(best.story_id, True, best.article_id, best.similarity)
    story_id = session.scalars(
        insert(Story)
        .values(first_article_id=article.id, created_at=now, updated_at=now)
        .returning(Story.id)
    ).one()
    article.story_id = story_id
    session.flush()
    return StoryAssignment(story_id, False)


def refingerprint(session: Session, article: Article, config: StoriesConfig) -> None:
    """A corrected article: replace its fingerprint and bands, keep its story.

    An article without a story (stored too short, before the migration or
    with stories disabled) is left alone (:func:`fingerprint_existing` groups
    the old ones): it may have been posted already, and grouping it now would
    surprise its chats. So a caller without the stories config (the re-check)
    changes nothing for a newsroom that disabled stories.
    """
    if not config.enabled or article.story_id is None:
        return
    fp = article_fingerprint(article)
    seen_at = article.first_seen_at or utcnow()
    store_fingerprint(session, article.id, fp, source_id=article.source_id, seen_at=seen_at)


def fingerprint_existing(
    factory: sessionmaker[Session], config: StoriesConfig, *, since: datetime, batch: int = 200
) -> int:
    """Fingerprint and group articles first seen since `since` that have no fingerprint.

    For articles stored before migration 0012 (or while stories were
    disabled): oldest first, so each one is compared with those seen before
    it, as if they had been grouped when stored. Returns how many were
    fingerprinted. Batches commit on their own, so a stopped backfill resumes.
    """
    with factory() as session:
        ids = list(
            session.scalars(
                select(Article.id)
                .outerjoin(ArticleFingerprint, ArticleFingerprint.article_id == Article.id)
                .where(Article.first_seen_at >= since, ArticleFingerprint.article_id.is_(None))
                .order_by(Article.first_seen_at, Article.id)
            )
        )
    done = 0
    for start in range(0, len(ids), batch):
        with write_session(factory) as session:
            for article_id in ids[start : start + batch]:
                article = session.get_one(Article, article_id)
                if article.story_id is not None:
                    refingerprint(session, article, config)
                    done += article_fingerprint(article) is not None
                elif assign_story(session, article, config) is not None:
                    done += 1
    return done


def _best(found: list[Match], threshold: float) -> Match | None:
    """The most alike match at or above the threshold that may be joined."""
    return next(
        (m for m in found if m.similarity >= threshold and not m.pinned and m.story_id is not None),
        None,
    )

"""Story groups as people see them: which stored articles tell one story.

Read-only views over ``articles.story_id`` for the places where editors and
readers look: the feeds' cross-references, ``loa status`` and the status
page, ``loa story`` and the editors' ``/find``. Grouping itself is
:mod:`news.stories.grouping`; splitting a wrong group :mod:`news.stories.split`.

Every article gets a story of its own when it is fingerprinted, so a *group*
here is a story with two or more articles; a story of one is nobody's
business but the fingerprint index's. Every query is bounded by an index:
``ix_articles_story_id`` for members, ``ix_articles_first_seen`` for the
recent window.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from news.db import utcnow
from news.errors import LoaError
from news.models import Article, ArticleStatus, Source, Story

#: the window `loa status` and the status page look back over, in hours
RECENT_HOURS = 72
#: groups listed one by one (the others are only counted)
TOP_GROUPS = 10


class StoryNotFound(LoaError):
    """No story (or no article) by the id or address an operator gave."""


@dataclass(frozen=True)
class StoryMember:
    """One article of a story: what a listing of the group needs."""

    article_id: int
    title: str
    url: str
    source: str | None
    first_seen_at: datetime
    withdrawn: bool


@dataclass(frozen=True)
class StoryGroup:
    """A story and its articles, first seen first."""

    story_id: int
    members: tuple[StoryMember, ...]
    #: an editor split this story out of another one (their Telegram id)
    split_by: int | None = None
    #: the article that was posted (the others are "Also on" links on its post)
    first_article_id: int | None = None

    @property
    def copies(self) -> int:
        """How many articles tell the story."""
        return len(self.members)

    @property
    def first_title(self) -> str:
        """The title of the copy seen first (what the channel post showed)."""
        first = self.first
        return first.title if first is not None else ""

    @property
    def first(self) -> StoryMember | None:
        """The posted copy when it is still a member, else the first seen."""
        for member in self.members:
            if member.article_id == self.first_article_id:
                return member
        return self.members[0] if self.members else None

    @property
    def sources(self) -> list[str]:
        """Source names in the order their copies arrived, each once."""
        return list(dict.fromkeys(m.source or "?" for m in self.members))

    @property
    def last_seen_at(self) -> datetime | None:
        """When the latest copy arrived."""
        return max((m.first_seen_at for m in self.members), default=None)

    def others(self, article_id: int) -> list[StoryMember]:
        """The copies other than `article_id` (what its "also on" lists)."""
        return [m for m in self.members if m.article_id != article_id]


@dataclass(frozen=True)
class RecentStories:
    """Groups of two or more articles among the recent ones (``loa status``)."""

    hours: int
    #: how many stories had two or more articles first seen in the window
    groups: int
    #: articles in those groups (within the window)
    articles: int
    #: the most recently active groups, newest first, at most TOP_GROUPS
    top: tuple[StoryGroup, ...] = ()


def story_groups(
    session: Session, story_ids: Iterable[int], *, story_rows: bool = True
) -> dict[int, StoryGroup]:
    """Each story's articles (withdrawn ones included, marked), in one indexed query.

    `story_rows`: also read the stories themselves (who split it, which copy
    was posted): a second query the feeds, which need neither, skip.
    """
    wanted = sorted(set(story_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(
            Article.story_id,
            Article.id,
            Article.title,
            Article.canonical_url,
            Source.name,
            Article.first_seen_at,
            Article.status,
        )
        .outerjoin(Source, Source.id == Article.source_id)
        .where(Article.story_id.in_(wanted))
        .order_by(Article.story_id, Article.first_seen_at, Article.id)
    )
    members: dict[int, list[StoryMember]] = {}
    for story_id, article_id, title, url, source, seen, status in rows:
        assert story_id is not None  # selected by it
        members.setdefault(story_id, []).append(
            StoryMember(article_id, title, url, source, seen, status == ArticleStatus.WITHDRAWN)
        )
    stories: dict[int, Story] = {}
    if story_rows:
        found_stories = session.scalars(select(Story).where(Story.id.in_(list(members))))
        stories = {story.id: story for story in found_stories}
    return {
        story_id: StoryGroup(
            story_id,
            tuple(found),
            split_by=stories[story_id].split_by if story_id in stories else None,
            first_article_id=stories[story_id].first_article_id if story_id in stories else None,
        )
        for story_id, found in members.items()
    }


def groups_of_articles(
    session: Session, article_ids: Collection[int], *, min_copies: int = 2
) -> dict[int, StoryGroup]:
    """The group each of `article_ids` belongs to, for groups of at least `min_copies`."""
    if not article_ids:
        return {}
    pairs = session.execute(
        select(Article.id, Article.story_id).where(
            Article.id.in_(list(article_ids)), Article.story_id.is_not(None)
        )
    )
    story_of = {article_id: story_id for article_id, story_id in pairs if story_id is not None}
    groups = story_groups(session, story_of.values())
    return {
        article_id: groups[story_id]
        for article_id, story_id in story_of.items()
        if story_id in groups and groups[story_id].copies >= min_copies
    }


def recent_groups(
    session: Session,
    *,
    now: datetime | None = None,
    hours: int = RECENT_HOURS,
    limit: int = TOP_GROUPS,
) -> RecentStories:
    """Stories with two or more articles first seen in the last `hours`, newest first.

    One aggregate over the window's range of ``ix_articles_first_seen`` (a
    story's copies arrive within hours of each other, so the window holds
    them), then the top groups' members through ``ix_articles_story_id``. The
    group key is ``coalesce(story_id, 0)``, not the bare column: grouping by
    it (or filtering ``story_id IS NOT NULL``) lets SQLite walk the whole story
    index instead of the window (32 ms against 8 at 100,000 articles,
    bench/story_views.py).
    """
    since = (now or utcnow()) - timedelta(hours=hours)
    key = func.coalesce(Article.story_id, 0)
    found = session.execute(
        select(key, func.count(), func.max(Article.first_seen_at))
        .where(Article.first_seen_at >= since)
        .group_by(key)
        .having(func.count() >= 2)
    )
    rows = [(int(story_id), int(n), seen) for story_id, n, seen in found if story_id]
    ordered = sorted(rows, key=lambda r: (r[2], r[0]), reverse=True)
    top_ids = [story_id for story_id, _, _ in ordered[: max(0, limit)]]
    groups = story_groups(session, top_ids)
    return RecentStories(
        hours=hours,
        groups=len(rows),
        articles=sum(int(count) for _, count, _ in rows),
        top=tuple(groups[i] for i in top_ids if i in groups),
    )


def resolve_group(session: Session, ref: str) -> StoryGroup:
    """The story an operator means: ``12`` (story id), ``a123`` (article id) or an article URL.

    Raises StoryNotFound naming what was looked for.
    """
    from news.editorial import EditorialError, resolve_article

    ref = (ref or "").strip()
    if ref.isdigit() and len(ref) <= 10:
        found = story_groups(session, [int(ref)]).get(int(ref))
        if found is None:
            raise StoryNotFound(f"no story #{ref}")
        return found
    article_ref = ref[1:] if ref[:1] in ("a", "A") and ref[1:].isdigit() else ref
    try:
        article = resolve_article(session, article_ref)
    except EditorialError as exc:
        raise StoryNotFound(str(exc)) from None
    if article.story_id is None:
        raise StoryNotFound(f"article #{article.id} belongs to no story (not fingerprinted)")
    return story_groups(session, [article.story_id])[article.story_id]

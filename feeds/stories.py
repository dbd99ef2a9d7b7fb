"""Feeds keep every copy of a story, and each copy points at the others.

A story told by several sources (news.stories) stays one entry per article
in every feed: a reader who follows one source must not lose its copy. The
copies cross-reference each other instead: a JSON Feed item carries the
extension ``"_loa": {"story_id": N, "also_on": [...]}`` (JSON Feed 1.1: an
extension's key starts with an underscore, and readers that do not know it
ignore it) and an Atom entry one ``<link rel="related">`` per other copy
(RFC 4287 §4.2.7.2). RSS 2.0 has no such element and gets nothing.

When a copy joins a story the feeds that hold the older copies change too,
so a scoped rebuild takes the whole story's sources and categories
(:func:`story_scope`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from news.models import Article, Source
from news.stories.groups import StoryGroup, story_groups


@dataclass(frozen=True)
class Copy:
    """Another article of the same story, as a feed names it."""

    url: str
    title: str
    source: str


@dataclass(frozen=True)
class StoryLinks:
    """What one feed entry says about its story."""

    story_id: int
    also_on: tuple[Copy, ...]


class GroupCache:
    """Story groups already read during one rebuild: its feeds list the same articles.

    Every article of a source's feed is also in its category's feed and often
    in the all-feed, and the Atom and JSON twins list the same articles: a
    rebuild reads each story once instead of once per feed.
    """

    def __init__(self) -> None:
        self._groups: dict[int, StoryGroup | None] = {}

    def groups(self, session: Session, story_ids: Iterable[int]) -> dict[int, StoryGroup | None]:
        """The groups of `story_ids` (None: no such story), reading only the unknown ones."""
        wanted = set(story_ids)
        missing = wanted - self._groups.keys()
        if missing:
            found = story_groups(session, missing, story_rows=False)
            self._groups.update({story_id: found.get(story_id) for story_id in missing})
        return {story_id: self._groups[story_id] for story_id in wanted}


def story_links(
    session: Session,
    articles: Sequence[Article],
    cache: GroupCache | None = None,
    *,
    titles: Mapping[str, str] | None = None,
) -> dict[int, StoryLinks]:
    """For each article of a story with other (not withdrawn) copies: its story and the copies.

    A copy's source is shown by its title (`titles`: SourceConfig.title by name) when it has one.

    One indexed query (``ix_articles_story_id``) for the whole feed, however
    many articles it lists (their story ids are on the rows already), and
    none for stories `cache` has read for an earlier feed of the same rebuild.
    """
    story_of = {a.id: a.story_id for a in articles if a.story_id is not None}
    groups = (cache or GroupCache()).groups(session, story_of.values())
    links: dict[int, StoryLinks] = {}
    for article_id, story_id in story_of.items():
        group = groups.get(story_id)
        if group is None or group.copies < 2:
            continue
        others = tuple(
            Copy(m.url, m.title, (titles or {}).get(m.source or "", m.source or ""))
            for m in group.others(article_id)
            if not m.withdrawn
        )
        if others:
            links[article_id] = StoryLinks(group.story_id, others)
    return links


def story_scope(
    session: Session, article_ids: Iterable[int]
) -> tuple[frozenset[str], frozenset[int]]:
    """The sources and articles of every story the changed articles belong to.

    A rebuild scoped to these renders the feeds of the older copies too, so
    their entries gain the new copy's link in the same rebuild.
    """
    changed = list(article_ids)
    if not changed:
        return frozenset(), frozenset()
    stories = select(Article.story_id).where(Article.id.in_(changed), Article.story_id.is_not(None))
    rows = session.execute(
        select(Article.id, Source.name)
        .outerjoin(Source, Source.id == Article.source_id)
        .where(Article.story_id.in_(stories))
    ).all()
    sources = frozenset(name for _, name in rows if name)
    return sources, frozenset(article_id for article_id, _ in rows) | frozenset(changed)

"""An editor splits an article out of a story it was wrongly grouped into.

The article leaves into a story of its own (pinned: never regrouped), and
every post changes to match, through the usual paths:

* posts that showed it as an "Also on" link get edited to drop it (its copy
  rows → DROPPING; bot.story_edits turns them DROPPED);
* if it was the posted copy somewhere, its posts stay its posts, the links of
  the other copies on them are dropped the same way, and those copies are
  planned again: they now get a post of their own (one, for the rest of the
  old story, with the others as its links);
* the article itself is planned as :func:`news.announce.plan_announcements`
  would plan it: the chats that had only its link get a new post (generation
  0), the ones it was posted to keep theirs (the ledger's rows are unique).

Running it again changes nothing: the article is already alone, its copies
already dropping or dropped, and planning is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from news.announce import Planned, plan_announcements
from news.db import utcnow, write_session
from news.errors import EditorialError
from news.models import Article, Delivery, Story, StoryCopy, StoryCopyState
from news.stories.copies import posts_to_edit

#: Copies that a post shows or is about to show: a split must take them back.
_SHOWING = (StoryCopyState.PENDING.value, StoryCopyState.SHOWN.value)


@dataclass(frozen=True)
class SplitResult:
    """What a split did: the article's new story, the posts planned and the posts to edit."""

    article_id: int
    story_id: int
    #: the article was in a group (False: already alone, nothing to split)
    split: bool
    planned: list[Planned] = field(default_factory=list)
    #: posts (delivery ids) whose "Also on" line drops a link
    edits: list[int] = field(default_factory=list)
    #: other copies planned again because their post was the split article's
    replanned: list[int] = field(default_factory=list)


def split_article(
    factory: sessionmaker[Session], settings: Settings, article_id: int, *, by: int | None
) -> SplitResult:
    """Move `article_id` out of its story into a new pinned one; plan and list the post changes.

    `by`: the editor's Telegram user id (None: the CLI or the API). Raises
    EditorialError for an unknown article.
    """
    with write_session(factory) as session:
        article = session.get(Article, article_id)
        if article is None:
            raise EditorialError(f"no article with id {article_id}")
        old_story = article.story_id
        split = old_story is not None and _has_company(session, article)
        if split or old_story is None:
            story = Story(first_article_id=article.id, split_by=by)
            session.add(story)
            session.flush()
            article.story_id = story.id
        article.story_pinned = True
        new_story = article.story_id
        assert new_story is not None
        if split and old_story is not None:
            _reassign_first(session, old_story)
        # Its links on other articles' posts are taken back.
        session.execute(
            update(StoryCopy)
            .where(StoryCopy.article_id == article.id, StoryCopy.state.in_(_SHOWING))
            .values(state=StoryCopyState.DROPPING.value, next_attempt_at=None)
        )
        # The other copies' links on its own posts: those copies get posts of their own.
        own_posts = select(Delivery.id).where(Delivery.article_id == article.id)
        others = list(
            session.scalars(
                select(StoryCopy.article_id)
                .where(StoryCopy.delivery_id.in_(own_posts), StoryCopy.state.in_(_SHOWING))
                .distinct()
            )
        )
        session.execute(
            update(StoryCopy)
            .where(StoryCopy.delivery_id.in_(own_posts), StoryCopy.state.in_(_SHOWING))
            .values(state=StoryCopyState.DROPPING.value, next_attempt_at=None)
        )
    others = sorted(set(others))
    planned = plan_announcements(
        factory,
        [article_id, *others],
        settings.effective_routes(),
        default_tz=settings.timezone,
        dedupe_readers=settings.stories.dedupe_readers,
    )
    with factory() as session:
        edits = posts_to_edit(session, article_ids=[article_id], limit=10_000)
    return SplitResult(article_id, new_story, split, planned, edits, others)


def _has_company(session: Session, article: Article) -> bool:
    """Whether another article shares `article`'s story (else there is nothing to split)."""
    other = session.scalar(
        select(Article.id)
        .where(Article.story_id == article.story_id, Article.id != article.id)
        .limit(1)
    )
    return other is not None


def _reassign_first(session: Session, story_id: int) -> None:
    """The old story's first copy is now its earliest remaining article."""
    story = session.get(Story, story_id)
    if story is None:
        return
    story.first_article_id = session.scalar(
        select(Article.id)
        .where(Article.story_id == story_id)
        .order_by(Article.first_seen_at, Article.id)
        .limit(1)
    )
    story.updated_at = utcnow()

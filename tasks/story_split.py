"""An editor's split and everything that follows it: the bot's Split button and `loa story split`.

:func:`tasks.actions.split_story_article` splits and enqueues the posts and
edits; the feeds change too (the copies' cross-references, feeds.stories), so
a rebuild of the old group's feeds is asked for here, and the outcome is
turned into chats for people to read (news.stories.split_view).
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from news.stories.groups import groups_of_articles
from news.stories.split_view import SplitOutcome, split_outcome
from tasks.actions import dispatch_feed_rebuild, split_story_article


def split_and_follow(
    settings: Settings, factory: sessionmaker[Session], article_id: int, *, by: int | None
) -> SplitOutcome:
    """Split `article_id` out of its story; enqueue posts, edits and the feeds' rebuild.

    Raises EditorialError (news.errors) for an unknown article.
    """
    with factory() as session:
        before = groups_of_articles(session, [article_id], min_copies=1)
    members = {m.article_id for group in before.values() for m in group.members}
    result = split_story_article(settings, article_id, by=by, factory=factory)
    if result.split:  # the old mates' feeds drop its link, its own feeds drop theirs
        from feeds.cache import FeedScope  # as tasks.actions does: feeds only when needed

        scope = FeedScope(article_ids=frozenset(members | {article_id}))
        dispatch_feed_rebuild(settings=settings, factory=factory, scope=scope)
    return split_outcome(factory, result)

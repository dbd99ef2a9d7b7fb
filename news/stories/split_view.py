"""What an editor's split planned, in the chats' names: for `loa story split` and the bot.

:func:`news.stories.split.split_article` answers with delivery ids (posts
planned, posts to edit); people want to read where: which chats get a new
post, which posts lose a link. One query turns the ids into chats.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from news.models import Delivery
from news.stories.split import SplitResult


@dataclass(frozen=True)
class SplitOutcome:
    """A split's effects by chat: what the CLI prints and the bot's message says."""

    article_id: int
    story_id: int
    #: the article was in a group (False: it was alone; nothing changed)
    split: bool
    #: chats that get a new post (of the article, or of a copy now on its own)
    new_posts: tuple[str, ...]
    #: chats whose post is edited to drop a link
    edited: tuple[str, ...]
    #: other copies that get posts of their own (their post was the split article's)
    replanned: tuple[int, ...]

    def describe(self) -> str:
        """One English line (the CLI's; the bot words it per language)."""
        if not self.split:
            return f"article #{self.article_id} was alone in its story: nothing to split"
        parts = [f"article #{self.article_id} is now story #{self.story_id}"]
        parts.append(
            f"new posts planned: {chat_summary(self.new_posts)}" if self.new_posts else
            "no new post planned"
        )  # fmt: skip
        if self.edited:
            parts.append(f"posts edited to drop its link: {chat_summary(self.edited)}")
        if self.replanned:
            ids = ", ".join(f"#{i}" for i in self.replanned)
            parts.append(f"posted on their own now: {ids}")
        return "; ".join(parts)


def chat_summary(chats: tuple[str, ...]) -> str:
    """Channels and groups by name, readers' private chats only counted: ``@tin, @b (+3)``."""
    named = sorted({c for c in chats if not c.isdigit()})
    readers = len({c for c in chats if c.isdigit()})
    if not named:
        return f"{readers} readers"
    return ", ".join(named) + (f" (+{readers})" if readers else "")


def split_outcome(factory: sessionmaker[Session], result: SplitResult) -> SplitOutcome:
    """`result` with its delivery ids turned into chats."""
    planned = [p.delivery_id for p in result.planned]
    with factory() as session:
        return SplitOutcome(
            article_id=result.article_id,
            story_id=result.story_id,
            split=result.split,
            new_posts=_chats(session, planned),
            edited=_chats(session, list(result.edits)),
            replanned=tuple(result.replanned),
        )


def _chats(session: Session, delivery_ids: list[int]) -> tuple[str, ...]:
    if not delivery_ids:
        return ()
    return tuple(session.scalars(select(Delivery.chat_id).where(Delivery.id.in_(delivery_ids))))

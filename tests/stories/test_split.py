"""An editor splits a wrongly grouped article: new post for it, its link dropped by an edit.

Against the Telegram Bot API emulator over real HTTP, with the same helpers
as the one-post tests (articles put in one story directly in the database).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.publisher import Publisher
from config.settings import RouteRule
from news.errors import EditorialError
from news.models import Article, Story, StoryCopy
from news.stories.split import split_article
from telegram_emulator import Emulator
from tests.stories.test_one_post import (
    announce,
    copies,
    copy_of,
    publisher,
    run_edits,
    settings,
    story_of,
    with_routes,
)

__all__ = ["publisher", "settings"]  # the fixtures, shared with the one-post tests


def publish_planned(publisher: Publisher, delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        assert publisher.publish(delivery_id).status == "sent"


def test_split_copy_gets_its_own_post_and_its_link_is_dropped(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="tach")
    with_routes(publisher, RouteRule(channel="@tach"))
    first = copy_of(factory, "bao-tinh", 1, None)
    announce(publisher, first)
    second = copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first))
    announce(publisher, second)
    run_edits(publisher)
    old_story = story_of(factory, first)

    result = split_article(factory, publisher.settings, second, by=42)
    assert result.split and result.story_id != old_story and len(result.planned) == 1
    publish_planned(publisher, [p.delivery_id for p in result.planned])
    assert len(result.edits) == 1
    assert run_edits(publisher) == ["edited"]
    posted, own = telegram_emulator.sent(channel["id"])
    assert posted.text is not None and "Cũng đăng trên" not in posted.text
    assert len(posted.edits) == 2  # shown, then dropped
    assert own.text is not None and own.text.startswith("Hội nghị tuyên giáo (cong-tinh-uy)")
    assert [state for _, state, _ in copies(factory)] == ["dropped"]
    with factory() as session:
        moved = session.get_one(Article, second)
        assert moved.story_pinned and moved.story_id == result.story_id
        assert session.get_one(Story, result.story_id).split_by == 42

    again = split_article(factory, publisher.settings, second, by=42)
    assert not again.split and again.story_id == result.story_id
    assert again.planned == [] and again.edits == []
    assert run_edits(publisher) == []
    assert len(telegram_emulator.calls("sendMessage")) == 2
    assert len(telegram_emulator.calls("editMessageText")) == 2
    with pytest.raises(EditorialError):
        split_article(factory, publisher.settings, 999, by=None)


def test_splitting_the_posted_copy_posts_the_rest_of_the_story_on_its_own(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="goc")
    with_routes(publisher, RouteRule(channel="@goc"))
    first = copy_of(factory, "bao-tinh", 1, None)
    announce(publisher, first)
    story = story_of(factory, first)
    second = copy_of(factory, "cong-tinh-uy", 2, story)
    third = copy_of(factory, "ubnd-tinh", 3, story)
    announce(publisher, second, third)
    assert run_edits(publisher) == ["edited"]

    result = split_article(factory, publisher.settings, first, by=None)
    assert result.replanned == [second, third]
    publish_planned(publisher, [p.delivery_id for p in result.planned])
    assert run_edits(publisher) == ["edited"]
    original, rest = telegram_emulator.sent(channel["id"])
    assert original.text is not None and "Cũng đăng trên" not in original.text
    assert rest.text is not None and rest.text.startswith("Hội nghị tuyên giáo (cong-tinh-uy)")
    assert rest.text.endswith("Cũng đăng trên: ubnd-tinh")  # shown in the new post's send
    with factory() as session:
        states = session.execute(select(StoryCopy.article_id, StoryCopy.state)).all()
        assert session.get_one(Story, story).first_article_id == second
    # both links dropped from the old post; the third copy is a link on the new one
    assert sorted(map(tuple, states)) == [(second, "dropped"), (third, "dropped"), (third, "shown")]

    split_article(factory, publisher.settings, first, by=None)
    assert run_edits(publisher) == []
    assert len(telegram_emulator.calls("sendMessage")) == 2

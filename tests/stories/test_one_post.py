"""One post per story per chat, against the Telegram Bot API emulator over real HTTP.

Copies of a story from several sources reach a chat as ONE message; the later
copies appear as "Cũng đăng trên: <source>" links edited into it. The grouping
itself (news.stories.grouping) is not under test here: articles are put in one
story directly in the database.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.corrections import Corrector, stale_deliveries
from bot.limiter import Limits, TelegramLimiter
from bot.publisher import Publisher
from bot.render import RenderOptions, render_edits, render_post
from bot.senders import TelegramSender
from bot.story_edits import EditStatus, StoryEditor
from config.loader import load_settings
from config.settings import RouteRule, Settings
from news.announce import plan_announcements
from news.db import utcnow
from news.models import Article, ArticleStatus, Category, Delivery, Story, StoryCopy
from news.readers import set_digest
from news.reconcile import find_due_work
from news.store import get_or_create_source, upsert_article
from news.stories.copies import drop_withdrawn, posts_to_edit
from news.subscriptions import subscribe
from telegram_emulator import Emulator
from telegram_emulator.models import MessageRecord
from tests.helpers import extracted

TOKEN = "123456:" + "A" * 35


@pytest.fixture
def settings(telegram_emulator: Emulator, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        environ={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": telegram_emulator.base_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
        },
    )


@pytest.fixture
def publisher(
    factory: sessionmaker[Session],
    settings: Settings,
    redis_client: redis.Redis,
    telegram_emulator: Emulator,
) -> Iterator[Publisher]:
    sender = TelegramSender(TOKEN, base_url=telegram_emulator.base_url)
    limiter = TelegramLimiter(redis_client, Limits(), prefix=f"loa:test:{uuid.uuid4().hex}")
    yield Publisher(factory, sender, settings, limiter=limiter)
    sender.close()


def with_routes(publisher: Publisher, *routes: RouteRule) -> Settings:
    """The publisher's settings with these routes (the planner reads the same)."""
    publisher.settings = publisher.settings.model_copy(update={"routes": list(routes)})
    return publisher.settings


BODY = " ".join(f"Đoạn {i} của bài viết về hội nghị tuyên giáo toàn tỉnh." for i in range(8))


def copy_of(
    factory: sessionmaker[Session], source: str, n: int, story: int | None, body: str = ""
) -> int:
    """Article `n` from `source`, in `story` (created when None); returns the article id.

    With a `body` long enough, the article is fingerprinted as it is stored."""
    with factory.begin() as session:
        src = get_or_create_source(session, name=source, kind="html", url=f"http://{source}.test/")
        item = extracted(n, title=f"Hội nghị tuyên giáo ({source})")
        url = f"http://{source}.test/tin/bai-{n}.html"
        item = replace(item, url=url, canonical_url=url, body=body or item.body)
        result = upsert_article(session, item, source=src)
        article = session.get_one(Article, result.article_id)
        if story is None:
            row = Story(first_article_id=article.id)
            session.add(row)
            session.flush()
            story = row.id
        article.story_id = story
        return article.id


def story_of(factory: sessionmaker[Session], article_id: int) -> int:
    with factory() as session:
        story = session.get_one(Article, article_id).story_id
        assert story is not None
        return story


def announce(publisher: Publisher, *article_ids: int) -> list[int]:
    """Plan as a poll does, then send what is due now; the delivery ids planned."""
    cfg = publisher.settings
    planned = plan_announcements(
        publisher.factory, list(article_ids), cfg.effective_routes(),
        dedupe_readers=cfg.stories.dedupe_readers, default_tz=cfg.timezone,
    )  # fmt: skip
    for item in planned:
        publisher.publish(item.delivery_id)
    return [item.delivery_id for item in planned]


def run_edits(publisher: Publisher, **kwargs: Any) -> list[EditStatus]:
    """What the reconciler's sweep and the story-edit task do: edit every due post."""
    with publisher.factory() as session:
        due = posts_to_edit(session, **kwargs)
    editor = StoryEditor(publisher)
    return [editor.edit(delivery_id, **kwargs).status for delivery_id in due]


def links(message: MessageRecord) -> list[str]:
    """The URLs of a message's text links (its "Also on" line and "Đọc tiếp")."""
    return [e["url"] for e in message.entities if e.get("type") == "text_link"]


def copies(factory: sessionmaker[Session]) -> list[tuple[int, str, str | None]]:
    with factory() as session:
        rows = session.scalars(select(StoryCopy).order_by(StoryCopy.id))
        return [(row.article_id, row.state, row.last_error) for row in rows]


def test_two_sources_one_channel_get_one_message_then_one_edit_per_copy(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="tin_tinh")
    with_routes(publisher, RouteRule(channel="@tin_tinh"))
    first = copy_of(factory, "bao-tinh", 1, None, body=BODY)
    assert len(announce(publisher, first)) == 1
    second = copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first), body=BODY)
    assert announce(publisher, second) == []  # a link, not a delivery
    assert run_edits(publisher) == [EditStatus.EDITED]
    (message,) = telegram_emulator.sent(channel["id"])
    assert message.text is not None
    assert message.text.endswith("Cũng đăng trên: cong-tinh-uy")
    assert links(message) == ["http://cong-tinh-uy.test/tin/bai-2.html"]
    assert len(message.edits) == 1

    third = copy_of(factory, "ubnd-tinh", 3, story_of(factory, first))
    announce(publisher, third)
    assert run_edits(publisher) == [EditStatus.EDITED]
    (message,) = telegram_emulator.sent(channel["id"])
    assert message.text is not None
    assert message.text.endswith("Cũng đăng trên: cong-tinh-uy, ubnd-tinh")
    assert len(message.edits) == 2
    assert [state for _, state, _ in copies(factory)] == ["shown", "shown"]
    with factory() as session:  # how alike the copy is to the posted article (MinHash)
        alike = session.scalars(select(StoryCopy.similarity).order_by(StoryCopy.id)).all()
    assert alike[0] is not None and alike[0] > 0.8 and alike[1] is None  # 3: no fingerprint

    # Repeated planning and sweeps: no second message, no further edit.
    announce(publisher, first, second, third)
    assert run_edits(publisher) == []
    assert len(telegram_emulator.calls("sendMessage")) == 1
    assert len(telegram_emulator.calls("editMessageText")) == 2


def test_a_copy_known_before_the_send_is_in_the_first_message(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="som")
    settings = with_routes(publisher, RouteRule(channel="@som"))
    first = copy_of(factory, "bao-tinh", 1, None)
    second = copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first))
    planned = plan_announcements(factory, [first, second], settings.effective_routes())
    assert len(planned) == 1
    assert publisher.publish(planned[0].delivery_id).status == "sent"
    (message,) = telegram_emulator.sent(channel["id"])
    assert message.text is not None and message.text.endswith("Cũng đăng trên: cong-tinh-uy")
    assert [state for _, state, _ in copies(factory)] == ["shown"]
    assert run_edits(publisher) == []
    assert telegram_emulator.calls("editMessageText") == []


def test_dedupe_off_posts_every_copy(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="moi_ban")
    with_routes(publisher, RouteRule(channel="@moi_ban", dedupe_stories=False))
    first = copy_of(factory, "bao-tinh", 1, None)
    announce(publisher, first)
    announce(publisher, copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first)))
    assert len(telegram_emulator.sent(channel["id"])) == 2
    assert copies(factory) == []


def test_two_chats_with_different_rules(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    one = telegram_emulator.create_chat("channel", username="mot_bai")
    every = telegram_emulator.create_chat("channel", username="moi_bai")
    mixed = telegram_emulator.create_chat("channel", username="hai_luat")
    with_routes(
        publisher,
        RouteRule(channel="@mot_bai"),
        RouteRule(channel="@moi_bai", dedupe_stories=False),
        # a chat also named by a rule without dedupe sees every copy
        RouteRule(channel="@hai_luat", sources=["bao-tinh"]),
        RouteRule(channel="@hai_luat", dedupe_stories=False),
    )
    first = copy_of(factory, "bao-tinh", 1, None)
    announce(publisher, first)
    announce(publisher, copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first)))
    assert run_edits(publisher) == [EditStatus.EDITED]
    (message,) = telegram_emulator.sent(one["id"])
    assert message.text is not None and message.text.endswith("Cũng đăng trên: cong-tinh-uy")
    assert len(telegram_emulator.sent(every["id"])) == 2
    assert len(telegram_emulator.sent(mixed["id"])) == 2


def test_a_reader_gets_one_message_and_a_digest_reader_one_headline(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    with_routes(publisher)  # readers only
    first = copy_of(factory, "bao-tinh", 1, None)
    with factory() as session:
        category = session.scalars(select(Category)).one()
    reader = telegram_emulator.create_user(7001)
    subscribe(factory, reader["id"], category_id=category.id)
    digest = telegram_emulator.create_user(7002)
    subscribe(factory, digest["id"], category_id=category.id)
    set_digest(factory, digest["id"], "07:00")
    announce(publisher, first)
    announce(publisher, copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first)))
    assert run_edits(publisher) == [EditStatus.EDITED]
    (message,) = telegram_emulator.sent(reader["id"])
    assert message.text is not None and message.text.endswith("Cũng đăng trên: cong-tinh-uy")
    with factory() as session:
        held = session.scalars(select(Delivery).where(Delivery.chat_id == str(digest["id"])))
        assert len(list(held)) == 1  # the digest lists the story once
    skipped = [error for _, state, error in copies(factory) if state == "skipped"]
    assert skipped == ["a digest lists headlines and is never edited"]


def test_a_post_older_than_edit_hours_is_not_edited(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    telegram_emulator.create_chat("channel", username="cu")
    with_routes(publisher, RouteRule(channel="@cu"))
    first = copy_of(factory, "bao-tinh", 1, None)
    (post,) = announce(publisher, first)
    with factory.begin() as session:
        session.get_one(Delivery, post).sent_at = utcnow() - timedelta(hours=49)
    announce(publisher, copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first)))
    assert run_edits(publisher) == [EditStatus.SKIPPED]
    assert telegram_emulator.calls("editMessageText") == []
    ((_, state, error),) = copies(factory)
    assert state == "skipped" and error is not None and "older than 48 h" in error
    assert run_edits(publisher) == []


def test_429_on_the_edit_is_retried_later_and_400_skips_the_copy(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="cham")
    with_routes(publisher, RouteRule(channel="@cham"))
    first = copy_of(factory, "bao-tinh", 1, None)
    announce(publisher, first)
    telegram_emulator.add_fault(
        "retry_after", chat_id=channel["id"], times=1, retry_after=2, methods=["editMessageText"]
    )
    announce(publisher, copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first)))
    assert run_edits(publisher) == [EditStatus.RETRY]
    assert run_edits(publisher) == []  # not due yet: no second try at once
    with factory() as session:
        waiting = session.scalars(select(StoryCopy)).one()
        assert waiting.state == "pending" and waiting.next_attempt_at is not None
    assert publisher.limiter is not None
    publisher.limiter.client.delete(f"{publisher.limiter.prefix}:pause:@cham")
    later = utcnow() + timedelta(seconds=3)
    with factory() as session:  # the reconciler's sweep finds it when due
        assert find_due_work(session, [], later).story_posts == posts_to_edit(session, now=later)
    assert run_edits(publisher, now=later) == [EditStatus.EDITED]
    (message,) = telegram_emulator.sent(channel["id"])
    assert len(message.edits) == 1

    telegram_emulator.add_fault(
        "error", chat_id=channel["id"], times=1, error_code=400,
        description="Bad Request: message can't be edited", methods=["editMessageText"],
    )  # fmt: skip
    announce(publisher, copy_of(factory, "ubnd-tinh", 3, story_of(factory, first)))
    assert run_edits(publisher, now=later) == [EditStatus.FAILED]
    (_, last_state, error) = copies(factory)[-1]
    assert last_state == "skipped" and error is not None and "can't be edited" in error
    assert run_edits(publisher, now=later) == []
    assert len(telegram_emulator.sent(channel["id"])[0].edits) == 1


def test_a_correction_keeps_the_also_on_line(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="sua")
    with_routes(publisher, RouteRule(channel="@sua"))
    first = copy_of(factory, "bao-tinh", 1, None)
    announce(publisher, first)
    announce(publisher, copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first)))
    run_edits(publisher)
    with factory.begin() as session:
        article = session.get_one(Article, first)
        article.title, article.version = "Hội nghị tuyên giáo (đã sửa)", article.version + 1
    with factory() as session:
        (stale,) = stale_deliveries(session, first)
    assert Corrector(publisher).fix(stale).status == "edited"
    (message,) = telegram_emulator.sent(channel["id"])
    assert message.text is not None and message.text.startswith("Hội nghị tuyên giáo (đã sửa)")
    assert message.text.endswith("Cũng đăng trên: cong-tinh-uy")


def test_links_give_way_to_the_article_and_stop_at_the_limit() -> None:
    """Telegram's limits: links are dropped, the article's text is never cut for them."""
    opts = RenderOptions(tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    article = Article(
        title="Tiêu đề", summary="Câu dài. " * 600, canonical_url="http://a.test/1",
        published_at=utcnow(), first_seen_at=utcnow(), image=None, category=None,
    )  # fmt: skip
    also_on = [(f"http://b{i}.test/x?a=1&b=2", f"nguồn <{i}>") for i in range(3)]
    (alone,) = render_post(article, chat_id="@c", opts=opts)
    (full,) = render_post(article, chat_id="@c", opts=opts, also_on=also_on)
    assert full.params["text"] == alone.params["text"] and full.links == 0
    article.summary = "Ngắn."
    (short,) = render_post(article, chat_id="@c", opts=opts, also_on=also_on)
    assert short.links == 3
    assert short.params["text"].endswith(
        'Cũng đăng trên: <a href="http://b0.test/x?a=1&amp;b=2">nguồn &lt;0&gt;</a>, '
        '<a href="http://b1.test/x?a=1&amp;b=2">nguồn &lt;1&gt;</a>, '
        '<a href="http://b2.test/x?a=1&amp;b=2">nguồn &lt;2&gt;</a>'
    )
    english = RenderOptions(tz=ZoneInfo("Asia/Ho_Chi_Minh"), language="en")
    (text,) = render_post(article, chat_id="@c", opts=english, also_on=also_on[:1])
    assert "\n\nAlso on: <a " in text.params["text"]


def test_a_withdrawn_copy_leaves_the_post(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="go_bo")
    with_routes(publisher, RouteRule(channel="@go_bo"))
    first = copy_of(factory, "bao-tinh", 1, None)
    announce(publisher, first)
    second = copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first))
    announce(publisher, second)
    run_edits(publisher)
    assert drop_withdrawn(factory, second) == []  # not withdrawn: nothing changes
    with factory.begin() as session:
        session.get_one(Article, second).status = ArticleStatus.WITHDRAWN
    with factory() as session:  # the reconciler finds it too, if fix_posts' task was lost
        assert find_due_work(session, [], utcnow()).withdrawn_copies == [second]
    assert len(drop_withdrawn(factory, second)) == 1
    with factory() as session:
        assert find_due_work(session, [], utcnow()).withdrawn_copies == []
    assert run_edits(publisher) == [EditStatus.EDITED]
    (message,) = telegram_emulator.sent(channel["id"])
    assert message.text is not None and "Cũng đăng trên" not in message.text
    assert [state for _, state, _ in copies(factory)] == ["dropped"]


def test_photo_posts_carry_the_line_on_the_message_with_the_full_text() -> None:
    opts = RenderOptions(tz=ZoneInfo("Asia/Ho_Chi_Minh"), send_mode="photo")
    article = Article(
        title="Tiêu đề", summary="Ngắn.", canonical_url="http://a.test/1", image="http://a.test/1.jpg",
        published_at=utcnow(), first_seen_at=utcnow(), category=None,
    )  # fmt: skip
    also_on = [("http://b.test/1", "nguon-b")]
    (photo,) = render_post(article, chat_id="@c", opts=opts, also_on=also_on)
    assert photo.method == "sendPhoto" and photo.links == 1
    assert photo.params["caption"].endswith('Cũng đăng trên: <a href="http://b.test/1">nguon-b</a>')
    (edit,) = render_edits(
        article, chat_id="@c", message_ids=[5], methods=["sendPhoto"], opts=opts, also_on=also_on
    )
    assert edit.method == "editMessageCaption" and edit.params["caption"] == photo.params["caption"]
    article.summary = "Câu dài. " * 200  # past the caption: photo + text
    photo, text = render_post(article, chat_id="@c", opts=opts, also_on=also_on)
    assert "Cũng đăng trên" not in photo.params["caption"] and text.links == 1
    assert text.params["text"].endswith('Cũng đăng trên: <a href="http://b.test/1">nguon-b</a>')


def test_max_links_and_readers_without_dedupe(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="it_link")
    settings = with_routes(publisher, RouteRule(channel="@it_link"))
    stories = settings.stories.model_copy(update={"max_links": 1, "dedupe_readers": False})
    publisher.settings = settings.model_copy(update={"stories": stories})
    first = copy_of(factory, "bao-tinh", 1, None)
    with factory() as session:
        category = session.scalars(select(Category)).one()
    reader = telegram_emulator.create_user(7003)
    subscribe(factory, reader["id"], category_id=category.id)
    announce(publisher, first)
    story = story_of(factory, first)
    announce(publisher, copy_of(factory, "cong-tinh-uy", 2, story))
    announce(publisher, copy_of(factory, "ubnd-tinh", 3, story))
    assert run_edits(publisher) == [EditStatus.EDITED]
    (message,) = telegram_emulator.sent(channel["id"])
    assert message.text is not None and message.text.endswith("Cũng đăng trên: cong-tinh-uy")
    (_, shown, _), (_, skipped, error) = copies(factory)
    assert (shown, skipped) == ("shown", "skipped") and error is not None and "room" in error
    assert len(telegram_emulator.sent(reader["id"])) == 3  # readers: every copy
    announce(publisher, copy_of(factory, "so-ngoai-vu", 4, story))
    assert run_edits(publisher) == [EditStatus.SKIPPED]  # no room: not even a no-op edit
    assert len(telegram_emulator.calls("editMessageText")) == 1


def test_two_copies_planned_at_once_get_one_post(factory: sessionmaker[Session]) -> None:
    """Two workers planning two copies of one story at the same moment: one post, one link
    (the story's row is locked while a chat's earlier post is looked for)."""
    rules = [RouteRule(channel="@cung_luc")]
    pairs = []
    for n in range(5):
        first = copy_of(factory, "bao-tinh", 10 + n, None)
        pairs.append((first, copy_of(factory, "cong-tinh-uy", 20 + n, story_of(factory, first))))
    barrier = threading.Barrier(2)

    def plan(articles: list[int]) -> None:
        for article_id in articles:
            barrier.wait(timeout=10)
            plan_announcements(factory, [article_id], rules)

    threads = [
        threading.Thread(target=plan, args=([pair[side] for pair in pairs],)) for side in (0, 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with factory() as session:
        posts = session.scalars(select(Delivery.article_id)).all()
        links = session.scalars(select(StoryCopy.article_id)).all()
    assert len(posts) == 5 and len(links) == 5
    assert sorted([*posts, *links]) == sorted(a for pair in pairs for a in pair)

"""The editors' /find shows story groups, and its Split button splits, through the emulator.

Groups are made by setting ``articles.story_id`` as the grouping does; the
split is the real one (tasks.actions.split_story_article), without a broker:
its rows wait in the database for the reconciler.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.i18n import t
from config.loader import load_settings
from config.settings import Settings
from news.db import utcnow
from news.models import Article, Delivery, DeliveryState, Story, StoryCopy, StoryCopyState
from news.store import get_or_create_source, upsert_article
from telegram_emulator import Emulator
from telegram_emulator.models import MessageRecord
from tests.bot.running_bot import TOKEN, RunningBot, running_bot
from tests.bot.test_reader_commands import buttons
from tests.helpers import extracted

EDITOR = 6101  # English client
EDITOR_VI = 6102
READER = 6103  # not an editor
GROUP = -100667
CHANNEL = "@tin_tuc"


@pytest.fixture
def settings(telegram_emulator: Emulator, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        environ={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": telegram_emulator.base_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
            "LOA_EDITORS": f"{EDITOR},{EDITOR_VI}",
            "LOA_EDITORS_CHAT": str(GROUP),
            "REDIS_URL": "",
        },
        overrides={"channels": [{"chat": CHANNEL}], "routes": [{"channel": CHANNEL}]},
    )


@pytest.fixture
def bot(
    telegram_emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> Iterator[RunningBot]:
    emulator = telegram_emulator
    emulator.set_limits(enabled=False)
    for user, code in ((EDITOR, "en"), (EDITOR_VI, "vi"), (READER, "vi")):
        emulator.create_user(user, f"User {user}", language_code=code)
    emulator.create_chat("supergroup", chat_id=GROUP, title="Newsroom")
    emulator.create_chat("channel", chat_id=-100779, username="tin_tuc", title="Tin tức")
    with running_bot(emulator, settings, factory) as running:
        yield running


def add(factory: sessionmaker[Session], n: int, source: str, title: str) -> int:
    article = replace(
        extracted(n, title=title, body=f"Nội dung riêng {n}."),
        url=f"http://{source}.test/tin/{n}.html",
        canonical_url=f"http://{source}.test/tin/{n}.html",
    )
    with factory.begin() as session:
        src = get_or_create_source(session, name=source, kind="html", url=f"http://{source}.test/")
        article_id = upsert_article(session, article, source=src).article_id
    assert article_id is not None
    return article_id


def group(factory: sessionmaker[Session], *article_ids: int) -> int:
    with factory.begin() as session:
        story = Story(first_article_id=article_ids[0])
        session.add(story)
        session.flush()
        session.execute(
            update(Article).where(Article.id.in_(article_ids)).values(story_id=story.id)
        )
        return story.id


def posted_with_link(factory: sessionmaker[Session], article_id: int, copy_id: int) -> int:
    """`article_id` posted to the channel, its post showing `copy_id` as "Also on"."""
    with factory.begin() as session:
        post = Delivery(
            article_id=article_id, chat_id=CHANNEL, state=DeliveryState.SENT, message_ids=[7],
            methods=["sendMessage"], sent_at=utcnow(),
        )  # fmt: skip
        session.add(post)
        session.flush()
        session.add(StoryCopy(delivery_id=post.id, article_id=copy_id, state=StoryCopyState.SHOWN))
        return post.id


def asked_in_group(bot: RunningBot, text: str, user: int) -> MessageRecord:
    before = len(bot.emulator.sent(GROUP))
    bot.emulator.inject_message(GROUP, text, user_id=user)
    record: MessageRecord = bot.wait_for(
        lambda: bot.emulator.sent(GROUP)[before] if len(bot.emulator.sent(GROUP)) > before else None
    )
    return record


def press_as(bot: RunningBot, message_id: int, data: str, user: int) -> dict[str, Any]:
    before = len(bot.emulator.answers())
    bot.emulator.inject_callback_query(GROUP, message_id, data, user_id=user)
    answer: dict[str, Any] = bot.wait_for(lambda: bot.emulator.answers()[before:])[0]
    return answer


def test_find_shows_the_group_and_only_an_editors_split_tap_splits(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    first = add(factory, 1, "tinhuy", "Tỉnh ủy tổng kết công tác năm")
    second = add(factory, 2, "bao<tinh>", "Tổng kết công tác năm của Tỉnh ủy")
    lone = add(factory, 3, "tinhuy", "Tổng kết năm ngành giáo dục")
    story = group(factory, first, second)
    group(factory, lone)
    post = posted_with_link(factory, first, second)

    reply = asked_in_group(bot, "/find tong ket", EDITOR)
    text = reply.text or ""
    assert f"Same story: #{second} bao<tinh>" in text  # the emulator shows text, not markup
    assert f"Same story: #{first} tinhuy" in text
    assert text.count("Same story") == 2  # the lone article has no group line
    labels = dict(buttons(reply))
    assert labels[f"✂️ Split #{first}"] == f"ed:sp:{first}"
    assert labels[f"✂️ Split #{second}"] == f"ed:sp:{second}"
    assert f"✂️ Split #{lone}" not in labels and f"🔁 Republish #{lone}" in labels
    assert all(len(data.encode()) < 64 for data in labels.values())

    # a reader in the newsroom group presses Split: refused, nothing changes
    refused = press_as(bot, reply.message_id, f"ed:sp:{second}", READER)
    assert refused["text"] == t("vi", "not_permitted")
    with factory() as session:
        assert session.get_one(Article, second).story_id == story

    asked = reply.text
    press_as(bot, reply.message_id, f"ed:sp:{second}", EDITOR)
    done = bot.wait_for(lambda: (m := bot.message(GROUP, reply.message_id)).text != asked and m)
    with factory() as session:
        moved = session.get_one(Article, second)
        assert moved.story_pinned and moved.story_id not in (None, story)
        copy = session.scalar(select(StoryCopy).where(StoryCopy.delivery_id == post))
        assert copy is not None and copy.state == StoryCopyState.DROPPING
        planned = session.scalars(select(Delivery).where(Delivery.article_id == second)).all()
        assert [(d.chat_id, d.state) for d in planned] == [(CHANNEL, DeliveryState.PENDING)]
    assert done.text == (
        f"Split #{second} out of its group: it is now story #{moved.story_id} on its own.\n"
        f"New posts planned: {CHANNEL}.\n"
        f"Its link will be removed from the posts in: {CHANNEL}."
    )
    assert not buttons(done)  # the question's buttons are gone: no second tap

    # a second tap (an older /find's button) finds the article alone: nothing to do
    assert "Same story" not in (asked_in_group(bot, f"/find {first}", EDITOR).text or "")
    stale = bot.send_with_buttons(GROUP, f"ed:sp:{second}")
    press_as(bot, stale, f"ed:sp:{second}", EDITOR)
    alone = bot.wait_for(lambda: (m := bot.message(GROUP, stale)).text != "buttons" and m)
    assert alone.text == f"#{second} is in no group with other articles: nothing to split."


def test_find_in_vietnamese(bot: RunningBot, factory: sessionmaker[Session]) -> None:
    first = add(factory, 1, "tinhuy", "Hội nghị báo chí")
    second = add(factory, 2, "baotinh", "Hội nghị báo chí toàn tỉnh")
    third = add(factory, 3, "chinhphu", "Báo chí toàn tỉnh dự hội nghị")
    group(factory, first, second, third)
    with factory.begin() as session:
        session.execute(update(Article).where(Article.id == third).values(status="withdrawn"))
    reply = bot.ask(EDITOR_VI, "/find hoi nghi")
    assert f"Cùng câu chuyện: #{second} baotinh, #{third} chinhphu (đã gỡ)" in (reply.text or "")
    assert (f"✂️ Tách #{first}", f"ed:sp:{first}") in buttons(reply)
    unknown = bot.ask(EDITOR_VI, "/find 999999")
    assert "Cùng câu chuyện" not in (unknown.text or "")
    status = bot.ask(EDITOR_VI, "/status").text or ""
    assert "Cùng câu chuyện, nhiều nguồn (72 giờ qua): 1 nhóm, 3 bài." in status


def test_split_of_an_article_that_is_gone_is_refused(bot: RunningBot) -> None:
    forged = bot.send_with_buttons(EDITOR, "ed:sp:999999")
    bot.emulator.inject_callback_query(EDITOR, forged, "ed:sp:999999", user_id=EDITOR)
    done = bot.wait_for(lambda: (m := bot.message(EDITOR, forged)).text != "buttons" and m)
    assert done.text == "Not done: no article with id 999999"

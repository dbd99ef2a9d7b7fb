"""`loa story list|show|split` and the Stories lines of `loa status`, on the test database.

Run in this process through typer's CliRunner (the `app` the console script
runs); groups are made by setting ``articles.story_id`` as the grouping does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from loa.cli import app
from news.db import utcnow
from news.models import (
    Article,
    Delivery,
    DeliveryState,
    RenderedFeed,
    Story,
    StoryCopy,
    StoryCopyState,
)
from news.store import get_or_create_source, upsert_article
from tests.helpers import extracted

CONFIG = """
sources:
  - name: tinhuy
    url: http://tinhuy.test/
channels:
  - chat: "@tin_tuc"
routes:
  - channel: "@tin_tuc"
"""


@pytest.fixture
def loa(tmp_path: Path, database_url: str) -> CliRunner:
    config = tmp_path / "loa.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return CliRunner(
        env={
            "DATABASE_URL": database_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
            "REDIS_URL": None,
            "TELEGRAM_BOT_TOKEN": None,
            "LOA_CONFIG": str(config),
            "COLUMNS": "200",
        }
    )


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def add(factory: sessionmaker[Session], n: int, source: str, title: str, hours_ago: float) -> int:
    article = replace(
        extracted(n, title=title, body=f"Nội dung riêng {n}."),
        url=f"http://{source}.test/tin/{n}.html",
        canonical_url=f"http://{source}.test/tin/{n}.html",
    )
    with factory.begin() as session:
        src = get_or_create_source(session, name=source, kind="html", url=f"http://{source}.test/")
        article_id = upsert_article(session, article, source=src).article_id
        assert article_id is not None
        seen = utcnow() - timedelta(hours=hours_ago)
        session.execute(update(Article).where(Article.id == article_id).values(first_seen_at=seen))
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


@pytest.fixture
def stories(factory: sessionmaker[Session]) -> dict[str, int]:
    """A recent group of three, a recent group of two, an old group, a story of one."""
    a1 = add(factory, 1, "tinhuy", "Tỉnh ủy tổng kết công tác năm", 5)
    a2 = add(factory, 2, "baotinh", "Tổng kết công tác năm của Tỉnh ủy", 4)
    a3 = add(factory, 3, "chinhphu", "Tỉnh ủy tổng kết năm", 3)
    b1 = add(factory, 4, "tinhuy", "Khai mạc hội chợ", 2)
    b2 = add(factory, 5, "baotinh", "Hội chợ khai mạc", 1)
    o1 = add(factory, 6, "tinhuy", "Tin cũ", 200)
    o2 = add(factory, 7, "baotinh", "Tin cũ đăng lại", 199)
    lone = add(factory, 8, "tinhuy", "Chỉ một nguồn", 1)
    return {
        "three": group(factory, a1, a2, a3),
        "two": group(factory, b1, b2),
        "old": group(factory, o1, o2),
        "lone": group(factory, lone),
        "a1": a1,
        "a2": a2,
        "b2": b2,
        "lone_article": lone,
    }


def test_list_shows_recent_groups_newest_first(loa: CliRunner, stories: dict[str, int]) -> None:
    result = run(loa, "story", "list")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "stories with 2+ articles in the last 72 h: 2 (5 articles)" in out
    assert out.index("Khai mạc hội chợ") < out.index("Tỉnh ủy tổng kết công tác năm")
    assert "tinhuy, baotinh, chinhphu" in out
    assert "Tin cũ" not in out and "Chỉ một nguồn" not in out
    wider = run(loa, "story", "list", "--hours", "300")
    assert "in the last 300 h: 3 (7 articles)" in wider.output
    assert "Tin cũ" in wider.output


def test_show_by_story_article_or_url_and_unknown_exits_2(
    loa: CliRunner, stories: dict[str, int]
) -> None:
    by_story = run(loa, "story", "show", str(stories["three"]))
    assert by_story.exit_code == 0, by_story.output
    assert f"story {stories['three']}: 3 article(s)" in by_story.output
    assert f"{stories['a1']} (posted)" in by_story.output
    assert "http://chinhphu.test/tin/3.html" in by_story.output
    by_article = run(loa, "story", "show", f"a{stories['b2']}")
    assert f"story {stories['two']}: 2 article(s)" in by_article.output
    by_url = run(loa, "story", "show", "http://baotinh.test/tin/2.html")
    assert f"story {stories['three']}:" in by_url.output
    for ref in ("999999", "a999999", "http://nowhere.test/x", "banana"):
        missing = run(loa, "story", "show", ref)
        assert missing.exit_code == 2, (ref, missing.output)
        assert missing.output.startswith("loa: "), missing.output


def test_split_refuses_unknown_and_lone_articles(loa: CliRunner, stories: dict[str, int]) -> None:
    unknown = run(loa, "story", "split", "999999")
    assert unknown.exit_code == 2
    assert "no article #999999 in any story" in unknown.output
    lone = run(loa, "story", "split", str(stories["lone_article"]))
    assert lone.exit_code == 1
    assert "only one in its story" in lone.output


def test_status_has_a_stories_section(loa: CliRunner, stories: dict[str, int]) -> None:
    result = run(loa, "status")
    assert result.exit_code == 0, result.output
    assert "stories with 2+ articles in the last 72 h: 2 (5 articles)" in result.output
    assert "Khai mạc hội chợ" in result.output


def test_split_prints_what_was_planned_and_is_idempotent(
    loa: CliRunner, stories: dict[str, int], factory: sessionmaker[Session]
) -> None:
    a1, a2 = stories["a1"], stories["a2"]
    with factory.begin() as session:
        post = Delivery(
            article_id=a1, chat_id="@tin_tuc", state=DeliveryState.SENT, message_ids=[7],
            methods=["sendMessage"], sent_at=utcnow(),
        )  # fmt: skip
        session.add(post)
        session.flush()
        session.add(StoryCopy(delivery_id=post.id, article_id=a2, state=StoryCopyState.SHOWN))
    result = run(loa, "story", "split", str(a2))
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert f"article #{a2} is now story #" in out
    assert "new posts planned: @tin_tuc" in out
    assert "posts edited to drop its link: @tin_tuc" in out
    with factory() as session:
        moved = session.get(Article, a2)
        assert moved is not None and moved.story_pinned and moved.story_id != stories["three"]
        copy = session.scalar(select(StoryCopy).where(StoryCopy.article_id == a2))
        assert copy is not None and copy.state == StoryCopyState.DROPPING
        new = session.scalars(select(Delivery).where(Delivery.article_id == a2)).all()
        assert [(d.chat_id, d.state) for d in new] == [("@tin_tuc", DeliveryState.PENDING)]
    # without a broker the feeds were rebuilt here: the copies no longer point at it
    with factory() as session:
        body = session.scalar(select(RenderedFeed.body).where(RenderedFeed.key == "all.json"))
    assert body is not None
    items = {item["id"].rsplit("/", 1)[1]: item for item in json.loads(body)["items"]}
    assert "_loa" not in items[str(a2)]
    assert [c["source"] for c in items[str(a1)]["_loa"]["also_on"]] == ["chinhphu"]
    again = run(loa, "story", "split", str(a2))
    assert again.exit_code == 1
    assert "only one in its story" in again.output
    shown = run(loa, "story", "show", str(stories["three"]))
    assert "2 article(s)" in shown.output and "http://baotinh.test/tin/2.html" not in shown.output


def test_backfill_groups_the_window_stored_before_stories(
    loa: CliRunner, factory: sessionmaker[Session]
) -> None:
    """After an upgrade: the window's articles get fingerprints, and copies join one story."""
    from news.models import ArticleFingerprint

    words = " ".join(f"từ{i} ngữ{i % 7} câu{i % 11}" for i in range(40))
    first = add(factory, 11, "tinhuy", "Khánh thành cầu mới", 10)
    copy = add(factory, 12, "baotinh", "Khánh thành cầu mới", 9)
    old = add(factory, 13, "tinhuy", "Tin rất cũ", 200)
    with factory.begin() as session:  # as stored before migration 0012: no fingerprint, no story
        for article_id in (first, copy, old):
            session.execute(
                update(Article)
                .where(Article.id == article_id)
                .values(body=f"{words} {article_id if article_id == old else ''}", story_id=None)
            )
        session.query(ArticleFingerprint).delete()
    result = run(loa, "story", "backfill")
    assert result.exit_code == 0, result.output
    assert "fingerprinted 2 articles first seen since" in result.output
    with factory() as session:
        story = dict(session.execute(select(Article.id, Article.story_id)).all())
    assert story[first] is not None and story[first] == story[copy]
    assert story[old] is None  # outside the 72 h window: left alone
    again = run(loa, "story", "backfill", "--hours", "300")
    assert "fingerprinted 1 articles" in again.output  # the old one; the others have theirs

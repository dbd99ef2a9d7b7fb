"""The status page's "stories" section: groups of two or more articles of the last 72 h.

Groups are made by setting ``articles.story_id`` as the grouping does; the
page is rendered from the real snapshot of a real database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import lxml.html
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from news.models import Article, Story
from news.store import get_or_create_source, upsert_article
from ops.status_data import status_snapshot
from ops.status_page import status_page
from tests.helpers import extracted

NOW = datetime(2026, 12, 3, 9, 20, tzinfo=UTC)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HOSTILE = "<script>alert(1)</script> Tỉnh ủy"


def add(factory: sessionmaker[Session], n: int, source: str, title: str, hours_ago: float) -> int:
    article = replace(
        extracted(n, title=title, body=f"Nội dung {n}."),
        url=f"http://{source}.test/{n}.html",
        canonical_url=f"http://{source}.test/{n}.html",
    )
    with factory.begin() as session:
        src = get_or_create_source(session, name=source, kind="html", url=f"http://{source}.test/")
        article_id = upsert_article(session, article, source=src).article_id
        assert article_id is not None
        seen = NOW - timedelta(hours=hours_ago)
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


def test_the_page_lists_recent_groups_escaped_in_both_languages(
    factory: sessionmaker[Session],
) -> None:
    first = group(
        factory, add(factory, 1, "tinhuy", HOSTILE, 6), add(factory, 2, "bao<b>", "Bản sao", 5)
    )
    second = group(
        factory, add(factory, 3, "tinhuy", "Hội chợ", 2), add(factory, 4, "chinhphu", "Chợ", 1)
    )
    group(factory, add(factory, 5, "tinhuy", "Tin cũ", 100), add(factory, 6, "x", "Cũ", 99))
    group(factory, add(factory, 7, "tinhuy", "Một mình", 1))

    snap = status_snapshot(factory, now=NOW)
    assert (snap.status.stories.groups, snap.status.stories.articles) == (2, 4)
    assert [g.story_id for g in snap.status.stories.top] == [second, first]

    page = status_page(snap, title="Loa", language="vi", tz=TZ)
    assert "<script>alert" not in page and "bao<b>" not in page
    doc = lxml.html.fromstring(page)
    [section] = doc.xpath('//section[@id="stories"]')
    assert section.findtext("h2") == "Cùng câu chuyện, nhiều nguồn (72 giờ qua)"
    rows = [[td.text_content() for td in tr.findall("td")] for tr in section.iter("tr")][1:]
    assert rows[0][:4] == [str(second), "Hội chợ", "tinhuy, chinhphu", "2"]
    assert rows[1][:4] == [str(first), HOSTILE, "tinhuy, bao<b>", "2"]
    assert rows[0][4] == "03/12 15:20"  # the latest copy, in the newsroom's zone
    assert "2 câu chuyện, 4 bài" in section.text_content()

    english = lxml.html.fromstring(status_page(snap, title="Loa", language="en", tz=TZ))
    [section] = english.xpath('//section[@id="stories"]')
    assert section.findtext("h2") == "One story, several sources (last 72 h)"


def test_no_groups_says_so(factory: sessionmaker[Session]) -> None:
    group(factory, add(factory, 1, "tinhuy", "Một mình", 1))
    page = status_page(status_snapshot(factory, now=NOW), title="Loa", language="en", tz=TZ)
    [section] = lxml.html.fromstring(page).xpath('//section[@id="stories"]')
    assert "No story was published by more than one source." in section.text_content()

"""Copies of one story in the feeds: every article stays, and each points at the others.

Stories are made by setting ``articles.story_id`` directly (what the grouping
does when a copy joins), so these tests hold whatever the grouping decides.
The bytes checked are the stored feed documents that `loa serve` answers with.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import feedparser
import lxml.etree
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from feeds.cache import FeedScope, rebuild_all, rebuild_scope
from news.models import Article, RenderedFeed, Story
from news.store import get_or_create_source, upsert_article
from tests.helpers import extracted

ICT = timezone(timedelta(hours=7))
ATOM = "{http://www.w3.org/2005/Atom}"


def settings() -> Settings:
    return load_settings(None, environ={"LOA_BASE_URL": "http://feeds.test"})


def add(
    factory: sessionmaker[Session], n: int, source: str, title: str, category: str = "Thời sự"
) -> int:
    """An article of `source` (a portal of its own), distinct text per `n`."""
    article = replace(
        extracted(n, title=title, category=category, body=f"Nội dung riêng số {n} {title}."),
        url=f"http://{source}.test/tin/{n}.html",
        canonical_url=f"http://{source}.test/tin/{n}.html",
        published_at=datetime(2026, 11, 30, 8, n % 60, tzinfo=ICT),
    )
    with factory.begin() as session:
        src = get_or_create_source(session, name=source, kind="html", url=f"http://{source}.test/")
        article_id = upsert_article(session, article, source=src).article_id
    assert article_id is not None
    return article_id


def group(factory: sessionmaker[Session], *article_ids: int) -> int:
    """One story of `article_ids`, the first of them the posted copy."""
    with factory.begin() as session:
        story = Story(first_article_id=article_ids[0])
        session.add(story)
        session.flush()
        session.execute(
            update(Article).where(Article.id.in_(article_ids)).values(story_id=story.id)
        )
        return story.id


def document(factory: sessionmaker[Session], key: str) -> bytes:
    with factory() as session:
        body = session.scalar(select(RenderedFeed.body).where(RenderedFeed.key == key))
    assert body is not None, key
    return body


def json_items(factory: sessionmaker[Session], key: str) -> dict[str, dict[str, object]]:
    items = json.loads(document(factory, key))["items"]
    return {item["url"]: item for item in items}


def test_copies_reference_each_other_in_json_feed_and_atom(
    factory: sessionmaker[Session],
) -> None:
    first = add(factory, 1, "tinhuy", "Hội nghị <Tỉnh ủy> & tổng kết năm")
    second = add(factory, 2, "baotinh", "Tỉnh ủy tổng kết năm")
    alone = add(factory, 3, "tinhuy", "Một tin khác hẳn")
    story = group(factory, first, second)
    group(factory, alone)  # a story of one: nothing to reference
    rebuild_all(factory, settings())

    items = json_items(factory, "all.json")
    assert len(items) == 3  # every copy keeps its entry
    url1, url2 = "http://tinhuy.test/tin/1.html", "http://baotinh.test/tin/2.html"
    assert items[url1]["_loa"] == {
        "story_id": story,
        "also_on": [{"url": url2, "title": "Tỉnh ủy tổng kết năm", "source": "baotinh"}],
    }
    assert items[url2]["_loa"] == {
        "story_id": story,
        "also_on": [
            {"url": url1, "title": "Hội nghị <Tỉnh ủy> & tổng kết năm", "source": "tinhuy"}
        ],
    }
    assert "_loa" not in items["http://tinhuy.test/tin/3.html"]
    # a source's own feed still names the copy on the other source
    own = json_items(factory, "source/tinhuy.json")
    assert own[url1]["_loa"]["also_on"][0]["url"] == url2  # type: ignore[index]

    atom = document(factory, "all.atom")
    parsed = feedparser.parse(atom)
    assert not parsed.bozo
    related = {
        entry.link: [(lk.href, lk.get("title")) for lk in entry.links if lk.rel == "related"]
        for entry in parsed.entries
    }
    assert related[url1] == [(url2, "Tỉnh ủy tổng kết năm (baotinh)")]
    assert related[url2] == [(url1, "Hội nghị <Tỉnh ủy> & tổng kết năm (tinhuy)")]
    assert related["http://tinhuy.test/tin/3.html"] == []
    # the alternate link and the image enclosure are still what they were
    root = lxml.etree.fromstring(atom)
    for entry in root.iter(f"{ATOM}entry"):
        rels = sorted(link.get("rel") for link in entry.iter(f"{ATOM}link"))
        assert rels.count("alternate") == 1 and rels.count("enclosure") == 1
    assert b"&lt;T\xe1\xbb\x89nh" in atom  # the title attribute is escaped, not raw markup

    rss = feedparser.parse(document(factory, "all.rss"))
    assert not rss.bozo and len(rss.entries) == 3  # RSS: unchanged, every article


def test_a_withdrawn_copy_is_not_offered_and_a_story_of_one_has_nothing(
    factory: sessionmaker[Session],
) -> None:
    first = add(factory, 1, "tinhuy", "Tin một")
    second = add(factory, 2, "baotinh", "Tin hai")
    group(factory, first, second)
    with factory.begin() as session:
        session.execute(update(Article).where(Article.id == second).values(status="withdrawn"))
    rebuild_all(factory, settings())
    items = json_items(factory, "all.json")
    assert list(items) == ["http://tinhuy.test/tin/1.html"]
    assert "_loa" not in items["http://tinhuy.test/tin/1.html"]
    parsed = feedparser.parse(document(factory, "all.atom"))
    assert [lk for lk in parsed.entries[0].links if lk.rel == "related"] == []


def test_a_copy_joining_rebuilds_the_feeds_of_the_older_copies(
    factory: sessionmaker[Session],
) -> None:
    cfg = settings()
    first = add(factory, 1, "tinhuy", "Bài gốc", category="Chính trị")
    rebuild_all(factory, cfg)
    assert "_loa" not in json.dumps(json_items(factory, "source/tinhuy.json"))
    second = add(factory, 2, "baotinh", "Bài đăng lại", category="Xã hội")
    group(factory, first, second)
    # the poll of baotinh names only its own source and article ...
    changed = rebuild_scope(factory, cfg, FeedScope(frozenset({"baotinh"}), frozenset({second})))
    # ... and the older copy's source and category feeds are rebuilt with the link
    assert {"source/tinhuy.json", "category/chinh-tri.json", "source/tinhuy.atom"} <= set(changed)
    own = json_items(factory, "category/chinh-tri.json")
    assert own["http://tinhuy.test/tin/1.html"]["_loa"]["also_on"][0]["source"] == "baotinh"  # type: ignore[index]


def test_the_grouping_of_a_real_republished_copy_shows_in_the_feeds(
    factory: sessionmaker[Session],
) -> None:
    """No story set by hand: the province's newspaper republishes the portal's article."""
    body = (
        "Sáng nay, Ban Thường vụ Tỉnh ủy tổ chức hội nghị tổng kết công tác tuyên giáo năm "
        "2026 và triển khai nhiệm vụ năm 2027. Hội nghị đánh giá các kết quả nổi bật, trong đó "
        "có việc đưa tin kịp thời về các sự kiện chính trị của tỉnh, phát triển báo chí số và "
        "tăng cường thông tin cơ sở ở vùng sâu, vùng xa.\n"
        "Phát biểu chỉ đạo, đồng chí Phó Bí thư Thường trực Tỉnh ủy đề nghị các cơ quan tiếp "
        "tục đổi mới nội dung và phương thức tuyên truyền, gắn với chuyển đổi số."
    )
    cfg = settings()
    original = replace(
        extracted(1, title="Tổng kết công tác tuyên giáo năm 2026", body=body),
        url="http://tinhuy.test/tin/1.html", canonical_url="http://tinhuy.test/tin/1.html",
    )  # fmt: skip
    copy = replace(
        original,
        title="Tỉnh ủy tổng kết công tác tuyên giáo năm 2026",
        url="http://baotinh.test/bai/9.html",
        canonical_url="http://baotinh.test/bai/9.html",
    )
    with factory.begin() as session:
        source = get_or_create_source(
            session, name="tinhuy", kind="html", url="http://tinhuy.test/"
        )
        upsert_article(session, original, source=source, stories=cfg.stories)
    rebuild_all(factory, cfg)
    with factory.begin() as session:
        source = get_or_create_source(session, name="baotinh", kind="html", url="http://bt.test/")
        second = upsert_article(session, copy, source=source, stories=cfg.stories).article_id
    assert second is not None
    rebuild_scope(factory, cfg, FeedScope(frozenset({"baotinh"}), frozenset({second})))
    own = json_items(factory, "source/tinhuy.json")["http://tinhuy.test/tin/1.html"]
    assert own["_loa"]["also_on"] == [  # type: ignore[index]
        {
            "url": "http://baotinh.test/bai/9.html",
            "title": "Tỉnh ủy tổng kết công tác tuyên giáo năm 2026",
            "source": "baotinh",
        }
    ]


def test_hostile_copy_titles_keep_the_feeds_well_formed(factory: sessionmaker[Session]) -> None:
    hostile = 'Tin "nóng" \x0b]]></link><script>alert(1)</script> & \ufffe'
    first = add(factory, 1, "tinhuy", "Tin gốc")
    second = add(factory, 2, "baotinh", hostile)
    group(factory, first, second)
    rebuild_all(factory, settings())
    atom = document(factory, "all.atom")
    root = lxml.etree.fromstring(atom)  # well-formed XML
    assert b"<script>" not in atom
    titles = [
        link.get("title") for link in root.iter(f"{ATOM}link") if link.get("rel") == "related"
    ]
    assert 'Tin "nóng" ]]></link><script>alert(1)</script> &  (baotinh)' in titles
    item = json_items(factory, "all.json")["http://tinhuy.test/tin/1.html"]
    assert (
        item["_loa"]["also_on"][0]["title"] == 'Tin "nóng" ]]></link><script>alert(1)</script> & '
    )  # type: ignore[index]

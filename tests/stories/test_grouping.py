"""Grouping copies of a story across sources, on a real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import StoriesConfig
from loa.demo_stories import STORIES
from news.db import utcnow, write_session
from news.extract import ExtractedArticle
from news.ingest import PushedArticle, store_pushed
from news.models import Article, ArticleFingerprint, FingerprintBand, Story
from news.store import UpsertOutcome, get_or_create_source, upsert_article
from news.stories.grouping import assign_story, fingerprint_existing

ON = StoriesConfig()
OFF = StoriesConfig(enabled=False)


def text_of(n: int) -> tuple[str, str, str]:
    story = STORIES[n]
    return story.title, story.lead, "\n".join(story.paragraphs)


def article(
    url: str, title: str, lead: str, body: str, *, category: str = "Thời sự"
) -> ExtractedArticle:
    return ExtractedArticle.build(
        url=url, title=title, lead=lead, body=body, summary_chars=400, category=category
    )


def store(
    factory: sessionmaker[Session],
    source: str | None,
    slug: str,
    text: tuple[str, str, str],
    stories: StoriesConfig = ON,
) -> int:
    """Store one article of `source` (None: no source) and return its id."""
    host = source or "elsewhere"
    with factory.begin() as session:
        src = (
            get_or_create_source(session, name=source, kind="html", url=f"http://{host}.test/")
            if source
            else None
        )
        result = upsert_article(
            session,
            article(f"http://{host}.test/{slug}.html", *text),
            source=src,
            stories=stories,
        )
        return result.article_id


def story_of(factory: sessionmaker[Session], article_id: int) -> int | None:
    with factory() as session:
        return session.get_one(Article, article_id).story_id


def age(factory: sessionmaker[Session], article_id: int, hours: float) -> None:
    """Make an article first seen `hours` ago (its fingerprint rows too)."""
    when = utcnow() - timedelta(hours=hours)
    with factory.begin() as session:
        session.execute(update(Article).where(Article.id == article_id).values(first_seen_at=when))
        for table in (ArticleFingerprint, FingerprintBand):
            session.execute(
                update(table).where(table.article_id == article_id).values(seen_at=when)
            )


def edited(n: int) -> tuple[str, str, str]:
    """Story `n` as another portal republishes it: a prefix, a byline, a caption."""
    title, lead, body = text_of(n)
    return "Khánh Hòa: " + title, lead, "Ảnh minh họa: Internet\n" + body + "\n(Tin, ảnh: PV)"


def test_a_copy_from_another_source_joins_the_story(factory: sessionmaker[Session]) -> None:
    first = store(factory, "tinhuy", "a", text_of(0))
    copy = store(factory, "baokh", "b", edited(0))
    other = store(factory, "baokh", "c", text_of(1))
    story_id = story_of(factory, first)
    assert story_id is not None
    assert story_of(factory, copy) == story_id
    assert story_of(factory, other) not in (None, story_id)
    with factory() as session:
        story = session.get_one(Story, story_id)
        assert story.first_article_id == first
        assert story.updated_at >= story.created_at
        assert session.scalar(select(func.count()).select_from(FingerprintBand)) == 3 * 32


def test_assignment_reports_the_match(factory: sessionmaker[Session]) -> None:
    first = store(factory, "tinhuy", "a", text_of(2))
    with factory.begin() as session:
        src = get_or_create_source(session, name="baokh", kind="html", url="http://baokh.test/")
        new = Article(
            identity="http://baokh.test/x.html",
            url="http://baokh.test/x.html",
            canonical_url="http://baokh.test/x.html",
            title=edited(2)[0],
            summary=edited(2)[1],
            body=edited(2)[2],
            content_hash="x",
            source_id=src.id,
        )
        session.add(new)
        session.flush()
        assignment = assign_story(session, new, ON)
    assert assignment is not None
    assert assignment.joined and assignment.matched_article_id == first
    assert assignment.similarity is not None and assignment.similarity > 0.8
    assert assignment.story_id == story_of(factory, first)


def test_copies_from_the_same_source_are_not_grouped(factory: sessionmaker[Session]) -> None:
    """A source publishing its story twice (two URLs) is the source's business, not a copy."""
    first = store(factory, "tinhuy", "a", text_of(0))
    again = store(factory, "tinhuy", "a-2", edited(0))
    assert story_of(factory, first) != story_of(factory, again)


def test_articles_without_a_source_are_another_source(factory: sessionmaker[Session]) -> None:
    first = store(factory, None, "a", text_of(0))
    copy = store(factory, "baokh", "b", edited(0))
    assert story_of(factory, copy) == story_of(factory, first) is not None


@pytest.mark.parametrize(("hours", "joins"), [(71, True), (73, False)])
def test_only_copies_within_the_window(
    factory: sessionmaker[Session], hours: float, joins: bool
) -> None:
    first = store(factory, "tinhuy", "a", text_of(0))
    age(factory, first, hours)
    copy = store(factory, "baokh", "b", edited(0))
    assert (story_of(factory, copy) == story_of(factory, first)) is joins


def test_a_pinned_article_is_never_joined_nor_regrouped(factory: sessionmaker[Session]) -> None:
    first = store(factory, "tinhuy", "a", text_of(0))
    with factory.begin() as session:
        session.get_one(Article, first).story_pinned = True
    pinned_story = story_of(factory, first)
    copy = store(factory, "baokh", "b", edited(0))
    assert story_of(factory, copy) != pinned_story
    # the pinned article's correction keeps it where the editor put it
    title, lead, body = text_of(0)
    store(factory, "tinhuy", "a", (title, lead, body + "\nĐính chính: số liệu đã được cập nhật."))
    assert story_of(factory, first) == pinned_story


def test_the_most_alike_copy_wins(factory: sessionmaker[Session]) -> None:
    title, lead, body = text_of(0)
    paragraphs = body.split("\n")
    # one source's two versions: never grouped with each other, so two stories
    far = store(factory, "a", "x", (title, lead, "\n".join(paragraphs[:-1])))
    near = store(factory, "a", "y", (title, lead, body))
    assert story_of(factory, far) != story_of(factory, near)
    copy = store(factory, "c", "z", (title, lead, body))
    assert story_of(factory, copy) == story_of(factory, near)


def test_disabled_stories_change_nothing(factory: sessionmaker[Session]) -> None:
    first = store(factory, "tinhuy", "a", text_of(0), stories=OFF)
    copy = store(factory, "baokh", "b", edited(0), stories=OFF)
    assert story_of(factory, first) is None and story_of(factory, copy) is None
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(ArticleFingerprint)) == 0
        assert session.scalar(select(func.count()).select_from(Story)) == 0


def test_short_articles_are_not_grouped(factory: sessionmaker[Session]) -> None:
    notice = ("Thông báo lịch tiếp công dân tháng 5", "Xem chi tiết tại đây.", "")
    first = store(factory, "tinhuy", "a", notice)
    copy = store(factory, "baokh", "b", notice)
    assert story_of(factory, first) is None and story_of(factory, copy) is None


def test_an_update_keeps_the_story_and_replaces_the_fingerprint(
    factory: sessionmaker[Session],
) -> None:
    first = store(factory, "tinhuy", "a", text_of(0))
    copy = store(factory, "baokh", "b", edited(0))
    story_id = story_of(factory, first)
    with factory() as session:
        before = session.get_one(ArticleFingerprint, copy).signature
    # the copy's text becomes another story entirely: grouping is not redone
    with factory.begin() as session:
        src = get_or_create_source(session, name="baokh", kind="html", url="http://baokh.test/")
        result = upsert_article(
            session, article("http://baokh.test/b.html", *text_of(3)), source=src, stories=ON
        )
    assert result.outcome is UpsertOutcome.UPDATED
    assert story_of(factory, copy) == story_id
    with factory() as session:
        assert session.get_one(ArticleFingerprint, copy).signature != before
        bands = session.scalar(select(func.count()).where(FingerprintBand.article_id == copy))
        assert bands == 32


def test_a_cms_push_is_grouped_with_the_settings_stories(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = load_settings(None, environ={"LOA_DATA_DIR": str(tmp_path)})
    first = store(factory, "tinhuy", "a", text_of(0))
    title, lead, body = edited(0)
    pushed = store_pushed(
        factory,
        settings,
        PushedArticle(title=title, url="http://cms.test/1", summary=lead, body=body),
    )
    assert story_of(factory, pushed.article_id) == story_of(factory, first)
    off = settings.model_copy(update={"stories": OFF})
    title, lead, body = edited(1)
    alone = store_pushed(
        factory, off, PushedArticle(title=title, url="http://cms.test/2", summary=lead, body=body)
    )
    assert story_of(factory, alone.article_id) is None


def test_backfill_groups_articles_stored_before(factory: sessionmaker[Session]) -> None:
    first = store(factory, "tinhuy", "a", text_of(0), stories=OFF)
    copy = store(factory, "baokh", "b", edited(0), stories=OFF)
    short = store(factory, "baokh", "c", ("Thông báo", "", ""), stories=OFF)
    done = fingerprint_existing(factory, ON, since=utcnow() - timedelta(days=3), batch=1)
    assert done == 2
    assert story_of(factory, copy) == story_of(factory, first) is not None
    assert story_of(factory, short) is None
    assert fingerprint_existing(factory, ON, since=utcnow() - timedelta(days=3)) == 0


def test_two_copies_stored_at_once_share_one_story(factory: sessionmaker[Session]) -> None:
    """Two workers: the second waits for the first's commit, then sees its copy.

    SQLite serialises writers (BEGIN IMMEDIATE); PostgreSQL needs the advisory
    lock, without which neither transaction would see the other's fingerprint.
    """
    first_stored, release = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def worker(name: str, source: str, text: tuple[str, str, str], hold: bool) -> None:
        with write_session(factory) as session:
            src = get_or_create_source(
                session, name=source, kind="html", url=f"http://{source}.test/"
            )
            # categories differ: a shared new category would serialise the two by itself
            found = article(f"http://{source}.test/{name}.html", *text, category=source)
            ids[name] = upsert_article(session, found, source=src, stories=ON).article_id
            if hold:
                first_stored.set()
                release.wait(10)

    one = threading.Thread(target=worker, args=("a", "tinhuy", text_of(0), True))
    one.start()
    assert first_stored.wait(10)
    two = threading.Thread(target=worker, args=("b", "baokh", edited(0), False))
    two.start()
    two.join(0.5)
    assert two.is_alive()  # waiting for the first transaction
    release.set()
    one.join(10)
    two.join(10)
    assert story_of(factory, ids["b"]) == story_of(factory, ids["a"]) is not None

"""Retention deletes what is finished and old, never what is owed, and never re-posts.

Real database, real HTTP (the test site server) and the Bot API emulator: an
article is polled, posted, aged, pruned, then corrected at its source, polled,
re-checked, reconciled and posted by an editor again; it still reaches its
channel exactly once.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.corrections import stale_deliveries
from bot.publisher import Publisher
from config.loader import load_settings
from config.settings import RouteRule, Settings, SourceConfig
from news import ledger
from news.announce import plan_announcements
from news.db import utcnow, write_session
from news.events import record_event
from news.extract import reader_for
from news.fetch import Fetcher, make_session
from news.models import (
    AlertDelivery,
    Article,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
)
from news.poll import poll_source
from news.reading import SourceReading
from news.recheck import recheck_source
from news.reconcile import find_due_work
from ops.housekeeping import run_housekeeping
from telegram_emulator import Emulator
from tests.helpers import extracted, store_article
from tests.sites.slug_portal import SlugPortal

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OLD = timedelta(days=100)


def _settings(tmp_path: Path, **retention: int) -> Settings:
    env = {"LOA_DATA_DIR": str(tmp_path / "var")}
    if retention:
        env["LOA_RETENTION"] = "{" + ", ".join(f'"{k}": {v}' for k, v in retention.items()) + "}"
    return load_settings(None, environ=env)


def _age(factory: sessionmaker[Session], article_ids: list[int], by: timedelta) -> None:
    """Make articles and their rows look `by` older (first seen, planned, sent)."""
    when = utcnow() - by
    with write_session(factory) as session:
        session.execute(
            update(Article).where(Article.id.in_(article_ids)).values(first_seen_at=when)
        )
        session.execute(
            update(Delivery)
            .where(Delivery.article_id.in_(article_ids))
            .values(created_at=when, sent_at=when)
        )


def _rows(factory: sessionmaker[Session]) -> dict[int, list[DeliveryState]]:
    with factory() as session:
        out: dict[int, list[DeliveryState]] = {}
        for article_id, state in session.execute(select(Delivery.article_id, Delivery.state)):
            out.setdefault(article_id, []).append(state)
        return out


def test_only_finished_old_rows_of_settled_articles_go(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ids = [store_article(factory, extracted(n)).article_id for n in range(1, 7)]
    done, failed, pending, held, stale, young = ids
    with write_session(factory) as session:
        for article_id in ids:
            ledger.plan_deliveries(session, article_id, ["@a", "@b"])
        ledger.plan_deliveries(session, held, ["42"], bundle="digest")
        session.execute(
            update(Delivery)
            .where(Delivery.article_id.in_([done, stale, young]))
            .values(state=DeliveryState.SENT, article_version=1)
        )
        session.execute(
            update(Delivery)
            .where(Delivery.article_id == failed)
            .values(state=DeliveryState.FAILED, last_error="chat not found")
        )
        session.execute(
            update(Delivery)
            .where(Delivery.article_id == held, Delivery.bundle.is_(None))
            .values(state=DeliveryState.SENT, article_version=1)
        )
        session.execute(update(Article).where(Article.id == stale).values(version=2))
    _age(factory, ids[:-1], OLD)
    settings = _settings(tmp_path)

    dry = run_housekeeping(settings, factory, dry_run=True)
    assert (dry.delivery_articles, dry.delivery_rows) == (2, 4)
    assert len(_rows(factory)) == 6  # a dry run deletes nothing

    report = run_housekeeping(settings, factory)
    assert (report.delivery_articles, report.delivery_rows) == (2, 4)
    left = _rows(factory)
    assert set(left) == {pending, held, stale, young}  # owed, held, a fix due, too young
    assert sorted(left[held]) == sorted([DeliveryState.SENT, DeliveryState.SENT, "pending"])
    with factory() as session:
        marked = set(
            session.scalars(select(Article.id).where(Article.ledger_pruned_at.is_not(None)))
        )
    assert marked == {done, failed}
    again = run_housekeeping(settings, factory)
    assert again.delivery_rows == 0 and again.delivery_articles == 0
    forever = run_housekeeping(_settings(tmp_path, deliveries_days=0), factory)
    assert "deliveries: kept forever" in forever.lines()


def test_events_files_and_logs(factory: sessionmaker[Session], tmp_path: Path) -> None:
    old = utcnow() - timedelta(days=60)
    with write_session(factory) as session:
        record_event(session, EventKind.SOURCE_UNHEALTHY, "old, alerted")
        record_event(session, EventKind.SOURCE_UNHEALTHY, "old, alert still pending")
        record_event(session, EventKind.BACKLOG_HIGH, "old backlog: the watch's state")
        record_event(session, EventKind.ARTICLE_FLAGGED, "recent")
        session.flush()
        events = list(session.scalars(select(Event).order_by(Event.id)))
        for event in events[:3]:
            event.created_at = old
        session.add(AlertDelivery(event_id=events[0].id, chat_id="1", state=DeliveryState.SENT))
        session.add(AlertDelivery(event_id=events[1].id, chat_id="1", state=DeliveryState.PENDING))
    settings = _settings(tmp_path)
    outbox, logs = settings.outbox_dir, settings.data_dir / "logs"
    outbox.mkdir(parents=True)
    logs.mkdir(parents=True)
    stamp = (utcnow() - timedelta(days=30)).timestamp()
    for path in [outbox / "delivery-1-g0.json", logs / "loa.log", logs / "loa.log.1",
                 logs / "loa.log-20260101.gz"]:  # fmt: skip
        path.write_text("x")
        os.utime(path, (stamp, stamp))
    (outbox / "delivery-2-g0.json").write_text("fresh")
    (logs / "loa.log.2.gz").write_text("fresh")

    report = run_housekeeping(settings, factory)
    assert (report.events, report.alert_rows) == (1, 1)
    with factory() as session:
        kept = [e.message for e in session.scalars(select(Event).order_by(Event.id))]
    assert kept == ["old, alert still pending", "old backlog: the watch's state", "recent"]
    assert report.outbox_files == 1 and report.log_files == 2
    assert sorted(p.name for p in outbox.iterdir()) == ["delivery-2-g0.json"]
    assert sorted(p.name for p in logs.iterdir()) == ["loa.log", "loa.log.2.gz"]


def test_a_pruned_article_is_never_posted_again(
    factory: sessionmaker[Session],
    slug_portal: SlugPortal,
    publisher: Publisher,
    telegram_emulator: Emulator,
    tmp_path: Path,
) -> None:
    channel = telegram_emulator.create_chat("channel", username="kenh_tin")
    routes = [RouteRule(channel="@kenh_tin")]
    source = SourceConfig(
        name="slug", url=slug_portal.listing_url, profile="news-modern", announce_first_poll=3
    )

    def reading() -> SourceReading:
        fetcher = Fetcher(make_session(retries=0), timeout=(2.0, 5.0), respect_robots=False)
        return SourceReading(source, fetcher, reader_for("news-modern"), tz=TZ)

    def publish_due() -> None:
        with factory() as session:
            due = find_due_work(session, [source], utcnow())
        for delivery_id in due.delivery_ids:
            publisher.publish(delivery_id)

    first = poll_source(factory, reading())
    assert len(first.new) == 3
    for planned in plan_announcements(factory, first.announce, routes):
        publisher.publish(planned.delivery_id)
    assert len(telegram_emulator.sent(channel["id"])) == 3

    _age(factory, first.new, OLD)
    report = run_housekeeping(_settings(tmp_path), factory)
    assert (report.delivery_articles, report.delivery_rows) == (3, 3)
    assert _rows(factory) == {}

    # The source corrects a title: its slug URL moves, the old one answers 404.
    slug_portal.correct_title(101, "Hội nghị tổng kết công tác tuyên giáo năm 2023 (đã sửa)")
    again = poll_source(factory, reading())
    assert again.new == [] and again.announce == [] and len(again.updated) == 1
    recheck = recheck_source(factory, reading())  # outside the window: nothing to look at
    assert recheck.checked == 0
    with factory() as session:
        due = find_due_work(session, [source], utcnow())
        assert due.delivery_ids == [] and due.stale_article_ids == []
        assert stale_deliveries(session, again.updated[0]) == []
    # an editor's `loa post` / /post of the same articles: already announced
    assert plan_announcements(factory, first.new, routes) == []
    publish_due()
    assert len(telegram_emulator.sent(channel["id"])) == 3  # nothing posted twice

    # The marker is what protects it: without it the ledger would plan the post again.
    with write_session(factory) as session:
        session.execute(
            update(Article).where(Article.id == first.new[0]).values(ledger_pruned_at=None)
        )
    assert len(plan_announcements(factory, [first.new[0]], routes)) == 1
    # and an explicit republish (a new generation) still goes out
    with write_session(factory) as session:
        assert len(ledger.plan_deliveries(session, first.new[1], ["@kenh_tin"], generation=1)) == 1


def test_the_command_says_what_it_would_delete(tmp_path: Path) -> None:
    from tests.loa.test_cli import loa

    assert loa("db", "upgrade", cwd=tmp_path).returncode == 0
    dry = loa("housekeeping", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "deliveries: would delete 0 finished rows of 0 articles" in dry.stdout
    real = loa("housekeeping", cwd=tmp_path, drop={"LOA_RETENTION"})
    assert real.returncode == 0 and "events: deleted 0 events" in real.stdout


def test_batches_walk_every_article_once(factory: sessionmaker[Session]) -> None:
    from ops.housekeeping import prune_deliveries

    ids = [store_article(factory, extracted(n)).article_id for n in range(1, 6)]
    with write_session(factory) as session:
        for article_id in ids:
            ledger.plan_deliveries(session, article_id, ["@a", "@b", "@c"])
        session.execute(update(Delivery).values(state=DeliveryState.SENT, article_version=1))
    _age(factory, ids, OLD)
    now = utcnow()
    cutoff = now - timedelta(days=90)
    done = prune_deliveries(factory, older_than=cutoff, first_seen_before=cutoff, now=now, batch=2)
    assert done == (5, 15) and _rows(factory) == {}


def test_story_fingerprints_past_the_window_go_and_the_stories_stay(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A new article is only compared with the window: older signatures and bands go."""
    from news.models import ArticleFingerprint, FingerprintBand

    words = " ".join(f"từ{i} ngữ{i % 7} câu{i % 11}" for i in range(40))
    ids = [
        store_article(factory, extracted(n, body=f"Bài {n}: {words} kết thúc {n}.")).article_id
        for n in range(1, 4)
    ]
    with factory() as session:
        stories = {a: s for a, s in session.execute(select(Article.id, Article.story_id))}
        assert all(stories[i] is not None for i in ids)  # fingerprinted and grouped on store
        assert session.scalar(select(func.count()).select_from(ArticleFingerprint)) == 3
    # two of them first seen 97 h ago: past the 72 h window plus a day of margin
    with write_session(factory) as session:
        for table in (ArticleFingerprint, FingerprintBand):
            session.execute(
                update(table)
                .where(table.article_id.in_(ids[:2]))
                .values(seen_at=utcnow() - timedelta(hours=97))
            )
    settings = _settings(tmp_path)
    dry = run_housekeeping(settings, factory, dry_run=True)
    assert dry.fingerprints == 2
    assert "fingerprints: would delete those of 2 articles past the stories' window" in dry.lines()
    assert run_housekeeping(settings, factory).fingerprints == 2
    with factory() as session:
        left = set(session.scalars(select(ArticleFingerprint.article_id)))
        bands = set(session.scalars(select(FingerprintBand.article_id).distinct()))
        assert left == bands == {ids[2]}
        assert {a: s for a, s in session.execute(select(Article.id, Article.story_id))} == stories
    assert run_housekeeping(settings, factory).fingerprints == 0

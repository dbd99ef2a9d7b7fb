"""The reconciler: work the database says is due gets done, even if no queue holds it."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import SourceConfig
from news import ledger
from news.db import utcnow
from news.models import Delivery, DeliveryState
from news.reconcile import find_due_work
from news.store import get_or_create_source
from tasks.app import create_celery_app
from tests.helpers import extracted, store_article
from tests.workers import start_worker, stop_worker, worker_env


def test_due_work_lists_pending_deliveries_and_overdue_sources(
    factory: sessionmaker[Session],
) -> None:
    article_id = store_article(factory, extracted(1)).article_id
    with factory.begin() as session:
        (pending,) = ledger.plan_deliveries(session, article_id, ["@a"])
        fresh = get_or_create_source(session, name="fresh", kind="html", url="http://f/")
        assert fresh.state is not None
        fresh.state.last_polled_at = utcnow()
    sources = [
        SourceConfig(name="portal", url="http://portal.test/", poll_interval=60),
        SourceConfig(name="fresh", url="http://f/", poll_interval=60),
        SourceConfig(name="never", url="http://n/", poll_interval=60),
    ]
    with factory() as session:
        due = find_due_work(session, sources, utcnow())
        assert due.delivery_ids == [pending]
        assert due.source_names == ["portal", "never"]  # portal was never polled either
        later = find_due_work(session, sources, utcnow() + timedelta(minutes=19))
        assert later.source_names == ["portal", "fresh", "never"]


def test_a_delivery_no_queue_holds_is_sent_by_a_real_worker(
    factory: sessionmaker[Session], database_url: str, redis_url: str, tmp_path: Path
) -> None:
    article_id = store_article(factory, extracted(3)).article_id
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, ["@loa_demo"])
    env = worker_env(database_url, redis_url, tmp_path)
    settings = load_settings(None, environ=env)
    app = create_celery_app(settings)
    app.control.purge()
    worker = start_worker(env, tmp_path)
    try:
        app.send_task("loa.reconcile")
        outbox = tmp_path / "outbox" / f"delivery-{delivery_id}-g0.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not outbox.exists():
            assert worker.poll() is None
            time.sleep(0.2)
        assert outbox.exists()
        with factory() as session:
            deadline = time.monotonic() + 10
            while session.get_one(Delivery, delivery_id).state is not DeliveryState.SENT:
                assert time.monotonic() < deadline
                time.sleep(0.1)
                session.expire_all()
    finally:
        stop_worker(worker)

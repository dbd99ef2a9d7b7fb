"""Scenario 8: the disk under the data directory fills up.

The data directory is a small tmpfs of its own (``mount -t tmpfs -o size=…``):
a real filesystem that answers ENOSPC exactly as a full disk does, for every
writer in the worker (the dry-run outbox, SQLite's WAL, logs, metrics), and
that a test can fill and empty in milliseconds. A loop device would behave
the same but needs mkfs and losetup; RLIMIT_FSIZE is only a per-process file
size cap (EFBIG and SIGXFSZ, not ENOSPC) and would not touch SQLite's journal
the way a full disk does. Mounting needs root (CAP_SYS_ADMIN): without it the
scenario is skipped, saying so.

A real `loa worker` in dry-run mode (no token: the outbox under the data
directory) is asked to publish while the disk is full. What must hold: a clear
error in its log (no bare traceback), no ledger row marked sent whose outbox
file was not written, and after space is freed every delivery is written
exactly once.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from news import ledger
from news.db import make_engine, make_session_factory
from news.migrate import upgrade
from news.models import Delivery, DeliveryState
from tasks.app import create_celery_app
from tests.faults.harness import scenario_redis
from tests.faults.report import ScenarioResult, record
from tests.helpers import extracted, store_article
from tests.tmpfs import fill, mounted_tmpfs
from tests.workers import start_worker, stop_worker, wait_for, worker_env

pytestmark = pytest.mark.faults
CHATS = ["@kenh_a", "@kenh_b", "-1001234567890"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs mounted at tmp_path/data for this test, unmounted after."""
    with mounted_tmpfs(tmp_path / "data", "16m") as mount_point:
        yield mount_point


def _outbox(directory: Path) -> Counter[str]:
    """Delivery keys of the outbox files (one per message written)."""
    return Counter(p.name.split("-g")[0] for p in directory.glob("delivery-*.json"))


def _states(factory: sessionmaker[Session]) -> dict[DeliveryState, int]:
    with factory() as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {state: int(n) for state, n in rows}


def _sent_ids(factory: sessionmaker[Session]) -> set[int]:
    with factory() as session:
        query = select(Delivery.id).where(Delivery.state == DeliveryState.SENT)
        return set(session.scalars(query))


def test_disk_full_marks_nothing_sent_that_was_not_written(
    small_disk: Path,
    database_url: str,
    tmp_path: Path,
) -> None:
    with scenario_redis(tmp_path / "redis-root") as broker:  # a Celery queue of its own
        _disk_full_scenario(small_disk, database_url, broker, tmp_path)


def _disk_full_scenario(
    small_disk: Path, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{small_disk / 'loa.db'}"  # the database is on the full disk too
        engine = make_engine(database_url)
        upgrade(engine)
    else:
        engine = make_engine(database_url)
    factory = make_session_factory(engine)
    outbox = small_disk / "outbox"
    outbox.mkdir()
    env = worker_env(
        database_url, redis_url, small_disk, LOA_PUBLISH='{"retry_backoff_seconds": 0.5}'
    )
    app = create_celery_app(load_settings(None, environ=env))
    planned: list[int] = []
    for n in range(3):
        article_id = store_article(factory, extracted(800 + n)).article_id
        with factory.begin() as session:
            planned += ledger.plan_deliveries(session, article_id, CHATS)

    worker = start_worker(env, tmp_path, concurrency=2)
    try:
        # Warm up: the worker writes its first files (metrics, WAL) while there is room.
        wait_for(lambda: any(tmp_path.glob("worker-*.log")), timeout=30, what="worker log")
        time.sleep(3)
        filler = fill(small_disk)
        full_at = time.monotonic()
        for delivery_id in planned:
            app.send_task("loa.publish", args=(delivery_id,))
        time.sleep(6)  # every task has had its try against the full disk
        during = _states(factory)
        sent_while_full = _sent_ids(factory)
        written_while_full = _outbox(outbox)
        log = "".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))

        filler.unlink()
        freed_at = time.monotonic()

        ticks = [0.0]

        def all_sent() -> bool:  # beat's reconciler, every second instead of every minute
            if time.monotonic() - ticks[0] >= 1.0:
                ticks[0] = time.monotonic()
                app.send_task("loa.reconcile")
            return _states(factory).get(DeliveryState.SENT, 0) == len(planned)

        wait_for(all_sent, timeout=60, what="every delivery written after space came back")
        recovered = time.monotonic() - freed_at
    finally:
        stop_worker(worker)

    written = _outbox(outbox)
    with factory() as session:
        rows = list(session.scalars(select(Delivery)))
    engine.dispose()
    lost = sum(1 for r in rows if written[f"delivery-{r.id}"] == 0)
    duplicated = sum(n - 1 for n in written.values() if n > 1)
    disk_lines = [line for line in log.splitlines() if "No space left" in line or "disk" in line]
    record(
        ScenarioResult(
            scenario="8. disk full under the data dir (16 MB tmpfs)",
            articles=3,
            expected=len(planned),
            delivered=len(planned) - lost,
            lost=lost,
            duplicated=duplicated,
            recovery_seconds=recovered,
            note=(
                f"while full: {len(sent_while_full)} marked sent, "
                f"{sum(written_while_full.values())} written; "
                f"states {json.dumps({str(k): v for k, v in during.items()})}; "
                f"full for {freed_at - full_at:.0f}s"
            ),
        )
    )
    # Nothing marked sent that was not written.
    assert all(written_while_full[f"delivery-{i}"] for i in sent_while_full), (
        sent_while_full,
        written_while_full,
    )
    assert lost == 0 and duplicated == 0, (lost, duplicated, written)
    assert not any(r.possible_duplicate for r in rows)  # a refused write is no maybe-sent
    assert disk_lines, "the worker's log never said the disk was full"
    assert "Traceback" not in log, log[-3000:]
    assert os.path.ismount(small_disk)

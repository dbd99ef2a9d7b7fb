"""Scenario 5: Telegram has a very bad minute, and Loa still delivers everything.

The Bot API emulator answers every send with 429 for a while, then with bursts
of 500/502, then hangs past the client's read timeout (PTB's 5 s). A real
`loa worker` (and, in the long version, `loa beat` for the reconciler) works
through a fan-out to channels and private chats meanwhile. Afterwards every
(chat, article) pair is in the emulator's record exactly once, and the
accepted messages never came faster than Telegram's limits (30/s per bot,
1/s per private chat, 20/min per channel), measured on the emulator's clock.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from news import ledger
from news.models import Delivery, DeliveryState
from tasks.app import create_celery_app
from telegram_emulator import Emulator
from tests.faults.harness import scenario_redis
from tests.faults.report import ScenarioResult, record
from tests.faults.telegram_record import limit_peaks, tally
from tests.helpers import extracted, store_article
from tests.workers import start_worker, stop_worker, wait_for, worker_env

pytestmark = pytest.mark.faults
TOKEN = "555001:" + "T" * 35
#: PTB's default read timeout: a hang longer than this is a TimedOut in the worker.
CLIENT_TIMEOUT = 5.0
SENDS = ["sendMessage", "sendPhoto"]


@dataclass(frozen=True)
class Outage:
    """How bad Telegram's day is, and how much there is to deliver."""

    name: str
    channels: int
    readers: int
    articles: int
    throttle_seconds: float  # every send answered 429 for this long
    retry_after: int
    bursts: int  # then this many bursts of 5xx
    burst_size: int
    hangs: int  # then this many requests hang past the client's timeout
    settle_timeout: float


SHORT = Outage("short", channels=2, readers=6, articles=2, throttle_seconds=3, retry_after=1,
               bursts=2, burst_size=3, hangs=1, settle_timeout=90)  # fmt: skip
FULL = Outage("full", channels=3, readers=40, articles=5, throttle_seconds=60, retry_after=5,
              bursts=5, burst_size=10, hangs=4, settle_timeout=600)  # fmt: skip


def _sent_rows(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        query = select(func.count()).where(Delivery.state == DeliveryState.SENT)
        return int(session.scalar(query.select_from(Delivery)) or 0)


def _throttled(emulator: Emulator) -> bool:
    return any(c.get("fault") == "retry_after" for c in emulator.calls())


def _wait_consumed(emulator: Emulator, fault_id: int, timeout: float) -> None:
    """Until the fault has fired all its times (it then leaves the list)."""
    deadline = time.monotonic() + timeout
    while any(f.id == fault_id for f in emulator.faults()) and time.monotonic() < deadline:
        time.sleep(0.1)


def run_outage(
    outage: Outage,
    factory: sessionmaker[Session],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    emulator: Emulator,
) -> None:
    channels = [
        emulator.create_chat("channel", username=f"kenh{n}") for n in range(outage.channels)
    ]
    readers = [emulator.create_user(7100 + n) for n in range(outage.readers)]
    chats = [f"@kenh{n}" for n in range(outage.channels)] + [str(r["id"]) for r in readers]
    ids = [c["id"] for c in channels] + [r["id"] for r in readers]
    env = worker_env(
        database_url, redis_url, tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=emulator.base_url,
        LOA_PUBLISH='{"retry_backoff_seconds": 1}' if outage is SHORT else "{}",
    )  # fmt: skip
    app = create_celery_app(load_settings(None, environ=env))

    emulator.add_fault("retry_after", retry_after=outage.retry_after)
    markers, planned = [], []
    for n in range(outage.articles):
        marker = f"Tin mất điện {n}#"
        markers.append(marker)
        article_id = store_article(factory, extracted(900 + n, title=marker)).article_id
        with factory.begin() as session:
            planned += ledger.plan_deliveries(session, article_id, chats)
    processes = [start_worker(env, tmp_path, concurrency=2)]
    if outage is FULL:  # the reconciler picks up waits longer than a countdown
        processes.append(_start_beat(env, tmp_path))
    try:
        for delivery_id in planned:
            app.send_task("loa.publish", args=(delivery_id,))
        # The minute of 429s starts with the first one the worker meets.
        wait_for(lambda: _throttled(emulator), timeout=60, what="a first 429")
        time.sleep(outage.throttle_seconds)
        emulator.clear_faults()
        for burst in range(outage.bursts):
            kind = ("server_error", "bad_gateway")[burst % 2]
            fault = emulator.add_fault(kind, times=outage.burst_size, methods=SENDS)
            _wait_consumed(emulator, fault, timeout=30)
            time.sleep(1.0)
        hang = emulator.add_fault(
            "timeout", times=outage.hangs, seconds=CLIENT_TIMEOUT + 3, methods=SENDS
        )
        _wait_consumed(emulator, hang, timeout=60)
        faults_over = time.monotonic()
        try:
            wait_for(
                lambda: _sent_rows(factory) == len(planned),
                timeout=outage.settle_timeout,
                what="every delivery sent",
            )
        except AssertionError:
            pass  # recorded below as lost, then asserted
        recovered = time.monotonic() - faults_over
    finally:
        for process in processes:
            stop_worker(process)

    counts = tally(emulator, [(chat, marker) for chat in ids for marker in markers])
    peaks = limit_peaks(emulator)
    calls = emulator.calls()
    injected = sum(1 for c in calls if c.get("fault"))
    with factory() as session:
        states = dict(
            session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
        )
    record(
        ScenarioResult(
            scenario=f"5. Bot API 429 {outage.throttle_seconds:.0f}s, 5xx, hangs ({outage.name})",
            articles=outage.articles,
            expected=counts.expected,
            delivered=counts.delivered,
            lost=counts.lost,
            duplicated=counts.duplicated,
            recovery_seconds=recovered,
            note=(
                f"{injected} injected failures; peaks {peaks.global_per_second}/s global, "
                f"{peaks.private_per_second}/s private, {peaks.group_per_minute}/min channel; "
                f"{peaks.unasked_429s} 429s not injected"
            ),
        )
    )
    assert counts.lost == 0 and counts.duplicated == 0, (counts, states)
    assert states == {DeliveryState.SENT: len(planned)}, states
    assert peaks.within(), peaks
    assert peaks.unasked_429s == 0, peaks  # the shared limiter kept Loa under Telegram's caps
    assert injected >= outage.bursts * outage.burst_size + outage.hangs
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))
    assert "TimedOut" in logs  # the hang outlasted the client's timeout, as planned


def _start_beat(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """`loa beat` in its own process group, logging next to the worker's log."""
    with open(cwd / "beat.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "loa", "beat"], env=env, cwd=cwd,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def test_telegram_outage_short(
    factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    telegram_emulator: Emulator,
) -> None:
    with scenario_redis(tmp_path / "redis-root") as broker:  # a Celery queue of its own
        run_outage(SHORT, factory, database_url, broker, tmp_path, telegram_emulator)


@pytest.mark.long
@pytest.mark.timeout(900)  # a minute of 429s, the bursts, the hangs and the backoffs after
def test_telegram_outage_full(
    factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    telegram_emulator: Emulator,
) -> None:
    with scenario_redis(tmp_path / "redis-root") as broker:
        run_outage(FULL, factory, database_url, broker, tmp_path, telegram_emulator)

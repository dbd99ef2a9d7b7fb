"""The series the real code paths record: polls, fetches, articles, deliveries, 429s, waits.

Each test drives a real path (a poll of the test site, a publish to the Bot
API emulator, the limiter on a real Redis) and reads the difference it made to
this process's series. A last pair runs a separate interpreter in
multiprocess mode: a metrics directory that vanished must not break a fetch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from bot.limiter import Limits, TelegramLimiter
from bot.publisher import Publisher
from config.settings import SourceConfig
from news import ledger
from news.db import write_session
from news.errors import FetchError
from news.extract import reader_for
from news.fetch import Fetcher, make_session
from news.poll import poll_source
from news.reading import SourceReading
from news.store import get_or_create_source, upsert_article
from ops.metrics import MULTIPROC_ENV, clear_directory, enable_multiprocess, metrics
from telegram_emulator import Emulator
from tests.conftest import ROOT
from tests.helpers import extracted, store_article
from tests.sites.server import SiteServer
from tests.sites.slug_portal import SlugPortal


def value(name: str, **labels: str) -> float:
    """This process's current value of one sample (0 before its first event)."""
    return metrics().registry.get_sample_value(name, labels) or 0.0


def test_polls_fetches_and_new_articles_are_counted(
    factory: sessionmaker[Session], slug_portal: SlugPortal
) -> None:
    source = SourceConfig(name="counted", url=slug_portal.listing_url, profile="news-modern")
    reading = SourceReading(
        source,
        Fetcher(make_session(retries=0)),
        reader_for("news-modern"),
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
    )
    polls = {o: value("loa_polls_total", source="counted", outcome=o) for o in
             ("changed", "unchanged", "not_modified", "error")}  # fmt: skip
    fetched = value("loa_fetch_seconds_count", outcome="ok")
    failed = value("loa_fetch_seconds_count", outcome="error")
    new = value("loa_articles_total", source="counted", change="new")

    poll_source(factory, reading)
    poll_source(factory, reading)
    slug_portal.server.set_status(slug_portal.listing_url, 503)
    with pytest.raises(FetchError):
        poll_source(factory, reading)

    assert value("loa_polls_total", source="counted", outcome="changed") == polls["changed"] + 1
    quiet = sum(value("loa_polls_total", source="counted", outcome=o) - polls[o]
                for o in ("unchanged", "not_modified"))  # fmt: skip
    assert quiet == 1
    assert value("loa_polls_total", source="counted", outcome="error") == polls["error"] + 1
    assert value("loa_articles_total", source="counted", change="new") == new + 3
    assert value("loa_fetch_seconds_count", outcome="ok") >= fetched + 4  # listing + 3 pages
    assert value("loa_fetch_seconds_count", outcome="error") == failed + 1


def test_a_rolled_back_store_counts_nothing(factory: sessionmaker[Session]) -> None:
    before = value("loa_articles_total", source="rollback", change="new")
    with pytest.raises(RuntimeError), write_session(factory) as session:
        source = get_or_create_source(session, name="rollback", kind="html", url="http://x.test/")
        upsert_article(session, extracted(1), source=source)
        raise RuntimeError("the transaction never commits")
    assert value("loa_articles_total", source="rollback", change="new") == before
    with write_session(factory) as session:
        source = get_or_create_source(session, name="rollback", kind="html", url="http://x.test/")
        upsert_article(session, extracted(1), source=source)
    assert value("loa_articles_total", source="rollback", change="new") == before + 1


def test_a_429_a_retry_and_a_sent_post_with_its_latency(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    from datetime import timedelta

    from news.db import utcnow

    channel = telegram_emulator.create_chat("channel", username="kenh_dem")
    telegram_emulator.add_fault("retry_after", chat_id=channel["id"], times=1, retry_after=1)
    throttled, retried = (
        value("loa_telegram_429_total"),
        value("loa_deliveries_total", outcome="retry"),
    )
    sent, latencies = (
        value("loa_deliveries_total", outcome="sent"),
        value("loa_publish_latency_seconds_count"),
    )
    article_id = store_article(factory, extracted(7)).article_id
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, ["@kenh_dem"])

    assert publisher.publish(delivery_id).status == "retry"
    assert publisher.limiter is not None
    publisher.limiter.client.delete(f"{publisher.limiter.prefix}:pause:@kenh_dem")
    assert publisher.publish(delivery_id, now=utcnow() + timedelta(seconds=2)).status == "sent"

    assert value("loa_telegram_429_total") == throttled + 1
    assert value("loa_deliveries_total", outcome="retry") == retried + 1
    assert value("loa_deliveries_total", outcome="sent") == sent + 1
    assert value("loa_publish_latency_seconds_count") == latencies + 1


def test_limiter_waits_are_counted_with_their_seconds(redis_client: redis.Redis) -> None:
    import uuid

    limiter = TelegramLimiter(
        redis_client, Limits(global_per_second=1), prefix=f"loa:test:{uuid.uuid4().hex}"
    )
    waits, seconds = value("loa_limiter_waits_total"), value("loa_limiter_wait_seconds_total")
    assert limiter.wait_turn("-100123", max_wait=5) == 0
    waited = limiter.wait_turn("-100456", max_wait=5)  # the global bucket is full for ~1 s
    assert waited > 0
    assert value("loa_limiter_waits_total") >= waits + 1
    assert value("loa_limiter_wait_seconds_total") == pytest.approx(seconds + waited)


_CHILD = textwrap.dedent(
    """
    import shutil, sys
    from pathlib import Path
    from ops.metrics import enable_multiprocess
    from news.fetch import Fetcher, make_session

    directory = Path(sys.argv[1])
    enable_multiprocess(directory)
    if sys.argv[3] == "vanish":
        shutil.rmtree(directory)
    result = Fetcher(make_session(retries=0)).get(sys.argv[2])
    print("fetched", result.status)
    """
)


def _child(directory: Path, url: str, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(directory), url, mode],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip


def test_multiprocess_files_are_written_and_cleared(
    site_server: SiteServer, tmp_path: Path
) -> None:
    directory = tmp_path / "metrics"
    done = _child(directory, site_server.url_for("http://portal.test/"), "keep")
    assert done.returncode == 0 and "fetched 200" in done.stdout, done.stderr
    assert list(directory.glob("histogram_*.db"))  # the child's fetch, in a file
    clear_directory(directory)
    assert directory.is_dir() and not list(directory.glob("*.db"))


def test_a_metrics_failure_is_logged_and_the_fetch_still_succeeds(
    site_server: SiteServer, tmp_path: Path
) -> None:
    done = _child(tmp_path / "gone", site_server.url_for("http://portal.test/"), "vanish")
    assert done.returncode == 0, done.stderr
    assert "fetched 200" in done.stdout
    assert "metrics: could not record fetch" in done.stderr


def test_an_unusable_metrics_directory_leaves_the_process_in_single_process_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    enable_multiprocess(blocker / "metrics")  # `loa worker` starts all the same
    assert os.environ.get(MULTIPROC_ENV) != str(blocker / "metrics")
    assert "metrics: cannot use" in caplog.text

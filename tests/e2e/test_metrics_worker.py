"""A real `loa worker` polls and publishes; a separate `loa serve` shows its counters on /metrics.

The worker's pool child records into the shared metrics directory (the data
directory's ``metrics/``); the web process, which neither polled nor sent
anything, adds every process's files up at scrape time.

The processes use a Redis of their own (the bundled redis-server), even when
REDIS_URL names a shared one: another worker on a shared queue could take
this test's tasks, and this worker theirs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from loa.embedded_redis import EmbeddedRedis
from tasks.app import create_celery_app
from telegram_emulator import Emulator
from tests.conftest import free_port
from tests.helpers import healthy
from tests.sites.slug_portal import SlugPortal
from tests.workers import start_worker, stop_worker, wait_for, worker_env

pytestmark = pytest.mark.e2e
BOT_TOKEN = "424242:" + "M" * 35
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(base: str) -> Samples:
    try:
        answer = requests.get(f"{base}/metrics", timeout=5)
    except requests.RequestException:
        return {}
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }



def test_the_workers_counters_reach_the_web_servers_metrics(
    factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    telegram_emulator: Emulator,
    slug_portal: SlugPortal,
) -> None:
    channel = telegram_emulator.create_chat("channel", username="kenh_so_lieu")
    port = free_port()
    source = {
        "name": "slug",
        "url": slug_portal.listing_url,
        "profile": "news-modern",
        "announce_first_poll": 3,
    }
    private_redis = EmbeddedRedis(tmp_path / "redis")
    private_redis.start()
    env = worker_env(
        database_url, private_redis.url, tmp_path,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_BASE_URL=telegram_emulator.base_url,
        LOA_HTTP_PORT=str(port), LOA_SOURCES=json.dumps([source]),
        LOA_ROUTES=json.dumps([{"channel": "@kenh_so_lieu"}]),
    )  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each process finds it from its data dir
    celery_app = create_celery_app(load_settings(None, environ=env))
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "loa", "serve"],
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    worker = start_worker(env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base), timeout=30, what="loa serve")
        before = _scrape(base)
        assert ("loa_polls_total", (("outcome", "changed"), ("source", "slug"))) not in before
        celery_app.send_task("loa.poll_source", args=("slug",))
        wait_for(
            lambda: len(telegram_emulator.messages(channel["id"])) == 3,
            timeout=60,
            what="three posts in the channel",
        )
        sent = ("loa_deliveries_total", (("outcome", "sent"),))
        wait_for(lambda: _scrape(base).get(sent, 0) >= 3, timeout=20, what="sent deliveries")
        samples = _scrape(base)
        ready = requests.get(f"{base}/readyz", timeout=10)
    finally:
        stop_worker(worker)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        private_redis.stop()

    assert ready.status_code == 200, ready.text
    assert samples[("loa_polls_total", (("outcome", "changed"), ("source", "slug")))] == 1.0
    assert samples[("loa_articles_total", (("change", "new"), ("source", "slug")))] == 3.0
    assert samples[sent] == 3.0
    # the listing and three article pages, each one timed
    assert samples[("loa_fetch_seconds_count", (("outcome", "ok"),))] >= 4.0
    assert samples[("loa_publish_latency_seconds_count", ())] == 3.0
    assert samples[("loa_publish_latency_seconds_sum", ())] > 0.0
    assert samples[("loa_queue_depth", (("queue", "deliveries_pending"),))] == 0.0
    assert ("loa_queue_depth", (("queue", "celery"),)) in samples
    # the worker's processes wrote their own files beside the web server's
    files = {path.name for path in (tmp_path / "metrics").glob("*.db")}
    assert len({name.rsplit("_", 1)[1] for name in files}) >= 2, files

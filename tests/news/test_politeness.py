"""The per-host gate keeps its promises across threads (and so across processes)."""

from __future__ import annotations

import threading
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from config.settings import SourceConfig
from news.errors import SourceError
from news.extract import reader_for
from news.fetch import Fetcher
from news.models import SourceState
from news.politeness import LocalGate, RedisGate, RedisRobotsCache
from news.poll import poll_source
from news.reading import SourceReading
from tasks.runtime import redis_client_url
from tests.conftest import free_port
from tests.sites.server import SiteServer


def _hammer(gates: list[RedisGate | LocalGate], host: str, workers: int) -> tuple[int, list[float]]:
    """`workers` threads per gate, all at once; the peak in flight and the start times."""
    in_flight = 0
    peak = 0
    starts: list[float] = []
    lock = threading.Lock()

    def one(gate: RedisGate | LocalGate) -> None:
        nonlocal in_flight, peak
        with gate.slot(host):
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
                starts.append(time.monotonic())
            time.sleep(0.05)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=one, args=(g,)) for g in gates for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return peak, sorted(starts)


def test_redis_gate_limits_concurrency_and_spacing(redis_client: redis.Redis) -> None:
    gate = RedisGate(redis_client, max_concurrent=2, min_delay=0.1)
    host = f"portal-{uuid.uuid4().hex}.test"
    peak, starts = _hammer([gate], host, 4)
    assert peak <= 2
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.09  # Redis clock vs local clock: allow 10 ms
    assert redis_client.zcard(f"loa:host:{host}:slots") == 0  # slots freed


def test_separate_gates_share_one_limit_through_redis(redis_url: str) -> None:
    """Two gates on separate connections, like two worker processes, hammered at once."""
    pool_a = redis.Redis.from_url(redis_client_url(redis_url))
    pool_b = redis.Redis.from_url(redis_client_url(redis_url))
    gates: list[RedisGate | LocalGate] = [
        RedisGate(pool_a, max_concurrent=1, min_delay=0.1),
        RedisGate(pool_b, max_concurrent=1, min_delay=0.1),
    ]
    host = f"portal-{uuid.uuid4().hex}.test"
    try:
        peak, starts = _hammer(gates, host, 3)
    finally:
        pool_a.close()
        pool_b.close()
    assert peak == 1  # each gate alone would allow one each: two in flight
    assert len(starts) == 6
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.09


def test_local_gate_spacing() -> None:
    gate = LocalGate(max_concurrent=1, min_delay=0.05)
    peak, starts = _hammer([gate], "h.test", 3)
    assert peak == 1
    assert all(b - a >= 0.045 for a, b in zip(starts, starts[1:], strict=False))


def test_no_turn_in_time_is_a_source_error_recorded_in_health(
    factory: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    """A busy host is the source's failure (health records it), not a stray TimeoutError."""
    host_gate = RedisGate(redis_client, max_concurrent=1, min_delay=0, max_wait=0.3)
    port = free_port()  # nothing listens: the gate must give up before any connection
    url = f"http://127.0.0.1:{port}/"
    source = SourceConfig(name="busy", url=url, respect_robots=False)
    fetcher = Fetcher(gate=host_gate, respect_robots=False)
    with host_gate.slot(f"127.0.0.1:{port}"), pytest.raises(SourceError, match="no turn"):
        poll_source(
            factory,
            SourceReading(source, fetcher, reader_for(None), tz=ZoneInfo("Asia/Ho_Chi_Minh")),
        )
    with factory() as session:
        state = session.query(SourceState).one()
        assert state.consecutive_failures == 1
        assert state.last_error is not None and "no turn" in state.last_error


def test_robots_txt_is_fetched_once_for_every_process(
    site_server: SiteServer, redis_client: redis.Redis
) -> None:
    """Each worker process has its own Fetcher; the Redis cache saves each a polite wait."""
    site_server.set_robots("User-agent: *\nDisallow: /private/\n")
    cache = RedisRobotsCache(redis_client)
    redis_client.delete(f"loa:robots:{site_server.base_url}")
    page = f"{site_server.base_url}/private/page.html"
    fetchers = [Fetcher(robots_cache=cache) for _ in range(3)]  # three processes, say
    for fetcher in fetchers:
        assert not fetcher.allowed(page)
        assert fetcher.allowed(f"{site_server.base_url}/portal.test/")
    assert site_server.hits("/robots.txt") == 1
    assert redis_client.pttl(f"loa:robots:{site_server.base_url}") > 3_000_000
    redis_client.delete(f"loa:robots:{site_server.base_url}")

"""/healthz, /readyz and /metrics on a real uvicorn: alive, ready or 503 with the reason.

Faults are real and local: a database on a closed loopback port, a schema
stamped one revision behind, a Redis on a closed loopback port. The machine's
shared PostgreSQL and Redis are never stopped.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from feeds.server import create_app
from news.db import make_engine, make_session_factory
from news.migrate import alembic_config, head_revision
from tests.conftest import free_port
from tests.helpers import extracted, running_server, store_article


def _settings(tmp_path: Path, redis_url: str | None) -> Settings:
    environ = {"LOA_DATA_DIR": str(tmp_path / "data"), "LOA_HTTP_PORT": str(free_port())}
    if redis_url:
        environ["REDIS_URL"] = redis_url
    return load_settings(None, environ=environ)


@contextmanager
def _serving(settings: Settings, factory: sessionmaker[Session]) -> Iterator[str]:
    with running_server(create_app(settings, factory), settings.http_port) as url:
        yield url


def _previous_revision() -> str:
    from alembic.script import ScriptDirectory

    newest = head_revision()
    assert newest is not None
    head = ScriptDirectory.from_config(alembic_config()).get_revision(newest)
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


def test_ready_when_database_schema_and_redis_are(
    factory: sessionmaker[Session], redis_url: str, tmp_path: Path
) -> None:
    with _serving(_settings(tmp_path, redis_url), factory) as url:
        alive = requests.get(f"{url}/healthz", timeout=5)
        ready = requests.get(f"{url}/readyz", timeout=5)
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and "reason" not in body
    assert body["checks"]["migrations"] == {"ok": True, "detail": f"at head {head_revision()}"}
    assert body["checks"]["redis"] == {"ok": True, "detail": "PONG"}


def test_database_unreachable_is_503_with_the_reason_while_healthz_stays_200(
    redis_url: str, tmp_path: Path
) -> None:
    closed = free_port()  # nothing listens there: connections are refused at once
    engine = make_engine(f"postgresql+psycopg://loa:secret-pw@127.0.0.1:{closed}/loa")
    try:
        with _serving(_settings(tmp_path, redis_url), make_session_factory(engine)) as url:
            alive = requests.get(f"{url}/healthz", timeout=5)
            ready = requests.get(f"{url}/readyz", timeout=10)
    finally:
        engine.dispose()
    assert alive.status_code == 200  # liveness never touches the database
    assert ready.status_code == 503
    reason = ready.json()["reason"]
    assert reason.startswith("database: unreachable (OperationalError")
    assert "migrations: unknown" in reason
    assert "secret-pw" not in ready.text


def test_missing_sqlite_file_is_503_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "loa.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with _serving(_settings(tmp_path, None), make_session_factory(engine)) as url:
            ready = requests.get(f"{url}/readyz", timeout=5)
    finally:
        engine.dispose()
    assert ready.status_code == 503
    assert "no database file" in ready.json()["reason"]
    assert not path.exists()


def test_schema_behind_is_503_naming_the_fix(
    factory: sessionmaker[Session], redis_url: str, tmp_path: Path
) -> None:
    previous = _previous_revision()
    with factory.begin() as session:
        session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    try:
        with _serving(_settings(tmp_path, redis_url), factory) as url:
            ready = requests.get(f"{url}/readyz", timeout=5)
    finally:
        with factory.begin() as session:
            session.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()}
            )
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["migrations"] == {
        "ok": False,
        "detail": f"schema at {previous}, code expects {head_revision()}: run `loa db upgrade`",
    }


def test_redis_down_is_503_and_metrics_still_answer(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    closed = free_port()
    with _serving(_settings(tmp_path, f"redis://127.0.0.1:{closed}/0"), factory) as url:
        ready = requests.get(f"{url}/readyz", timeout=10)
        scrape = requests.get(f"{url}/metrics", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["reason"].startswith("redis: unreachable (ConnectionError")
    assert scrape.status_code == 200
    samples = _samples(scrape.text)
    assert samples[("loa_dependency_up", (("dependency", "redis"),))] == 0.0
    assert samples[("loa_dependency_up", (("dependency", "database"),))] == 1.0


def test_metrics_speak_prometheus_text_with_the_queue_depths(
    factory: sessionmaker[Session], redis_url: str, tmp_path: Path
) -> None:
    from news import ledger

    article = store_article(factory, extracted(1)).article_id
    with factory.begin() as session:
        ledger.plan_deliveries(session, article, ["@kenh_a", "@kenh_b"])
    with _serving(_settings(tmp_path, redis_url), factory) as url:
        scrape = requests.get(f"{url}/metrics", timeout=10)
        head = requests.head(f"{url}/metrics", timeout=10)
    assert scrape.status_code == 200 and head.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(scrape.text)}
    assert all(name.startswith("loa_") for name in names), names
    assert {"loa_polls", "loa_fetch_seconds", "loa_articles", "loa_deliveries"} <= names
    samples = _samples(scrape.text)
    assert samples[("loa_queue_depth", (("queue", "deliveries_pending"),))] == 2.0
    assert ("loa_queue_depth", (("queue", "celery"),)) in samples
    assert samples[("loa_articles_total", (("change", "new"), ("source", "portal")))] >= 1.0


def _samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_carry_no_cache(
    path: str, factory: sessionmaker[Session], redis_url: str, tmp_path: Path
) -> None:
    with _serving(_settings(tmp_path, redis_url), factory) as url:
        answer = requests.get(f"{url}{path}", timeout=10)
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_the_compose_proxy_hides_metrics_but_passes_readiness(
    factory: sessionmaker[Session], redis_url: str, tmp_path: Path
) -> None:
    """deploy/nginx.conf: /metrics is for Prometheus inside the network, not the public side."""
    from tests.nginx import shipped_nginx

    with _serving(_settings(tmp_path, redis_url), factory) as loa:
        with shipped_nginx(tmp_path, tmp_path / "nginx", loa) as proxy:
            hidden = requests.get(f"{proxy}/metrics", timeout=5)
            ready = requests.get(f"{proxy}/readyz", timeout=5)
            direct = requests.get(f"{loa}/metrics", timeout=5)
    assert hidden.status_code == 403 and "loa_" not in hidden.text
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert direct.status_code == 200 and "loa_polls" in direct.text

"""The operator's `/status` page: its data, its escaping, its refusals, and Chromium's view.

Everything runs on a real database (SQLite, or PostgreSQL with DATABASE_URL)
filled with :mod:`tests.ops.status_seed`'s 48 hours, served by the real app
under uvicorn on 127.0.0.1. The browser test uses Debian's `chromium` and is
skipped, with the reason, where it is not installed.
"""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from feeds.server import create_app
from news.models import Article, Delivery, DeliveryState
from ops.status_auth import DEMO_PASSWORD_FILE, demo_password, read_password
from ops.status_chart import axis_step
from ops.status_data import CHART_HOURS, status_snapshot
from ops.status_page import TEXTS, status_page
from tests.conftest import free_port
from tests.helpers import running_server
from tests.ops.status_screenshot import chromium, dump_dom, screenshot
from tests.ops.status_seed import CHANNELS, seed_status_demo

NOW = datetime(2026, 12, 3, 9, 20, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"
PASSWORD = "đúng-mật-khẩu"  # non-ASCII on purpose: basic auth is UTF-8 here
API_TOKEN = "api-token-that-must-not-open-status"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _settings(tmp_path: Path, database_url: str, **extra: str) -> Settings:
    environ = {
        "LOA_DATA_DIR": str(tmp_path / "data"),
        "LOA_HTTP_PORT": str(free_port()),
        "DATABASE_URL": database_url,
        "LOA_API_TOKENS": API_TOKEN,
        **extra,
    }
    return load_settings(None, environ=environ)


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_snapshot_counts_what_the_database_holds(factory: sessionmaker[Session]) -> None:
    seed_status_demo(factory, now=NOW)
    snap = status_snapshot(factory, now=NOW)

    assert len(snap.hours) == CHART_HOURS
    assert snap.hours[-1].start == NOW.replace(minute=0)
    start = snap.hours[0].start
    with factory() as session:
        found = session.scalar(
            select(func.count()).select_from(Article).where(Article.first_seen_at >= start)
        )
        sent = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.state == DeliveryState.SENT, Delivery.sent_at >= start)
        )
    assert sum(h.articles for h in snap.hours) == found > 100
    assert sum(h.sent for h in snap.hours) == sent > 300
    assert max(h.articles for h in snap.hours) > min(h.articles for h in snap.hours)

    broken = [s for s in snap.sources if not s.health.healthy]
    assert [s.health.name for s in broken] == ["vnexpress-thoisu"]
    assert broken[0].health.last_error and "ReadTimeout" in broken[0].health.last_error
    assert all(s.last_article_at is not None and s.last_article_title for s in snap.sources)

    chats = {c.chat: c for c in snap.chats}
    assert chats[CHANNELS[1]].paused and chats[CHANNELS[1]].pending > 0
    assert chats[CHANNELS[2]].channel_status == "failed" and chats[CHANNELS[2]].failed > 0
    assert chats[CHANNELS[0]].sent > 0
    assert snap.chats[-1].chat == "" and snap.chats[-1].chats > 1  # the other readers, summed
    assert snap.status.backlog == sum(c.pending for c in snap.chats)
    assert snap.failures and all(f.error for f in snap.failures)
    assert snap.failures == sorted(snap.failures, key=lambda f: f.at or NOW, reverse=True)
    assert [p.label for p in snap.status.pauses] == [f"chat {CHANNELS[1]}"]


def test_every_value_from_the_database_is_escaped(factory: sessionmaker[Session]) -> None:
    seed_status_demo(factory, now=NOW, hostile=HOSTILE)
    snap = status_snapshot(factory, now=NOW)
    assert any(HOSTILE in f.error for f in snap.failures)
    for language in ("vi", "en"):
        page = status_page(snap, title=f"Loa{HOSTILE}", language=language, tz=TZ)
        assert "<script" not in page.lower()
        # the source, the chat, the title, the failure reason and the page title
        assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert TEXTS["vi"].keys() == TEXTS["en"].keys()
    for key, text in TEXTS["vi"].items():
        for name in ("{time}", "{zone}", "{name}", "{count}"):
            assert (name in text) == (name in TEXTS["en"][key]), key


def test_chart_axis_steps_are_round() -> None:
    assert [axis_step(v) for v in (0, 3, 9, 28, 95, 1234)] == [1, 1, 5, 10, 50, 500]


def test_status_is_refused_without_a_configured_password(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    settings = _settings(tmp_path, database_url)
    with running_server(create_app(settings, factory), settings.http_port) as base:
        for headers in ({}, {"Authorization": f"Bearer {API_TOKEN}"}, _basic("loa", "")):
            answer = requests.get(f"{base}/status?lang=en", headers=headers, timeout=5)
            assert answer.status_code == 403
            assert answer.headers["Cache-Control"] == "no-store"
            assert "status_password" in answer.text and "LOA_STATUS_PASSWORD" in answer.text


def test_status_needs_the_configured_basic_credentials(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    seed_status_demo(factory)
    settings = _settings(
        tmp_path, database_url, LOA_STATUS_USERNAME="ops", LOA_STATUS_PASSWORD=PASSWORD
    )
    wrong = [
        {},
        {"Authorization": f"Bearer {API_TOKEN}"},
        _basic("ops", API_TOKEN),
        _basic("loa", PASSWORD),
        _basic("ops", PASSWORD + "x"),
        _basic("ops", PASSWORD[:-1]),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(PASSWORD.encode()).decode()},
    ]
    with running_server(create_app(settings, factory), settings.http_port) as base:
        for headers in wrong:
            answer = requests.get(f"{base}/status", headers=headers, timeout=5)
            assert answer.status_code == 401, headers
            assert answer.headers["WWW-Authenticate"].startswith("Basic ")
            assert answer.headers["Cache-Control"] == "no-store"
            assert "Trạng thái" not in answer.text
        answer = requests.get(f"{base}/status", headers=_basic("ops", PASSWORD), timeout=5)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-store"
        assert "script-src" not in answer.headers["Content-Security-Policy"]
        assert "Trạng thái" in answer.text and "vnexpress-thoisu" in answer.text
        english = requests.get(f"{base}/status?lang=en", headers=_basic("ops", PASSWORD), timeout=5)
        assert "Deliveries per chat" in english.text and "Messages sent" in english.text


def test_demo_password_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    path = demo_password(tmp_path)
    assert path == tmp_path / DEMO_PASSWORD_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    first = read_password(path)
    path.chmod(0o644)
    assert demo_password(tmp_path) == path and read_password(path) == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 20


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.skipif(
    chromium() is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium; CI installs it)",
)
def test_chromium_renders_the_page(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    seed_status_demo(factory, now=datetime.now(UTC) - timedelta(minutes=1))
    settings = _settings(tmp_path, database_url, LOA_STATUS_PASSWORD=PASSWORD)
    with running_server(create_app(settings, factory), settings.http_port) as base:
        # Chromium percent-encodes the non-ASCII password in the URL's userinfo
        secret = requests.utils.quote(PASSWORD, safe="")
        url = base.replace("http://", f"http://loa:{secret}@") + "/status?lang=en"
        dom = dump_dom(url)
        png = tmp_path / "status.png"
        screenshot(url, png, window=(1280, 1400))
    for text in ("Loa — Status", "Sources", "vnexpress-thoisu", "Recent failures", "Paused"):
        assert text in dom, text
    assert "<svg" in dom and "Messages sent" in dom and "Articles found" in dom
    data = png.read_bytes()
    assert _png_size(data) == (1280, 1400)
    assert 40_000 < len(data) < 2_000_000  # a page with a chart and tables, not a blank one


def test_an_empty_database_renders_a_calm_page(factory: sessionmaker[Session]) -> None:
    snap = status_snapshot(factory, now=NOW)
    assert snap.sources == [] and snap.chats == [] and snap.failures == []
    assert len(snap.hours) == CHART_HOURS and not any(h.articles or h.sent for h in snap.hours)
    page = status_page(snap, title="Loa", language="en", tz=TZ)
    for text in ("No sources yet.", "Nothing sent yet.", "No failures.", "<svg"):
        assert text in page

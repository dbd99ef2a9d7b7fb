"""The bundled demo portal, served for real on 127.0.0.1 and read by the real extractor."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from loa.demo_portal import FIRST_ID, STORIES, DemoPortal
from news.errors import ExtractionError
from news.extract.portal import discover_cms_links, extract_cms_article
from news.text import slugify

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never route 127.0.0.1 through a proxy
        yield session


@pytest.fixture
def portal() -> Iterator[DemoPortal]:
    demo = DemoPortal(interval_seconds=3600, initial_articles=3)
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


def listing_links(html: str) -> list[str]:
    return re.findall(r'<h3><a href="([^"]+)"', html)


def test_listing_shows_initial_articles_newest_first(
    portal: DemoPortal, http: requests.Session
) -> None:
    response = http.get(portal.url + "/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    paths = listing_links(response.text)
    assert paths == [portal.article(k).path for k in (2, 1, 0)]
    assert all(re.fullmatch(r"/tin-tuc/[a-z0-9-]+-\d+\.html", p) for p in paths)
    links = discover_cms_links(response.content, base_url=response.url)
    assert links == [portal.url + path for path in paths]


def test_every_visible_article_extracts(portal: DemoPortal, http: requests.Session) -> None:
    for k in range(3):
        art = portal.article(k)
        story = STORIES[k]
        url = portal.url + art.path
        response = http.get(url, timeout=5)
        assert response.status_code == 200
        result = extract_cms_article(response.content, url=url, now=datetime.now(TZ), tz=TZ)
        assert result.title == story.title
        assert result.category == story.category
        assert result.category_slug == slugify(story.category)
        appeared = datetime.fromtimestamp(portal.appears_at(k), TZ)
        assert result.published_at == appeared.replace(second=0, microsecond=0)
        assert result.date_inferred is True
        assert result.summary == story.lead
        assert result.body.split("\n\n") == [story.lead, story.caption, *story.paragraphs]
        assert result.author == story.author
        assert result.image == f"{portal.url}/images/{FIRST_ID + k}.svg"
        assert result.canonical_url == url
        for chrome in ("Lượt xem", "Trở về", "Các tin", "Liên kết web", "Lượt truy cập"):
            assert chrome not in result.body


def test_image_and_not_found(portal: DemoPortal, http: requests.Session) -> None:
    image = http.get(f"{portal.url}/images/{FIRST_ID}.svg", timeout=5)
    assert image.status_code == 200
    assert image.headers["Content-Type"].startswith("image/svg+xml")
    assert image.text.startswith("<svg")
    future = portal.article(3)
    assert http.get(portal.url + future.path, timeout=5).status_code == 404
    assert http.get(f"{portal.url}/images/{future.id}.svg", timeout=5).status_code == 404
    assert http.get(f"{portal.url}/tin-tuc/x-{FIRST_ID - 1}.html", timeout=5).status_code == 404
    assert http.get(portal.url + "/khong-co.html", timeout=5).status_code == 404
    assert http.get(portal.url + "/chuyen-muc/khong-co.html", timeout=5).status_code == 404


def test_category_listing(portal: DemoPortal, http: requests.Session) -> None:
    category = STORIES[1].category
    response = http.get(f"{portal.url}/chuyen-muc/{slugify(category)}.html", timeout=5)
    assert response.status_code == 200
    assert listing_links(response.text) == [portal.article(1).path]


def test_listing_is_not_an_article(portal: DemoPortal, http: requests.Session) -> None:
    response = http.get(portal.url + "/", timeout=5)
    with pytest.raises(ExtractionError):
        extract_cms_article(response.content, url=response.url, now=datetime.now(TZ), tz=TZ)


def test_a_new_article_appears_each_interval(http: requests.Session) -> None:
    with DemoPortal(interval_seconds=0.4, initial_articles=1) as demo:
        first = discover_cms_links(http.get(demo.url + "/", timeout=5).text, base_url=demo.url)
        assert len(first) == 1
        deadline = time.monotonic() + 10
        links = first
        while len(links) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            links = discover_cms_links(http.get(demo.url + "/", timeout=5).text, base_url=demo.url)
        assert len(links) >= 2
        assert links[-1] == first[0]  # newest first: the old one moved down
        newest = links[0]
        page = http.get(newest, timeout=5)
        result = extract_cms_article(page.content, url=newest, now=datetime.now(TZ), tz=TZ)
        assert result.title == STORIES[len(links) - 1].title


def test_schedule_with_injected_clock() -> None:
    now = [1_000_000.0]
    demo = DemoPortal(started_at=1_000_000.0, interval_seconds=60, clock=lambda: now[0])
    try:
        assert demo.visible_count() == 3
        assert [demo.appears_at(k) for k in range(4)] == [999_880, 999_940, 1_000_000, 1_000_060]
        assert demo.visible_count(1_000_059.999) == 3
        assert demo.visible_count(1_000_060) == 4
        assert demo.visible_count(999_999) == 2
        assert demo.visible_count(0) == 0
        now[0] = 1_000_000 + 60 * 20
        assert demo.article_by_id(FIRST_ID + 22) is not None
        assert demo.article_by_id(FIRST_ID + 23) is None
    finally:
        demo.stop()


def test_pool_cycles_with_distinct_titles_and_ids() -> None:
    assert len(STORIES) >= 12
    assert {s.category for s in STORIES} >= {
        "Công tác tuyên giáo",
        "Xây dựng Đảng",
        "Kinh tế - Xã hội",
        "Văn hóa",
    }
    demo = DemoPortal(started_at=0, interval_seconds=1, clock=lambda: 100.0)
    try:
        articles = [demo.article(k) for k in range(3 * len(STORIES))]
        assert len({a.title for a in articles}) == len(articles)
        assert len({a.path for a in articles}) == len(articles)
        assert articles[len(STORIES)].title == STORIES[0].title + " (kỳ 2)"
        for story in STORIES:
            assert 3 <= len(story.paragraphs) <= 5
            assert story.author == story.author.upper()
    finally:
        demo.stop()


def test_requests_are_not_logged_to_stderr(
    portal: DemoPortal, http: requests.Session, capfd: pytest.CaptureFixture[str]
) -> None:
    http.get(portal.url + "/", timeout=5)
    http.get(portal.url + "/khong-co", timeout=5)
    assert "GET /" not in capfd.readouterr().err


def test_main_serves_until_interrupted(http: requests.Session) -> None:
    command = [sys.executable, "-m", "loa.demo_portal", "--port", "0", "--interval", "60"]
    with subprocess.Popen(
        command, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", line)
            assert match, line
            response = http.get(match.group(0) + "/", timeout=5)
            assert len(listing_links(response.text)) == 3
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0


def test_resumed_portal_keeps_port_articles_and_dates(
    tmp_path: Path, http: requests.Session
) -> None:
    """A restart of `loa run` must not show the same stories under new URLs or dates."""
    now = [1_000_000.0]
    state = tmp_path / "demo-portal.json"
    first = DemoPortal.resume(state, interval_seconds=60, initial_articles=3, clock=lambda: now[0])
    first.start()
    now[0] += 150  # two more articles appear
    listing = http.get(first.url + "/", timeout=5).text
    before = [(p, first.appears_at(k)) for k, p in enumerate(reversed(listing_links(listing)))]
    assert len(before) == 5
    url = first.url
    first.stop()
    http.close()  # drop the kept-alive connection still served by the old portal's thread

    now[0] += 3 * 3600  # Loa stopped for three hours: nothing is published meanwhile
    second = DemoPortal.resume(state, interval_seconds=60, initial_articles=3, clock=lambda: now[0])
    second.start()
    try:
        assert second.url == url  # same port, so stored links keep working
        listing = http.get(second.url + "/", timeout=5).text
        after = [(p, second.appears_at(k)) for k, p in enumerate(reversed(listing_links(listing)))]
        assert after == before  # same paths, same publication moments
        assert second.appears_at(5) == now[0] + 60  # the story after them comes one interval later
        now[0] += 61
        assert second.visible_count() == 6
    finally:
        second.stop()


def test_resume_takes_another_port_when_the_saved_one_is_busy(tmp_path: Path) -> None:
    state = tmp_path / "demo-portal.json"
    first = DemoPortal.resume(state)
    first.start()  # still holding the port
    try:
        second = DemoPortal.resume(state)
        assert second.url != first.url
        second.stop()
    finally:
        first.stop()


def test_unreadable_state_starts_afresh(tmp_path: Path) -> None:
    state = tmp_path / "demo-portal.json"
    state.write_text("{not json", encoding="utf-8")
    portal = DemoPortal.resume(state, initial_articles=3)
    try:
        assert portal.visible_count() == 3
        assert json.loads(state.read_text(encoding="utf-8"))["url"] == portal.url
    finally:
        portal.stop()


def test_a_client_resetting_the_connection_prints_no_traceback(
    portal: DemoPortal, capfd: pytest.CaptureFixture[str]
) -> None:
    import socket
    import struct

    host, port = portal.url.removeprefix("http://").split(":")
    for _ in range(3):
        client = socket.create_connection((host, int(port)))
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # RST, not FIN
    time.sleep(0.3)
    assert requests.get(portal.url + "/", timeout=5).status_code == 200  # still serving
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "ConnectionResetError" not in captured.err


def test_the_newspaper_republishes_every_other_story_half_an_interval_later(
    http: requests.Session,
) -> None:
    """/bao/ is the demo's second source: lightly edited copies, own ids, read by cms-portal."""
    clock = [1_000_000.0]
    demo = DemoPortal(interval_seconds=60, initial_articles=4, clock=lambda: clock[0])
    demo.start()
    try:
        # articles 0..3 are out at the start (copies of 0 and 2 too: 30 s after theirs);
        # article 4 appears at +60 s and its copy at +90 s
        paths = listing_links(http.get(demo.url + "/bao/", timeout=5).text)
        assert paths == [demo.mirror_article(k).path for k in (2, 0)]
        clock[0] += 60
        assert demo.visible_count() == 5
        assert listing_links(http.get(demo.url + "/bao/", timeout=5).text) == paths
        clock[0] += 30
        paths = listing_links(http.get(demo.url + "/bao/", timeout=5).text)
        assert paths == [demo.mirror_article(k).path for k in (4, 2, 0)]
        assert all(re.fullmatch(r"/bao/tin/[a-z0-9-]+-5000\d\.html", p) for p in paths)
        assert http.get(demo.url + demo.mirror_article(1).path, timeout=5).status_code == 404
        page = http.get(demo.url + paths[1], timeout=5)
        copy = extract_cms_article(
            page.content, url=page.url, now=datetime.fromtimestamp(clock[0], TZ), tz=TZ
        )
        original = demo.article(2)
        assert copy.title == original.title.replace(" đến từng khu dân cư", "")
        assert copy.summary.startswith("(Báo tỉnh) - ")
        assert copy.author == f"{original.story.author} (tổng hợp)"
        assert http.get(demo.url + "/images/50003.svg", timeout=5).status_code == 200
    finally:
        demo.stop()

"""Hostile XML from a feed source is refused at the declaration, before any expansion.

Billion laughs, quadratic blowup, external entities (a local file, a URL) and
parameter entities: each is an ExtractionError from news.syndication.parse_feed
(so the poll fails and the source's health counts it), and the refusal costs
almost nothing: it happens at the first entity declaration, never after an
expansion. A feed with a plain public DOCTYPE (RSS 0.91) is still read.
"""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from news.errors import ExtractionError
from news.syndication import parse_feed
from tests.faults.garbage_site import billion_laughs, xxe_feed

ITEM = "<item><title>{title}</title><link>http://127.0.0.1/a.html</link></item>"


class _Probe(ThreadingHTTPServer):
    daemon_threads = True
    hits = 0


class _ProbeHandler(BaseHTTPRequestHandler):
    server: _Probe

    def do_GET(self) -> None:
        self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"fetched")

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def probe() -> Iterator[_Probe]:
    """A URL an external entity may point at: any request to it is counted."""
    server = _Probe(("127.0.0.1", 0), _ProbeHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _quadratic() -> bytes:
    big = "A" * 50_000
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{big}">]>'
        f"<rss><channel>{ITEM.format(title='&a;' * 5000)}</channel></rss>"
    ).encode()


def _parameter_entities(canary: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % file SYSTEM "file://{canary}">'
        f"%file;]><rss><channel>{ITEM.format(title='x')}</channel></rss>"
    ).encode()


def _documents(canary: Path, probe_url: str) -> dict[str, bytes]:
    return {
        "billion laughs": billion_laughs(),
        "billion laughs in UTF-16": billion_laughs()
        .decode()
        .replace("utf-8", "utf-16")
        .encode("utf-16"),
        "quadratic blowup": _quadratic(),
        "external entities": xxe_feed(canary, probe_url),
        "parameter entity": _parameter_entities(canary),
    }


@pytest.mark.parametrize(
    "name",
    [
        "billion laughs",
        "billion laughs in UTF-16",
        "quadratic blowup",
        "external entities",
        "parameter entity",
    ],
)
def test_hostile_feeds_are_refused_without_expanding_anything(
    name: str, tmp_path: Path, probe: _Probe
) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-never-read", encoding="utf-8")
    document = _documents(canary, f"http://127.0.0.1:{probe.server_address[1]}/x")[name]
    tracemalloc.start()
    try:
        with pytest.raises(ExtractionError, match="declares XML entities") as info:
            parse_feed(document, url="http://127.0.0.1/feed.xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(document) + 1024 * 1024, peak  # nothing was expanded
    assert "CANARY" not in str(info.value)
    assert probe.hits == 0  # no entity was fetched


def test_a_public_doctype_without_entities_is_still_read() -> None:
    rss091 = (
        '<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        ' "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
        f'<rss version="0.91"><channel><title>t</title>{ITEM.format(title="Tin &amp; bài")}'
        "</channel></rss>"
    ).encode()
    (item,) = parse_feed(rss091, url="http://127.0.0.1/feed.xml")
    assert item.title == "Tin & bài"
    sloppy = f"<rss><channel>{ITEM.format(title='Tin&nbsp;mới')}</channel></rss>".encode()
    assert [i.link for i in parse_feed(sloppy, url="http://127.0.0.1/f.xml")] == [
        "http://127.0.0.1/a.html"
    ]

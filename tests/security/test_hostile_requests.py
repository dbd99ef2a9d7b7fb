"""Hostile requests to the feed server: odd numbers, huge heads, floods of names, odd headers.

What only a socket shows (header limits, a real uvicorn with the options
`loa serve` uses) runs against a server on 127.0.0.1; the property test and
the flood use the ASGI app in-process, where hundreds of requests are cheap.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from urllib.parse import quote, urlencode

import hypothesis
import pytest
import requests
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message

from config.loader import load_settings
from config.settings import Settings
from feeds.cache import rebuild_all
from feeds.server import create_app
from feeds.service import QUERY_CACHE_SIZE
from feeds.serving import uvicorn_options
from news.store import get_or_create_source, upsert_article
from tests.conftest import free_port
from tests.helpers import extracted, running_server

MIB = 1024 * 1024


@pytest.fixture
def settings() -> Settings:
    return load_settings(None, environ={"LOA_HTTP_PORT": str(free_port())})


@pytest.fixture
def app(settings: Settings, factory: sessionmaker[Session]) -> ASGIApp:
    """The feed app over a small real database whose feeds are built."""
    with factory.begin() as session:
        source = get_or_create_source(
            session, name="portal", kind="html", url="http://portal.test/"
        )
        for n in range(3):
            upsert_article(session, extracted(n), source=source)
    rebuild_all(factory, settings)
    return create_app(settings, factory)


def serving(app: ASGIApp, settings: Settings) -> AbstractContextManager[str]:
    """uvicorn on a thread with exactly the options `loa serve` passes."""
    return running_server(app, settings.http_port, options=uvicorn_options(settings))


@pytest.fixture
def base(app: ASGIApp, settings: Settings) -> Iterator[str]:
    with serving(app, settings) as url:
        yield url


def exchange(port: int, pieces: Iterable[bytes]) -> int:
    """Send a request in pieces (stopping when the server hangs up); the answer's status."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            for piece in pieces:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-request: the answer is already on its way
        try:
            while b"\r\n" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
        except ConnectionResetError:
            pass
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def head(target: bytes = b"/feeds/all.rss", *extra: bytes) -> list[bytes]:
    """A request head for `target` with `extra` header lines, closing after the answer."""
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close", *extra]
    return [b"\r\n".join(lines) + b"\r\n\r\n"]


# --------------------------------------------------------------------------- item 8


@pytest.mark.parametrize(
    "limit",
    ["²", "５", "١٢", "৫", "9" * 5000, "1" + "0" * 20, "+5", "0x10", "1_000", "5\u200b", ""],
)
def test_odd_limits_are_a_400_never_a_500(base: str, limit: str) -> None:
    """Only ASCII digits, and not too many of them: Unicode digits pass isdigit() and int()."""
    response = requests.get(f"{base}/feeds/all.rss", params={"limit": limit}, timeout=10)
    assert response.status_code == 400, response.text
    assert "limit" in response.text


def test_a_long_but_plain_limit_is_capped_not_refused(base: str) -> None:
    response = requests.get(f"{base}/feeds/all.json", params={"limit": "999999999"}, timeout=10)
    assert response.status_code == 200 and len(response.json()["items"]) == 3


async def call(
    app: ASGIApp,
    method: str,
    path: str,
    query: bytes = b"",
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request through the ASGI app in-process, as uvicorn would hand it over."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": method, "scheme": "http", "root_path": "",
        "path": path, "raw_path": quote(path).encode(), "query_string": query,
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


PATHS = st.one_of(
    st.sampled_from(
        [
            "/",
            "/healthz",
            "/feeds/opml",
            "/feeds/all.rss",
            "/feeds/all.json",
            "/feeds/source/portal.atom",
            "/feeds/cong-tac-tuyen-giao.rss",
            "/feeds/",
            "/feeds/.rss",
            "/feeds/source/.rss",
            "/feeds/source/a/b.rss",
            "/feeds/\x00.rss",
            "/feeds/source/\x00.json",
            "/feeds/../../etc/passwd.rss",
            "/feeds/all.rss/",
            "/feeds/all",
            "/feeds/\ufffd.atom",
            "/feeds/" + "a" * 5000 + ".rss",
        ]
    ),  # fmt: skip
    st.lists(st.text(max_size=12), max_size=4).map(lambda parts: "/" + "/".join(parts)),
    st.builds(
        lambda scope, name, fmt: f"/feeds/{scope}{name}{fmt}",
        st.sampled_from(["", "source/"]),
        st.text(max_size=30),
        st.sampled_from([".rss", ".atom", ".json", ".xml", "", "."]),
    ),
)
ODD_VALUES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),
    st.sampled_from(["", "0", "-1", "9" * 5000, "x" * 101, "\x00", "%", "gia lua"]),
)
QUERIES = st.one_of(
    st.lists(
        st.tuples(st.sampled_from(["limit", "q", "exclude", "lang", "other"]), ODD_VALUES),
        max_size=4,
    ).map(lambda pairs: urlencode(pairs).encode()),
    st.binary(max_size=60),
)
HEADER_VALUES = st.one_of(
    st.binary(max_size=60),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(
        str.encode
    ),
    st.sampled_from(
        [
            b"*",
            b'W/"x", *',
            b'"',
            b'W/"',
            b"gzip;q=",
            b"gzip;q=2",
            b"gzip;q=0.0001",
            b";;,,",
            b"Tue, 15 Nov 1994 08:12:31 GMT",
            b"Tue, 15 Nov 99999999999 08:12:31 GMT",
            b"Sun Nov  6 08:49:37 1994",
            b"Sunday, 06-Nov-94 08:49:37 GMT",
            b"9" * 400,
        ]
    ),  # fmt: skip
)
HEADERS = st.lists(
    st.tuples(
        st.sampled_from([b"accept-encoding", b"if-none-match", b"if-modified-since", b"accept"]),
        HEADER_VALUES,
    ),
    max_size=4,
)


@hypothesis.settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS"]),
    path=PATHS,
    query=QUERIES,
    headers=HEADERS,
)
def test_no_request_gets_a_500(
    app: ASGIApp, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """Any path, query and validator headers: an answer below 500 and no exception."""
    status, _, body = asyncio.run(call(app, method, path, query, headers))
    assert status < 500, (status, body[:200])


# --------------------------------------------------------------------------- item 9


def test_a_huge_header_is_a_431_and_health_stays_fast(app: ASGIApp, settings: Settings) -> None:
    """A 2 MiB header field: refused early with 431 while /healthz keeps answering."""
    statuses: list[int] = []

    def attack() -> None:
        start = b"GET /feeds/all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Big: "
        filler = (b"a" * 65536 for _ in range(2 * MIB // 65536))
        statuses.append(exchange(settings.http_port, [start, *filler, b"\r\n\r\n"]))

    with serving(app, settings) as base:
        attacker = threading.Thread(target=attack)
        attacker.start()
        slowest = 0.0
        while attacker.is_alive():
            started = time.monotonic()
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        attacker.join()
    assert statuses == [431]
    assert slowest < 1.0


def test_too_many_headers_a_long_target_and_fair_heads(base: str, settings: Settings) -> None:
    port = settings.http_port
    many = [b"X-H%d: v" % i for i in range(300)]
    assert exchange(port, head(b"/feeds/all.rss", *many)) == 431
    assert exchange(port, head(b"/feeds/" + b"a" * MIB + b".rss")) == 414
    assert exchange(port, head(b"/feeds/all.rss?q=" + b"a" * 20_000)) == 414
    # Ordinary heads, even generous ones, are answered normally.
    cookie = b"Cookie: " + b"c" * 7000
    assert exchange(port, head(b"/feeds/all.rss", cookie, *many[:60])) == 200
    assert exchange(port, head(b"/feeds/" + b"a" * 4000 + b".rss")) == 404
    # Pipelined requests (300 KiB in one send) are counted request by request.
    keep = b"GET /feeds/all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"p" * 1000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(keep * 300 + head()[0])
        answers = b""
        while chunk := sock.recv(1 << 20):
            answers += chunk
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 301


# --------------------------------------------------------------------------- item 10


def state_sizes(root: object) -> dict[str, int]:
    """The length of every container reachable from `root` through objects of `feeds`."""
    sizes: dict[str, int] = {}
    seen: set[int] = set()

    def visit(obj: object, where: str) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, dict | list | set | frozenset | tuple | deque):
            sizes[where] = len(obj)
        elif type(obj).__module__.startswith("feeds."):
            names = list(getattr(obj, "__dict__", {})) + list(getattr(obj, "__slots__", ()))
            for name in names:
                visit(getattr(obj, name), f"{where}.{name}")

    visit(root, "app")
    return sizes


def test_floods_of_unknown_names_and_distinct_queries_leave_state_bounded(app: ASGIApp) -> None:
    """Unknown feed names allocate nothing; per-query state stays within its LRU."""

    async def flood(paths: Iterable[tuple[str, bytes]]) -> set[int]:
        return {(await call(app, "GET", path, query))[0] for path, query in paths}

    known = [("/feeds/all.rss", b""), ("/feeds/source/portal.json", b"")]
    assert asyncio.run(flood(known)) == {200}
    before = state_sizes(app)
    assert before, "the walk found no state at all"
    names = [(f"khong-co-{n}", scope, fmt) for n in range(1000)
             for scope, fmt in (("", "rss"), ("source/", "atom"))]  # fmt: skip
    unknown = [(f"/feeds/{scope}{name}.{fmt}", b"") for name, scope, fmt in names]
    assert asyncio.run(flood(unknown)) == {404}
    assert state_sizes(app) == before

    queries = [("/feeds/all.rss", f"q=tu-{n}".encode()) for n in range(2 * QUERY_CACHE_SIZE)]
    queries += [("/feeds/khong-co.rss", f"q=tu-{n}".encode()) for n in range(300)]
    assert asyncio.run(flood(queries)) == {200, 404}
    after = state_sizes(app)
    assert max(after.values()) <= QUERY_CACHE_SIZE, after
    grown = {where for where, size in after.items() if size != before.get(where)}
    assert grown == {"app.service._renders"}, grown


# --------------------------------------------------------------------------- item 11

# Before the one implementation, a query string sent a request to a second path.
FORMS = ["", "?limit=50"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True), ("GZIP", True), ("x-gzip", True), ("Gzip;Q=1", True),
        ("deflate, gzip;q=0.5", True), ("*", True), ("br;q=1, *;q=0.1", True),
        ("gzip;q=0", False), ("gzip ; q=0.000", False), ("*;q=0", False),
        ("gzip;q=0, *", False), ("deflate, br", False), ("identity", False), ("", False),
        ("nogzip", False), ("gzipx", False), ("x-gzip;q=0, gzip", True),
    ],
)  # fmt: skip
def test_accept_encoding_is_read_per_rfc_9110(
    base: str, form: str, accept: str, gzipped: bool
) -> None:
    url = f"{base}/feeds/all.rss{form}"
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=10)
    raw = requests.get(url, headers={"Accept-Encoding": accept}, timeout=10, stream=True).raw
    body = raw.read()
    assert raw.status == 200 and raw.headers["vary"] == "Accept-Encoding"
    if gzipped:
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
        assert gzip.decompress(body) == plain.content
    else:
        assert "content-encoding" not in raw.headers
        assert raw.headers["etag"] == plain.headers["etag"] and body == plain.content


@pytest.mark.parametrize("form", FORMS)
def test_if_none_match_is_a_list_of_entity_tags(base: str, form: str) -> None:
    url = f"{base}/feeds/all.rss{form}"
    first = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=10)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    gz_etag = etag[:-1] + '-gz"'
    expected = {
        etag: 304, f"W/{etag}": 304, f'"a", {etag}': 304, f'"a",,{etag} ,W/"b" ': 304,
        "*": 304, "* ": 304, gz_etag: 304, f"W/{gz_etag}": 304,
        f"junk{etag}junk": 200, f"{etag}junk": 200, f"junk{etag}": 200, etag[:-1]: 200,
        f"*, {etag}": 200, f"{etag}, junk": 200, '"other"': 200, etag.upper(): 200,
        f"w/{etag}": 200, "": 200,
    }  # fmt: skip
    for value, status in expected.items():
        headers = {"If-None-Match": value, "Accept-Encoding": "identity"}
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == status, value
        assert response.headers["etag"] == etag
        if status == 304:
            assert response.content == b""
    # If-Modified-Since counts only when If-None-Match is absent.
    assert requests.get(url, headers={"If-Modified-Since": modified}, timeout=10).status_code == 304
    for value in ('"other"', f"junk{etag}junk", ""):
        headers = {"If-Modified-Since": modified, "If-None-Match": value}
        assert requests.get(url, headers=headers, timeout=10).status_code == 200, value
    for odd in ("yesterday", "Tue, 15 Nov 99999999999 08:12:31 GMT", "9" * 5000):
        assert requests.get(url, headers={"If-Modified-Since": odd}, timeout=10).status_code == 200

"""A real HTTP server for the site corpus and for the ways real sites fail.

Tests of fetching, polling and extraction talk to this server over a socket
(style rule 2: no monkeypatching of our own functions), so they exercise the
real HTTP client: headers, charsets, conditional requests, redirects, timeouts.

URL mapping. Corpus pages live at made-up hosts (``http://portal.test/x``). The
server serves every site under a path prefix named after the host::

    http://portal.test/tin-tuc/a-1.html  ->  http://127.0.0.1:PORT/portal.test/tin-tuc/a-1.html
    http://www.portal.test/tin-tuc/a-1.html -> http://127.0.0.1:PORT/www.portal.test/tin-tuc/a-1.html

``www.``/``m.`` prefixes and tracking parameters select the same page, as on a
real site. With ``rewrite_links=True`` (the default) corpus bodies are served
with their links rewritten into that space: absolute links to a corpus host and
root-relative ``href``/``src``/``action``/``content`` values get the prefix, so a
crawler can follow links. :meth:`SiteServer.corpus_url` maps a served URL back,
so results can be compared with the ground truth in ``corpus/index.json``.

Faults (not under a site prefix), each documented in ``FAULTS``; ``/robots.txt``
and ``/<host>/robots.txt`` serve :meth:`SiteServer.set_robots` text (allow all
by default), unless the corpus has a page at ``http://<host>/robots.txt`` (a
site's own ``Sitemap:`` lines). The server is quiet: no request logging on stderr.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.sites.faults import FaultHandlers

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
CORPUS_LAST_MODIFIED = "Mon, 13 Mar 2023 10:00:00 GMT"
DEFAULT_ROBOTS = "User-agent: *\nDisallow:\n"
_TRACKING = re.compile(r"^(utm_\w*|fbclid|gclid|zarsrc|_ga)$", re.I)
_CONTENT_TYPES = {
    "robots": "text/plain",
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "sitemap": "application/xml",
}
_TOP_FILE = re.compile(r"\.(txt|ico|xml|html?)$", re.I)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _Resource:
    body: bytes
    content_type: str
    last_modified: str
    rewrite: bool = False


def _strip_host(host: str) -> str:
    host = host.lower()
    for prefix in ("www.", "m."):
        host = host.removeprefix(prefix)
    return host


def resource_key(path: str) -> str:
    """``/www.portal.test/x?utm_source=y`` -> ``/portal.test/x``: one key per page."""
    parts = urlsplit(path)
    segments = parts.path.split("/", 2)
    if len(segments) < 2 or "." not in segments[1] or _TOP_FILE.search(segments[1]):
        return parts.path  # /fault/..., /robots.txt, /favicon.ico
    host = _strip_host(segments[1])
    rest = "/" + (segments[2] if len(segments) > 2 else "")
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        ]
    )
    return f"/{host}{rest}" + (f"?{query}" if query else "")


def load_index(corpus_dir: Path = CORPUS_DIR) -> list[dict[str, Any]]:
    """The corpus ground truth (``index.json``)."""
    entries: list[dict[str, Any]] = json.loads((corpus_dir / "index.json").read_text("utf-8"))
    return entries


class SiteServer:
    """Serves the corpus and the fault paths on 127.0.0.1 from a background thread."""

    def __init__(
        self,
        corpus_dir: Path = CORPUS_DIR,
        *,
        rewrite_links: bool = True,
        timeout_sleep: float = 5.0,
        drip_interval: float = 0.2,
        drip_chunks: int = 20,
        huge_bytes: int = 20 * 1024 * 1024,
        fail_times: int = 2,
    ) -> None:
        self.rewrite_links = rewrite_links
        self.timeout_sleep = timeout_sleep
        self.drip_interval = drip_interval
        self.drip_chunks = drip_chunks
        self.huge_bytes = huge_bytes
        self.fail_times = fail_times
        self.stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._hits: dict[str, int] = {}
        self._status: dict[str, int] = {}
        self._redirects: dict[str, str] = {}
        self._pages: dict[str, _Resource] = {}
        self.robots_txt = DEFAULT_ROBOTS
        self._thread: threading.Thread | None = None
        self._load(corpus_dir)
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        hosts = sorted({urlsplit(u).hostname or "" for u in self._sites}, key=len, reverse=True)
        alternatives = b"|".join(re.escape(h.encode()) for h in hosts)
        self._absolute = re.compile(rb"(?:https?:)?//((?:www\.|m\.)?(?:" + alternatives + rb"))\b")
        self._rooted = re.compile(rb"""(\b(?:href|src|action|content)\s*=\s*["']?)/(?!/)""", re.I)

    def _load(self, corpus_dir: Path) -> None:
        self._sites: set[str] = set()
        # the fault paths serve a portal article; a corpus without one serves them empty
        cms = next((e for e in load_index(corpus_dir) if e["profile"] == "cms-portal"), None)
        self.fault_article_url: str = cms["url"] if cms else ""
        for entry in load_index(corpus_dir):
            charset = entry.get("served_charset") or entry["charset"]
            mime = _CONTENT_TYPES.get(entry["kind"], "text/html")
            page = _Resource(
                (corpus_dir / entry["path"]).read_bytes(),
                f"{mime}; charset={charset}",
                CORPUS_LAST_MODIFIED,
                rewrite=True,
            )
            for url in [entry["url"], *entry.get("aliases", [])]:
                self._sites.add(f"http://{_strip_host(urlsplit(url).hostname or '')}")
                self._pages[resource_key(self._served_path(url))] = page
        fault_key = resource_key(self._served_path(self.fault_article_url))
        self.fault_article_body = self._pages[fault_key].body if cms else b""

    # ------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SiteServer:
        """Serve from a daemon thread; returns self for chaining."""
        if self._thread is None:
            self.stopping.clear()
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="site-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake sleeping fault handlers, drop open connections, free the port."""
        self.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def move_to_new_port(self) -> str:
        """Serve the same site from another port and close the old one; returns the new base.

        Stands in for a source whose host or port changed: pages, statuses and
        hits are kept (their keys hold no port), corpus links are rewritten to
        the new address, and the old address refuses connections. The new
        socket is bound before the old one is closed, so the port always differs.
        """
        fresh = _Server(("127.0.0.1", 0), _Handler, self)
        running = self._thread is not None
        self.stop()
        self._server = fresh
        if running:
            self.start()
        return self.base_url

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ URL mapping

    @staticmethod
    def _served_path(url: str) -> str:
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        return f"/{(parts.hostname or '').lower()}{parts.path or '/'}{query}"

    def url_for(self, corpus_url: str) -> str:
        """``http://portal.test/x`` -> ``http://127.0.0.1:PORT/portal.test/x``."""
        return self.base_url + self._served_path(corpus_url)

    def corpus_url(self, served_url: str) -> str:
        """Inverse of :meth:`url_for`; other URLs come back unchanged."""
        if not served_url.startswith(self.base_url + "/"):
            return served_url
        host, _, rest = served_url[len(self.base_url) + 1 :].partition("/")
        return f"http://{host}/{rest}"

    def _key(self, path: str) -> str:
        if path.startswith(self.base_url):
            path = path[len(self.base_url) :]
        elif path.startswith(("http://", "https://")):
            path = self._served_path(path)
        return resource_key(path)

    # ------------------------------------------------------------ control API

    def set_page(
        self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8"
    ) -> None:
        """Serve ``body`` at ``path`` (corpus URL or served path) from now on, links as given."""
        stamp = formatdate(time.time(), usegmt=True)
        with self._lock:
            self._pages[self._key(path)] = _Resource(body, content_type, stamp)

    def set_status(self, path: str, status: int | None) -> None:
        """Answer ``status`` (404, 410, ...) for ``path``; ``None`` restores the page."""
        with self._lock:
            if status is None:
                self._status.pop(self._key(path), None)
            else:
                self._status[self._key(path)] = status

    def set_redirect(self, path: str, location: str | None) -> None:
        """Answer ``301`` to ``location`` for ``path``; ``None`` restores the page."""
        with self._lock:
            if location is None:
                self._redirects.pop(self._key(path), None)
            else:
                self._redirects[self._key(path)] = location

    def redirect_for(self, key: str) -> str | None:
        """Where a resource key is redirected to, if anywhere."""
        with self._lock:
            return self._redirects.get(key)

    def set_robots(self, text: str) -> None:
        """robots.txt served at ``/robots.txt`` and ``/<host>/robots.txt``."""
        self.robots_txt = text

    def hits(self, path: str) -> int:
        """Requests so far for a page, all URL variants together (www, tracking params)."""
        with self._lock:
            return self._hits.get(self._key(path), 0)

    def user_agents(self) -> list[str]:
        """User-Agent of every request so far, in order."""
        with self._lock:
            return [r.headers.get("User-Agent", "") for r in self.requests]

    # ------------------------------------------------------------ serving

    def record(self, method: str, path: str, headers: dict[str, str]) -> str:
        key = resource_key(path)
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers))
            self._hits[key] = self._hits.get(key, 0) + 1
        return key

    def lookup(self, key: str) -> tuple[int | None, _Resource | None, int]:
        """(status override, page, hits) for a resource key."""
        with self._lock:
            return self._status.get(key), self._pages.get(key), self._hits.get(key, 0)

    def rewrite(self, body: bytes, request_path: str) -> bytes:
        """Point corpus links at this server (see the module docstring)."""
        if not self.rewrite_links:
            return body
        site = request_path.split("/", 2)[1].encode()
        body = self._rooted.sub(lambda m: m.group(1) + b"/" + site + b"/", body)
        base = self.base_url.encode()
        return self._absolute.sub(lambda m: base + b"/" + m.group(1).lower(), body)


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its SiteServer and can cut open connections."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], site: SiteServer
    ) -> None:
        self.site = site
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client hanging up mid-stream is expected; keep the error for debugging."""
        exc = sys.exc_info()[1]
        if exc is not None:
            self.site.errors.append(exc)


class _Handler(FaultHandlers, BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end on their own

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``SiteServer.requests`` instead of an access log."""

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _serve(self, *, head: bool) -> None:
        site = self.server.site
        key = site.record(self.command, self.path, dict(self.headers.items()))
        status, page, hits = site.lookup(key)
        if key.endswith("/robots.txt") and status is None and page is None:
            return self._send(200, site.robots_txt.encode(), "text/plain; charset=utf-8", head=head)
        if status is not None:
            body = f"<html><body><h1>{status}</h1></body></html>".encode()
            return self._send(status, body, head=head)
        if (location := site.redirect_for(key)) is not None:
            return self._send(301, b"", headers={"Location": location}, head=head)
        if page is not None:
            return self._page(page, head=head)
        fault = getattr(self, "_fault_" + key.removeprefix("/fault/").replace("-", "_"), None)
        if key.startswith("/fault/") and fault is not None:
            fault(hits, head)
            return
        self._send(404, "<html><body>Không tìm thấy trang</body></html>".encode(), head=head)

    def _page(self, page: _Resource, *, head: bool) -> None:
        site = self.server.site
        body = site.rewrite(page.body, urlsplit(self.path).path) if page.rewrite else page.body
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        validators = {"ETag": etag, "Last-Modified": page.last_modified}
        if self._not_modified(etag, page.last_modified):
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self._send(200, body, page.content_type, validators, head=head)

    def _not_modified(self, etag: str, last_modified: str) -> bool:
        """RFC 9110: If-None-Match wins; If-Modified-Since only without it."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or etag in tags
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False

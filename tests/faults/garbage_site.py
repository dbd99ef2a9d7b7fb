"""A news site that serves garbage, on 127.0.0.1, for scenario 6.

Each kind is a path (``/garbage/<kind>``); ``/rotate/<name>`` serves the
kinds of a named rotation in turn, one per request, so one source meets every
kind of garbage on successive polls. Every request is counted per path, and
``/xxe-probe`` exists only to be counted: an XML parser that resolved the
external entity pointing at it would show up there.

The kinds (sizes are the full scenario's; ``scale`` shrinks the big ones):

* ``binary``: random bytes served as ``text/html``
* ``huge``: 50 MB of HTML, chunked, no Content-Length
* ``gzip-bomb``: ``Content-Encoding: gzip`` whose body inflates to 1 GB of zeros
  (concatenated gzip members of 10 MB each: about 1 MB on the wire)
* ``drip``: an endless page, one byte a second
* ``redirect-loop``: 302 to the other half of a loop, forever
* ``bogus-charset``: a listing declared as ``charset=x-loa-bogus`` (header and meta)
* ``nested``: 10,000 nested ``<div>`` with a link at the bottom
* ``billion-laughs``: an RSS feed whose DTD expands one entity to 10^9 "lol"
* ``xxe``: an RSS feed whose entities name a local file (the canary) and a URL
"""

from __future__ import annotations

import gzip
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HTML_KINDS = ["binary", "huge", "gzip-bomb", "redirect-loop", "bogus-charset", "nested", "drip"]
XML_KINDS = ["billion-laughs", "xxe"]
MB = 1024 * 1024


def billion_laughs() -> bytes:
    """The classic: lol9 expands to 10^9 copies of "lol" (3 GB) if a parser lets it."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    dtd = "\n".join(entities)
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss [\n{dtd}\n]>\n'
        '<rss version="2.0"><channel><title>&lol9;</title><link>http://127.0.0.1/</link>'
        "<item><title>&lol9;</title><link>http://127.0.0.1/lol.html</link>"
        "<description>&lol9;</description></item></channel></rss>"
    ).encode()


def xxe_feed(canary: Path, probe_url: str) -> bytes:
    """External entities: the canary file (outside the data directory) and a URL."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{canary}">'
        f'<!ENTITY net SYSTEM "{probe_url}">]>\n'
        '<rss version="2.0"><channel><title>Tin &xxe;</title><link>http://127.0.0.1/</link>'
        "<item><title>Tin mật &xxe; &net;</title><link>http://127.0.0.1/xxe.html</link>"
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()


class GarbageSite(ThreadingHTTPServer):
    """The server; see the module docstring. ``stop()`` wakes any drip."""

    daemon_threads = True

    def __init__(self, canary: Path, *, scale: float = 1.0, drip_interval: float = 1.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        self.canary = canary
        self.huge_bytes = int(50 * MB * scale)
        self.bomb_members = max(1, int(100 * scale))  # x 10 MB of zeros each
        self.drip_interval = drip_interval
        self.hits: Counter[str] = Counter()
        self.rotations: dict[str, list[str]] = {}
        self.served: list[tuple[str, str]] = []  # (rotation, kind) in order
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._bomb_member = gzip.compress(b"\0" * (10 * MB), compresslevel=9)
        self._binary = random.Random(6).randbytes(256 * 1024)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def start(self) -> GarbageSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()

    def rotation(self, name: str, kinds: list[str]) -> str:
        """A URL serving `kinds` in turn (then starting over); returns it."""
        self.rotations[name] = list(kinds)
        return f"{self.base_url}/rotate/{name}"

    def next_kind(self, name: str) -> str:
        with self._lock:
            kinds = self.rotations[name]
            turn = sum(1 for rotation, _ in self.served if rotation == name)
            kind = kinds[turn % len(kinds)]
            self.served.append((name, kind))
            return kind


class _Handler(BaseHTTPRequestHandler):
    server: GarbageSite
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server._lock:
            self.server.hits[path] += 1
        if path.startswith("/rotate/"):
            kind = self.server.next_kind(path.removeprefix("/rotate/"))
        elif path.startswith("/garbage/"):
            kind = path.removeprefix("/garbage/")
        else:
            self._send(404, b"not here", "text/plain")
            return
        try:
            getattr(self, "_" + kind.replace("-", "_"))()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: that is the point

    def _send(self, status: int, body: bytes, kind: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _binary(self) -> None:
        self._send(200, self.server._binary, "text/html; charset=utf-8")

    def _huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._chunk(b"<html><body>")
        block = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>"
        for _ in range(self.server.huge_bytes // len(block)):
            if self.server.stopping.is_set():
                return
            self._chunk(block)
        self._chunk(b"</body></html>")
        self.wfile.write(b"0\r\n\r\n")

    def _gzip_bomb(self) -> None:
        member = self.server._bomb_member
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(member) * self.server.bomb_members))
        self.end_headers()
        for _ in range(self.server.bomb_members):
            if self.server.stopping.is_set():
                return
            self.wfile.write(member)

    def _drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._chunk(b"<")
        while not self.server.stopping.wait(self.server.drip_interval):
            self._chunk(b"p")
            self.wfile.flush()

    def _redirect_loop(self) -> None:
        target = "/garbage/redirect-loop?b" if "?b" not in self.path else "/garbage/redirect-loop"
        self._send(302, b"", "text/html", Location=target)

    def _bogus_charset(self) -> None:
        body = (
            '<html><head><meta charset="x-loa-bogus"><title>Tin</title></head><body>'
            + "".join(
                f'<a href="/tin-tuc/bai-viet-{n}.html">Bai viet {n} \xe9\xff\xfe</a>'
                for n in range(3)
            )
            + "</body></html>"
        ).encode("latin-1")
        self._send(200, body, "text/html; charset=x-loa-bogus")

    def _nested(self) -> None:
        depth = 10_000
        body = (
            "<html><body>"
            + "<div>" * depth
            + '<a href="/tin-tuc/sau-tan-cung.html">Sâu tận cùng</a>'
            + "</div>" * depth
            + "</body></html>"
        ).encode()
        self._send(200, body, "text/html; charset=utf-8")

    def _billion_laughs(self) -> None:
        self._send(200, billion_laughs(), "application/rss+xml")

    def _xxe(self) -> None:
        probe = f"{self.server.base_url}/xxe-probe"
        self._send(200, xxe_feed(self.server.canary, probe), "application/rss+xml")

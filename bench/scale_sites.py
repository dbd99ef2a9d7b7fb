"""Many simulated news portals on loopback, for the polling scale benchmark.

Why a server of its own: `bench/scale_poll.py` needs 1,000 sources, each on a
host of its own (per-host politeness must not serialise them, as it would not
for 1,000 real sites), with a known share changing every minute, served
cheaply enough that the server does not eat the CPU being measured.
tests/sites/server.py serves one host and keeps every request in memory.

Source ``i`` lives at ``http://127.1.<i // 250>.<i % 250 + 1>:PORT/`` (all of
127.0.0.0/8 is loopback on Linux; one listening socket per address, all
asyncio in one thread). Its pages use the layout of the provincial portal CMS
that the ``cms-portal`` profile reads (as loa.demo_portal does): a home
listing with the newest ``LISTING_SIZE`` articles, article pages under
``/tin-tuc/<slug>-<id>.html``, ``/robots.txt`` allowing everything.

Changes: each source gains one article every ``--change-every`` seconds
(600 by default), source ``i`` at phase ``i * change_every / sources``, so
with 1,000 sources 10 % of them change per minute, spread evenly. The
listing carries an ETag and Last-Modified and answers a matching conditional
request with 304 (unless ``--no-304``: then every poll reads a full page,
as with CMSs that print a clock or counters).

Every listing request is logged as ``<source index> <epoch seconds>`` to
``--log`` (flushed each second), so the benchmark can measure when each poll
started. Run::

    python bench/scale_sites.py --port 18800 --sources 1000 --log /tmp/hits.log
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import signal
import sys
import time
from datetime import datetime
from email.utils import formatdate
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loa.demo_stories import STORIES  # noqa: E402
from news.text import slugify  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LISTING_SIZE = 20
HOSTS_PER_BLOCK = 250
_ARTICLE = re.compile(r"^/tin-tuc/[a-z0-9-]*-(\d+)\.html$")
_esc = html.escape


def host_of(index: int) -> str:
    """The loopback address of source `index` (127.1.0.1, 127.1.0.2, ...)."""
    return f"127.1.{index // HOSTS_PER_BLOCK}.{index % HOSTS_PER_BLOCK + 1}"


class Portals:
    """What every simulated portal shows at a given moment (a pure function of time)."""

    def __init__(self, sources: int, *, started_at: float, change_every: float, initial: int):
        self.sources = sources
        self.started_at = started_at
        self.change_every = change_every
        self.initial = initial

    def count(self, index: int, now: float) -> int:
        """How many articles source `index` has published by `now`."""
        phase = index * self.change_every / self.sources
        elapsed = now - self.started_at - phase
        return self.initial + (int(elapsed // self.change_every) + 1 if elapsed >= 0 else 0)

    def appears_at(self, index: int, k: int) -> float:
        """When article `k` of source `index` was published (initial ones: before start)."""
        phase = index * self.change_every / self.sources
        return self.started_at + phase + (k - self.initial) * self.change_every

    @staticmethod
    def article_id(index: int, k: int) -> int:
        return 1_000_000 + index * 10_000 + k

    def title(self, index: int, k: int) -> str:
        story = STORIES[(index + k) % len(STORIES)]
        return f"{story.title} (nguồn {index}, số {k})"

    def path(self, index: int, k: int) -> str:
        return f"/tin-tuc/{slugify(self.title(index, k))}-{self.article_id(index, k)}.html"

    def stamp(self, index: int, k: int) -> str:
        published = datetime.fromtimestamp(self.appears_at(index, k), TZ)
        return published.strftime("%H:%M | %d/%m")

    def listing(self, index: int, count: int) -> bytes:
        items = []
        for k in range(count - 1, max(count - 1 - LISTING_SIZE, -1), -1):
            story = STORIES[(index + k) % len(STORIES)]
            path, title = self.path(index, k), _esc(self.title(index, k))
            items.append(
                f'<div class="news-item"><h3><a href="{path}">{title}</a></h3>'
                f'<div class="news-item-time">({self.stamp(index, k)})</div>'
                f"<p>{_esc(story.lead)}</p></div>"
            )
        main = '<div class="box-title">Tin mới nhất</div>' + "\n".join(items)
        return self._page(index, "Trang chủ", main, "")

    def article(self, index: int, k: int) -> bytes:
        story = STORIES[(index + k) % len(STORIES)]
        paragraphs = "\n".join(f"<p>{_esc(p)}</p>" for p in story.paragraphs)
        main = f"""<div class="box-title">Chi tiết tin tức</div>
<div class="news-detail">
<div class="news-cat"><a href="/">{_esc(story.category)}</a></div>
<h2 class="news-title">{_esc(self.title(index, k))}</h2>
<div class="news-info"><span>Ngày đăng: {self.stamp(index, k)}</span></div>
<div class="news-content">
<p class="sapo"><strong>{_esc(story.lead)}</strong></p>
{paragraphs}
<p class="author" style="text-align:right"><strong>{_esc(story.author)}</strong></p>
</div></div>"""
        canonical = f'\n<link rel="canonical" href="http://{host_of(index)}{self.path(index, k)}">'
        return self._page(index, self.title(index, k), main, canonical)

    @staticmethod
    def _page(index: int, title: str, main: str, canonical: str) -> bytes:
        return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{_esc(title)} - Cổng thông tin số {index}</title>{canonical}
</head><body>
<div class="header"><ul class="menu"><li><a href="/">Trang chủ</a></li></ul></div>
<div class="main">{main}</div>
<div class="sidebar"><div class="box-title">Liên kết web</div></div>
</body></html>
""".encode()


class Server:
    """The asyncio HTTP/1.1 server behind every simulated portal."""

    def __init__(self, portals: Portals, *, conditional: bool, log: TextIO):
        self.portals = portals
        self.conditional = conditional
        self.log = log
        self.index_of = {host_of(i): i for i in range(portals.sources)}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.index_of.get(writer.get_extra_info("sockname")[0], -1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                fields = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip()
                status, headers, body = self.respond(index, target.split("?")[0], fields)
                writer.write(self._response(status, headers, b"" if method == "HEAD" else body))
                await writer.drain()
                if fields.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def respond(
        self, index: int, path: str, fields: dict[str, str]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        now = time.time()
        text = "text/html; charset=utf-8"
        if index < 0:
            return "404 Not Found", [("Content-Type", "text/plain")], b"unknown host\n"
        if path == "/robots.txt":
            return "200 OK", [("Content-Type", "text/plain")], b"User-agent: *\nDisallow:\n"
        if path in ("/", "/index.html"):
            self.log.write(f"{index} {now:.3f}\n")
            count = self.portals.count(index, now)
            etag = f'"{index}-{count}"'
            modified = formatdate(self.portals.appears_at(index, count - 1), usegmt=True)
            validators = [("ETag", etag), ("Last-Modified", modified)]
            if self.conditional and fields.get("if-none-match") == etag:
                return "304 Not Modified", validators, b""
            if not self.conditional:
                validators = []
            return (
                "200 OK",
                [("Content-Type", text), *validators],
                self.portals.listing(index, count),
            )
        match = _ARTICLE.match(path)
        if match is not None:
            k = int(match.group(1)) - Portals.article_id(index, 0)
            if 0 <= k < self.portals.count(index, now):
                return "200 OK", [("Content-Type", text)], self.portals.article(index, k)
        return "404 Not Found", [("Content-Type", "text/plain")], b"not found\n"

    @staticmethod
    def _response(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def serve(args: argparse.Namespace) -> None:
    portals = Portals(
        args.sources, started_at=time.time(), change_every=args.change_every, initial=args.initial
    )
    with open(args.log, "w", buffering=1 << 16) as log:
        server = Server(portals, conditional=not args.no_304, log=log)
        hosts = [host_of(i) for i in range(args.sources)]
        listener = await asyncio.start_server(server.handle, host=hosts, port=args.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"serving {args.sources} portals on port {args.port}", flush=True)
        async with listener:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                except TimeoutError:
                    pass
                log.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--change-every", type=float, default=600.0, help="seconds per source")
    parser.add_argument("--initial", type=int, default=1, help="articles at start")
    parser.add_argument("--no-304", action="store_true", help="no validators: always 200")
    parser.add_argument("--log", type=Path, required=True, help="listing requests go here")
    args = parser.parse_args(argv)
    if not 1 <= args.sources <= 250 * HOSTS_PER_BLOCK:
        parser.error("--sources must be between 1 and 62,500")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

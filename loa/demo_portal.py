"""A bundled demo news portal, so a newcomer sees articles flow without a real site.

It serves pages in the same layout as the provincial portal CMS that the
``cms-portal`` extractor reads (header clock, "Chi tiết tin tức", a year-less
"Ngày đăng" line, captions printed twice, an all-caps author line, counters),
so the whole path fetch → discover → extract → publish runs against it. A few
articles are visible at start and one more appears every ``interval_seconds``.

Under ``/bao/`` the same server plays a second site, the province's newspaper
(:data:`MIRROR_PREFIX`), which republishes every other story of the portal
half an interval later, lightly edited, as provincial papers do: the demo's
second source, so a newcomer sees one story posted once with "Also on: …"
(news.stories)::

    python -m loa.demo_portal --port 8800 --interval 30
"""

from __future__ import annotations

import html
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import typer

from loa.demo_stories import STORIES, Story
from loa.demo_timeline import DemoState, DemoTimeline
from news.text import slugify

__all__ = ["FIRST_ID", "STORIES", "DemoPortal", "Story", "main"]

logger = logging.getLogger(__name__)


TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SITE_NAME = "Cổng thông tin điện tử Đảng bộ tỉnh (bản demo)"
FIRST_ID = 1001
LISTING_SIZE = 20
ALIVE_EVERY = 5.0  # seconds between "still up" notes in the state file
_WEEKDAYS = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")
_COLORS = ("#8b1a1a", "#1a4f8b", "#2e7d32", "#6a1b9a")
_ARTICLE_PATH = re.compile(r"^/tin-tuc/(?:[a-z0-9-]*-)?(\d+)\.html$")
_CATEGORY_PATH = re.compile(r"^/chuyen-muc/([a-z0-9-]+)\.html$")
_IMAGE_PATH = re.compile(r"^/images/(\d+)\.svg$")
#: The newspaper's part of the demo server: its listing and its copies of the portal's stories.
MIRROR_PREFIX = "/bao"
MIRROR_SITE_NAME = "Báo tỉnh (bản demo)"
#: Its article ids (not the portal's: one host, so ids must not collide)
MIRROR_FIRST_ID = 50001
_MIRROR_ARTICLE_PATH = re.compile(r"^/bao/tin/(?:[a-z0-9-]*-)?(\d+)\.html$")
_CATEGORIES = tuple(dict.fromkeys(story.category for story in STORIES))

_esc = html.escape


class _Article:
    """Article number ``k`` of the endless feed: a pool story, renumbered per cycle."""

    def __init__(self, k: int, published: float) -> None:
        self.k = k
        self.id = FIRST_ID + k
        self.story: Story = STORIES[k % len(STORIES)]
        cycle = k // len(STORIES)
        self.title = self.story.title + (f" (kỳ {cycle + 1})" if cycle else "")
        self.path = f"/tin-tuc/{slugify(self.title)}-{self.id}.html"
        self.published = datetime.fromtimestamp(published, TZ)
        self.views = 100 + (self.id * 37) % 900

    @property
    def stamp(self) -> str:
        """The portal's year-less date: "16:56 | 13/03"."""
        return self.published.strftime("%H:%M | %d/%m")


class _MirrorArticle(_Article):
    """The newspaper's copy of portal article ``k``: half an interval later, lightly edited.

    Its own id and path; the same story with the edits a paper makes when it
    republishes: a shorter title, a credit in the lead, the last paragraph
    cut, the byline marked as compiled ("(tổng hợp)").
    """

    def __init__(self, k: int, published: float) -> None:
        super().__init__(k, published)
        self.id = MIRROR_FIRST_ID + k
        self.title = self.title.replace(" đến từng khu dân cư", "")
        self.path = f"{MIRROR_PREFIX}/tin/{slugify(self.title)}-{self.id}.html"
        story = self.story
        self.story = story._replace(
            lead=f"(Báo tỉnh) - {story.lead}",
            paragraphs=story.paragraphs[:-1] or story.paragraphs,
            author=f"{story.author} (tổng hợp)",
        )


class DemoPortal:
    """A local HTTP news portal whose article list grows over time.

    Article ``k`` appears at ``started_at + (k - initial_articles + 1) * interval_seconds``:
    ``initial_articles`` are visible at once, then one more per interval. The
    clock is injectable so tests can move time instead of sleeping.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        started_at: float | None = None,
        interval_seconds: float = 60.0,
        initial_articles: int = 3,
        clock: Callable[[], float] = time.time,
        state: DemoState | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        if initial_articles < 0:
            raise ValueError("initial_articles must not be negative")
        self.clock = clock
        self.started_at = clock() if started_at is None else started_at
        self.interval_seconds = interval_seconds
        self.initial_articles = initial_articles
        self.state = state
        self.timeline = (
            state.timeline
            if state is not None
            else DemoTimeline.starting(
                self.started_at, interval_seconds=interval_seconds, initial=initial_articles
            )
        )
        self._hits = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._server = _bind(host, port)
        self._server.portal = self
        if state is not None:
            state.port = int(self._server.server_address[1])
            self._keep_alive(force=True)

    @classmethod
    def resume(
        cls,
        state_path: Path,
        *,
        interval_seconds: float = 60.0,
        initial_articles: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> DemoPortal:
        """The portal `loa run` left in `state_path`: same port if free, same articles.

        Nothing that was shown before is shown again under a new address or
        date, so a restart of `loa run` posts nothing twice (see loa.demo_timeline).
        """
        state = DemoState.load(
            state_path, now=clock(), interval_seconds=interval_seconds, initial=initial_articles
        )
        return cls(
            port=state.port,
            interval_seconds=state.timeline.interval_seconds,
            initial_articles=initial_articles,
            clock=clock,
            state=state,
        )

    def _keep_alive(self, *, force: bool = False) -> None:
        """Note in the state file that the portal was up now (at most every few seconds)."""
        if self.state is None:
            return
        with self._lock:  # handler threads call this concurrently
            now = self.clock()
            if not force and now - self.state.last_alive < ALIVE_EVERY:
                return
            self.state.last_alive = now
            try:
                self.state.save()
            except OSError as exc:
                logger.warning("cannot save demo portal state: %s", exc)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:8800``."""
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Serve in a background daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},  # so stop() returns quickly
                name="demo-portal",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self._keep_alive(force=True)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._server.serve_forever()

    def __enter__(self) -> DemoPortal:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ content

    def appears_at(self, k: int) -> float:
        """Epoch seconds at which article ``k`` becomes visible."""
        return self.timeline.appears_at(k)

    def visible_count(self, now: float | None = None) -> int:
        """How many articles are published at ``now`` (default: the clock)."""
        return self.timeline.visible_count(self.clock() if now is None else now)

    def article(self, k: int) -> _Article:
        """Article number ``k`` (0-based), published or not."""
        return _Article(k, self.appears_at(k))

    def article_by_id(self, article_id: int) -> _Article | None:
        """A published article, or None if unknown or not yet published."""
        k = article_id - FIRST_ID
        return self.article(k) if 0 <= k < self.visible_count() else None

    def newest(self, category: str | None = None) -> list[_Article]:
        """Published articles, newest first, optionally of one category."""
        found: list[_Article] = []
        for k in range(self.visible_count() - 1, -1, -1):
            if category is None or STORIES[k % len(STORIES)].category == category:
                found.append(self.article(k))
                if len(found) == LISTING_SIZE:
                    break
        return found

    def mirrored(self, k: int) -> bool:
        """Whether the newspaper republishes article ``k`` (every other story)."""
        return k % 2 == 0

    def mirror_article(self, k: int) -> _MirrorArticle:
        """The newspaper's copy of article ``k``, half an interval after the portal's."""
        return _MirrorArticle(k, self.appears_at(k) + self.interval_seconds / 2)

    def mirror_newest(self) -> list[_MirrorArticle]:
        """The newspaper's published copies, newest first."""
        now = self.clock()
        found: list[_MirrorArticle] = []
        for k in range(self.visible_count() - 1, -1, -1):
            copy = self.mirror_article(k)
            if self.mirrored(k) and copy.published.timestamp() <= now:
                found.append(copy)
                if len(found) == LISTING_SIZE:
                    break
        return found

    def mirror_by_id(self, article_id: int) -> _MirrorArticle | None:
        """A published copy, or None if unknown or not yet published."""
        k = article_id - MIRROR_FIRST_ID
        if not (0 <= k < self.visible_count() and self.mirrored(k)):
            return None
        copy = self.mirror_article(k)
        return copy if copy.published.timestamp() <= self.clock() else None

    def _next_hit(self) -> int:
        with self._lock:
            self._hits += 1
            return self._hits

    # ------------------------------------------------------------ pages

    def _page(self, title: str, main: str, canonical: str = "") -> str:
        """Wrap ``main`` in the portal chrome the extractor must learn to ignore."""
        now = datetime.fromtimestamp(self.clock(), TZ)
        clock = f"{_WEEKDAYS[now.weekday()]}, {now:%d/%m/%Y, %H:%M:%S}"
        menu = "".join(
            f'<li><a href="/chuyen-muc/{slugify(c)}.html">{_esc(c)}</a></li>' for c in _CATEGORIES
        )
        hits = self._next_hit()
        counters = "".join(
            f'<div class="counter-row">{label}: <span>{value}</span></div>'
            for label, value in (
                ("Hôm nay", 400 + hits),
                ("Hôm qua", 1092),
                ("Tuần này", 5071 + hits),
                ("Tháng này", 18970 + hits),
                ("Năm này", 87022 + hits),
            )
        )
        return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{_esc(title)} - {_esc(SITE_NAME)}</title>{canonical}
</head><body>
<div class="header"><div class="clock">{clock}</div>
<div class="welcome">Chào mừng đồng chí và các bạn đã đến với {_esc(SITE_NAME)} !</div>
<ul class="menu"><li><a href="/">Trang chủ</a></li>{menu}</ul></div>
<div class="main">{main}</div>
<div class="sidebar"><div class="box-title">Liên kết web</div>
<ul class="weblinks"><li>Báo điện tử Đảng Cộng sản Việt Nam</li></ul>
<div class="box-title">Lượt truy cập</div><div class="counter">{4156702 + hits:011d}</div>
{counters}</div>
</body></html>
"""

    def listing_page(
        self, category: str | None = None, articles: Sequence[_Article] | None = None
    ) -> str:
        """Home page or a category page: newest first, no "Chi tiết tin tức" block."""
        items = []
        for art in self.newest(category) if articles is None else articles:
            items.append(
                f'<div class="news-item"><a href="{art.path}">'
                f'<img src="/images/{art.id}.svg" alt="{_esc(art.title)}"></a>'
                f'<h3><a href="{art.path}">{_esc(art.title)}</a></h3>'
                f'<div class="news-item-time">({art.stamp})</div>'
                f"<p>{_esc(art.story.lead)}</p></div>"
            )
        heading = _esc(category) if category else "Tin mới nhất"
        body = f'<div class="box-title">{heading}</div>' + "\n".join(items)
        return self._page(category or "Trang chủ", body)

    def article_page(self, art: _Article) -> str:
        """An article laid out like the real portal, chrome included."""
        story = art.story
        visible = self.visible_count()
        newer = [self.article(k) for k in range(art.k + 1, min(art.k + 4, visible))]
        older = [self.article(k) for k in range(art.k - 1, max(art.k - 4, -1), -1)]
        if isinstance(art, _MirrorArticle):
            newer, older = [], []

        def links(arts: list[_Article]) -> str:
            return "".join(f'<li><a href="{a.path}">{_esc(a.title)}</a></li>' for a in arts)

        paragraphs = "\n".join(f"<p>{_esc(p)}</p>" for p in story.paragraphs)
        cat_slug = slugify(story.category)
        main = f"""<div class="box-title">Chi tiết tin tức</div>
<div class="news-detail">
<div class="news-cat"><a href="/chuyen-muc/{cat_slug}.html">{_esc(story.category)}</a></div>
<h2 class="news-title">{_esc(art.title)}</h2>
<div class="news-info"><span>Ngày đăng: {art.stamp}</span> <span>Lượt xem: {art.views}</span></div>
<div class="news-content">
<p class="sapo"><strong>{_esc(story.lead)}</strong></p>
<table class="image"><tr><td><img src="/images/{art.id}.svg" alt="{_esc(story.caption)}"></td></tr>
<tr><td class="caption">{_esc(story.caption)}</td></tr></table>
<p class="caption"><em>{_esc(story.caption)}</em></p>
{paragraphs}
<p class="author" style="text-align:right"><strong>{_esc(story.author)}</strong></p>
</div>
<div class="back"><a href="/">[Trở về]</a></div>
<div class="other"><div>Các tin mới hơn:</div><ul>{links(newer)}</ul>
<div>Các tin cũ hơn:</div><ul>{links(older)}</ul></div>
</div>"""
        canonical = f'\n<link rel="canonical" href="{self.url}{art.path}">'
        return self._page(art.title, main, canonical)

    @staticmethod
    def image_svg(art: _Article) -> str:
        """A small placeholder picture, so articles carry a real image URL."""
        color = _COLORS[_CATEGORIES.index(art.story.category) % len(_COLORS)]
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" '
            f'viewBox="0 0 640 360"><rect width="640" height="360" fill="{color}"/>'
            '<text x="320" y="190" font-size="28" text-anchor="middle" fill="#fff">'
            f"{_esc(art.story.category)} #{art.id}</text></svg>"
        )

    def respond(self, path: str) -> tuple[HTTPStatus, str, str]:
        """(status, content type, body) for a request path."""
        self._keep_alive()
        html_type = "text/html; charset=utf-8"
        if path in ("/", "/index.html"):
            return HTTPStatus.OK, html_type, self.listing_page()
        if path in (MIRROR_PREFIX, f"{MIRROR_PREFIX}/"):
            return HTTPStatus.OK, html_type, self.listing_page(articles=self.mirror_newest())
        if match := _MIRROR_ARTICLE_PATH.match(path):
            if (copy := self.mirror_by_id(int(match.group(1)))) is not None:
                return HTTPStatus.OK, html_type, self.article_page(copy)
        if match := _CATEGORY_PATH.match(path):
            category = next((c for c in _CATEGORIES if slugify(c) == match.group(1)), None)
            if category is not None:
                return HTTPStatus.OK, html_type, self.listing_page(category)
        elif match := _ARTICLE_PATH.match(path):
            if (art := self.article_by_id(int(match.group(1)))) is not None:
                return HTTPStatus.OK, html_type, self.article_page(art)
        elif match := _IMAGE_PATH.match(path):
            picture_id = int(match.group(1))
            art = self.article_by_id(picture_id) or self.mirror_by_id(picture_id)
            if art is not None:
                return HTTPStatus.OK, "image/svg+xml; charset=utf-8", self.image_svg(art)
        not_found = self._page(
            "Không tìm thấy", '<div class="box-title">Không tìm thấy trang</div>'
        )
        return HTTPStatus.NOT_FOUND, html_type, not_found


class _PortalServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its portal, so handlers need no globals."""

    daemon_threads = True
    portal: DemoPortal

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-answer is normal; anything else is logged once."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            logger.debug("client %s went away: %s", client_address, error)
            return
        logger.warning("demo portal: error answering %s: %r", client_address, error)


def _bind(host: str, port: int) -> _PortalServer:
    """The server on `port`, or on a free port when that one is taken (or 0)."""
    try:
        return _PortalServer((host, port), _Handler)
    except OSError:
        if port == 0:
            raise
        logger.warning("demo portal port %s is taken; using another one", port)
        return _PortalServer((host, 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _PortalServer
    protocol_version = "HTTP/1.1"

    def _send(self, *, head_only: bool) -> None:
        status, content_type, text = self.server.portal.respond(urlsplit(self.path).path)
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if not head_only:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(head_only=False)

    def do_HEAD(self) -> None:
        self._send(head_only=True)

    def log_message(self, format: str, *args: object) -> None:
        """Route access logs to ``logging`` at DEBUG instead of stderr."""
        logger.debug("%s - " + format, self.address_string(), *args)


def serve(host: str, port: int, interval: float, initial: int) -> None:
    """Serve a fresh demo portal in the foreground until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    portal = DemoPortal(host, port, interval_seconds=interval, initial_articles=initial)
    logger.info("Demo portal at %s (a new article every %ss)", portal.url, interval)
    try:
        portal.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        portal.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m loa.demo_portal``: the same typer style as the `loa` CLI."""
    app = typer.Typer(
        add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False, help=__doc__
    )

    @app.command()
    def run(
        host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port (0: any free one)")] = 8800,
        interval: Annotated[float, typer.Option(help="Seconds between articles")] = 60.0,
        initial: Annotated[int, typer.Option(help="Articles visible at start")] = 3,
    ) -> None:
        """Serve the demo portal until Ctrl-C."""
        serve(host, port, interval, initial)

    app(args=list(argv) if argv is not None else None, prog_name="python -m loa.demo_portal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""HTTP fetching for sources: polite, bounded, conditional.

One :class:`Fetcher` per source holds a ``requests.Session`` (injected, so
tests mount their own adapters or point at a local server). It sends a
User-Agent naming Loa, asks for gzip, retries 5xx and connection errors with
backoff, caps the body size and the number of redirects, and turns every
failure into a :class:`news.errors.FetchError` carrying the URL.

Given a `check` (news.ssrf builds one for addresses from outside the config),
the fetcher follows redirects itself and calls it on every hop's URL before
requesting it, so a redirect cannot lead where the first URL was not allowed.
"""

from __future__ import annotations

import logging
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

from news.errors import FetchError
from news.politeness import HostGate, LocalGate, RobotsCache
from ops.metrics import record_fetch

log = logging.getLogger(__name__)
ROBOTS_TTL = 3600.0

USER_AGENT = "Loa/0.1 (+https://github.com/loa-news/loa; news-to-feed bot)"
DEFAULT_TIMEOUT = (5.0, 20.0)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_SECONDS = 60.0
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchResult:
    """A fetched page; `not_modified` means a 304 and an empty body."""

    url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def make_session(retries: int = 2) -> requests.Session:
    """A Session with Loa's headers and retry policy for 5xx and connection errors."""
    session = requests.Session()
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.max_redirects = MAX_REDIRECTS
    session.headers.update(
        {
            "User-Agent": USER_AGENT,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Encoding": "gzip, deflate",
            "Accept-Language": "vi,en;q=0.5",
        }
    )
    return session


class Fetcher:
    """Fetches pages for one source with a shared Session."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        gate: HostGate | None = None,
        respect_robots: bool = True,
        check: Callable[[str], object] | None = None,
        robots_cache: RobotsCache | None = None,
    ):
        self.session = session or make_session()
        #: robots.txt texts shared by every worker process (Redis), so each host's
        #: is fetched once an hour, not once per process (each costing a polite wait)
        self.robots_cache = robots_cache
        #: called with each URL (every redirect hop) before it is requested; raises to refuse
        self.check = check
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.gate: HostGate = gate or LocalGate(min_delay=0.0)
        self.respect_robots = respect_robots
        self._robots: dict[str, tuple[float, RobotFileParser | None]] = {}

    def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url` politely (robots.txt, per-host gate); raise FetchError on failure."""
        if self.respect_robots and not self.allowed(url):
            raise FetchError("disallowed by robots.txt", url=url)
        host = urlsplit(url).netloc
        with self.gate.slot(host):
            started, outcome = time.monotonic(), "error"
            try:
                result = self._get(url, etag=etag, last_modified=last_modified)
                outcome = "not_modified" if result.not_modified else "ok"
                return result
            finally:  # the gate's wait is politeness, not the fetch: timed inside it
                record_fetch(time.monotonic() - started, outcome)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets Loa's User-Agent fetch `url` (cached per host)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(origin)
        if cached is None or time.monotonic() - cached[0] > ROBOTS_TTL:
            cached = (time.monotonic(), self._load_robots(origin))
            self._robots[origin] = cached
        parser = cached[1]
        return parser is None or parser.can_fetch(USER_AGENT, url)

    def _load_robots(self, origin: str) -> RobotFileParser | None:
        """The parsed robots.txt, or None (allow all) when there is none or it is unreadable."""
        text = self.robots_cache.get(origin) if self.robots_cache is not None else None
        if text is None:
            text = self._fetch_robots(origin)
            if self.robots_cache is not None:
                self.robots_cache.put(origin, text, ROBOTS_TTL)
        if not text:
            return None
        parser = RobotFileParser()
        parser.parse(text.splitlines())
        return parser

    def _fetch_robots(self, origin: str) -> str:
        """robots.txt's text; empty (allow all) when there is none or it is unreadable."""
        try:
            with self.gate.slot(urlsplit(origin).netloc):
                result = self._get(f"{origin}/robots.txt")
        except FetchError as exc:
            if not (exc.status is not None and 400 <= exc.status < 500):
                log.warning("robots.txt of %s unreadable (%s); fetching anyway", origin, exc)
            return ""
        return result.content.decode("utf-8", errors="replace")

    def _get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.max_seconds
        checked = self.check is not None
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                if time.monotonic() > deadline:
                    raise FetchError(self._too_slow, url=url)
                if self.check is not None:
                    self.check(url)
                with self.session.get(
                    url, headers=headers, timeout=self.timeout, stream=True,
                    allow_redirects=not checked,
                ) as resp:  # fmt: skip
                    target = self.session.get_redirect_target(resp) if checked else None
                    if target is not None:
                        url = urljoin(resp.url, target)
                        continue
                    response_headers = {k.lower(): v for k, v in resp.headers.items()}
                    if resp.status_code == 304:
                        return FetchResult(resp.url, 304, b"", response_headers, not_modified=True)
                    if resp.status_code >= 400:
                        raise FetchError(
                            f"HTTP {resp.status_code}", url=url, status=resp.status_code
                        )
                    content = self._read_capped(resp, url, deadline)
                    return FetchResult(resp.url, resp.status_code, content, response_headers)
            raise requests.TooManyRedirects()
        except requests.TooManyRedirects as exc:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects", url=url) from exc
        except requests.Timeout as exc:
            raise FetchError("timed out", url=url) from exc
        except requests.ConnectionError as exc:
            raise FetchError(f"cannot connect ({_root_cause(exc)})", url=url) from exc
        except requests.RequestException as exc:
            raise FetchError(f"{exc.__class__.__name__}: {exc}", url=url) from exc

    def _read_capped(self, resp: requests.Response, url: str, deadline: float) -> bytes:
        """The body, at most `max_bytes`, read before `deadline` (wall clock).

        The read timeout alone is per socket read: a server dripping a byte
        a second never trips it. So each read returns whatever has arrived
        (``read1``) and waits at most until the deadline, which is checked
        after every read.
        """
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"response larger than {self.max_bytes} bytes", url=url)
        raw = resp.raw
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(self._too_slow, url=url)
            _limit_socket_wait(raw, min(remaining, self.timeout[1]))
            try:
                chunk = raw.read1(65536, decode_content=True)
            except (TimeoutError, ReadTimeoutError) as exc:
                if time.monotonic() >= deadline:
                    raise FetchError(self._too_slow, url=url) from exc
                raise FetchError("timed out", url=url) from exc
            except (ProtocolError, DecodeError, OSError) as exc:
                raise FetchError(f"{exc.__class__.__name__}: {exc}", url=url) from exc
            if not chunk:  # read1 decodes until it has bytes, so empty means the end
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"response larger than {self.max_bytes} bytes", url=url)
            chunks.append(chunk)

    @property
    def _too_slow(self) -> str:
        return f"download took longer than {self.max_seconds:g}s"


def _root_cause(exc: BaseException) -> str:
    """The innermost reason ("[Errno 111] Connection refused"), not urllib3's nested repr."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    return text.split(": ", 1)[-1] if "Failed to establish" in text else text


def _limit_socket_wait(raw: Any, seconds: float) -> None:
    """Make the next socket read wait at most `seconds` (never past the deadline)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:  # a "Connection: close" response keeps only its file: its socket then
        file = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(file, "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.01))


def read_local_page(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A saved page from disk, with the download cap: `loa extract FILE` is no way around it.

    Only regular files: ``/dev/zero``, a FIFO or a directory would hang or
    read without end. Raises FetchError (a SourceError) with the reason.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise FetchError(f"cannot read: {exc.strerror or exc}", url=str(path)) from None
    if not stat.S_ISREG(info.st_mode):
        raise FetchError("not a regular file", url=str(path))
    with path.open("rb") as handle:
        content = handle.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise FetchError(f"file larger than {max_bytes} bytes", url=str(path))
    return content

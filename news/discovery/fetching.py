"""Fetching for one ``loa add-source`` proposal: bounded, one site, every try recorded.

Discovery probes a site it does not know (``/feed``, ``/rss``, ``/sitemap.xml``,
menus, sample articles), so the probing itself must be polite and bounded
whatever the site does: at most :data:`MAX_FETCHES` requests and
:data:`MAX_SECONDS` in all, only to the site's own origin (its ``www.``/``m.``
twin included), each URL once. A failure never raises: it becomes an
:class:`~news.discovery.model.Attempt`, the lines of the refusal an editor
reads when nothing watchable is found.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from news.discovery.model import Attempt
from news.errors import SourceError
from news.fetch import Fetcher, FetchResult
from news.ssrf import HostNotAllowed

#: requests per proposal, sample articles included (robots.txt checks aside)
MAX_FETCHES = 25
#: wall-clock seconds per proposal; each request also keeps the fetcher's own deadline
MAX_SECONDS = 60.0


def site_key(url: str) -> tuple[str, str, int | None]:
    """Scheme-insensitive origin of `url`, ``www.``/``m.`` folded: what "the same site" means."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for prefix in ("www.", "m."):
        host = host.removeprefix(prefix)
    try:
        port = parts.port
    except ValueError:
        port = -1
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return "web", host, port if port not in (None, default) else None


class SiteFetcher:
    """Wraps a :class:`Fetcher` for one proposal (see the module docstring)."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        max_fetches: int = MAX_FETCHES,
        max_seconds: float = MAX_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher
        self.max_fetches = max_fetches
        self.clock = clock
        self.max_seconds = max_seconds
        self.deadline = clock() + max_seconds
        self.attempts: list[Attempt] = []
        self.fetches = 0
        #: the site: set by the first successful fetch (after its redirects)
        self.site: tuple[str, str, int | None] | None = None
        self._cache: dict[str, FetchResult | None] = {}
        self._out_of_budget = False

    def note(self, what: str, outcome: str) -> None:
        """Record one thing tried and what came of it."""
        self.attempts.append(Attempt(what, outcome))

    def same_site(self, url: str) -> bool:
        """Whether `url` is on the proposal's site (always True before the first fetch)."""
        return self.site is None or site_key(url) == self.site

    def cached(self, url: str) -> FetchResult | None:
        """A page already fetched for this proposal (None if not, or if it failed)."""
        return self._cache.get(url)

    @property
    def exhausted(self) -> bool:
        """No request may be made any more: the count or the time is used up."""
        return self.fetches >= self.max_fetches or self.clock() >= self.deadline

    def get(self, url: str, what: str) -> FetchResult | None:
        """The page at `url`, or None with an Attempt saying why (never raises for the site).

        HostNotAllowed on the very first URL is raised: the editor's URL itself is refused.
        """
        if url in self._cache:
            return self._cache[url]
        if not self.same_site(url):
            self.note(what, f"not fetched: {url} is on another site")
            return None
        if self.exhausted:
            if not self._out_of_budget:
                self._out_of_budget = True
                self.note(
                    what,
                    f"not fetched: the limit of {self.max_fetches} requests or "
                    f"{self.max_seconds:g} s was reached; stopped probing",
                )
            return None
        self.fetches += 1
        result: FetchResult | None = None
        try:
            result = self.fetcher.get(url)
        except HostNotAllowed as exc:
            if self.site is None:
                raise
            self.note(what, f"refused: {exc.reason}")
        except SourceError as exc:
            self.note(what, _reason(exc))
        if result is not None and self.site is None:
            self.site = site_key(result.url)
        self._cache[url] = result
        return result


def _reason(exc: SourceError) -> str:
    """A fetch failure in a few words ("HTTP 404", "timed out", "cannot connect (...)")."""
    text = str(exc)
    url = getattr(exc, "url", None)
    if url and text.endswith(f" ({url})"):
        text = text[: -len(url) - 3]
    return text

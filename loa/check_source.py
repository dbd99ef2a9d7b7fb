"""`loa check-source NAME`: fetch a source once and show what Loa would find.

Nothing is written to the database: an editor can try a new source or a
profile change and see the links, extracted fields, timings and problems.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from config.settings import Settings, SourceConfig
from news.db import utcnow
from news.errors import SourceError
from news.poll import discover, read_candidate
from tasks.runtime import Runtime


@dataclass
class CheckResult:
    """What one check found; `ok` is False when the listing itself failed."""

    source: str
    listing_seconds: float = 0.0
    links: list[str] = field(default_factory=list)
    rows: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ok: bool = True


def check_source(settings: Settings, source: SourceConfig, *, sample: int = 5) -> CheckResult:
    """Fetch the listing and up to `sample` articles; never touches the database."""
    result = CheckResult(source=source.name)
    # The same fetcher and reader a worker's poll uses; closed with its sessions.
    with closing(Runtime(settings)) as runtime:
        reading = runtime.reading(source)
        started = time.perf_counter()
        try:
            listing = reading.fetcher.get(source.url)
            candidates = discover(reading, listing)
        except SourceError as exc:
            result.ok = False
            result.problems.append(f"listing: {exc}")
            return result
        result.listing_seconds = time.perf_counter() - started
        result.links = [c.url for c in candidates]
        now = utcnow()
        for candidate in candidates[:sample]:
            started = time.perf_counter()
            try:
                _, article, _ = read_candidate(candidate, reading, now)
            except SourceError as exc:
                result.problems.append(f"{candidate.url}: {exc}")
                continue
            when = article.published_at.isoformat() if article.published_at else "— (no date)"
            if article.date_inferred:
                when += " (year inferred)"
            result.rows.append(
                (
                    article.title,
                    article.category or "—",
                    when,
                    article.summary[:80],
                    article.author or "—",
                    f"{(time.perf_counter() - started) * 1000:.0f} ms",
                )
            )
        return result


def print_check(result: CheckResult, console: Console) -> None:
    """Render a CheckResult as rich tables (only the problem when the listing failed)."""
    if not result.ok:
        console.print(f"[bold]{result.source}[/]: the listing could not be read")
        for problem in result.problems:
            console.print(f"[red]problem[/]: {problem}", highlight=False)
        return
    console.print(
        f"[bold]{result.source}[/]: listing {result.listing_seconds * 1000:.0f} ms, "
        f"{len(result.links)} article links"
    )
    table = Table("title", "category", "published", "summary", "author", "time")
    for row in result.rows:
        table.add_row(*row)
    console.print(table)
    for problem in result.problems:
        console.print(f"[red]problem:[/] {problem}", markup=True, highlight=False)

"""Extraction accuracy and speed: the reading paths Loa uses vs plain trafilatura.

Usage: ``.venv/bin/python bench/extract.py [--repeat N]``

Runs every extractor over the same saved pages in one process and prints, per
corpus, a table of per-field accuracy and pages/second, plus ratios against
plain trafilatura (``bare_extraction`` with default options), the baseline we
must beat. Columns: ``profile`` and ``no profile`` go through
:class:`news.extract.SiteReader`, exactly as ``loa extract`` and a poll read a
page (with the page's site profile, and without one); ``zero-config`` is the
profile-less extractor alone. Corpora plug in through :func:`load_corpus`; the
table code knows nothing about where cases come from.

Every page of each corpus (indexed or not) is also read by every reader, for
articles and for links, as a poll would. A reader may refuse a page with a
``SourceError``; any other exception is a crash: it is listed, and the command
exits 1, so a crash cannot hide behind an accuracy table.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from news.errors import SourceError  # noqa: E402
from news.extract import BUILTIN_PROFILES, ExtractedArticle, reader_for  # noqa: E402
from news.extract.zero_config import extract_generic  # noqa: E402
from news.text import fold_diacritics, summarize  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
VI_NEWS = ROOT.parent / "shared" / "corpus" / "vi-news" / "INDEX.json"
SITES = ROOT / "tests" / "sites" / "corpus" / "index.json"
_CANONICAL = re.compile(
    r"""<link[^>]+rel=["']canonical["'][^>]*href=["']([^"']+)|"""
    r"""<link[^>]+href=["']([^"']+)["'][^>]*rel=["']canonical|"""
    r"""property=["']og:url["'][^>]*content=["']([^"']+)"""
)


@dataclass(frozen=True)
class Case:
    """One saved page and what a correct extractor returns for it."""

    path: Path
    kind: str
    url: str
    profile: str | None
    now: datetime
    title: str | None
    category: str | None
    published: list[str] | None  # accepted ISO values; None: the page shows no date
    lead_first_words: str | None
    author: str | None


@dataclass
class Result:
    """What one extractor returned for one case (``None`` fields: not produced)."""

    title: str | None = None
    category: str | None = None
    published: str | None = None
    summary: str | None = None
    author: str | None = None
    error: str | None = None
    crashed: bool = False


# ---------------------------------------------------------------- corpora


def _guess_url(site: str, file: str, html: str, kind: str) -> str:
    if kind != "article":
        return f"http://{site}/"
    match = _CANONICAL.search(html)
    if match:
        return next(g for g in match.groups() if g)
    return f"http://{site}/{file.removesuffix('.html')}-article.html"


def _load_vi_news(entries: list[dict[str, Any]], base: Path) -> list[Case]:
    """Indexed pages with their ground truth, then any other page as kind "unknown"."""
    indexed = {e["file"] for e in entries}
    extra = [
        {"file": p.name, "site": "vi-news.test", "kind": "unknown"}
        for p in sorted(base.glob("*.html"))
        if p.name not in indexed
    ]
    cases = []
    for e in [*entries, *extra]:
        path = base / e["file"]
        published = e.get("published")
        iso = [published["iso"], *published.get("also_accepted", [])] if published else None
        now = (
            datetime.fromisoformat(published["iso"]) + timedelta(days=1)
            if published
            else datetime(2012, 12, 31, 12, tzinfo=TZ)
        )
        html = path.read_text(encoding="utf-8", errors="replace")
        cases.append(
            Case(path, e["kind"], _guess_url(e["site"], e["file"], html, e["kind"]), None, now,
                 e.get("title"), e.get("category"), iso, e.get("lead_first_words"), e.get("author"))
        )  # fmt: skip
    return cases


def _load_sites(entries: list[dict[str, Any]], base: Path) -> list[Case]:
    cases = []
    for e in entries:
        exp = e.get("expected") or {}
        pub = exp.get("published_at")
        cases.append(
            Case(base / e["path"], e["kind"], e["url"], e.get("profile"),
                 datetime.fromisoformat(e["now"]), exp.get("title"), exp.get("category"),
                 [pub] if pub else None, exp.get("lead_first_words"), exp.get("author"))
        )  # fmt: skip
    return cases


def load_corpus(index_path: Path) -> list[Case]:
    """Cases from a corpus index: the vi-news INDEX.json or a tests/sites index.json."""
    entries = json.loads(index_path.read_text(encoding="utf-8"))
    if entries and "file" in entries[0]:
        return _load_vi_news(entries, index_path.parent)
    return _load_sites(entries, index_path.parent)


# ---------------------------------------------------------------- extractors

Extractor = Callable[[Case, bytes], Result | None]


def _outcome(read: Callable[[], ExtractedArticle]) -> Result:
    """A refusal (SourceError) is an answer; any other exception is a crash."""
    try:
        a = read()
    except SourceError as exc:
        return Result(error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a crash is what we count
        return Result(error=f"{type(exc).__name__}: {exc}", crashed=True)
    iso = a.published_at.isoformat() if a.published_at else None
    return Result(a.title, a.category, iso, a.summary, a.author)


def run_profile(case: Case, data: bytes) -> Result | None:
    """The site's profile, read as a poll reads it; ``None`` (n/a) without a known profile."""
    if case.profile not in BUILTIN_PROFILES:
        return None
    reader = reader_for(case.profile)
    return _outcome(
        lambda: reader.article(data, url=case.url, now=case.now, tz=TZ, summary_chars=400)
    )


def run_no_profile(case: Case, data: bytes) -> Result | None:
    """What `loa extract` and a source without ``profile:`` do with the page."""
    reader = reader_for(None)
    return _outcome(
        lambda: reader.article(data, url=case.url, now=case.now, tz=TZ, summary_chars=400)
    )


def run_generic(case: Case, data: bytes) -> Result | None:
    """The zero-config extractor alone, for comparison with the path that wraps it."""
    return _outcome(lambda: extract_generic(data, url=case.url, now=case.now, tz=TZ))


def run_trafilatura(case: Case, data: bytes) -> Result | None:
    """Plain trafilatura, default options; its summary is the body's first paragraph."""
    doc = trafilatura.bare_extraction(data, url=case.url, with_metadata=True)
    if doc is None or isinstance(doc, dict):  # dict only with as_dict=True
        return Result(error="nothing extracted")
    first = next((p for p in (doc.text or "").split("\n") if p.strip()), "")
    categories = doc.categories or []
    author = doc.author or None
    return Result(doc.title, " > ".join(categories), doc.date, summarize(first, 400), author)


EXTRACTORS: dict[str, Extractor] = {
    "profile": run_profile,
    "no profile": run_no_profile,
    "zero-config": run_generic,
    "trafilatura": run_trafilatura,
}


# ---------------------------------------------------------------- scoring


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\W_]+", fold_diacritics(text)) if t]


def token_f1(got: str, want: str) -> float:
    """F1 of the summary's first words against the expected lead's first words."""
    w = _tokens(want)
    g = _tokens(got)[: len(w)]
    common = sum(min(g.count(t), w.count(t)) for t in set(w))
    if not common:
        return 0.0
    precision, recall = common / len(g), common / len(w)
    return 2 * precision * recall / (precision + recall)


@dataclass
class Score:
    """Hits and totals per field for one extractor on one corpus."""

    hits: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    f1: list[float] = field(default_factory=list)
    pages: int = 0
    seconds: float = 0.0
    applicable: bool = False

    def add(self, name: str, ok: bool) -> None:
        self.hits[name] = self.hits.get(name, 0) + int(ok)
        self.totals[name] = self.totals.get(name, 0) + 1

    def cell(self, name: str) -> str:
        total = self.totals.get(name, 0)
        return f"{self.hits.get(name, 0)}/{total}" if total and self.applicable else "n/a"

    def rate(self, name: str) -> float:
        total = self.totals.get(name, 0)
        return self.hits.get(name, 0) / total if total else 0.0


def score(case: Case, r: Result, s: Score) -> None:
    s.add("no crash", not r.crashed)
    if case.kind == "unknown":
        return
    if case.kind != "article":
        s.add("listing rejected", r.error is not None)
        return
    if case.title is not None:
        s.add("title", r.title is not None and r.title.strip() == case.title)
    if case.published is not None:
        got = r.published or ""
        s.add("date+time", got in case.published)
        s.add("day", any(got[:10] == p[:10] for p in case.published) if got else False)
    elif r.error is None:
        s.add("no date → None", r.published is None)
    if case.category:
        s.add("category", (r.category or "") == case.category)
    if case.lead_first_words:
        summary = r.summary or ""
        s.add("lead start", summary.startswith(case.lead_first_words))
        s.f1.append(token_f1(summary, case.lead_first_words))
    if case.author:
        s.add("author", r.author == case.author)


def measure(cases: list[Case], repeat: int) -> dict[str, Score]:
    pages = [(c, c.path.read_bytes()) for c in cases]
    scores: dict[str, Score] = {}
    for name, extractor in EXTRACTORS.items():
        s = scores[name] = Score()
        for case, data in pages:
            result = extractor(case, data)
            if result is not None:
                s.applicable = True
                score(case, result, s)
        start = time.perf_counter()
        for _ in range(repeat):
            for case, data in pages:
                if extractor(case, data) is not None:
                    s.pages += 1
        s.seconds = time.perf_counter() - start
    return scores


FIELDS = ["title", "date+time", "day", "no date → None", "category", "lead start", "author"]


def table(title: str, scores: dict[str, Score], baseline: str = "trafilatura") -> str:
    names = list(scores)
    fields = [
        f
        for f in [*FIELDS, "listing rejected", "no crash"]
        if any(f in s.totals for s in scores.values())
    ]
    rows = [[f, *(scores[n].cell(f) for n in names)] for f in fields]
    rows.append(["lead token F1", *(_f1(scores[n]) for n in names)])
    rows.append(["pages/s", *(_speed(scores[n]) for n in names)])
    head = ["field", *names]
    width = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    out = [
        f"== {title}",
        *("  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)) for r in [head, *rows]),
    ]
    base = scores[baseline]
    for n in names:
        if n == baseline or not scores[n].applicable:
            continue
        ratios = []
        for f in ["title", "date+time", "lead start"]:
            b = base.rate(f)
            ratios.append(f"{f} ×{scores[n].rate(f) / b:.2f}" if b else f"{f} (baseline 0)")
        speed = (scores[n].pages / scores[n].seconds) / (base.pages / base.seconds)
        out.append(f"{n} vs {baseline}: " + "; ".join(ratios) + f"; speed ×{speed:.2f}")
    return "\n".join(out)


READERS: list[str | None] = [None, *sorted(BUILTIN_PROFILES)]


def _crash(read: Callable[[], object]) -> str | None:
    """None when `read` returns or refuses the page (SourceError); else what crashed."""
    try:
        read()
    except SourceError:
        return None
    except Exception as exc:  # noqa: BLE001 - a crash is what we count
        return f"{type(exc).__name__} {exc}"
    return None


def crashes(cases: list[Case]) -> list[str]:
    """Every page through every reader, article and links as a poll reads them: the crashes."""
    found = []
    for case in cases:
        data = case.path.read_bytes()
        for name in READERS:
            reader = reader_for(name)
            label = name or "no profile"
            article = _crash(
                partial(reader.article, data, url=case.url, now=case.now, tz=TZ, summary_chars=400)
            )
            links = _crash(partial(reader.links, data, base_url=case.url))
            for what, crash in (("article", article), ("links", links)):
                if crash:
                    found.append(f"{case.path.name} [{label}, {what}]: {crash}")
    return found


def _f1(s: Score) -> str:
    return f"{sum(s.f1) / len(s.f1):.3f}" if s.f1 and s.applicable else "n/a"


def _speed(s: Score) -> str:
    return f"{s.pages / s.seconds:.1f}" if s.pages and s.seconds else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing passes over each corpus")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # "discarding data" noise
    warnings.simplefilter("ignore")  # third-party chatter must not garble the table
    failures = 0
    for label, index in (("vi-news (real pages)", VI_NEWS), ("tests/sites corpus", SITES)):
        if not index.exists():
            print(f"== {label}: {index} not found, skipped")
            continue
        cases = load_corpus(index)
        print(table(label, measure(cases, max(1, args.repeat))))
        crashed = crashes(cases)
        print(f"reading path: {len(cases)} pages × {len(READERS)} readers, {len(crashed)} crashes")
        for line in crashed:
            print(f"  CRASH {line}")
        failures += len(crashed)
        print()
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Discovery benchmark: how well each extraction method, and a derived profile, read a site.

Why: ``loa add-source`` proposes the method that scores best on a few of a
site's articles, and derives a selector profile when none fits; the proposal
is only as good as the score and the derivation. The yardstick, measured in
the same run, is zero-config (what a source without a profile gets).

What it does, with no network:

1. for each CMS style of tests/sites/corpus: scores every built-in profile and
   zero-config on all the site's articles (news.discovery.scoring); then hides
   the site's own profile, derives one from its first `--train` articles and
   the site's listing, and scores it on all of them;
2. reads the held-out articles (those not derived from) with the derived
   profile and with zero-config, and counts title, date, lead start and
   category equal to index.json;
3. for the real pages of ../shared/corpus/vi-news: a profile derived from
   the sites with two pages of one template, and each article alone (its
   profile derived from that one page);
4. prints tables: scores per method, derived/zero-config score ratio,
   held-out field accuracy, and the derivation time. It asserts nothing.

Usage: .venv/bin/python bench/discovery.py [--train 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.profiles import BUILTIN_PROFILES, SiteProfile  # noqa: E402
from news.discovery.derive import derive_profile  # noqa: E402
from news.discovery.scoring import GOOD_SCORE, ZERO_CONFIG, score_methods  # noqa: E402
from news.errors import SourceError  # noqa: E402
from news.extract.page import page_text  # noqa: E402
from news.extract.profiles import extract_with_profile  # noqa: E402
from news.extract.zero_config import extract_generic  # noqa: E402
from tests.discovery.sample_pages import (  # noqa: E402
    TZ,
    VI_NEWS_NOW,
    site_articles,
    site_now,
    site_page,
    vi_news_index,
    vi_news_page,
)
from tests.sites.server import load_index  # noqa: E402

METHODS = [*BUILTIN_PROFILES, ZERO_CONFIG, "derived"]
REAL_GROUPS = (("vnexpress-1.html", "vnexpress-2.html"), ("zingnews-1.html", "zingnews-2.html"))


def _read(method: SiteProfile | None, entry: dict[str, Any]) -> Any:
    page = site_page(entry)
    text = page_text(page.content, page.content_type, url=page.url)
    now = datetime.fromisoformat(entry["now"])
    if method is None:
        return extract_generic(text, url=page.url, now=now, tz=TZ)
    return extract_with_profile(method, text, url=page.url, now=now, tz=TZ)


def _correct(method: SiteProfile | None, entries: list[dict[str, Any]]) -> dict[str, int]:
    """How many of `entries` the method reads right, per field."""
    right = dict.fromkeys(("title", "date", "lead", "category"), 0)
    for entry in entries:
        try:
            article = _read(method, entry)
        except SourceError:
            continue
        expected = entry["expected"]
        stated = article.published_at.isoformat() if article.published_at else None
        right["title"] += article.title == expected["title"]
        right["date"] += stated == expected["published_at"]
        right["lead"] += article.summary.startswith(expected["lead_first_words"])
        right["category"] += article.category == expected["category"]
    return right


def _row(name: str, scores: dict[str, float]) -> str:
    cells = [f"{scores[m]:.2f}" if m in scores else "-" for m in METHODS]
    ratio = (
        f"{scores['derived'] / max(scores[ZERO_CONFIG], 1e-9):.2f}×" if "derived" in scores else "-"
    )
    return f"| {name} | " + " | ".join(cells) + f" | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=3, help="articles to derive from")
    args = parser.parse_args()
    listings = {e["path"].split("/")[0]: e for e in load_index() if e["kind"] == "listing"}
    header = "| site | " + " | ".join(METHODS) + " | derived / zero-config |"
    rows, accuracy, timings = [], [], []
    for site, entries in sorted(site_articles().items()):
        own = entries[0]["profile"]
        now = site_now(entries)
        pages = [site_page(e) for e in entries]
        started = time.perf_counter()
        derived = derive_profile(
            pages[: args.train],
            name="derived",
            listing=site_page(listings[site]),
            tz=TZ,
            now=now,
        )
        timings.append((site, time.perf_counter() - started))
        profiles = dict(BUILTIN_PROFILES)
        scores = {
            s.method: s.score for s in score_methods(pages, profiles=profiles, tz=TZ, now=now)
        }
        if derived is not None:
            hidden = {k: v for k, v in BUILTIN_PROFILES.items() if k != own}
            with_derived = score_methods(
                pages, profiles={**hidden, "derived": derived}, tz=TZ, now=now
            )
            scores["derived"] = next(s.score for s in with_derived if s.method == "derived")
        rows.append(_row(f"{site} ({own})", scores))
        held_out = entries[args.train :]
        for label, method in (
            ("derived", derived),
            (ZERO_CONFIG, None),
            (own, BUILTIN_PROFILES[own]),
        ):
            if label == "derived" and derived is None:
                continue
            right = _correct(method, held_out)
            cells = " | ".join(f"{right[f]}/{len(held_out)}" for f in right)
            accuracy.append(f"| {site} | {label} | {cells} |")
    index = {e["file"]: e for e in vi_news_index()}
    for files in REAL_GROUPS:
        if not all(f in index for f in files):
            continue
        pages = [vi_news_page(index[f]) for f in files]
        started = time.perf_counter()
        derived = derive_profile(pages, name="derived", tz=TZ, now=VI_NEWS_NOW)
        timings.append(("+".join(files), time.perf_counter() - started))
        profiles = {**BUILTIN_PROFILES, **({"derived": derived} if derived else {})}
        scored = score_methods(pages, profiles=profiles, tz=TZ, now=VI_NEWS_NOW)
        rows.append(_row(" + ".join(files), {s.method: s.score for s in scored}))
    for entry in index.values():
        if entry["kind"] != "article":
            continue
        page = vi_news_page(entry)
        derived = derive_profile([page], name="derived", tz=TZ, now=VI_NEWS_NOW)
        profiles = {**BUILTIN_PROFILES, **({"derived": derived} if derived else {})}
        scored = score_methods([page], profiles=profiles, tz=TZ, now=VI_NEWS_NOW)
        rows.append(_row(f"{entry['file']} (alone)", {s.method: s.score for s in scored}))

    print(f"Scores (0..1; GOOD_SCORE {GOOD_SCORE}); derived: built-in profile of the site hidden")
    print(header)
    print("|" + "---|" * (len(METHODS) + 2))
    print("\n".join(rows))
    print(f"\nHeld-out articles read right (derived from the first {args.train})")
    print("| site | method | title | date | lead | category |\n|---|---|---|---|---|---|")
    print("\n".join(accuracy))
    print("\nDerivation time")
    print("\n".join(f"- {name}: {seconds * 1000:.0f} ms" for name, seconds in timings))


if __name__ == "__main__":
    main()

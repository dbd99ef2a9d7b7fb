"""The sample pages the discovery tests score and derive from: two corpora, no network.

- the tests/sites corpus: four CMS styles (portal.test, cinet.test, sogov.test,
  baolang.test), each article with its expected profile and ground truth;
- the shared real corpus ``../shared/corpus/vi-news`` (INDEX.json): saved
  pages of Vietnamese news sites, grouped by site.
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from news.discovery.model import SamplePage
from tests.sites.server import CORPUS_DIR, load_index

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
VI_NEWS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "vi-news"
#: The moment the real pages are read at (their years are printed, so any later one works).
VI_NEWS_NOW = datetime(2026, 1, 1, tzinfo=TZ)


def site_articles() -> dict[str, list[dict[str, Any]]]:
    """tests/sites article entries per folder (portal, cinet, sogov, baolang), index order."""
    sites: dict[str, list[dict[str, Any]]] = {}
    for entry in load_index():
        if entry["kind"] == "article":
            sites.setdefault(entry["path"].split("/")[0], []).append(entry)
    return sites


def site_page(entry: dict[str, Any]) -> SamplePage:
    """One tests/sites entry as the page a fetch of its URL would give."""
    served = entry.get("served_charset") or entry.get("charset")
    return SamplePage(
        url=entry["url"],
        content=(CORPUS_DIR / entry["path"]).read_bytes(),
        content_type=f"text/html; charset={served}" if served else None,
    )


def site_now(entries: list[dict[str, Any]]) -> datetime:
    return datetime.fromisoformat(entries[0]["now"])


def vi_news_index() -> list[dict[str, Any]]:
    """INDEX.json of the real corpus ([] when it is not there)."""
    index = VI_NEWS / "INDEX.json"
    if not index.exists():
        return []
    entries: list[dict[str, Any]] = json.loads(index.read_text(encoding="utf-8"))
    return entries


def vi_news_page(entry: dict[str, Any]) -> SamplePage:
    """A real page under a URL of its own site's shape (the saved files keep no URL):
    ``https://<site>/tin-tuc/<file stem>-<made-up numeric id>.html``."""
    stem = entry["file"].removesuffix(".html")
    article_id = 20000 + zlib.crc32(stem.encode()) % 10000
    return SamplePage(
        url=f"https://{entry['site']}/tin-tuc/{stem}-{article_id}.html",
        content=(VI_NEWS / entry["file"]).read_bytes(),
        content_type="text/html; charset=utf-8",
    )

"""Every saved page goes through the one reading path that `loa extract` and a poll use.

The extractors are measured one by one elsewhere; this file runs each corpus
page (the real pages of ``../shared/corpus/vi-news`` and Loa's own
``tests/sites`` corpus) through :class:`news.extract.SiteReader`, with no
profile and with every built-in profile, the way a configured source reads it.
A page may be refused with a :class:`news.errors.SourceError` (that is a
verdict); any other exception is a crash and fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.loader import load_settings
from config.settings import SourceConfig
from loa.cli_tools import read_article
from news.errors import SourceError
from news.extract import BUILTIN_PROFILES, ExtractedArticle, SiteReader, reader_for
from news.fetch import Fetcher
from news.poll import Candidate, read_candidate
from news.reading import SourceReading
from tests.sites.server import CORPUS_DIR, SiteServer, load_index

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2023, 3, 14, 9, 0, tzinfo=TZ)
ROOT = Path(__file__).resolve().parents[2]
#: CI checks the repository out beside ``shared/``, as in the development tree.
VI_NEWS = ROOT.parent / "shared" / "corpus" / "vi-news"
READERS = [None, *sorted(BUILTIN_PROFILES)]


def _vi_news_pages() -> list[Any]:
    assert VI_NEWS.is_dir(), f"the shared corpus is missing: {VI_NEWS}"
    sites = {
        e["file"]: e["site"]
        for e in json.loads((VI_NEWS / "INDEX.json").read_text(encoding="utf-8"))
    }
    pages = []
    for path in sorted(VI_NEWS.glob("*.html")):
        site = sites.get(path.name, "vi-news.test")
        url = f"http://{site}/{path.stem}-1.html"
        pages.append(pytest.param(path, url, id=f"vi-news/{path.name}"))
    return pages


def _site_pages() -> list[Any]:
    return [
        pytest.param(CORPUS_DIR / e["path"], e["url"], id=e["path"])
        for e in load_index()
        if e["kind"] in ("article", "listing")
    ]


PAGES = _vi_news_pages() + _site_pages()


def _read(reader: SiteReader, data: bytes, url: str) -> ExtractedArticle | None:
    """The article, or None when the reader refuses the page with a SourceError."""
    try:
        return reader.article(data, url=url, now=NOW, tz=TZ, summary_chars=400)
    except SourceError:
        return None


@pytest.mark.parametrize("profile", READERS, ids=lambda p: p or "no-profile")
@pytest.mark.parametrize(("path", "url"), PAGES)
def test_every_corpus_page_is_read_or_refused_never_crashes(
    path: Path, url: str, profile: str | None
) -> None:
    """A poll reads listings for links and pages for articles: neither may crash."""
    reader = reader_for(profile)
    data = path.read_bytes()
    article = _read(reader, data, url)
    if article is not None:
        assert article.title
        assert article.body
    try:
        links = reader.links(data, base_url=url)
    except SourceError:
        return
    assert all(link.startswith("http") for link in links)


def test_loa_extract_reads_a_page_with_a_comment_outside_html(tmp_path: Path) -> None:
    """`loa extract` (no profile) on a real page whose first comment sits outside <html>."""
    env = {k: v for k, v in os.environ.items() if k not in {"LOA_CONFIG", "DATABASE_URL"}}
    env["LOA_DATA_DIR"] = str(tmp_path / "var")
    result = subprocess.run(
        [sys.executable, "-m", "loa", "extract", str(VI_NEWS / "24h-1.html"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "Đột nhập lò luyện thi công chức Hàn Quốc"


def test_loa_extract_and_a_source_without_profile_read_every_page_alike(tmp_path: Path) -> None:
    """`loa extract` (no --profile) and a configured source without ``profile:``: one path."""
    settings = load_settings(environ={"LOA_DATA_DIR": str(tmp_path)})
    differ = []
    for page in PAGES:
        path, url = page.values
        by_cli: ExtractedArticle | str
        by_source: ExtractedArticle | str
        try:
            by_cli = read_article(settings, str(path), url=url, now=NOW)
        except SourceError as exc:
            by_cli = f"refused: {exc}"
        try:
            by_source = reader_for(None).article(
                path.read_bytes(), url=url, now=NOW, tz=settings.tz, summary_chars=400
            )
        except SourceError as exc:
            by_source = f"refused: {exc}"
        if by_cli != by_source:
            differ.append(page.id)
    assert differ == []


SHORT = [e for e in load_index() if str(e.get("note", "")).startswith("short")]


@pytest.mark.parametrize("with_profile", [True, False], ids=["profile", "no-profile"])
@pytest.mark.parametrize("entry", SHORT, ids=[e["path"] for e in SHORT])
def test_short_article_is_read_by_a_poll(
    site_server: SiteServer, entry: dict[str, Any], with_profile: bool
) -> None:
    """A title, a date line and a lead make an article, however short the body,
    whether the source names its CMS's profile or not."""
    assert {e["profile"] for e in SHORT} == set(BUILTIN_PROFILES)  # each CMS style
    reader = reader_for(entry["profile"] if with_profile else None)
    url = site_server.url_for(entry["url"])
    now = datetime.fromisoformat(entry["now"])
    candidate = Candidate(url, reader.identity(url))
    source = SourceConfig(name="short", url=url, respect_robots=False)
    reading = SourceReading(source, Fetcher(respect_robots=False), reader, tz=TZ)
    _, article, _ = read_candidate(candidate, reading, now)
    expected = entry["expected"]
    assert article.title == expected["title"]
    assert article.published_at == datetime.fromisoformat(expected["published_at"])
    assert article.summary.startswith(expected["lead_first_words"])
    assert article.category == expected["category"]

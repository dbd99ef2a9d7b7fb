"""add-source on the shared real corpus: four real home pages (vnexpress, thanhnien,
soha, genk, 2012), served with their article links answered by saved articles of the
same site. The proposal must find the home page as a listing and read its articles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from news.discovery.candidates import analyse_page
from tests.discovery.sites import check_proposal, loopback_settings, propose
from tests.sites.server import SiteServer

VI_NEWS = Path("/work/shared/corpus/vi-news")
HOMES = {"vnexpress-4.html": "vnexpress.net", "thanhnien-2.html": "thanhnien.com.vn",
         "soha-2.html": "soha.vn", "genk-2.html": "genk.vn"}  # fmt: skip
ARTICLES_PER_HOME = 6

pytestmark = pytest.mark.skipif(not VI_NEWS.is_dir(), reason="shared real corpus not present")


@pytest.fixture(scope="module")
def real_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteServer]:
    """A SiteServer corpus: each home page at its site's root, its first article links
    answered by that site's saved article pages (round robin)."""
    index = json.loads((VI_NEWS / "INDEX.json").read_text("utf-8"))
    entries = []
    for home, host in HOMES.items():
        url = f"http://{host}/"
        entries.append({"path": str(VI_NEWS / home), "kind": "listing", "url": url,
                        "profile": None, "charset": "utf-8"})  # fmt: skip
        saved = [e["file"] for e in index if e["kind"] == "article" and e["site"] == host]
        info = analyse_page((VI_NEWS / home).read_bytes(), url=url)
        for i, link in enumerate(info.article_links[:ARTICLES_PER_HOME]):
            entries.append({"path": str(VI_NEWS / saved[i % len(saved)]), "kind": "article",
                            "url": link, "profile": None, "charset": "utf-8"})  # fmt: skip
    corpus = tmp_path_factory.mktemp("vi-news-sites")
    (corpus / "index.json").write_text(json.dumps(entries), encoding="utf-8")
    with SiteServer(corpus) as server:
        yield server


@pytest.mark.parametrize("home", list(HOMES))
def test_a_real_home_page_is_a_listing_whose_articles_read(
    home: str, real_sites: SiteServer, tmp_path: Path
) -> None:
    url = real_sites.url_for(f"http://{HOMES[home]}/")
    proposal = propose(url, loopback_settings(tmp_path))
    listing = next(c for c in proposal.candidates if c.url == url)
    assert listing.kind == "listing" and listing.found_via == "the page itself"
    assert len(listing.article_urls) >= 20
    scores = proposal.scores[url]
    assert scores and scores[0].score > 0 and scores[0].articles >= 1
    assert proposal.source is not None and proposal.source["url"] == url
    if home == "vnexpress-4.html":  # and the proposed source polls (one site: keep it fast)
        check_proposal(proposal, tmp_path)

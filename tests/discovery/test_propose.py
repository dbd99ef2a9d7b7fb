"""`loa add-source`'s proposal on real HTTP test sites: what it finds, what it picks, and
that the picked source then works with `loa check-source`.

Sites: the four CMS styles of tests/sites/corpus (entered from a listing and from an
article), and tests/sites/addsource (a sitemap-only site, a site declaring its feed, a
parked domain), all served by SiteServer on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from news.discovery.crawl import find_candidates
from news.discovery.fetching import MAX_FETCHES, SiteFetcher
from news.discovery.model import Proposal
from news.discovery.propose import discovery_fetcher
from news.discovery.scoring import GOOD_SCORE
from tests.discovery.sites import ADDSOURCE_CORPUS, check_proposal, loopback_settings, propose
from tests.sites.server import SiteServer


@pytest.fixture(scope="module")
def cms_sites() -> Iterator[SiteServer]:
    with SiteServer() as server:
        yield server


@pytest.fixture(scope="module")
def new_sites() -> Iterator[SiteServer]:
    with SiteServer(ADDSOURCE_CORPUS) as server:
        yield server


def _attempts(proposal: Proposal) -> str:
    return "\n".join(f"{a.what} -> {a.outcome}" for a in proposal.attempts)


# entry page -> (kind, listing/feed URL, method) expected
CMS_LISTINGS = {
    "http://portal.test/": ("html", "http://portal.test/", "cms-portal"),
    "http://cinet.test/": ("rss", "http://cinet.test/atom.xml", "news-modern"),
    "http://sogov.test/Default.aspx?tabid=52": (
        "html",
        "http://sogov.test/Default.aspx?tabid=52",
        "gov-aspnet",
    ),
    "http://baolang.test/": ("html", "http://baolang.test/", "wordpress"),
}
CMS_ARTICLES = {
    "http://portal.test/tin-tuc/hoi-nghi-hoc-tap-quan-triet-nghi-quyet-trung-uong-cho-can-bo"
    "-chu-chot-2101.html": "http://portal.test/",
    "http://cinet.test/thoi-su/ha-noi-mo-them-ba-tuyen-buyt-dien-ket-noi-khu-do-thi-phia-tay"
    "-3001.html": "http://cinet.test/",
    "http://sogov.test/Default.aspx?tabid=52&ItemID=4101": "http://sogov.test/Default.aspx?tabid=52",
    "http://baolang.test/2023/03/13/le-hoi-dua-ghe-ngo/": "http://baolang.test/",
}


@pytest.mark.parametrize("entry", list(CMS_LISTINGS))
def test_each_cms_style_from_its_listing(entry: str, cms_sites: SiteServer, tmp_path: Path) -> None:
    kind, url, method = CMS_LISTINGS[entry]
    before = len(cms_sites.requests)
    proposal = propose(cms_sites.url_for(entry), loopback_settings(tmp_path))
    assert len(cms_sites.requests) - before <= MAX_FETCHES + 1  # + the fetcher's robots.txt
    assert proposal.ok, _attempts(proposal)
    assert proposal.source is not None
    assert (proposal.source["kind"], cms_sites.corpus_url(proposal.source["url"])) == (kind, url)
    assert proposal.method == method and proposal.source["profile"] == method
    assert proposal.profile is None  # a built-in profile fits: nothing derived
    assert proposal.source["name"] == entry.split("//")[1].split(".")[0]
    check_proposal(proposal, tmp_path)


@pytest.mark.parametrize("entry", list(CMS_ARTICLES))
def test_each_cms_style_from_an_article_goes_up_to_its_listing(
    entry: str, cms_sites: SiteServer, tmp_path: Path
) -> None:
    proposal = propose(cms_sites.url_for(entry), loopback_settings(tmp_path))
    assert proposal.ok, _attempts(proposal)
    assert proposal.source is not None
    listings = [c for c in proposal.candidates if c.kind == "listing" and c.article_urls]
    assert [cms_sites.corpus_url(c.url) for c in listings][:1] == [CMS_ARTICLES[entry]]
    assert listings[0].found_via in ("home page", "breadcrumb or category link", "category menu")
    check_proposal(proposal, tmp_path)


def test_the_portal_menu_becomes_category_listings_with_slugs(
    cms_sites: SiteServer, tmp_path: Path
) -> None:
    proposal = propose(cms_sites.url_for("http://portal.test/"), loopback_settings(tmp_path))
    menu = {c.category: cms_sites.corpus_url(c.url) for c in proposal.candidates if c.category}
    assert menu["Xây dựng Đảng"] == "http://portal.test/chuyen-muc/xay-dung-dang.html"
    assert proposal.source is not None
    assert "Xây dựng Đảng" in proposal.source["categories"]
    assert proposal.category_slugs["Xây dựng Đảng"] == "xay-dung-dang"
    assert proposal.source["poll_interval"] == 1800  # a few articles a week


def test_a_site_with_only_a_sitemap_gets_its_google_news_sitemap(
    new_sites: SiteServer, tmp_path: Path
) -> None:
    proposal = propose(new_sites.url_for("http://newsmap.test/"), loopback_settings(tmp_path))
    assert proposal.ok, _attempts(proposal)
    assert proposal.source is not None and proposal.chosen is not None
    assert proposal.chosen.kind == "news-sitemap"
    assert proposal.source["kind"] == "sitemap"
    assert new_sites.corpus_url(proposal.source["url"]) == "http://newsmap.test/sitemaps/news.xml"
    assert proposal.method == "zero-config" and "profile" not in proposal.source
    # no built-in profile fits: one is derived and shown, but it reads no better than
    # zero-config, which survives a new template, so zero-config is proposed
    assert proposal.derived is not None and proposal.profile is None
    # the news sitemap lists oldest first; publication dates put the newest first
    first = new_sites.corpus_url(proposal.chosen.article_urls[0])
    assert first.endswith("-7001.html")
    assert proposal.source["poll_interval"] == 300  # an article every 30-45 minutes
    assert "robots.txt Sitemap:" in proposal.chosen.found_via
    # the index's older child (about/contact pages) was read after the news one
    whats = [a.what for a in proposal.attempts]
    assert whats.index(next(w for w in whats if w.endswith("news.xml"))) < whats.index(
        next(w for w in whats if w.endswith("pages.xml"))
    )
    check_proposal(proposal, tmp_path)


def test_an_article_of_the_sitemap_only_site_finds_the_same(
    new_sites: SiteServer, tmp_path: Path
) -> None:
    url = "http://newsmap.test/tin/khoi-cong-cau-vuot-nut-giao-phia-bac-thanh-pho-7001.html"
    proposal = propose(new_sites.url_for(url), loopback_settings(tmp_path))
    assert proposal.source is not None
    assert new_sites.corpus_url(proposal.source["url"]) == "http://newsmap.test/sitemaps/news.xml"


def test_a_declared_feed_is_preferred(new_sites: SiteServer, tmp_path: Path) -> None:
    proposal = propose(new_sites.url_for("http://feedsite.test/"), loopback_settings(tmp_path))
    assert proposal.ok, _attempts(proposal)
    assert proposal.source is not None and proposal.chosen is not None
    assert (proposal.chosen.kind, proposal.chosen.found_via) == (
        "rss",
        '<link rel="alternate" type=rss>',
    )
    assert new_sites.corpus_url(proposal.source["url"]) == "http://feedsite.test/tin-moi.rss"
    assert proposal.source["kind"] == "rss" and proposal.source["poll_interval"] == 600
    assert {"Y tế", "Giáo dục"} <= set(proposal.source["categories"])
    # what readers see on "Also on" links: the name every article's <title> ends with
    assert proposal.source["title"] == "Báo Đồng Bằng"
    # a declared feed that works: the well-known feed paths are not probed
    assert not any(a.what.startswith("/feed:") for a in proposal.attempts)
    check_proposal(proposal, tmp_path)


def test_a_parked_domain_is_refused_with_what_was_tried(
    new_sites: SiteServer, tmp_path: Path
) -> None:
    proposal = propose(new_sites.url_for("http://parked.test/"), loopback_settings(tmp_path))
    assert not proposal.ok and proposal.source is None and proposal.chosen is None
    tried = _attempts(proposal)
    assert "not a listing" in tried
    for probe in ("robots.txt", "/sitemap.xml", "/feed", "/rss.xml", "/atom.xml"):
        assert f"{probe}: " in tried, tried
    assert "HTTP 404" in tried


def test_a_broken_site_is_attempts_not_exceptions(cms_sites: SiteServer, tmp_path: Path) -> None:
    settings = loopback_settings(tmp_path)
    for fault in ("404", "invalid-html", "binary", "redirect-loop"):
        proposal = propose(f"{cms_sites.base_url}/fault/{fault}", settings)
        assert not proposal.ok, fault
        assert proposal.attempts and proposal.attempts[0].what.startswith("the given page")


def test_the_fetch_budget_stops_probing(new_sites: SiteServer, tmp_path: Path) -> None:
    settings = loopback_settings(tmp_path)
    site = SiteFetcher(discovery_fetcher(settings, delay=0), max_fetches=4)
    find_candidates(new_sites.url_for("http://parked.test/"), site)
    assert site.fetches == 4
    assert "limit of 4 requests" in site.attempts[-1].outcome


def test_a_site_no_profile_reads_gets_a_derived_profile(
    new_sites: SiteServer, tmp_path: Path
) -> None:
    for entry in ("http://huyen.test/", "http://huyen.test/tin.aspx?tinid=8002"):
        proposal = propose(new_sites.url_for(entry), loopback_settings(tmp_path))
        assert proposal.ok, _attempts(proposal)
        assert proposal.source is not None and proposal.profile is not None
        assert new_sites.corpus_url(proposal.source["url"]) == "http://huyen.test/"
        assert proposal.method == proposal.source["profile"] == proposal.profile["name"] == "huyen"
        assert proposal.profile["title"] == "h2.news-title"
        scores = {s.method: s.score for s in proposal.scores[proposal.source["url"]]}
        assert scores["huyen"] >= GOOD_SCORE > scores["zero-config"]
        assert any(a.outcome == "derived 'huyen'" for a in proposal.attempts)
        check_proposal(proposal, tmp_path)  # with the derived profile in the settings

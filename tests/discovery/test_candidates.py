"""What one page says about a site (no network): listings, menus, the way up, feeds, sitemaps,
and the proposal's small decisions (poll interval, source name)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.settings import Settings, SourceConfig
from news.discovery.candidates import (
    analyse_page,
    article_like,
    feed_candidate,
    looks_like_xml,
    robots_sitemaps,
    sitemap_candidate,
)
from news.discovery.propose import poll_interval, source_name
from news.syndication import parse_sitemap

CORPUS = Path(__file__).resolve().parents[1] / "sites" / "corpus"
ADDSOURCE = Path(__file__).resolve().parents[1] / "sites" / "addsource"
VI_NEWS = Path("/work/shared/corpus/vi-news")


def test_a_portal_article_points_up_to_its_category_and_home() -> None:
    path = "tin-tuc/hoi-nghi-hoc-tap-quan-triet-nghi-quyet-trung-uong-cho-can-bo-chu-chot-2101.html"
    url = f"http://portal.test/{path}"
    info = analyse_page((CORPUS / "portal" / path).read_bytes(), url=url)
    assert info.is_article and not info.is_listing
    assert info.home == "http://portal.test/"
    assert info.up == ["http://portal.test/chuyen-muc/cong-tac-tuyen-giao.html"]


def test_a_home_page_is_a_listing_with_a_category_menu() -> None:
    info = analyse_page((CORPUS / "cinet" / "index.html").read_bytes(), url="http://cinet.test/")
    assert info.is_listing and not info.is_article
    assert len(info.article_links) >= 5
    assert ("Kinh tế", "http://cinet.test/kinh-te/") in info.menu


def test_pagination_and_author_links_are_no_menu() -> None:
    info = analyse_page(
        (CORPUS / "baolang" / "2023-03-13-le-hoi-dua-ghe-ngo.html").read_bytes(),
        url="http://baolang.test/2023/03/13/le-hoi-dua-ghe-ngo/",
    )
    assert all("/author/" not in url and "/page/" not in url for _, url in info.menu)


@pytest.mark.skipif(not VI_NEWS.is_dir(), reason="shared real corpus not present")
def test_a_home_page_claiming_og_type_article_is_still_a_listing() -> None:
    info = analyse_page((VI_NEWS / "genk-2.html").read_bytes(), url="http://genk.vn/")
    assert info.is_listing and len(info.article_links) > 50
    article = analyse_page(
        (VI_NEWS / "vnexpress-1.html").read_bytes(),
        url="http://vnexpress.net/gl/xa-hoi/2012/12/vo-ngoai-tinh-sau-nhung-lan-bi-toi-danh-dap/",
    )
    assert article.is_article and not article.is_listing  # many related links, still an article


def test_declared_feeds_are_read_from_link_alternate() -> None:
    info = analyse_page(
        (ADDSOURCE / "feedsite" / "index.html").read_bytes(), url="http://feedsite.test/"
    )
    assert info.feeds == [("rss", "http://feedsite.test/tin-moi.rss", "Tin mới")]


def test_a_google_news_sitemap_is_ordered_by_publication_date() -> None:
    content = (ADDSOURCE / "newsmap" / "sitemaps" / "news.xml").read_bytes()
    sitemap = parse_sitemap(content, url="http://newsmap.test/sitemaps/news.xml")
    assert sitemap.news and len(sitemap.dates) == 4
    found = sitemap_candidate(content, url="http://newsmap.test/sitemaps/news.xml", found_via="x")
    assert found.candidate is not None and found.candidate.kind == "news-sitemap"
    assert found.candidate.article_urls[0].endswith("-7001.html")
    first = found.dates[found.candidate.article_urls[0]]
    assert first == datetime(2026, 12, 3, 1, 10, tzinfo=UTC)


def test_a_sitemap_index_gives_its_freshest_child_first() -> None:
    content = (ADDSOURCE / "newsmap" / "sitemap_index.xml").read_bytes()
    found = sitemap_candidate(content, url="http://newsmap.test/sitemap_index.xml", found_via="x")
    assert found.candidate is None
    assert found.children == [
        "http://newsmap.test/sitemaps/news.xml",
        "http://newsmap.test/sitemaps/pages.xml",
    ]


def test_feeds_and_non_feeds() -> None:
    content = (CORPUS / "cinet" / "atom.xml").read_bytes()
    atom = feed_candidate(content, url="http://cinet.test/atom.xml", found_via="x")
    assert atom.candidate is not None and atom.candidate.kind == "atom"
    page = feed_candidate(b"<html><body>404</body></html>", url="http://x.test/feed", found_via="x")
    assert page.candidate is None and page.outcome.startswith("not a feed")
    assert looks_like_xml(b"<?xml version='1.0'?><rss/>", "text/html")
    assert not looks_like_xml(b"<!DOCTYPE html><html>", "text/html; charset=utf-8")


def test_robots_sitemap_lines() -> None:
    text = "User-agent: *\nDisallow: /admin\nSitemap: /sitemap_index.xml\nsitemap: http://a.test/n.xml\n"
    assert robots_sitemaps(text, base="http://a.test/") == [
        "http://a.test/sitemap_index.xml",
        "http://a.test/n.xml",
    ]


def test_article_shaped_urls() -> None:
    assert article_like("http://a.test/tin-tuc/mot-bai-bao-rat-dai-123.html")
    assert article_like("http://a.test/Default.aspx?tabid=52&ItemID=4101")
    assert not article_like("http://a.test/chuyen-muc/xay-dung-dang.html")
    assert not article_like("http://a.test/")


@pytest.mark.parametrize(
    ("gap_minutes", "interval"),
    [(5, 120), (15, 120), (40, 300), (120, 600), (6 * 60, 600), (24 * 60, 1800)],
)
def test_the_poll_interval_follows_the_publishing_rate(gap_minutes: int, interval: int) -> None:
    start = datetime(2026, 12, 3, tzinfo=UTC)
    dates = [start - timedelta(minutes=gap_minutes * i) for i in range(6)]
    assert poll_interval(dates) == interval
    assert poll_interval(dates[:1]) == 600  # too few dates: a middle value


def testsource_names_come_from_the_host(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, sources=[SourceConfig(name="baolang", url="http://other.test/")]
    )
    assert source_name("https://www.vnexpress.net/", settings) == "vnexpress"
    assert source_name("https://tinhuy.laocai.gov.vn/tin", settings) == "tinhuy-laocai"
    assert source_name("http://127.0.0.1:8080/sogov.test/x", settings) == "sogov"
    assert source_name("http://baolang.test/", settings) == "baolang-2"  # taken

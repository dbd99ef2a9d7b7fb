"""Deriving a selector profile from a site's article pages, checked on pages it never saw.

Each tests/sites CMS style is derived from its first three articles with its
own built-in profile hidden, then must read the title and date of every other
article as index.json has them, and fit (score at least GOOD_SCORE). On the
real corpus, a profile is derived from two pages of one site (vnexpress 2012,
zingnews) and must read their ground-truth titles and dates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from config.profiles import BUILTIN_PROFILES, SiteProfile
from news.discovery.derive import derive_profile
from news.discovery.links import id_pattern
from news.discovery.model import SamplePage
from news.discovery.scoring import GOOD_SCORE, score_methods
from news.extract.page import page_text
from news.extract.profiles import discover_with_profile, extract_with_profile
from tests.discovery.sample_pages import (
    TZ,
    VI_NEWS_NOW,
    site_articles,
    site_now,
    site_page,
    vi_news_index,
    vi_news_page,
)
from tests.sites.server import load_index

SITES = site_articles()
LISTINGS = {e["path"].split("/")[0]: e for e in reversed(load_index()) if e["kind"] == "listing"}
VI_INDEX = {e["file"]: e for e in vi_news_index()}
TRAIN = 3


def _read(profile: SiteProfile, page: SamplePage, now: datetime) -> Any:
    text = page_text(page.content, page.content_type, url=page.url)
    return extract_with_profile(profile, text, url=page.url, now=now, tz=TZ)


@pytest.mark.parametrize("site", sorted(SITES))
def test_a_profile_derived_from_three_articles_reads_the_others(site: str) -> None:
    """Built-in profile hidden: the derived one reads unseen articles' title and date, and fits."""
    entries = SITES[site]
    listing = site_page(LISTINGS[site])
    derived = derive_profile(
        [site_page(e) for e in entries[:TRAIN]],
        name="derived",
        listing=listing,
        tz=TZ,
        now=site_now(entries),
    )
    assert derived is not None
    for entry in entries[TRAIN:]:
        article = _read(derived, site_page(entry), datetime.fromisoformat(entry["now"]))
        expected = entry["expected"]
        assert article.title == expected["title"], entry["path"]
        stated = article.published_at.isoformat() if article.published_at else None
        assert stated == expected["published_at"], entry["path"]
        assert article.summary.startswith(expected["lead_first_words"]), entry["path"]
        assert article.category == expected["category"], entry["path"]

    others = {k: v for k, v in BUILTIN_PROFILES.items() if k != entries[0]["profile"]}
    scores = score_methods(
        [site_page(e) for e in entries],
        profiles={**others, "derived": derived},
        tz=TZ,
        now=site_now(entries),
    )
    derived_score = next(s for s in scores if s.method == "derived")
    assert derived_score.score >= GOOD_SCORE
    assert derived_score.errors == ()
    assert derived_score.fields["clean"] == 1.0

    # the listing's links: the articles it lists are found with the derived selector
    assert derived.links is not None
    links = discover_with_profile(derived, listing.content, base_url=listing.url)
    assert set(LISTINGS[site]["expected"]["links"]) <= set(links)


@pytest.mark.skipif(not VI_INDEX, reason="vi-news corpus not available")
@pytest.mark.parametrize(
    "files", [("vnexpress-1.html", "vnexpress-2.html"), ("zingnews-1.html", "zingnews-2.html")]
)
def test_a_profile_derived_from_two_real_pages_reads_their_titles_and_dates(
    files: tuple[str, str],
) -> None:
    """Two 2012 pages of one real site: their template's landmarks give a fitting profile."""
    entries = [VI_INDEX[f] for f in files]
    pages = [vi_news_page(e) for e in entries]
    derived = derive_profile(pages, name="derived", tz=TZ, now=VI_NEWS_NOW)
    assert derived is not None
    assert derived.article_id_pattern == r"-(\d+)\.html?$"
    for entry, page in zip(entries, pages, strict=True):
        article = _read(derived, page, VI_NEWS_NOW)
        assert article.title == entry["title"]
        assert article.published_at is not None
        assert article.published_at.isoformat() == entry["published"]["iso"]
        assert article.summary.startswith(entry["lead_first_words"])
    scores = score_methods(
        pages, profiles={**BUILTIN_PROFILES, "derived": derived}, tz=TZ, now=VI_NEWS_NOW
    )
    by_method = {s.method: s for s in scores}
    assert by_method["derived"].score >= GOOD_SCORE
    assert by_method["zero-config"].score > 0
    assert max(by_method[name].score for name in BUILTIN_PROFILES) < GOOD_SCORE


@pytest.mark.skipif(not VI_INDEX, reason="vi-news corpus not available")
def test_pages_of_two_templates_give_no_profile() -> None:
    """vnexpress 2012 and 2025 share no template: no landmark is on all pages, no profile."""
    pages = [vi_news_page(VI_INDEX[f"vnexpress-{n}.html"]) for n in (1, 2, 3)]
    assert derive_profile(pages, name="derived", tz=TZ, now=VI_NEWS_NOW) is None


def test_nothing_readable_gives_no_profile() -> None:
    """No page, or pages that are no HTML at all: None, not an exception."""
    assert derive_profile([], name="derived") is None
    junk = SamplePage("https://x.test/a-1.html", b"\x00\x01\x02" * 100)
    assert derive_profile([junk, junk], name="derived") is None


def test_the_article_id_shape_is_what_the_urls_share() -> None:
    """A numeric id in the same place of every URL, distinct per article; else none."""
    assert id_pattern(["https://a.vn/x/bai-mot-101.html", "https://a.vn/y/bai-hai-102.html"]) == (
        r"-(\d+)\.html?$"
    )
    assert id_pattern(["https://a.vn/d.aspx?ItemID=4101", "https://a.vn/d.aspx?ItemID=4102"]) == (
        r"[?&]ItemID=(\d+)"
    )
    assert id_pattern(["https://a.vn/2023/03/le-hoi", "https://a.vn/2023/03/mua-hoa"]) is None
    assert id_pattern(["https://a.vn/a-7.html", "https://a.vn/b-7.html"]) is None


@pytest.mark.skipif(not VI_INDEX, reason="vi-news corpus not available")
def test_one_real_page_alone_still_gives_its_title_and_mostly_its_date() -> None:
    """With one page nothing tells the frame from the article; the headline and the
    nearness of the date to the title still find them on most real sites."""
    entries = [e for e in VI_INDEX.values() if e["kind"] == "article"]
    titles = dates = dated = 0
    for entry in entries:
        page = vi_news_page(entry)
        derived = derive_profile([page], name="derived", tz=TZ, now=VI_NEWS_NOW)
        assert derived is not None, entry["file"]
        article = _read(derived, page, VI_NEWS_NOW)
        titles += article.title == entry["title"]
        if entry["published"]:
            dated += 1
            # minutes: a meta datePublished states seconds the page does not print
            stated = article.published_at.replace(second=0) if article.published_at else None
            dates += stated is not None and stated.isoformat() == entry["published"]["iso"]
    assert titles == len(entries)
    assert dates >= dated - 1  # tinhte (a forum thread: a later post's date) misses


@pytest.mark.parametrize(
    ("urls", "pattern"),
    [
        (  # dantri, soha: the id before .htm
            [
                "http://dantri.com.vn/su-kien/chot-lich-nghi-le-tet-2013-677792.htm",
                "http://dantri.com.vn/xa-hoi/mot-bai-khac-677801.htm",
            ],
            r"-(\d+)\.html?$",
        ),
        (  # genk
            [
                "http://genk.vn/internet/amazon-ke-lao-luyen-2012122104231130.chn",
                "http://genk.vn/mobile/bai-khac-2012122109152241.chn",
            ],
            r"-(\d+)\.(?:chn|ldo|vnp|aspx|php)$",
        ),
        (  # 24h: "c46a508182.html"
            [
                "http://www.24h.com.vn/tin-tuc-trong-ngay/dot-nhap-lo-luyen-thi-c46a508182.html",
                "http://www.24h.com.vn/tin-tuc-trong-ngay/bai-khac-c46a508190.html",
            ],
            r"(\d{5,})\.\w+$",
        ),
        (  # tinhte threads
            ["http://www.tinhte.vn/threads/1739393/", "http://www.tinhte.vn/threads/1739400/"],
            r"/(\d{4,})/?$",
        ),
        (  # ione: the id before the slug
            [
                "http://ione.vnexpress.net/tin-tuc/vui-la/anh/2012/12/41584-nhung-nguoi.html",
                "http://ione.vnexpress.net/tin-tuc/vui-la/anh/2012/12/41590-bai-khac.html",
            ],
            r"/(\d{4,})-[^/]+\.html?$",
        ),
    ],
)
def test_real_sites_article_url_shapes(urls: list[str], pattern: str) -> None:
    """The URL shapes of the real corpus' sites (their canonical URLs) give their id."""
    assert id_pattern(urls) == pattern
    assert SiteProfile(name="x", article_id_pattern=pattern).article_id_pattern == pattern

"""Scoring extraction methods on real pages: the right profile wins, chrome and frames lose.

The tests/sites corpus says which profile each CMS style needs; the shared
real corpus has sites no built-in profile was written for (their 2012 layouts),
where zero-config is what reads them.
"""

from __future__ import annotations

from typing import Any

import pytest

from config.profiles import BUILTIN_PROFILES, SiteProfile
from news.discovery.model import SCORED_FIELDS, MethodScore, SamplePage
from news.discovery.scoring import GOOD_SCORE, ZERO_CONFIG, score_methods
from tests.discovery.sample_pages import (
    TZ,
    VI_NEWS_NOW,
    site_articles,
    site_now,
    site_page,
    vi_news_index,
    vi_news_page,
)

SITES = site_articles()
VI_ARTICLES = [e for e in vi_news_index() if e["kind"] == "article"]


def _scores(entries: list[dict[str, Any]], profiles: dict[str, SiteProfile]) -> list[MethodScore]:
    pages = [site_page(e) for e in entries]
    return score_methods(pages, profiles=profiles, tz=TZ, now=site_now(entries))


def _by_method(scores: list[MethodScore]) -> dict[str, MethodScore]:
    return {s.method: s for s in scores}


@pytest.mark.parametrize("site", sorted(SITES))
def test_the_expected_profile_scores_best_on_each_cms_style(site: str) -> None:
    """The profile index.json names wins, fits, and the other profiles read nothing."""
    entries = SITES[site]
    expected = entries[0]["profile"]
    scores = _scores(entries, BUILTIN_PROFILES)
    by_method = _by_method(scores)

    assert scores[0].method == expected
    assert scores[0].score >= GOOD_SCORE
    assert scores[0].errors == ()
    assert set(scores[0].fields) == set(SCORED_FIELDS)
    # zero-config reads these sites too, never better than their own profile
    assert GOOD_SCORE <= by_method[ZERO_CONFIG].score <= scores[0].score
    for name in set(BUILTIN_PROFILES) - {expected}:
        assert by_method[name].score < 0.2, name
        assert len(by_method[name].errors) == len(entries)


@pytest.mark.skipif(not VI_ARTICLES, reason="vi-news corpus not available")
def test_on_real_sites_zero_config_reads_every_article_and_old_layouts_fit_no_profile() -> None:
    """Each real article alone: zero-config scores; no built-in profile fits the 2012 layouts.

    vnexpress-3 (2025) is the layout news-modern was modelled on, and fits it.
    """
    for entry in VI_ARTICLES:
        scores = score_methods(
            [vi_news_page(entry)], profiles=BUILTIN_PROFILES, tz=TZ, now=VI_NEWS_NOW
        )
        by_method = _by_method(scores)
        assert by_method[ZERO_CONFIG].score > 0.5, entry["file"]
        fitting = {s.method for s in scores if s.score >= GOOD_SCORE} - {ZERO_CONFIG}
        assert fitting == ({"news-modern"} if entry["file"] == "vnexpress-3.html" else set())


def test_a_method_that_reads_the_frame_scores_low() -> None:
    """Every title the logo, every body the footer: the same on every page is no article."""
    entries = SITES["cinet"]
    frame = SiteProfile(name="frame", title="a.logo", body="footer", date="span.date")
    by_method = _by_method(_scores(entries, {"frame": frame, **BUILTIN_PROFILES}))
    assert by_method["frame"].fields["title"] == 0.0
    assert by_method["frame"].fields["body"] == 0.0
    assert by_method["frame"].score < 0.3 < GOOD_SCORE <= by_method["news-modern"].score


def test_chrome_in_the_body_costs_the_clean_field() -> None:
    """A body selector that takes the whole page brings the menu and share links along."""
    entries = SITES["cinet"]
    greedy = SiteProfile(
        name="greedy", title="h1.title-detail", date="span.date", lead="p.description", body="body"
    )
    by_method = _by_method(_scores(entries, {"greedy": greedy, **BUILTIN_PROFILES}))
    assert by_method["greedy"].fields["clean"] < by_method["news-modern"].fields["clean"] - 0.3
    assert by_method["greedy"].score < by_method["news-modern"].score


def _page(number: int, date: str) -> SamplePage:
    body = " ".join(f"Câu thứ {i} của bài số {number} kể chuyện trong tỉnh." for i in range(12))
    html = f"""<html><head><title>Bài số {number} về chuyện trong tỉnh - Báo Tỉnh</title></head>
<body><nav><a href="/">Trang chủ</a> <a href="/xa-hoi/">Xã hội</a></nav>
<h1 class="t">Bài số {number} về chuyện trong tỉnh</h1><span class="d">{date}</span>
<p class="s">Tóm tắt bài số {number}: những điều người đọc cần biết trước tiên.</p>
<div class="b"><p>{body}</p><p>{body}</p><p>{body}</p></div>
<div class="c"><a href="/xa-hoi/">Xã hội</a></div></body></html>"""
    return SamplePage(f"https://baotinh.test/xa-hoi/bai-{number}.html", html.encode())


def test_a_date_without_a_time_of_day_scores_half() -> None:
    """A day alone orders articles only roughly: half the date field."""
    profile = SiteProfile(
        name="tinh", title="h1.t", date="span.d", lead="p.s", body="div.b", category="div.c a"
    )
    with_time = [_page(n, f"0{n}/03/2023 08:1{n}") for n in range(1, 4)]
    day_only = [_page(n, f"0{n}/03/2023") for n in range(1, 4)]
    scored_with = _by_method(
        score_methods(with_time, profiles={"tinh": profile}, tz=TZ, now=VI_NEWS_NOW)
    )
    scored_day = _by_method(
        score_methods(day_only, profiles={"tinh": profile}, tz=TZ, now=VI_NEWS_NOW)
    )
    assert scored_with["tinh"].fields["date_time"] == 1.0
    assert scored_day["tinh"].fields["date_time"] == 0.5
    assert scored_with["tinh"].fields["clean"] == 1.0
    assert scored_with["tinh"].score >= GOOD_SCORE


def test_unreadable_pages_score_zero_with_a_line_each() -> None:
    """A profile whose selectors match nothing: one error line per page, score 0."""
    entries = SITES["baolang"][:3]
    scores = _by_method(_scores(entries, {"gov-aspnet": BUILTIN_PROFILES["gov-aspnet"]}))
    assert scores["gov-aspnet"].score == 0.0
    assert len(scores["gov-aspnet"].errors) == 3
    errors = scores["gov-aspnet"].errors
    assert all(entry["url"] in line for entry, line in zip(entries, errors, strict=True))

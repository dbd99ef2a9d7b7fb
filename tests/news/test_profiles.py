"""Site profiles against the corpus, served over real HTTP by SiteServer."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import lxml.etree
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from news.errors import ExtractionError
from news.extract.profiles import (
    BUILTIN_PROFILES,
    SiteProfile,
    article_identity,
    discover_with_profile,
    extract_with_profile,
)
from tests.sites.server import CORPUS_DIR, SiteServer, load_index

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
INDEX = load_index()
ARTICLES = [e for e in INDEX if e["kind"] == "article"]
LISTINGS = [e for e in INDEX if e["kind"] == "listing"]
FEEDS = [e for e in INDEX if e["kind"] in ("rss", "atom", "sitemap")]


def _fetch(server: SiteServer, url: str) -> requests.Response:
    with requests.Session() as session:
        response = session.get(server.url_for(url), timeout=5)
    assert response.status_code == 200, url
    return response


def test_corpus_covers_every_builtin_profile() -> None:
    assert len([e for e in INDEX if e["kind"] in ("article", "listing")]) >= 30
    assert {e["profile"] for e in ARTICLES} == set(BUILTIN_PROFILES)
    assert sum(e["charset"] == "windows-1258" for e in ARTICLES) >= 2


@pytest.mark.parametrize("entry", ARTICLES, ids=[e["path"] for e in ARTICLES])
def test_article_extracts_to_ground_truth(site_server: SiteServer, entry: dict[str, Any]) -> None:
    response = _fetch(site_server, entry["url"])
    served_charset = entry.get("served_charset", entry["charset"])
    assert response.headers["Content-Type"].endswith(f"charset={served_charset}")
    article = extract_with_profile(
        BUILTIN_PROFILES[entry["profile"]],
        response.content,
        url=response.url,
        now=datetime.fromisoformat(entry["now"]),
        tz=TZ,
    )
    expected = entry["expected"]
    assert article.title == expected["title"]
    assert article.category == expected["category"]
    if expected["published_at"] is None:
        assert article.published_at is None
    else:
        assert article.published_at == datetime.fromisoformat(expected["published_at"])
        assert (
            article.published_at.utcoffset()
            == datetime.fromisoformat(expected["published_at"]).utcoffset()
        )
    assert article.summary.startswith(expected["lead_first_words"])
    assert article.author == expected["author"]
    image = site_server.corpus_url(article.image) if article.image else None
    assert image == expected["image"]
    assert site_server.corpus_url(article.canonical_url) == expected["canonical_url"]
    for text in (article.title, article.body, article.summary):
        assert unicodedata.is_normalized("NFC", text)
    paragraphs = article.body.split("\n\n")
    assert len(paragraphs) == len(set(paragraphs)), "a caption or paragraph appears twice"
    for chrome in ("Lượt xem", "Tin liên quan", "Chia sẻ", "Trở về", "In trang", "Quảng cáo"):
        assert chrome not in article.body


def test_year_less_dates_around_new_year_are_marked_inferred(site_server: SiteServer) -> None:
    new_year = [e for e in ARTICLES if e["now"].startswith("2024-01-02")]
    assert {e["expected"]["published_at"][:4] for e in new_year} == {"2023", "2024"}
    for entry in new_year:
        body = _fetch(site_server, entry["url"]).content
        article = extract_with_profile(
            BUILTIN_PROFILES["cms-portal"],
            body,
            url=entry["url"],
            now=datetime.fromisoformat(entry["now"]),
            tz=TZ,
        )
        assert article.date_inferred


def test_same_article_under_two_category_paths(site_server: SiteServer) -> None:
    entry = next(e for e in ARTICLES if e.get("aliases"))
    profile = BUILTIN_PROFILES[entry["profile"]]
    now = datetime.fromisoformat(entry["now"])
    found = [
        extract_with_profile(profile, _fetch(site_server, url).content, url=url, now=now, tz=TZ)
        for url in [entry["url"], *entry["aliases"]]
    ]
    assert {a.title for a in found} == {entry["expected"]["title"]}
    assert {site_server.corpus_url(a.canonical_url) for a in found} == {entry["url"]}
    identities = {article_identity(profile, site_server.corpus_url(a.url)) for a in found}
    assert identities == {"cinet.test#id:3003"}


def test_bytes_and_text_give_the_same_article() -> None:
    entry = next(
        e for e in ARTICLES if e["charset"] == "windows-1258" and e["profile"] != "cms-portal"
    )
    data = (CORPUS_DIR / entry["path"]).read_bytes()
    profile = BUILTIN_PROFILES[entry["profile"]]
    now = datetime.fromisoformat(entry["now"])
    from_bytes = extract_with_profile(profile, data, url=entry["url"], now=now, tz=TZ)
    text = data.decode("cp1258")
    assert text != unicodedata.normalize("NFC", text)  # cp1258 spells tones as combining marks
    assert extract_with_profile(profile, text, url=entry["url"], now=now, tz=TZ) == from_bytes


@pytest.mark.parametrize("entry", LISTINGS, ids=[e["path"] for e in LISTINGS])
def test_listing_discovers_expected_links(site_server: SiteServer, entry: dict[str, Any]) -> None:
    response = _fetch(site_server, entry["url"])
    links = discover_with_profile(
        BUILTIN_PROFILES[entry["profile"]], response.content, base_url=response.url
    )
    assert [site_server.corpus_url(link) for link in links] == entry["expected"]["links"]
    # Straight from the file, in the corpus's own URL space, the answer is the same.
    raw = (CORPUS_DIR / entry["path"]).read_bytes()
    profile = BUILTIN_PROFILES[entry["profile"]]
    assert discover_with_profile(profile, raw, base_url=entry["url"]) == entry["expected"]["links"]


@pytest.mark.parametrize("entry", FEEDS, ids=[e["path"] for e in FEEDS])
def test_feed_and_sitemap_ground_truth(site_server: SiteServer, entry: dict[str, Any]) -> None:
    response = _fetch(site_server, entry["url"])
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True)
    root = lxml.etree.fromstring(response.content, parser)
    if entry["kind"] == "rss":
        links = root.xpath("//item/link/text()")
    elif entry["kind"] == "atom":
        links = root.xpath(
            "//a:entry/a:link/@href", namespaces={"a": "http://www.w3.org/2005/Atom"}
        )
    else:
        links = root.xpath("//s:loc/text()", namespaces={"s": root.nsmap[None]})
    assert [site_server.corpus_url(str(link)) for link in links] == entry["expected"]["links"]


def test_page_without_title_or_body_raises_with_url(site_server: SiteServer) -> None:
    url = site_server.base_url + "/fault/invalid-html"
    with requests.Session() as session:
        data = session.get(url, timeout=5).content
    for name in ("news-modern", "gov-aspnet", "wordpress", "cms-portal"):
        with pytest.raises(ExtractionError) as info:
            extract_with_profile(BUILTIN_PROFILES[name], data, url=url, now=datetime.now(TZ), tz=TZ)
        assert info.value.url == url
    page = "<html><body><h1 class='title-detail'>Tiêu đề</h1></body></html>"
    with pytest.raises(ExtractionError, match="body"):
        extract_with_profile(
            BUILTIN_PROFILES["news-modern"], page, url=url, now=datetime.now(TZ), tz=TZ
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "h1["),
        ("links", "a::text"),
        ("body", ""),
        ("date", "span:nth-child(x)"),
        ("drop", ["div.ok", "p >> "]),
        ("article_id_pattern", r"-(\d+\.html$"),
        ("article_id_pattern", r"-\d+\.html$"),
    ],
)
def test_bad_selector_or_regex_is_a_validation_error_naming_the_field(
    field: str, value: object
) -> None:
    with pytest.raises(ValidationError) as info:
        SiteProfile.model_validate({"name": "x", field: value})
    errors = info.value.errors()
    assert [e["loc"][0] for e in errors] == [field]
    assert field.split("_")[0] in errors[0]["msg"]


def test_profiles_are_strict_and_frozen() -> None:
    with pytest.raises(ValidationError):
        SiteProfile.model_validate({"name": "x", "titel": "h1"})
    with pytest.raises(ValidationError):
        BUILTIN_PROFILES["news-modern"].title = "h2"  # type: ignore[misc]


def test_article_identity_collapses_url_variants() -> None:
    profile = BUILTIN_PROFILES["news-modern"]
    variants = [
        "http://cinet.test/kinh-te/xuat-khau-ca-phe-3003.html",
        "https://cinet.test/kinh-te/xuat-khau-ca-phe-3003.html",
        "https://www.cinet.test/kinh-te/xuat-khau-ca-phe-3003.html?utm_source=fb&utm_medium=x",
        "https://m.cinet.test/kinh-te/xuat-khau-ca-phe-3003.html#box_comment",
        "http://cinet.test/thi-truong/xuat-khau-ca-phe-3003.html?zarsrc=31",
    ]
    assert {article_identity(profile, u) for u in variants} == {"cinet.test#id:3003"}
    assert article_identity(profile, variants[0].replace("3003", "3004")) == "cinet.test#id:3004"
    gov = BUILTIN_PROFILES["gov-aspnet"]
    assert (
        article_identity(
            gov, "http://www.sogov.test/Default.aspx?tabid=52&ItemID=4101&utm_source=z"
        )
        == "sogov.test#id:4101"
    )


def test_article_identity_without_an_id_uses_the_cleaned_url() -> None:
    wordpress = BUILTIN_PROFILES["wordpress"]
    variants = [
        "http://baolang.test/2023/03/13/le-hoi/",
        "https://baolang.test/2023/03/13/le-hoi",
        "https://www.baolang.test/2023/03/13/le-hoi/?utm_campaign=x&fbclid=1&gclid=2",
        "http://m.baolang.test/2023/03/13/le-hoi/?zarsrc=10#comments",
    ]
    identities = {article_identity(wordpress, u) for u in variants}
    assert identities == {"baolang.test/2023/03/13/le-hoi"}
    assert article_identity(None, variants[0]) == "baolang.test/2023/03/13/le-hoi"
    assert article_identity(None, "http://baolang.test/?p=512") == "baolang.test?p=512"


@given(
    st.sampled_from(["utm_source", "utm_medium", "fbclid", "gclid", "zarsrc"]),
    st.text(alphabet="abcxyz019-_", max_size=12),
    st.sampled_from(["http://", "https://", "http://www.", "https://m."]),
)
def test_article_identity_ignores_tracking_and_scheme(param: str, value: str, prefix: str) -> None:
    url = f"{prefix}baolang.test/2023/03/10/mua-hoa/?{param}={value}"
    assert article_identity(None, url) == "baolang.test/2023/03/10/mua-hoa"

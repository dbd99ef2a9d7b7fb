"""Site profiles as configuration values: one CMS's layout as CSS selectors.

Most Vietnamese news sites have no RSS, and each CMS lays its pages out its own
way. A profile names that layout once, as CSS selectors (``engine="selectors"``),
or hands the page to the built-in text-landmark reader for the provincial
portal CMS (``engine="cms-landmarks"``). Profiles are data, so a site added in
YAML needs no code; every selector and regex is compiled when the profile is
built, so a typo fails at config load naming the field, not at 3 a.m. in a poll.
The reading itself is :mod:`news.extract.profiles`.
"""

from __future__ import annotations

import re
from typing import Literal

import cssselect
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

_TRANSLATOR = cssselect.GenericTranslator()
_SELECTOR_FIELDS = ("links", "title", "category", "date", "lead", "body", "image", "author")


class SiteProfile(BaseModel):
    """How to find links, title, date, lead, body, image and author on one CMS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    engine: Literal["selectors", "cms-landmarks"] = "selectors"
    links: str | None = None
    title: str | None = None
    category: str | None = None
    date: str | None = None
    lead: str | None = None
    body: str | None = None
    image: str | None = None
    author: str | None = None
    drop: list[str] = []
    article_id_pattern: str | None = None

    @field_validator(*_SELECTOR_FIELDS)
    @classmethod
    def _check_selector(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Compile now, so a bad selector is a config error naming its field."""
        if value is not None:
            _compile_css(value, str(info.field_name))
        return value

    @field_validator("drop")
    @classmethod
    def _check_drop(cls, value: list[str]) -> list[str]:
        for index, selector in enumerate(value):
            _compile_css(selector, f"drop[{index}]")
        return value

    @field_validator("article_id_pattern")
    @classmethod
    def _check_pattern(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"article_id_pattern: invalid regex {value!r}: {exc}") from exc
        if compiled.groups < 1:
            raise ValueError(
                f"article_id_pattern: {value!r} needs one group capturing the article id"
            )
        return value


def _compile_css(selector: str, field: str) -> None:
    try:
        _TRANSLATOR.css_to_xpath(selector)
    except cssselect.SelectorError as exc:
        raise ValueError(f"{field}: invalid CSS selector {selector!r}: {exc}") from exc


BUILTIN_PROFILES: dict[str, SiteProfile] = {
    p.name: p
    for p in (
        SiteProfile(name="cms-portal", engine="cms-landmarks", article_id_pattern=r"-(\d+)\.html$"),
        SiteProfile(  # modern news CMS: og/JSON-LD meta, h1.title-detail, p.description
            name="news-modern",
            links="h3.title-news a, h2.title-news a",
            title="h1.title-detail",
            category="ul.breadcrumb li a",
            date="span.date",
            lead="p.description",
            body="article.fck_detail",
            image="meta[property='og:image']",
            author="p.author",
            drop=["div.box-tinlienquan", "div.social-share", "div.banner"],
            article_id_pattern=r"-(\d+)\.html$",
        ),
        SiteProfile(  # old ASP.NET government portal: upper-case tags, tables, ctl00 ids
            name="gov-aspnet",
            links="td.list-title a",
            title="#ctl00_Main_lblTitle",
            category="#ctl00_Main_lblCategory",
            date="#ctl00_Main_lblDate",
            lead="#ctl00_Main_lblSummary",
            body="#ctl00_Main_divContent",
            image="#ctl00_Main_divContent img",
            author="#ctl00_Main_lblAuthor",
            drop=["td.print-bar", "span.view-count"],
            article_id_pattern=r"[?&]ItemID=(\d+)",
        ),
        SiteProfile(  # WordPress theme: entry-* classes, <time datetime>
            name="wordpress",
            links="h2.entry-title a",
            title="h1.entry-title",
            category="span.cat-links a",
            date="time.entry-date",
            lead="div.entry-content > p",
            body="div.entry-content",
            image="meta[property='og:image']",
            author="span.author a",
            drop=["div.sharedaddy", "div.jp-relatedposts", "div.post-views"],
        ),
    )
}

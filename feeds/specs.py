"""Which feeds exist: everything, each category, each source; in three formats.

A feed is named by a cache key such as ``all.rss``, ``category/kinh-te.atom`` or
``source/demo.json`` and served at ``/feeds/all.rss``, ``/feeds/kinh-te.atom``
and ``/feeds/source/demo.json``. The two mappings live here only:
:attr:`FeedSpec.key` and :attr:`FeedSpec.path` one way, :func:`spec_for_path`
the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from news.models import Article, Category, Source

Format = Literal["rss", "atom", "json"]
FORMATS: tuple[Format, ...] = ("rss", "atom", "json")
CONTENT_TYPES: dict[str, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
FEEDS_PREFIX = "/feeds/"
OPML_PATH = "/feeds/opml"
SOURCE_PREFIX = "source/"
# Category slugs are folded words joined by "-", source names [a-z0-9_-]; both
# columns hold at most 200 characters. Anything else names no feed, so it is
# answered without a database query (NUL, for one, is an error in PostgreSQL).
_NAME = re.compile(r"[\w-]{1,200}")


@dataclass(frozen=True)
class FeedSpec:
    """One feed: what it selects (`scope`, `name`) and its format."""

    scope: Literal["all", "category", "source"]
    name: str
    fmt: Format
    title: str = ""

    @property
    def key(self) -> str:
        """The cache key (also the path under /feeds/, but categories sit at the top)."""
        if self.scope == "all":
            return f"all.{self.fmt}"
        return f"{self.scope}/{self.name}.{self.fmt}"

    @property
    def path(self) -> str:
        """The URL path of this feed."""
        if self.scope == "all":
            return f"/feeds/all.{self.fmt}"
        if self.scope == "category":
            return f"/feeds/{self.name}.{self.fmt}"
        return f"/feeds/source/{self.name}.{self.fmt}"

    def with_format(self, fmt: Format) -> FeedSpec:
        return FeedSpec(self.scope, self.name, fmt, self.title)


@lru_cache(maxsize=1024)  # a hot path: a few feeds take nearly every request
def spec_for_path(path: str) -> FeedSpec | None:
    """The feed a URL path names (title left empty), or None when it names none.

    Whether that category or source exists is the database's to say
    (:func:`find_spec`); this only reads the path.
    """
    if not path.startswith(FEEDS_PREFIX):
        return None
    rest = path[len(FEEDS_PREFIX) :]
    name, dot, fmt = rest.rpartition(".")
    fmt_ = _FORMAT_BY_NAME.get(fmt)
    if not dot or fmt_ is None:
        return None
    if name.startswith(SOURCE_PREFIX):
        name = name[len(SOURCE_PREFIX) :]
        return FeedSpec("source", name, fmt_) if _NAME.fullmatch(name) else None
    if name == "all":
        return FeedSpec("all", "all", fmt_)
    return FeedSpec("category", name, fmt_) if _NAME.fullmatch(name) else None


def all_specs(session: Session, site_title: str) -> list[FeedSpec]:
    """Every feed Loa serves: all, each category with articles, each source; 3 formats each."""
    bases = [FeedSpec("all", "all", "rss", site_title)]
    categories = session.execute(
        select(Category.slug, Category.name)
        .where(select(Article.id).where(Article.category_id == Category.id).exists())
        .order_by(Category.name)
    )
    bases += [FeedSpec("category", slug, "rss", name) for slug, name in categories]
    sources = session.scalars(select(Source.name).order_by(Source.name))
    bases += [FeedSpec("source", name, "rss", name) for name in sources]
    return [base.with_format(fmt) for base in bases for fmt in FORMATS]


def find_spec(session: Session, wanted: FeedSpec, site_title: str) -> FeedSpec | None:
    """`wanted` with its title, or None when no such category or source exists."""
    if wanted.scope == "all":
        return FeedSpec("all", "all", wanted.fmt, site_title)
    if wanted.scope == "category":
        title = session.scalar(select(Category.name).where(Category.slug == wanted.name))
        return None if title is None else FeedSpec("category", wanted.name, wanted.fmt, title)
    found = session.scalar(select(Source.name).where(Source.name == wanted.name))
    return None if found is None else FeedSpec("source", wanted.name, wanted.fmt, found)


_FORMAT_BY_NAME: dict[str, Format] = {fmt: fmt for fmt in FORMATS}

"""Full-text search over articles: what /search and the bot's inline mode ask.

Readers type with or without diacritics ("dang" must find "Đảng"), so both
sides are folded by Loa's own folding: the index covers `Article.search_text`
(title + lead, folded by :func:`news.store.search_text`), and the query is
folded here by the same function. SQLite FTS5's ``remove_diacritics`` would
not fold ``đ``, which is why the index never sees the raw title.

The index itself is per dialect (migration 0007):

- SQLite: an FTS5 table ``articles_fts`` with ``content='articles'`` (no second
  copy of the text), kept current by triggers on ``articles``;
- PostgreSQL: a GIN index on ``to_tsvector('simple', search_text)``, which
  matches whole words like FTS5 and supports prefixes (``:*``).

Matching: every word must occur as a whole word; the last one may be a prefix
so results follow a reader typing inline ("cong t" finds "công tác"). Reader
input is never spliced into FTS syntax: words are folded to letters and digits
first, then quoted, so ``"``, ``*``, ``NEAR``, ``OR``, ``-`` and ``:`` are just
characters that separate words, and no query can raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Text,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import FromClause

from news.models import Article, ArticleStatus
from news.text import normalize_text, slugify

__all__ = [
    "FTS_TABLE",
    "MAX_RESULTS",
    "MAX_WORDS",
    "MAX_WORD_CHARS",
    "PG_INDEX",
    "SearchHit",
    "SearchPage",
    "is_search_index",
    "latest_hits",
    "query_words",
    "search_page",
]

#: A query keeps at most this many words of at most this many characters: a
#: pasted 20,000-character message costs no more than a short one.
MAX_WORDS = 10
MAX_WORD_CHARS = 40
#: The newest this many matches are ranked, counted and can be paged through.
MAX_RESULTS = 1_000
#: Input beyond this is ignored before folding (10 words × 40 characters fit easily).
_MAX_INPUT_CHARS = 2_000

#: The search index's names, created by migration 0007 outside the models.
FTS_TABLE = "articles_fts"
PG_INDEX = "ix_articles_search_fts"


@dataclass(frozen=True)
class SearchHit:
    """One matching article: enough to show a link with its lead and local time."""

    article_id: int
    title: str
    url: str
    summary: str
    #: published, or first seen when the page had no date (aware, UTC)
    when: datetime


@dataclass(frozen=True)
class SearchPage:
    """One page of hits, how many match in all, and the folded words searched."""

    items: list[SearchHit]
    #: how many match, counted up to MAX_RESULTS (search) or one past the page (latest)
    total: int
    words: tuple[str, ...]


def query_words(query: str) -> tuple[str, ...]:
    """A reader's query as the folded words the index holds ("Đảng  ủy!" → ("dang", "uy")).

    Folded exactly like `Article.search_text` (NFC, zero-width characters as
    separators, diacritics and ``đ`` folded, anything not a letter or digit a
    separator), then capped at MAX_WORDS words of MAX_WORD_CHARS characters.
    """
    words = slugify(normalize_text(query[:_MAX_INPUT_CHARS])).split("-")
    return tuple(w[:MAX_WORD_CHARS] for w in words if w)[:MAX_WORDS]


def is_search_index(name: str | None) -> bool:
    """True for the index objects migration 0007 creates outside `Base.metadata`.

    Alembic's comparison of models and schema must skip them: the FTS5 table
    and its shadow tables (``articles_fts_data`` …) on SQLite, the GIN
    expression index on PostgreSQL.
    """
    return name is not None and (name == PG_INDEX or name.startswith(FTS_TABLE))


def search_page(
    factory: sessionmaker[Session],
    query: str,
    *,
    page: int,
    size: int,
    tz: tzinfo = UTC,
) -> SearchPage:
    """Page `page` (0 = first) of `size` active articles matching every word of `query`.

    Order: **newest day first, then best within the day, then newest.** News
    goes stale fast, so a reader searching "bão" wants today's storm before
    last year's better match; but among one day's articles (days in `tz`, the
    newsroom's zone), those whose *title* carries more of the words come
    first, because a title hit is what the article is about while a lead hit
    is often a passing mention. Whether a word is in the title is read from
    where its first occurrence lies in `search_text` (the folded title comes
    first, and folding does not lengthen text, so a position within the
    title's length is a title hit; a title made mostly of punctuation can
    shift this by a few characters). Both databases compute the same order,
    so paging is stable and tests hold on both.

    At most the MAX_RESULTS newest matches are ranked and counted: a query
    matching a fifth of all articles ("cua ban") would otherwise rank and
    count every one of them on every page (bench/bot.py: 15,000 matches cost
    over 100 ms on PostgreSQL, whose GIN index sends each match to the table),
    and nobody pages past a thousand results. `total` is therefore at most
    MAX_RESULTS; when it equals it, say "1000+".

    Never raises on reader input: an empty query (or one with no letters)
    returns an empty page.
    """
    words = query_words(query)
    if not words or page < 0 or size < 1:
        return SearchPage([], 0, words)
    with factory() as session:
        dialect = session.get_bind().dialect.name
        found = _candidates(words, dialect)
        newest = (
            select(
                found.id.label("id"),
                found.moment.label("moment"),
                found.title_len.label("title_len"),
                found.search_text.label("search_text"),
            )
            .select_from(found.source)
            .where(*found.where)
            .order_by(found.moment.desc(), found.id.desc())
            .limit(MAX_RESULTS)
            .subquery()
        )
        pool = _Candidates(
            newest, newest.c.id, newest.c.moment, newest.c.title_len, newest.c.search_text, []
        )
        ranked = session.execute(
            select(pool.id, func.count().over())
            .order_by(
                _day(pool.moment, _utc_offset(tz), dialect).desc(),
                _title_hits(words, pool, dialect).desc(),
                pool.moment.desc(),
                pool.id.desc(),
            )
            .limit(size)
            .offset(page * size)
        ).all()
        if not ranked:  # nothing matches, or a page past the end (a stale button)
            total = session.scalar(select(func.count()).select_from(newest)) or 0
            return SearchPage([], total, words)
        ids = [article_id for article_id, _ in ranked]
        rows = session.execute(_HIT_COLUMNS.where(Article.id.in_(ids)))
        by_id = {hit.article_id: hit for hit in _hits(rows)}
        return SearchPage([by_id[i] for i in ids if i in by_id], ranked[0][1], words)


def latest_hits(factory: sessionmaker[Session], *, page: int, size: int) -> SearchPage:
    """Page `page` of the newest active articles as hits: an empty inline query shows these.

    Ordered like the bot's /latest (news.reader_queries.headline_page), but
    with what an inline result needs that a headline does not (id, lead);
    `total` counts only up to one past the page, which tells whether there is more.
    """
    if page < 0 or size < 1:
        return SearchPage([], 0, ())
    with factory() as session:
        active = Article.status == ArticleStatus.ACTIVE
        upto = select(Article.id).where(active).limit((page + 1) * size + 1).subquery()
        total = session.scalar(select(func.count()).select_from(upto)) or 0
        rows = session.execute(
            _HIT_COLUMNS.where(active)
            .order_by(
                Article.published_at.desc().nulls_last(),
                Article.first_seen_at.desc(),
                Article.id.desc(),
            )
            .limit(size)
            .offset(page * size)
        )
        return SearchPage(_hits(rows), total, ())


_HIT_COLUMNS = select(
    Article.id,
    Article.title,
    Article.canonical_url,
    Article.summary,
    Article.published_at,
    Article.first_seen_at,
)


def _hits(rows: Result[int, str, str, str, datetime | None, datetime]) -> list[SearchHit]:
    """Rows of (id, title, url, summary, published, first seen) as hits."""
    return [
        SearchHit(aid, title, url, summary or "", _aware(published or seen))
        for aid, title, url, summary, published, seen in rows
    ]


@dataclass(frozen=True)
class _Candidates:
    """The matching articles as ranking sees them: the same columns on either database.

    On SQLite they all come from the FTS5 table, which keeps a small copy of
    what ranking needs (moment, active, title length) beside the indexed
    text: thousands of matches are ranked without reading a single (large)
    article row. On PostgreSQL they are the article's own columns.
    """

    source: FromClause
    id: ColumnElement[int]
    moment: ColumnElement[Any]
    title_len: ColumnElement[int]
    search_text: ColumnElement[str]
    where: list[ColumnElement[bool]]


def _candidates(words: tuple[str, ...], dialect: str) -> _Candidates:
    """Active articles matching every word (the last as a prefix)."""
    if dialect == "sqlite":
        fts = table(
            FTS_TABLE,
            column("rowid", Integer),
            column("search_text", Text),
            column("moment", Text),
            column("active", Integer),
            column("title_len", Integer),
        )
        return _Candidates(
            fts,
            fts.c.rowid,
            fts.c.moment,
            fts.c.title_len,
            fts.c.search_text,
            [_match_sqlite(words), fts.c.active == 1],
        )
    return _Candidates(
        Article.__table__,
        Article.id.expression,
        func.coalesce(Article.published_at, Article.first_seen_at),
        func.length(Article.title, type_=Integer),
        Article.search_text.expression,
        [_match_postgres(words), Article.status == ArticleStatus.ACTIVE],
    )


def _match_sqlite(words: tuple[str, ...]) -> ColumnElement[bool]:
    """An FTS5 MATCH of every word quoted as a phrase, the last one as a prefix.

    Words hold only letters and digits, but quotes are doubled anyway, so
    nothing a reader types can become an FTS5 operator.
    """
    phrases = ['"' + w.replace('"', '""') + '"' for w in words]
    phrases[-1] += "*"
    return literal_column(FTS_TABLE).op("MATCH", is_comparison=True)(literal(" ".join(phrases)))


def _match_postgres(words: tuple[str, ...]) -> ColumnElement[bool]:
    """The tsquery `'w1' & 'w2':*` against the GIN-indexed tsvector of search_text."""
    terms = ["'" + w.replace("'", "''").replace("\\", "") + "'" for w in words]
    terms[-1] += ":*"
    # The same expression as the GIN index, or PostgreSQL would not use it.
    vector = func.to_tsvector(literal_column("'simple'"), Article.search_text)
    tsquery = func.to_tsquery(literal_column("'simple'"), literal(" & ".join(terms)))
    return vector.op("@@")(tsquery)


def _title_hits(words: tuple[str, ...], found: _Candidates, dialect: str) -> ColumnElement[int]:
    """How many of the words occur first within the title's part of search_text."""
    hits: list[ColumnElement[int]] = []
    for index, word in enumerate(words):
        needle = f" {word}" if index == len(words) - 1 else f" {word} "
        if dialect == "sqlite":
            position = func.instr(found.search_text, needle, type_=Integer)
        else:
            position = func.strpos(found.search_text, needle, type_=Integer)
        hits.append(case((and_(position > 0, position <= found.title_len), 1), else_=0))
    total = hits[0]
    for hit in hits[1:]:
        total = total + hit
    return total


def _day(moment: ColumnElement[Any], offset: int, dialect: str) -> ColumnElement[int]:
    """The calendar day (days since 1970 in a zone `offset` seconds from UTC) of `moment`."""
    if dialect == "sqlite":
        seconds = cast(func.strftime("%s", moment), Integer)
    else:
        seconds = cast(func.extract("epoch", moment), Integer)
    return (seconds + offset) // 86400


def _utc_offset(tz: tzinfo) -> int:
    """`tz`'s offset from UTC now, in seconds (Vietnam has no daylight saving time)."""
    offset = datetime.now(tz).utcoffset() or timedelta(0)
    return int(offset.total_seconds())


def _aware(value: datetime) -> datetime:
    """Stored datetimes are UTC, naive on SQLite: make them aware for local display."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)

"""The tables: what Loa knows about sources, articles and who got what.

The database is the source of truth; Redis only carries work in flight. Every
delivery has a row (so nothing is lost and nothing is sent twice), every
source has a state (so polls can be conditional and failures are visible).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from news.db import UTCDateTime, utcnow
from news.identity import identity_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic batch mode needs them)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class DeliveryState(enum.StrEnum):
    """Life of one message to one chat; only `pending` rows may be claimed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Source(Base):
    """A watched site, registered from config on first sight."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    state: Mapped[SourceState | None] = relationship(back_populates="source", uselist=False)


class ArticleStatus(enum.StrEnum):
    """Whether the source still shows the article."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class EventKind(enum.StrEnum):
    """Things editors should hear about (the bot delivers them)."""

    SOURCE_UNHEALTHY = "source_unhealthy"
    SOURCE_RECOVERED = "source_recovered"
    ARTICLE_WITHDRAWN = "article_withdrawn"
    ARTICLE_FLAGGED = "article_flagged"
    CHANNEL_FAILED = "channel_failed"
    #: the source's configured host or port changed; its known articles were kept
    SOURCE_MOVED = "source_moved"
    #: a withdrawn article was listed again (at a new URL): it is active again
    ARTICLE_RESTORED = "article_restored"
    #: a channel Loa could not post to works again
    CHANNEL_RECOVERED = "channel_recovered"
    #: pending deliveries passed the alert threshold, and fell back under it
    BACKLOG_HIGH = "backlog_high"
    BACKLOG_CLEARED = "backlog_cleared"
    #: a delivery was retried after a crash: the chat may show the message twice
    POSSIBLE_DUPLICATE = "maybe_duplicate"


class SourceState(Base):
    """Polling memory of a source: validators for conditional GET and its health."""

    __tablename__ = "source_states"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    healthy: Mapped[bool] = mapped_column(Boolean, default=True)
    unhealthy_since: Mapped[datetime | None]
    last_recheck_at: Mapped[datetime | None]

    source: Mapped[Source] = relationship(back_populates="state")


class Category(Base):
    """A news category; the slug folds diacritics (`đ`→`d`) and names feeds."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)


class Article(Base):
    """One article, the same across polls, URL variants and address changes.

    `identity` is formed from the URL first seen (see news.identity);
    `identity_key`, its host-less part, is what a source's articles are matched
    on, so it always follows `identity` (set by the validator below).
    """

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_published", "published_at"),
        Index("ix_articles_source_key", "source_id", "identity_key"),
        # the status page: articles found per hour, each source's newest (migration 0011)
        Index("ix_articles_first_seen", "first_seen_at"),
        Index("ix_articles_source_seen", "source_id", "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    identity: Mapped[str] = mapped_column(String(2000), unique=True)
    identity_key: Mapped[str] = mapped_column(String(2000), server_default="")
    #: title + summary folded by news.text.fold_diacritics ("đ"→"d"), for search and ?q=
    search_text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(String(2000), unique=True)
    #: where the source's listing last linked it (a redirect may make `url` differ)
    listed_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    published_at: Mapped[datetime | None]
    date_inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[ArticleStatus] = mapped_column(
        Enum(ArticleStatus, name="article_status", values_callable=lambda e: [m.value for m in e]),
        default=ArticleStatus.ACTIVE,
    )
    withdrawn_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    #: the CMS pushed this content (POST /api/articles with full fields): it is the
    #: authority for it, so a re-check of the page never replaces it with what the
    #: page's extraction reads (which differs slightly and would edit the posts)
    pushed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    page_etag: Mapped[str | None] = mapped_column(Text)
    page_last_modified: Mapped[str | None] = mapped_column(Text)
    #: housekeeping deleted this article's finished delivery rows (retention) at this
    #: moment: it was announced, so its automatic (generation 0) posts are never planned
    #: again, even though the ledger no longer shows them (see ops.housekeeping)
    ledger_pruned_at: Mapped[datetime | None]
    #: the story this article tells (news.stories): copies of one story published by
    #: several sources share it; None until fingerprinted (or with stories disabled)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    #: an editor split this article out of a wrong group: it is never regrouped
    story_pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    category: Mapped[Category | None] = relationship(lazy="joined")
    source: Mapped[Source | None] = relationship()

    @validates("identity")
    def _keep_key(self, _field: str, value: str) -> str:
        """Every identity written also sets the key it is matched on."""
        self.identity_key = identity_key(value)
        return value


class Delivery(Base):
    """One article to one chat, one generation: the ledger behind "exactly once".

    Generation 0 is the automatic post; an editor's republish adds generation 1,
    2, ... so a republish is a new row, never a resend of an old one.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("article_id", "chat_id", "generation", name="uq_deliveries_target"),
        Index("ix_deliveries_state_due", "state", "next_attempt_at"),
        Index("ix_deliveries_chat_bundle", "chat_id", "bundle"),
        # the status page and `loa status`: messages sent per hour and per chat recently,
        # created in the last hour, and the few possible duplicates (migration 0011)
        Index("ix_deliveries_sent_at", "sent_at"),
        Index("ix_deliveries_created_at", "created_at"),
        Index(
            "ix_deliveries_possible_duplicate",
            "possible_duplicate",
            postgresql_where=text("possible_duplicate"),
            sqlite_where=text("possible_duplicate = 1"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    chat_id: Mapped[str] = mapped_column(String(100))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[DeliveryState] = mapped_column(
        Enum(DeliveryState, name="delivery_state", values_callable=lambda e: [m.value for m in e]),
        default=DeliveryState.PENDING,
    )
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    article_version: Mapped[int] = mapped_column(Integer, default=0)
    possible_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    plain_text: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    #: "digest" or "quiet": held for a reader and sent in one summary message at
    #: `next_attempt_at` (see news.bundles); None: a message of its own
    bundle: Mapped[str | None] = mapped_column(String(20))

    article: Mapped[Article] = relationship()


class ChannelStatus(enum.StrEnum):
    """Whether Loa can post to a channel."""

    UNKNOWN = "unknown"
    OK = "ok"
    FAILED = "failed"


class Channel(Base):
    """A configured chat and what Telegram told us about it.

    `configured` is what the config says ('@name' or a numeric id); `chat_id`
    is the numeric id resolved once with getChat (or the new id after a group
    migrated to a supergroup). A FAILED channel gets no more sends until an
    editor fixes it (the bot issue adds the command) or the next start re-checks.
    """

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    configured: Mapped[str] = mapped_column(String(100), unique=True)
    chat_id: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ChannelStatus] = mapped_column(
        Enum(ChannelStatus, name="channel_status", values_callable=lambda e: [m.value for m in e]),
        default=ChannelStatus.UNKNOWN,
    )
    can_post: Mapped[bool | None] = mapped_column(Boolean)
    can_edit: Mapped[bool | None] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None]


class Subscriber(Base):
    """A Telegram reader who talks to the bot in private: language, time zone, delivery habits.

    The private chat's id is the user's id, so deliveries to a reader use
    `str(telegram_user_id)` as their chat. `blocked` is set when Telegram
    answers 403 (the reader blocked the bot): their subscriptions are dropped
    and nothing more is sent until they write to the bot again.
    """

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    #: True once the reader chose with /lang; until then Telegram's language_code decides
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_at: Mapped[datetime | None]
    #: IANA zone for digest and quiet hours; None = the newsroom's `timezone`
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: "HH:MM": subscriptions arrive as one digest a day at that local time; None = one by one
    digest_at: Mapped[str | None] = mapped_column(String(5))
    #: quiet hours [from, to) in local hours 0-23; alerts wait and arrive as one summary
    quiet_from: Mapped[int | None] = mapped_column(Integer)
    quiet_to: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def chat_id(self) -> str:
        """The private chat's id, as deliveries name chats."""
        return str(self.telegram_user_id)


class Subscription(Base):
    """A reader's interest: one category, or keywords matched as whole words without diacritics.

    `key` ("cat:<id>" or "kw:<folded words>") makes the same interest unique
    per reader whichever way it was typed.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("subscriber_id", "key", name="uq_subscriptions_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    #: folded words ("tuyen giao"); None for a category subscription
    keywords: Mapped[str | None] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(220))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[Category | None] = relationship(lazy="joined")


class Event(Base):
    """Something editors should be told about; `notified_at` is set once delivered."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = mapped_column(
        Enum(EventKind, name="event_kind", values_callable=lambda e: [m.value for m in e])
    )
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]


class RenderedFeed(Base):
    """A pre-rendered feed document, so serving a feed is a lookup, not a render."""

    __tablename__ = "rendered_feeds"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column()
    body_gzip: Mapped[bytes | None] = mapped_column()
    etag: Mapped[str] = mapped_column(String(100))
    built_at: Mapped[datetime]


class PauseKind(enum.StrEnum):
    """What an editor can pause: polling a source, posting to a chat, or everything."""

    SOURCE = "source"
    CHAT = "chat"
    ALL = "all"


class Pause(Base):
    """A pause an editor set; kept in the database so it survives restarts.

    `name` is the source name or the configured chat ("" for ALL).
    """

    __tablename__ = "pauses"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_pauses_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PauseKind] = mapped_column(
        Enum(PauseKind, name="pause_kind", values_callable=lambda e: [m.value for m in e])
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    #: the editor's Telegram user id, or None for the CLI and the API
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """One event to one editors' chat: the alerts' own small ledger.

    Claimed and recorded like `Delivery` (pending → sending → sent/failed,
    through the courier and the shared limiter), so an alert is sent once per
    chat however many workers look at it.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "chat_id", name="uq_alert_deliveries_target"),
        Index("ix_alert_deliveries_state_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    chat_id: Mapped[str] = mapped_column(String(100))
    state: Mapped[DeliveryState] = mapped_column(
        Enum(DeliveryState, name="delivery_state", values_callable=lambda e: [m.value for m in e]),
        default=DeliveryState.PENDING,
    )
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]


class Story(Base):
    """One story told by one or more articles (copies from several sources, news.stories).

    `first_article_id` is the copy seen first: the one chats were posted, the
    others are "Also on" links on that post (see StoryCopy).
    """

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_article_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the latest copy joined
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: an editor split this story out of another one
    split_by: Mapped[int | None] = mapped_column(BigInteger)


class ArticleFingerprint(Base):
    """An article's MinHash signature: what a new article is compared with.

    `seen_at` is when the article was first seen (the window is counted from
    it); `source_id` is copied here so candidates from the same source are
    left out without a join.
    """

    __tablename__ = "article_fingerprints"
    __table_args__ = (Index("ix_article_fingerprints_seen", "seen_at"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int | None] = mapped_column(Integer)
    #: the MinHash hash values, little-endian uint32 each
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    seen_at: Mapped[datetime]


class FingerprintBand(Base):
    """One LSH band of a signature: articles sharing a band key are candidate copies.

    The index on (band_key, seen_at) makes "who shares a band with this
    article, within the window" a few index lookups, whatever the table size.
    """

    __tablename__ = "fingerprint_bands"
    __table_args__ = (
        Index("ix_fingerprint_bands_key_seen", "band_key", "seen_at"),
        # an article's bands (an article delete's cascade), and bands past the window
        # (housekeeping prunes them: ops.housekeeping.prune_fingerprints)
        Index("ix_fingerprint_bands_article", "article_id"),
        Index("ix_fingerprint_bands_seen", "seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    #: a signed 64-bit hash of (band number, the band's hash values)
    band_key: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime]


class StoryCopyState(enum.StrEnum):
    """Whether a post shows a copy's "Also on" link yet."""

    PENDING = "pending"  # the post must be (re)rendered to show it
    SHOWN = "shown"  # the post shows it (sent or edited with it)
    DROPPING = "dropping"  # split off by an editor: the post must be edited to drop it
    DROPPED = "dropped"  # no longer shown
    SKIPPED = "skipped"  # not shown: the post was too old to edit, or a digest


class StoryCopy(Base):
    """A copy of a story that a chat got as a link on its existing post, not a new message.

    `delivery_id` is the chat's post of the story; `article_id` the copy whose
    link the post shows ("Also on: …"). One row per (post, copy).
    """

    __tablename__ = "story_copies"
    __table_args__ = (
        UniqueConstraint("delivery_id", "article_id", name="uq_story_copies_target"),
        Index("ix_story_copies_article", "article_id"),
        Index("ix_story_copies_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default=StoryCopyState.PENDING.value)
    #: estimated Jaccard similarity of the copy to the story when it joined
    similarity: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shown_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]

"""Readers' subscriptions: what each one follows, and who should get a new article.

A subscription is a category, everything, or keywords. Keywords match the way
channel routes' `include` words do (news.routing): whole words, without
diacritics, anywhere in the title or summary. Every function here acts on the
subscriptions of one Telegram user id, the one the bot got the update from, so
no reader can change another reader's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow, write_session
from news.errors import LoaError
from news.models import Article, Category, Subscriber, Subscription
from news.readers import ensure_reader
from news.routing import has_word
from news.text import slugify

#: More than this is a script, not a reader; it also bounds the per-article matching work.
MAX_SUBSCRIPTIONS = 50
MAX_KEYWORD_WORDS = 6
MAX_KEYWORD_CHARS = 100
ALL = "all"


class SubscriptionError(LoaError):
    """A subscription request that cannot be honoured; the message says why, for the reader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SubscriptionInfo:
    """One of a reader's subscriptions, as /mysubs shows it."""

    id: int
    key: str
    category: str | None  # the category's name; None for keywords or everything
    keywords: str | None  # folded words

    @property
    def is_all(self) -> bool:
        return self.key == ALL


@dataclass(frozen=True)
class SubscribeResult:
    """The subscription asked for and whether it is new (False: the reader had it already)."""

    subscription: SubscriptionInfo
    created: bool


def fold_keywords(text: str) -> str:
    """Keywords as stored and matched: folded words, single spaces ("Đảng bộ" → "dang bo")."""
    return slugify(text[: MAX_KEYWORD_CHARS * 4]).replace("-", " ")


def _info(row: Subscription) -> SubscriptionInfo:
    name = row.category.name if row.category is not None else None
    return SubscriptionInfo(row.id, row.key, name, row.keywords)


def subscribe(
    factory: sessionmaker[Session],
    user_id: int,
    *,
    category_id: int | None = None,
    keywords: str | None = None,
    language: str = "vi",
) -> SubscribeResult:
    """Follow a category (`category_id`), keywords, or everything (neither given).

    Raises SubscriptionError("too_many" | "bad_keywords" | "no_category").
    """
    if category_id is not None:
        key, folded = f"cat:{category_id}", None
    elif keywords is not None:
        folded = fold_keywords(keywords)
        words = folded.split()
        if not words or len(words) > MAX_KEYWORD_WORDS or len(folded) > MAX_KEYWORD_CHARS:
            raise SubscriptionError("bad_keywords")
        key = f"kw:{folded}"
    else:
        key, folded = ALL, None
    with write_session(factory) as session:
        reader = ensure_reader(session, user_id, language=language)
        existing = session.scalar(
            select(Subscription).where(
                Subscription.subscriber_id == reader.id, Subscription.key == key
            )
        )
        if existing is not None:
            return SubscribeResult(_info(existing), created=False)
        if category_id is not None and session.get(Category, category_id) is None:
            raise SubscriptionError("no_category")
        count = session.scalar(
            select(func.count(Subscription.id)).where(Subscription.subscriber_id == reader.id)
        )
        if (count or 0) >= MAX_SUBSCRIPTIONS:
            raise SubscriptionError("too_many")
        row = Subscription(
            subscriber_id=reader.id, category_id=category_id, keywords=folded, key=key
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # the same tap twice, handled concurrently
            row = session.scalars(
                select(Subscription).where(
                    Subscription.subscriber_id == reader.id, Subscription.key == key
                )
            ).one()
            return SubscribeResult(_info(row), created=False)
        session.flush()
        session.refresh(row)
        return SubscribeResult(_info(row), created=True)


def subscriptions_of(factory: sessionmaker[Session], user_id: int) -> list[SubscriptionInfo]:
    """The reader's subscriptions, oldest first."""
    with factory() as session:
        rows = session.scalars(
            select(Subscription)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(Subscriber.telegram_user_id == user_id)
            .order_by(Subscription.id)
        )
        return [_info(row) for row in rows]


def remove_subscription(factory: sessionmaker[Session], user_id: int, subscription_id: int) -> bool:
    """Drop one subscription, only if it belongs to `user_id`; True when something went."""
    with write_session(factory) as session:
        owner = select(Subscriber.id).where(Subscriber.telegram_user_id == user_id)
        result = session.execute(
            delete(Subscription).where(
                Subscription.id == subscription_id, Subscription.subscriber_id.in_(owner)
            )
        )
        return bool(getattr(result, "rowcount", 0))


def find_subscription(subscriptions: list[SubscriptionInfo], query: str) -> SubscriptionInfo | None:
    """The subscription a reader names in /unsubscribe: by category name or slug, or keywords."""
    wanted = fold_keywords(query)
    if not wanted:
        return None
    for sub in subscriptions:
        if sub.keywords == wanted or (sub.is_all and wanted in ("all", "tat ca")):
            return sub
        if sub.category is not None:
            name = fold_keywords(sub.category)
            if name == wanted or name.startswith(wanted):
                return sub
    return None


@dataclass(frozen=True)
class Recipient:
    """A reader who should get an article: their chat and their delivery habits."""

    chat_id: str
    timezone: str | None
    digest_at: str | None
    quiet_from: int | None
    quiet_to: int | None


def recipients_for(session: Session, article: Article) -> list[Recipient]:
    """Readers (not blocked) with a subscription matching `article`, each once.

    Category and "everything" subscriptions are filtered in SQL; keyword ones
    (few per reader, capped) are matched here with the routes' word rule.
    """
    text = f" {slugify(f'{article.title} {article.summary}').replace('-', ' ')} "
    interest = or_(Subscription.key == ALL, Subscription.keywords.is_not(None))
    if article.category_id is not None:
        interest = or_(interest, Subscription.category_id == article.category_id)
    rows = session.execute(
        select(
            Subscriber.telegram_user_id,
            Subscriber.timezone,
            Subscriber.digest_at,
            Subscriber.quiet_from,
            Subscriber.quiet_to,
            Subscription.keywords,
        )
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscriber.blocked.is_(False), interest)
        .order_by(Subscriber.id)
    )
    found: dict[str, Recipient] = {}
    for user_id, tz, digest_at, quiet_from, quiet_to, keywords in rows:
        if keywords is not None and not has_word(text, keywords):
            continue
        chat = str(user_id)
        found.setdefault(chat, Recipient(chat, tz, digest_at, quiet_from, quiet_to))
    return list(found.values())


def mark_blocked(
    factory: sessionmaker[Session], chat_id: str, *, now: datetime | None = None
) -> bool:
    """The reader blocked the bot (403): drop their subscriptions, remember when.

    True when `chat_id` is a reader's chat.
    """
    if not chat_id.isdigit():
        return False
    with write_session(factory) as session:
        reader = session.scalar(
            select(Subscriber).where(Subscriber.telegram_user_id == int(chat_id))
        )
        if reader is None:
            return False
        if not reader.blocked:
            reader.blocked = True
            reader.blocked_at = now or utcnow()
        session.execute(delete(Subscription).where(Subscription.subscriber_id == reader.id))
        return True


def blocked_count(session: Session) -> int:
    """Readers who blocked the bot (shown by `loa status`)."""
    return session.scalar(select(func.count(Subscriber.id)).where(Subscriber.blocked)) or 0

"""48 hours of demo-like history for the status page: sources, articles, deliveries, faults.

Used by the page's tests and by `make screenshot` (docs/status.png), so the
picture in the README shows what the tests check. Rows are written with the
ORM (both SQLite and PostgreSQL); the pattern is deterministic (no random),
busier by day than by night in Vietnam, with one unhealthy source, one failed
channel, a paused chat, and failures with Telegram's own reasons.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow
from news.models import (
    Article,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryState,
    Pause,
    PauseKind,
    Source,
    SourceState,
    Subscriber,
)

SOURCES = ("baochinhphu", "tuyengiao-tw", "vnexpress-thoisu", "tuoitre-xahoi")
CHANNELS = ("@loa_demo", "@loa_demo_thoi_su", "@loa_demo_kinh_te")
READERS = tuple(str(700_000_000 + i) for i in range(40))
TITLES = (
    "Thủ tướng chủ trì phiên họp Chính phủ thường kỳ tháng 11",
    "Hà Nội mở thêm 3 tuyến buýt điện nối các khu đô thị mới",
    "Giá xăng dầu giảm nhẹ từ 15 giờ chiều nay",
    "Công tác tuyên giáo góp phần tạo đồng thuận xã hội",
    "Đồng bằng sông Cửu Long chủ động ứng phó triều cường",
    "Xuất khẩu nông sản 11 tháng vượt 57 tỉ USD",
)
REASONS = (
    "Forbidden: bot was blocked by the user",
    "Bad Request: chat not found",
    "Too Many Requests: retry after 31 (gave up after 8 attempts)",
)
#: articles found per local hour (Asia/Ho_Chi_Minh): quiet at night, busy in the morning
_PER_HOUR = (1, 0, 0, 0, 1, 2, 4, 6, 7, 6, 5, 5, 4, 5, 6, 6, 5, 4, 3, 4, 3, 2, 2, 1)


def seed_status_demo(
    factory: sessionmaker[Session], *, now: datetime | None = None, hostile: str = ""
) -> None:
    """Fill an empty, migrated database with 48 h of history ending at `now`.

    `hostile` (e.g. ``<script>alert(1)</script>``) is appended to one source's
    name, one chat, one title and one failure reason, to prove they are escaped.
    """
    now = now or utcnow()
    with factory.begin() as session:
        sources = [
            Source(name=name + (hostile if i == 3 else ""), kind="html", url=f"https://{name}.vn/")
            for i, name in enumerate(SOURCES)
        ]
        session.add_all(sources)
        session.flush()
        for i, source in enumerate(sources):
            broken = i == 2
            session.add(
                SourceState(
                    source_id=source.id,
                    last_polled_at=now - timedelta(seconds=40 + 25 * i),
                    last_success_at=now - (timedelta(hours=3) if broken else timedelta(seconds=40)),
                    consecutive_failures=9 if broken else 0,
                    last_error="ReadTimeout: no answer within 20 s" if broken else None,
                    polls=2880,
                    healthy=not broken,
                    unhealthy_since=now - timedelta(hours=2, minutes=30) if broken else None,
                )
            )
        channels = list(CHANNELS) + ([f"@x{hostile}"] if hostile else [])
        for i, chat in enumerate(channels):
            failed = i == 2
            session.add(
                Channel(
                    configured=chat,
                    chat_id=str(-1001000000000 - i),
                    status=ChannelStatus.FAILED if failed else ChannelStatus.OK,
                    can_post=not failed,
                    can_edit=not failed,
                    last_error="Forbidden: bot is not a member of the channel chat"
                    if failed
                    else None,
                    checked_at=now - timedelta(hours=1),
                )
            )
        session.add(
            Pause(kind=PauseKind.CHAT, name=CHANNELS[1], created_at=now - timedelta(hours=5))
        )
        session.add_all(
            Subscriber(telegram_user_id=int(reader), created_at=now - timedelta(days=3))
            for reader in READERS
        )
        _history(session, sources, now, hostile)


def _history(session: Session, sources: list[Source], now: datetime, hostile: str) -> None:
    """Articles hour by hour and their deliveries: sent, pending, failed."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=47)
    n = 0
    for hour in range(48):
        at = start + timedelta(hours=hour)
        local_hour = (at.hour + 7) % 24
        count = _PER_HOUR[local_hour] + (hour % 3 == 0)
        for k in range(count):
            seen = at + timedelta(minutes=(60 * k + 7 * (hour % 5)) // (count + 1))
            if seen > now:
                continue
            n += 1
            title = TITLES[n % len(TITLES)] + f" ({n})"
            if hostile and n == 5:
                title += hostile
            article = Article(
                source_id=sources[n % len(sources)].id,
                identity=f"tag:demo,2026:{n}",
                url=f"https://demo.vn/bai-{n}.html",
                canonical_url=f"https://demo.vn/bai-{n}.html",
                title=title,
                content_hash=f"{n:064x}",
                first_seen_at=seen,
                updated_at=seen,
                published_at=seen,
            )
            session.add(article)
            session.flush()
            recent = now - seen < timedelta(minutes=6)
            targets = [CHANNELS[0], CHANNELS[1 + n % 2]] + [
                READERS[(n * 7 + j) % len(READERS)] for j in range(n % 4)
            ]
            for j, chat in enumerate(targets):
                state = DeliveryState.SENT
                error = None
                if chat == CHANNELS[1] and now - seen < timedelta(hours=5):
                    state = DeliveryState.PENDING  # the paused chat's rows wait
                elif chat == CHANNELS[2] and now - seen < timedelta(hours=1):
                    state, error = DeliveryState.FAILED, "Forbidden: bot is not a member"
                elif recent:
                    state = DeliveryState.PENDING
                elif j >= 2 and n % 11 == 0:
                    state, error = DeliveryState.FAILED, REASONS[n % len(REASONS)]
                    if hostile and n % 2 == 0:
                        error += hostile
                sent = seen + timedelta(seconds=2 + 3 * j)
                session.add(
                    Delivery(
                        article_id=article.id,
                        chat_id=chat,
                        state=state,
                        attempts=8 if state is DeliveryState.FAILED else 1,
                        last_error=error,
                        created_at=seen,
                        claimed_at=sent if state is not DeliveryState.PENDING else None,
                        sent_at=sent if state is DeliveryState.SENT else None,
                        message_ids=[n * 10 + j] if state is DeliveryState.SENT else [],
                    )
                )

"""An outbox that cannot be written (disk full, a file where the directory should be).

Nothing is marked sent, the reason is on the row, and the row stays due however
many times it is tried: a dry run waits for space, it never fails a post for it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bot.publisher import Publisher, PublishStatus
from bot.senders import OutboxSender
from config.settings import Settings
from news import ledger
from news.db import utcnow
from news.models import Delivery, DeliveryState
from tests.helpers import extracted, store_article


def test_an_unwritable_outbox_retries_forever_and_marks_nothing_sent(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the outbox directory should be", encoding="utf-8")
    publisher = Publisher(factory, OutboxSender(blocker / "outbox"), settings)
    article_id = store_article(factory, extracted(41)).article_id
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, ["@kenh_dry"])
    now = utcnow()
    for _ in range(settings.publish.max_attempts + 2):
        now += timedelta(hours=1)  # past any backoff
        outcome = publisher.publish(delivery_id, now=now)
        assert outcome.status is PublishStatus.RETRY, outcome
        assert outcome.error is not None and "outbox: cannot write" in outcome.error
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.state is DeliveryState.PENDING and row.message_ids == []
        assert row.last_error is not None and "Not a directory" in row.last_error
    blocker.unlink()
    blocker.mkdir()
    assert publisher.publish(delivery_id, now=now + timedelta(hours=1)).status is PublishStatus.SENT
    assert len(list((blocker / "outbox").glob("delivery-*.json"))) == 1

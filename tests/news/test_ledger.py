"""The delivery ledger: planned once, claimed once, recovered when stuck."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from news import ledger
from news.db import utcnow
from news.models import Article, Delivery, DeliveryState


def make_article(factory: sessionmaker[Session], n: int = 1) -> int:
    with factory.begin() as session:
        article = Article(
            identity=f"portal.test/tin-tuc/a-{n}.html",
            url=f"http://portal.test/tin-tuc/a-{n}.html",
            canonical_url=f"http://portal.test/tin-tuc/a-{n}.html",
            title=f"Tin {n}",
            content_hash="x" * 64,
        )
        session.add(article)
        session.flush()
        return article.id


def test_planning_twice_creates_one_row_per_chat(factory: sessionmaker[Session]) -> None:
    article_id = make_article(factory)
    with factory.begin() as session:
        first = ledger.plan_deliveries(session, article_id, ["@a", "@b", "@a"])
    with factory.begin() as session:
        second = ledger.plan_deliveries(session, article_id, ["@a", "@b"])
    assert len(first) == 2
    assert first == second
    with factory() as session:
        assert session.query(Delivery).count() == 2


def test_a_sent_row_is_never_claimed_again(factory: sessionmaker[Session]) -> None:
    article_id = make_article(factory)
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, ["@a"])
    claimed = ledger.claim(factory, delivery_id)
    assert claimed is not None and claimed.attempts == 1
    assert ledger.claim(factory, delivery_id) is None  # in flight
    ledger.mark_sent(factory, delivery_id, [42])
    assert ledger.claim(factory, delivery_id, now=utcnow() + timedelta(days=1)) is None
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.state is DeliveryState.SENT
        assert row.message_ids == [42]
        assert ledger.due_delivery_ids(session) == []
    with factory.begin() as session:
        assert ledger.plan_deliveries(session, article_id, ["@a"]) == []


def test_concurrent_claims_hand_each_row_to_exactly_one_worker(
    factory: sessionmaker[Session],
) -> None:
    ids: list[int] = []
    for n in range(30):
        article_id = make_article(factory, n)
        with factory.begin() as session:
            ids += ledger.plan_deliveries(session, article_id, ["@a"])
    wins: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        for delivery_id in ids:
            if ledger.claim(factory, delivery_id) is not None:
                with lock:
                    wins[delivery_id] += 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(ids)
    assert set(wins.values()) == {1}


def test_stuck_sending_rows_become_due_again(factory: sessionmaker[Session]) -> None:
    article_id = make_article(factory)
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, ["@a"])
    assert ledger.claim(factory, delivery_id) is not None
    later = utcnow() + ledger.DEFAULT_STUCK_AFTER + timedelta(seconds=1)
    with factory() as session:
        assert ledger.due_delivery_ids(session) == []
        assert ledger.due_delivery_ids(session, now=later) == [delivery_id]
    again = ledger.claim(factory, delivery_id, now=later)
    assert again is not None and again.attempts == 2


def test_retry_waits_until_not_before(factory: sessionmaker[Session]) -> None:
    article_id = make_article(factory)
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, ["@a"])
    assert ledger.claim(factory, delivery_id) is not None
    not_before = utcnow() + timedelta(minutes=5)
    ledger.mark_retry(factory, delivery_id, "HTTP 502", not_before=not_before)
    assert ledger.claim(factory, delivery_id) is None
    claimed = ledger.claim(factory, delivery_id, now=not_before)
    assert claimed is not None
    ledger.mark_failed(factory, delivery_id, "chat not found")
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.state is DeliveryState.FAILED and row.last_error == "chat not found"

"""A message that is out must be recorded even if the database drops for a moment.

Giving up would leave its row in `sending`, and the stuck path would send it
again: a duplicate. PostgreSQL is cut off through a loopback proxy (its open
connections reset, new ones refused) and let back after a second; SQLite's
file is locked exclusively for a second.
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from news import ledger
from news.db import make_engine, make_session_factory
from news.models import Delivery, DeliveryState
from tests.faults.harness import TcpProxy, sqlite_locked
from tests.news.test_ledger import make_article

OUTAGE_SECONDS = 1.0


def test_a_sent_message_is_recorded_after_a_database_outage(
    factory: sessionmaker[Session], database_url: str
) -> None:
    article_id = make_article(factory)
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, ["@a"])
    if database_url.startswith("postgresql"):
        url = make_url(database_url)
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
        engine = make_engine(proxy.url(database_url))
        try:
            through = make_session_factory(engine)
            assert ledger.claim(through, delivery_id) is not None  # a pooled connection now
            proxy.cut()  # the server "goes away" between the send and its record
            threading.Timer(OUTAGE_SECONDS, proxy.restore).start()
            ledger.mark_sent(through, delivery_id, [42], methods=["sendMessage"])
        finally:
            engine.dispose()
            proxy.close()
    else:
        assert ledger.claim(factory, delivery_id) is not None
        release = threading.Event()

        def hold() -> None:
            with sqlite_locked(database_url):
                locked.set()
                release.wait(OUTAGE_SECONDS)

        locked = threading.Event()
        holder = threading.Thread(target=hold)
        holder.start()
        locked.wait(5)
        ledger.mark_sent(factory, delivery_id, [42], methods=["sendMessage"])
        holder.join()
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.state is DeliveryState.SENT
        assert row.message_ids == [42]
        assert not row.possible_duplicate

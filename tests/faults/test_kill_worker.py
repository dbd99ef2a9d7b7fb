"""Scenario 1: ``kill -9`` of the worker's main process in the middle of a fan-out.

The Celery main process dies with its tasks unacknowledged (Redis would hand
them out again only after the visibility timeout, an hour) and its pool
processes orphaned. After a restart, the reconciler re-sends from the ledger:
nothing is lost, and only a message in flight at the kill (its row left in
``sending``) can arrive twice, flagged ``possible_duplicate``. In dry-run mode
the outbox file of a delivery has a fixed name, so a retry rewrites it: no
duplicate at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack

import pytest
from sqlalchemy import select

from news.models import Article, Delivery, DeliveryState
from telegram_emulator import Emulator
from tests.faults.harness import ARTICLE_ID, Newsroom, kill_all, wait_for
from tests.faults.report import record
from tests.faults.sizes import KILL_WORKER, KillWorker, params

ORPHAN_GRACE = 5.0


def _flagged_pairs(room: Newsroom) -> set[tuple[int, str]]:
    """(cms article id, chat) of every row the ledger flagged possible_duplicate."""
    with room.factory() as session:
        rows = session.execute(
            select(Article.url, Delivery.chat_id)
            .join(Article, Article.id == Delivery.article_id)
            .where(Delivery.possible_duplicate.is_(True))
        ).all()
    pairs = set()
    for url, chat in rows:
        found = ARTICLE_ID.search(url)
        assert found, url
        pairs.add((int(found.group(1)), chat))
    return pairs


def _sending(room: Newsroom) -> int:
    return room.ledger().states.get(DeliveryState.SENDING.value, 0)


#: `make test` kills a worker posting to the Bot API; `make faults` the dry-run one too.
CASES = [
    pytest.param(size.values[0], dry_run, id=f"{size.id}-{mode}", marks=size.marks)
    for size in params(KILL_WORKER)
    for dry_run, mode in ((False, "telegram"), (True, "dry-run"))
    if size.id == "long" or not dry_run
]


@pytest.mark.parametrize(("size", "dry_run"), CASES)
def test_kill_9_of_the_worker_main_process_mid_fanout(
    newsroom_factory: Callable[..., Newsroom],
    telegram_emulator: Emulator,
    size: KillWorker,
    dry_run: bool,
) -> None:
    room = newsroom_factory(
        emulator=None if dry_run else telegram_emulator,
        chats=size.chats,
        articles=1,
        publish={"global_per_second": size.per_second, "stuck_after_seconds": size.stuck_after},
    )
    worker = room.worker(concurrency=2)
    room.poll()
    wait_for(lambda: room.delivered() >= size.chats // 3, timeout=90, what="a third delivered")
    orphans = worker.kill9()
    killed_at = time.monotonic()
    at_kill = room.delivered()
    # The orphaned pool processes finish (or not) on their own, as after an OOM kill.
    deadline = time.monotonic() + ORPHAN_GRACE
    while any(p.is_running() and p.status() != "zombie" for p in orphans):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    left_running = sum(1 for p in orphans if p.is_running() and p.status() != "zombie")
    kill_all(orphans)
    in_flight = _sending(room)  # rows the dead worker held: the only ones that may repeat

    with ExitStack() as stack:
        room.worker(concurrency=2)
        if size.reconcile_every < 60:
            stack.enter_context(room.reconciler(size.reconcile_every))
        else:
            room.start("beat")  # beat's own schedule: a reconcile at start and every minute
        try:
            wait_for(
                lambda: room.delivered() == size.chats and _sending(room) == 0,
                timeout=size.recovery_timeout,
                what="every channel served",
            )
        except AssertionError:
            pass  # the row below shows what was missing; the asserts say why
        recovery = time.monotonic() - killed_at
    tally = room.tally()
    view = room.ledger()
    mode = "dry-run outbox" if dry_run else "Bot API"
    record(
        tally.row(
            f"1 kill -9 worker main ({mode}, {size.chats} chats)",
            recovery,
            f"{at_kill} sent before the kill, {in_flight} in flight, "
            f"{view.possible_duplicates} flagged possible_duplicate, "
            f"{left_running} orphans still running {ORPHAN_GRACE:.0f} s after",
        )
    )
    assert at_kill < size.chats, "the fan-out finished before the kill: slow it down"
    assert tally.lost == 0, tally
    assert view.states == {"sent": size.chats}, view
    if dry_run:
        assert tally.duplicated == 0, tally.duplicates
    else:
        assert tally.duplicated <= in_flight, (tally.duplicates, in_flight)
        assert set(tally.duplicates) <= _flagged_pairs(room), "a duplicate not flagged"

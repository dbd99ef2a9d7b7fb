"""Scenario 3: the database unreachable in the middle of a fan-out.

PostgreSQL: the Loa processes reach the server through a loopback TCP proxy
(:class:`~tests.faults.harness.TcpProxy`); the fault refuses new connections and
resets the open ones, as a stopped server or a closed port would, without
touching the machine's shared PostgreSQL. SQLite has no server or port: the
analogue is a process holding an exclusive lock on the file, so every writer
waits (``busy_timeout``) and fails once that runs out.

Tasks that meet the outage fail and are tried again (backoff, then the
reconciler from the ledger); the worker must not exit, and nothing is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

import pytest
from sqlalchemy.engine import make_url

from telegram_emulator import Emulator
from tests.faults.harness import Newsroom, TcpProxy, sqlite_locked, wait_for
from tests.faults.report import record
from tests.faults.sizes import DATABASE_OUTAGE, DatabaseOutage, params


@pytest.mark.parametrize("size", params(DATABASE_OUTAGE))
def test_database_unreachable_during_a_fanout(
    newsroom_factory: Callable[..., Newsroom],
    telegram_emulator: Emulator,
    database_url: str,
    size: DatabaseOutage,
) -> None:
    with ExitStack() as stack:
        postgres = database_url.startswith("postgresql")
        proxy: TcpProxy | None = None
        if postgres:
            url = make_url(database_url)
            proxy = stack.enter_context(_proxy(url.host or "127.0.0.1", url.port or 5432))
        room = newsroom_factory(
            emulator=telegram_emulator,
            chats=size.chats,
            articles=1,
            process_database_url=proxy.url(database_url) if proxy else None,
            publish={"global_per_second": size.per_second, "stuck_after_seconds": size.stuck_after},
        )
        worker = room.worker(concurrency=2)
        if size.reconcile_every < 60:
            stack.enter_context(room.reconciler(size.reconcile_every))
        else:
            room.start("beat")
        room.poll()
        wait_for(lambda: room.delivered() >= 2, timeout=90, what="the fan-out under way")
        outage: AbstractContextManager[None] = (
            _cut(proxy) if proxy is not None else sqlite_locked(database_url)
        )
        with outage:
            at_cut = room.delivered()
            time.sleep(size.outage)
            during = room.delivered() - at_cut
        restored_at = time.monotonic()
        try:
            wait_for(
                lambda: room.delivered() == size.chats and room.ledger().settled == size.chats,
                timeout=size.recovery_timeout,
                what="every delivery after the database came back",
            )
        except AssertionError:
            pass  # the row below shows what was missing
        recovery = time.monotonic() - restored_at
        tally = room.tally()
        view = room.ledger()
        how = "proxy cut" if postgres else "file locked"
        record(
            tally.row(
                f"3 database unreachable {size.outage:.0f} s ({how}, {size.chats} chats)",
                recovery,
                f"{at_cut} sent before the outage, {during} during it; "
                f"{view.possible_duplicates} flagged possible_duplicate; worker "
                f"{'alive' if worker.alive() else 'exited'}",
            )
        )
        assert at_cut < size.chats, "the fan-out finished before the outage: slow it down"
        assert worker.alive(), worker.output()[-3000:]
        assert tally.lost == 0, tally
        assert tally.duplicated == 0, tally.duplicates
        assert view.states == {"sent": size.chats}, view


@contextmanager
def _proxy(host: str, port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(host, port).start()
    try:
        yield proxy
    finally:
        proxy.close()


@contextmanager
def _cut(proxy: TcpProxy) -> Iterator[None]:
    proxy.cut()
    try:
        yield
    finally:
        proxy.restore()

"""Scenario 7: SIGTERM to `loa run` in the middle of a fan-out, then a start again.

`loa run` supervises the worker, beat, HTTP server and bot. SIGTERM (what
systemd, Docker and Ctrl-C's cousin send) must stop all of them within 15 s
with exit code 0, and the next start must deliver the rest of the fan-out:
nothing lost, nothing sent twice.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import psutil
import pytest

from telegram_emulator import Emulator
from tests.conftest import free_port
from tests.faults.harness import LoaProcess, Newsroom, wait_for
from tests.faults.report import record
from tests.faults.sizes import STOP_RUN, StopRun, params


def _stop(run: LoaProcess, within: float) -> tuple[float, int | None, list[str]]:
    """SIGTERM `loa run`; (seconds to exit, exit code, descendants still alive after)."""
    family = run.children()
    started = time.monotonic()
    run.signal(signal.SIGTERM)
    try:
        code: int | None = run.wait(timeout=within + 30)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - started
    time.sleep(0.5)
    left = []
    for proc in family:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(" ".join(proc.cmdline()))
        except psutil.Error:
            pass
    run.stop(timeout=1)  # whatever is left, so the next start is clean
    return took, code, left


@pytest.mark.parametrize("size", params(STOP_RUN))
def test_sigterm_to_loa_run_mid_fanout_then_start_again(
    newsroom_factory: Callable[..., Newsroom], telegram_emulator: Emulator, size: StopRun
) -> None:
    room = newsroom_factory(
        emulator=telegram_emulator,
        chats=size.chats,
        articles=1,
        publish={"global_per_second": size.per_second, "stuck_after_seconds": 5},
        env={"LOA_HTTP_PORT": str(free_port())},
    )
    telegram_emulator.set_limits(global_per_second=max(size.per_second, 30))
    first = room.start("run")
    # Stop early in the fan-out: the worker's warm shutdown finishes the publish batches
    # it is running (two at --concurrency 2), so the stop must land before the first of
    # them ends, or a third batch starts and the whole fan-out is sent before the stop.
    wait_for(lambda: room.delivered() >= size.chats // 10, timeout=120, what="a tenth delivered")
    took, code, left = _stop(first, size.stop_within)
    at_stop = room.delivered()
    view_at_stop = room.ledger()

    second = room.start("run")
    restarted = time.monotonic()
    try:
        wait_for(
            lambda: room.delivered() == size.chats and room.ledger().settled == size.chats,
            timeout=size.recovery_timeout,
            what="the rest delivered after the next start",
        )
    except AssertionError:
        pass  # the row below shows what was missing
    recovery = time.monotonic() - restarted
    second_took, second_code, _ = _stop(second, size.stop_within)
    tally = room.tally()
    view = room.ledger()
    record(
        tally.row(
            f"7 SIGTERM to loa run mid fan-out ({size.chats} chats)",
            recovery,
            f"stopped in {took:.1f} s (exit {code}), {at_stop} sent before, "
            f"{view_at_stop.states.get('sending', 0)} left in sending; "
            f"{view.possible_duplicates} flagged possible_duplicate",
        )
    )
    assert at_stop < size.chats, "the fan-out finished before the stop: slow it down"
    assert code == 0 and second_code == 0, first.output()[-3000:]
    assert took <= size.stop_within and second_took <= size.stop_within, (took, second_took)
    assert left == [], left
    assert tally.lost == 0, tally
    assert tally.duplicated == 0, tally.duplicates
    assert view.states == {"sent": size.chats}, view

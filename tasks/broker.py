"""The Redis broker's one workaround: a lost connection must not stop the worker.

When Redis goes away while tasks are unacknowledged (``task_acks_late``: every
running or reserved task), Celery closes the consumer's channel, and kombu's
Redis transport (5.7) tries to put those tasks back in the queue over the
connection that just died; building a client for it fails with
``AttributeError: 'NoneType' object has no attribute 'hostname'``, which
Celery reports as an unrecoverable error: the worker exits instead of
reconnecting. The fault suite's Redis scenario (tests/faults) caught it.

The same happens when a pool process finishes a task after the reconnect and
its acknowledgement goes to the old, closed channel. Nothing is lost by not
restoring or acknowledging then: the tasks stay in Redis's unacked set (handed
out again after the visibility timeout; every task is idempotent) or are gone
with an emptied Redis, and the ledger in the database is what the reconciler
re-enqueues from. So a failure on a dead channel is logged, and the worker
reconnects.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)


class TolerantQoS(kombu_redis.QoS):
    """kombu's Redis QoS whose restore of unacked tasks survives a dead connection."""

    def restore_unacked(self, client: Any = None) -> None:
        try:
            super().restore_unacked(client)  # type: ignore[no-untyped-call]
        except (AttributeError, redis.RedisError, OSError) as exc:
            count = len(self._delivered)
            self._delivered.clear()
            log.warning(
                "broker connection lost: %d unacknowledged task(s) not put back (%s); "
                "the reconciler re-enqueues what the database says is due",
                count,
                exc.__class__.__name__,
            )

    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)  # type: ignore[no-untyped-call]
        except AttributeError as exc:  # the channel's connection is gone (see above)
            self._forget(delivery_tag, exc)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)  # type: ignore[no-untyped-call]
        except AttributeError as exc:
            self._forget(delivery_tag, exc)

    def _forget(self, delivery_tag: Any, exc: Exception) -> None:
        """Drop a task acknowledged on a dead channel from this channel's books."""
        self._delivered.pop(delivery_tag, None)
        log.warning(
            "task acknowledged on a closed broker channel (%s); Redis may hand it out "
            "again after the visibility timeout, which an idempotent task allows",
            exc.__class__.__name__,
        )


def install() -> None:
    """Make kombu's Redis channels use :class:`TolerantQoS` (idempotent)."""
    kombu_redis.Channel.QoS = TolerantQoS

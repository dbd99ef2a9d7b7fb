"""What ``GET /metrics`` answers: every process's series plus gauges measured at scrape time.

In multiprocess mode (see :mod:`ops.metrics`) the values every Loa process
wrote under the metrics directory are added up by prometheus-client's
``MultiProcessCollector``; otherwise this process's own series are served.
Queue depth is not a series anyone records: it is measured while Prometheus
asks (the Celery queue's length in Redis, the pending rows in the database),
so it is right even when every worker is down.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from news.models import Delivery, DeliveryState
from ops.metrics import metrics, multiprocess_dir

log = logging.getLogger(__name__)
#: Celery's default queue; kombu keeps priority steps as sibling lists ("celery\x06\x163").
CELERY_QUEUE = "celery"
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)
#: kombu's hash of messages a worker holds but has not acknowledged (incl. countdowns).
UNACKED_KEY = "unacked"
CONTENT_TYPE = CONTENT_TYPE_LATEST


class QueueDepthCollector(Collector):
    """``loa_queue_depth{queue}`` and ``loa_dependency_up{dependency}``, measured per scrape."""

    def __init__(self, factory: sessionmaker[Session], client: redis.Redis | None):
        self.factory = factory
        self.client = client

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "loa_queue_depth",
            "Work waiting: celery (tasks queued in Redis), celery_unacked (taken by a "
            "worker or waiting for a countdown), deliveries_pending (ledger rows not sent yet)",
            labels=["queue"],
        )
        up = GaugeMetricFamily(
            "loa_dependency_up",
            "Whether the scrape reached a dependency (1) or not (0)",
            labels=["dependency"],
        )
        try:
            with self.factory() as session:
                pending = session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.state == DeliveryState.PENDING)
                )
            depth.add_metric(["deliveries_pending"], float(pending or 0))
            up.add_metric(["database"], 1.0)
        except Exception as exc:  # noqa: BLE001 - a scrape reports, it does not fail
            log.debug("metrics: database not reachable: %s", exc)
            up.add_metric(["database"], 0.0)
        if self.client is not None:
            try:
                queued, unacked = self._celery_depth(self.client)
                depth.add_metric([CELERY_QUEUE], float(queued))
                depth.add_metric(["celery_unacked"], float(unacked))
                up.add_metric(["redis"], 1.0)
            except Exception as exc:  # noqa: BLE001 - a scrape reports, it does not fail
                log.debug("metrics: Redis not reachable: %s", exc)
                up.add_metric(["redis"], 0.0)
        yield depth
        yield up

    @staticmethod
    def _celery_depth(client: redis.Redis) -> tuple[int, int]:
        """Messages waiting in the Celery queue (all priority steps), and unacknowledged ones."""
        names = [CELERY_QUEUE] + [
            f"{CELERY_QUEUE}{_PRIORITY_SEP}{step}" for step in _PRIORITY_STEPS if step
        ]
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        pipe.hlen(UNACKED_KEY)
        *lengths, unacked = pipe.execute()
        return sum(int(n) for n in lengths), int(unacked)


class _Chain(Collector):
    """Several collectors served as one registry's contents."""

    def __init__(self, parts: Iterable[Collector]):
        self.parts = list(parts)

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()


def render_metrics(factory: sessionmaker[Session], client: redis.Redis | None) -> bytes:
    """The text exposition of every Loa series (all processes') and the scrape-time gauges."""
    registry = CollectorRegistry()
    directory = multiprocess_dir()
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    else:
        registry.register(_Chain([metrics().registry]))
    registry.register(QueueDepthCollector(factory, client))
    return generate_latest(registry)

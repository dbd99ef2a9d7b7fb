"""The operator's probes: ``/healthz`` (alive), ``/readyz`` (ready) and ``/metrics`` (Prometheus).

``/healthz`` touches nothing but this process, so a liveness probe never
restarts a healthy server because the database blipped. ``/readyz`` checks
what serving and enqueueing need (:mod:`ops.readiness`) and answers 503 with
the reason. ``/metrics`` is the text exposition of every Loa process's
series (:mod:`ops.scrape`). None of them needs a login and none shows a
secret, a chat id or a URL; a reverse proxy may still restrict ``/metrics``
to the Prometheus server's address.
"""

from __future__ import annotations

import threading

import redis
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config.settings import Settings
from ops.metrics import metrics
from ops.readiness import readiness
from ops.scrape import CONTENT_TYPE, render_metrics

#: Seconds a probe waits for Redis: a probe that hangs is worse than one that says no.
REDIS_TIMEOUT = 2.0


class _RedisClient:
    """The probes' Redis client, made on first use (none without REDIS_URL)."""

    def __init__(self, url: str | None):
        self.url = url
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    def get(self) -> redis.Redis | None:
        if not self.url:
            return None
        with self._lock:
            if self._client is None:
                from tasks.runtime import redis_client_url

                self._client = redis.Redis.from_url(
                    redis_client_url(self.url),
                    socket_connect_timeout=REDIS_TIMEOUT,
                    socket_timeout=REDIS_TIMEOUT,
                )
            return self._client


def probe_routes(settings: Settings, factory: sessionmaker[Session]) -> list[Route]:
    """The three routes, mounted by :func:`feeds.server.create_app`."""
    client = _RedisClient(settings.redis_url)
    metrics()  # this process's series exist (at 0) from the start, not from the first event

    async def healthz(request: Request) -> Response:
        """Liveness: the process answers. No database, no Redis."""
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    async def readyz(request: Request) -> Response:
        """Readiness: database reachable, schema at head, Redis reachable; else 503 and why."""
        result = await run_in_threadpool(readiness, factory, client.get())
        return JSONResponse(
            result.as_json(),
            status_code=200 if result.ready else 503,
            headers={"Cache-Control": "no-store"},
        )

    async def prometheus(request: Request) -> Response:
        """Every Loa process's series in Prometheus' text format."""
        body = await run_in_threadpool(render_metrics, factory, client.get())
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", prometheus, methods=["GET", "HEAD"]),
    ]

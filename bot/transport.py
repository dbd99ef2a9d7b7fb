"""python-telegram-bot's HTTP transport on urllib3: the same Bot API calls for less CPU.

PTB's default transport (httpx on asyncio) costs about 2 ms of CPU per
request on our two-core machine; urllib3's pooled keep-alive connections about
0.3 ms. A fan-out at a paid broadcast's 1,000 messages/s spends its whole
budget in that difference (docs: bench/publish.py's table), so the worker's
sender plugs this :class:`~telegram.request.BaseRequest` into its `Bot`.
Everything above the wire stays PTB's: parameters, answers, and the errors it
raises (429 RetryAfter, 403 Forbidden, migrations), which bot.senders maps.

urllib3 is blocking, so each request runs on a small thread pool while the
event loop waits for it; the pool is as wide as the connection pool. A caller
that drives PTB's coroutine on its own thread (bot.senders, once the bot is
initialised) sets :attr:`Urllib3Request.inline` and the request is sent right
there: no event loop, no thread hand-offs.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import urllib3
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

#: PTB's own defaults (seconds): HTTPXRequest's connect, read and write timeouts, pool wait.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
POOL_TIMEOUT = 30.0


class Urllib3Request(BaseRequest):
    """A PTB request backend that sends on urllib3 from a thread pool (see the module doc)."""

    def __init__(self, *, connections: int = 16):
        self._connections = connections
        self._pool: urllib3.PoolManager | None = None
        self._threads: ThreadPoolExecutor | None = None
        #: ``inline.on`` set by a thread: its requests block that thread, not a pool's.
        self.inline = threading.local()

    @property
    def read_timeout(self) -> float | None:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._pool is None:
            # retries=False: a failed request is PTB's (and the courier's) to judge,
            # never silently sent twice by the transport.
            self._pool = urllib3.PoolManager(maxsize=self._connections, block=True, retries=False)
            self._threads = ThreadPoolExecutor(
                self._connections, thread_name_prefix="telegram-http"
            )

    async def shutdown(self) -> None:
        pool, threads = self._pool, self._threads
        self._pool, self._threads = None, None
        if threads is not None:
            threads.shutdown(wait=True)
        if pool is not None:
            pool.clear()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request on a pool thread; urllib3 errors become PTB TimedOut/NetworkError."""
        pool, threads = self._pool, self._threads
        if pool is None or threads is None:
            raise RuntimeError("This Urllib3Request is not initialized!")
        timeout = urllib3.Timeout(
            connect=_seconds(connect_timeout, CONNECT_TIMEOUT),
            # urllib3 has one timeout per socket operation after connecting:
            # the longer of PTB's read and write timeouts.
            read=max(_seconds(read_timeout, READ_TIMEOUT), _seconds(write_timeout, WRITE_TIMEOUT)),
        )
        call = partial(
            _request, pool, url, method, request_data, timeout, _seconds(pool_timeout, POOL_TIMEOUT)
        )
        if getattr(self.inline, "on", False):
            return call()
        return await asyncio.get_running_loop().run_in_executor(threads, call)


def _seconds(value: Any, default: float) -> float:
    """A timeout PTB passed (a number or None), or ours when it left it to the backend."""
    if isinstance(value, int | float):
        return float(value)
    return default


def _request(
    pool: urllib3.PoolManager,
    url: str,
    method: str,
    request_data: RequestData | None,
    timeout: urllib3.Timeout,
    pool_timeout: float,
) -> tuple[int, bytes]:
    """The blocking request, as HTTPXRequest sends it: a form body, or multipart with files."""
    fields: dict[str, Any] | None = None
    multipart = False
    if request_data is not None:
        fields = dict(request_data.json_parameters)
        if request_data.contains_files:
            fields.update(request_data.multipart_data)
            multipart = True
    try:
        response = pool.request(
            method,
            url,
            fields=fields,
            encode_multipart=multipart,
            headers={"User-Agent": BaseRequest.USER_AGENT},
            timeout=timeout,
            pool_timeout=pool_timeout,
        )
    except urllib3.exceptions.TimeoutError as err:
        raise TimedOut from err
    except urllib3.exceptions.EmptyPoolError as err:
        raise TimedOut("Pool timeout: the request was not sent to Telegram") from err
    except urllib3.exceptions.HTTPError as err:
        raise NetworkError(f"urllib3.{err.__class__.__name__}: {err}") from err
    return response.status, response.data

"""How `loa serve` runs uvicorn: the options, and limits on what a request head may be.

uvicorn's httptools protocol (the fast one, chosen whenever httptools is
installed) puts no limit on a request head: a 150 MB header field was read
into memory in growing copies while every other request waited. h11 has a
limit but costs about half the throughput, so :class:`BoundedHttpToolsProtocol`
keeps httptools and counts instead:

- the request target: more than ``MAX_TARGET_BYTES`` is a 414;
- header fields: more than ``MAX_HEADER_FIELDS`` of them, or a head (request
  line and fields) past ``MAX_HEAD_BYTES``, is a 431;
- anything the parser rejects stays uvicorn's 400.

httptools gathers a header field's pieces itself and reports the field only
once it is complete, so the head is also counted as it arrives: input is fed
to the parser at most ``SLICE_BYTES`` at a time, and a head still open after a
slice is measured from the slice where it began. A head is therefore refused
at most one slice past the limit, and never below ``MAX_HEAD_BYTES - SLICE_BYTES``.

A refusal is written, the sending side shut, and the rest of the request read
and dropped for up to ``LINGER_SECONDS`` before the connection closes, so the
client reads the status instead of a connection reset.
"""

from __future__ import annotations

import http
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from config.settings import Settings

MAX_HEAD_BYTES = 32 * 1024  # like nginx's 4 × 8 KiB large_client_header_buffers
MAX_TARGET_BYTES = 8 * 1024  # RFC 9112 3: at least 8,000 octets should work
MAX_HEADER_FIELDS = 100
SLICE_BYTES = 4 * 1024
LINGER_SECONDS = 2.0


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` besides the app."""
    return {
        "host": settings.http_host,
        "port": settings.http_port,
        "http": BoundedHttpToolsProtocol,
        "ws": "none",  # no WebSocket routes: no upgrade to accept either
        "server_header": False,
        "proxy_headers": False,  # nothing reads the client address: one layer less per request
        "log_config": None,
        "access_log": False,
    }


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a head that is over a limit."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on the request head (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_open = False  # between message begin and headers complete
        self._began_in_slice = False
        self._head_bytes = 0  # an upper bound for the open head's size
        self._field_bytes = 0
        self._fields = 0
        self._target_bytes = 0
        self._refusal: http.HTTPStatus | None = None

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # lingering after a refusal: read and drop
        if len(data) <= SLICE_BYTES:
            self._feed(data)
            return
        for start in range(0, len(data), SLICE_BYTES):
            if not self._feed(data[start : start + SLICE_BYTES]):
                return

    def _feed(self, piece: bytes) -> bool:
        """Parse one slice; False when the connection is done with (refused or closed)."""
        self._began_in_slice = False
        super().data_received(piece)
        if self._refusal is not None or self.transport.is_closing():
            return False
        if self._head_open:
            if self._began_in_slice:
                self._head_bytes = len(piece)
            else:
                self._head_bytes += len(piece)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
                return False
        return True

    def on_message_begin(self) -> None:
        self._head_open = self._began_in_slice = True
        self._head_bytes = self._field_bytes = self._fields = self._target_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._target_bytes += len(url)
        if self._target_bytes > MAX_TARGET_BYTES:
            self._stop(http.HTTPStatus.REQUEST_URI_TOO_LONG)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        self._field_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self._fields > MAX_HEADER_FIELDS:
            self._stop(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        if self._target_bytes + self._field_bytes > MAX_HEAD_BYTES:
            self._stop(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error, which a limit's callback raises on purpose."""
        if self._refusal is not None:
            self._refuse(self._refusal)
        else:
            super().send_400_response(msg)

    def _stop(self, status: http.HTTPStatus) -> None:
        self._refusal = status
        raise _Refused(status.phrase)

    def _refuse(self, status: http.HTTPStatus) -> None:
        """Answer `status`, stop reading requests, and close after the client has sent."""
        self._refusal = status
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a pipelined answer is still being written: just hang up
            return
        body = f"{status.phrase}\n".encode()
        content = [b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode())]
        content += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        content += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
        self.transport.write(b"".join(content))
        self.logger.warning("Refused a request: %s", status.phrase)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

"""Is the HTTP port free? Asked before anything starts, so a busy port is one clear line."""

from __future__ import annotations

import errno
import socket

from news.errors import ServiceError


def require_free_port(host: str, port: int) -> None:
    """Raise ServiceError naming the port and how to change it when it cannot be bound.

    Binds the way uvicorn will (SO_REUSEADDR), so a port in TIME_WAIT after
    a restart counts as free and one with a live listener does not.
    """
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = (
                "is already in use"
                if exc.errno == errno.EADDRINUSE
                else f"cannot be used ({exc.strerror})"
            )
            raise ServiceError(
                f"HTTP port {port} on {host} {why}: stop what uses it, "
                "or choose another port with --port or LOA_HTTP_PORT"
            ) from None

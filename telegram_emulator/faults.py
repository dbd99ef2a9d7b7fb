"""Injected failures: make the emulator answer like a Telegram having a bad day.

A fault is scoped to one chat or to every request, optionally to some methods, and lasts
for the next ``times`` matching requests and/or ``duration`` seconds (both unset: until
cleared). By default a fault skips ``getUpdates`` and webhook methods so a background
poller does not swallow it; name them in ``methods`` to target them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request, chat_not_found, forbidden, migrated, too_many_requests

KINDS = (
    "retry_after", "blocked", "kicked", "not_member", "no_rights", "chat_not_found",
    "migrate", "server_error", "bad_gateway", "timeout", "latency", "error",
)  # fmt: skip
_SKIPPED_BY_DEFAULT = frozenset({"getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo"})


@dataclass
class Fault:
    """One injected failure; ``error`` builds the reply, ``delay`` is how long to stall."""

    id: int
    kind: str
    chat_id: int | str | None = None
    methods: frozenset[str] | None = None
    remaining: int | None = None
    until: float | None = None
    retry_after: int = 5
    migrate_to_chat_id: int | None = None
    seconds: float = 0.0
    error_code: int = 400
    description: str = "Bad Request: injected fault"
    parameters: dict[str, Any] | None = None
    hits: int = field(default=0)

    def applies(self, method: str, chat_id: int | None, chat_ref: str | None, now: float) -> bool:
        """Whether this fault fires for a request (does not consume it)."""
        if self.until is not None and now >= self.until:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.methods is None:
            if method in _SKIPPED_BY_DEFAULT:
                return False
        elif method not in self.methods:
            return False
        if self.chat_id is None:
            return True
        return self.chat_id in (chat_id, chat_ref)

    def error(self, chat_type: str | None) -> ApiError | None:
        """The reply this fault forces, or None for latency (the call then proceeds)."""
        kind = self.kind
        where = {"channel": "channel", "supergroup": "supergroup"}.get(chat_type or "", "group")
        if kind == "retry_after":
            return too_many_requests(self.retry_after)
        if kind == "blocked":
            return forbidden("bot was blocked by the user")
        if kind == "kicked":
            return forbidden(f"bot was kicked from the {where} chat")
        if kind == "not_member":
            return forbidden(f"bot is not a member of the {where} chat")
        if kind == "no_rights":
            return bad_request(f"need administrator rights in the {where} chat")
        if kind == "chat_not_found":
            return chat_not_found()
        if kind == "migrate":
            return migrated(self.migrate_to_chat_id or -1000000000001)
        if kind == "server_error":
            return ApiError(500, "Internal Server Error")
        if kind == "bad_gateway":
            return ApiError(502, "Bad Gateway")
        if kind == "error":
            return ApiError(self.error_code, self.description, self.parameters)
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "chat_id": self.chat_id,
            "methods": sorted(self.methods) if self.methods else None,
            "remaining": self.remaining, "hits": self.hits,
        }  # fmt: skip


class FaultBook:
    """The active faults, checked in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        kind: str,
        *,
        now: float,
        chat_id: int | str | None = None,
        times: int | None = None,
        duration: float | None = None,
        methods: list[str] | None = None,
        **options: Any,
    ) -> Fault:
        """Register a fault; ``options`` are Fault fields such as retry_after or seconds."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        if kind == "timeout" and "seconds" not in options:
            options["seconds"] = 3600.0
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            chat_id=chat_id,
            methods=frozenset(methods) if methods else None,
            remaining=times,
            until=None if duration is None else now + duration,
            **options,
        )
        self._faults.append(fault)
        return fault

    def clear(self, chat_id: int | str | None = None) -> None:
        """Drop every fault, or only those scoped to one chat."""
        if chat_id is None:
            self._faults.clear()
        else:
            self._faults = [f for f in self._faults if f.chat_id != chat_id]

    def take(
        self, method: str, chat_id: int | None, chat_ref: str | None, now: float
    ) -> list[Fault]:
        """Faults firing now: every latency, then at most one failure; each use is counted."""
        matching = [f for f in self._faults if f.applies(method, chat_id, chat_ref, now)]
        blocking = [f for f in matching if f.kind != "latency"][:1]
        fired = [f for f in matching if f.kind == "latency"] + blocking
        for fault in fired:
            fault.hits += 1
            if fault.remaining is not None:
                fault.remaining -= 1
        self._faults = [
            f
            for f in self._faults
            if (f.remaining is None or f.remaining > 0) and (f.until is None or now < f.until)
        ]
        return fired

    def active(self) -> list[Fault]:
        return list(self._faults)

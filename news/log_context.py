"""What a log line is about: the article, source, chat and delivery in hand.

Code that handles one article, delivery or poll says so once (a context
manager, or :func:`bind` inside a task's context), and every log line written
meanwhile, by any module, carries those ids: `loa.logs` reads them in a
logging filter and the JSON formatter prints them as fields. Context
variables, so each thread and task sees its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

#: The fields a log line may carry, in the order the JSON lines show them.
FIELDS = ("source", "article_id", "chat_id", "delivery_id")

_EMPTY: Mapping[str, object] = MappingProxyType({})
_current: ContextVar[Mapping[str, object]] = ContextVar("loa_log_context", default=_EMPTY)


def current() -> Mapping[str, object]:
    """The ids the code running now is about (empty outside any context)."""
    return _current.get()


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Within the block, log lines also carry `fields` (None values are left out)."""
    token = _current.set(_merged(fields))
    try:
        yield
    finally:
        _current.reset(token)


def bind(**fields: object) -> None:
    """Add `fields` to the current context until its owner ends it (a task, a block)."""
    _current.set(_merged(fields))


def replace(**fields: object) -> None:
    """Start a fresh context holding only `fields` (a worker starting a task)."""
    _current.set(MappingProxyType({k: v for k, v in fields.items() if v is not None}))


def _merged(fields: Mapping[str, object]) -> Mapping[str, object]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {', '.join(sorted(unknown))}")
    merged = {**_current.get(), **{k: v for k, v in fields.items() if v is not None}}
    return MappingProxyType(merged)

"""The request header fields a feed answer depends on, read per RFC 9110.

Readers and caches send these in every shape the grammar allows: codings in
any case with q-values (``gzip;q=0`` refuses gzip), lists of entity-tags
(weak or strong, with empty list elements) and three date formats. Substring
tests got that wrong both ways, so every field is parsed by its grammar here,
once, for the one response path (:mod:`feeds.response`):

- ``Accept-Encoding = #( codings [ OWS ";" OWS "q=" qvalue ] )`` (12.5.3);
- ``If-None-Match = "*" / #entity-tag`` with the weak comparison (13.1.2);
  a value that does not parse is ignored, so the reader gets the document;
- ``If-Modified-Since = HTTP-date`` (13.1.3), which the caller consults only
  when If-None-Match is absent.

Inputs are bytes as ASGI hands them over; the server caps their size.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

__all__ = ["accepts_gzip", "entity_tags", "http_date", "none_match"]

# qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
_QVALUE = re.compile(rb"(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
_GZIP = (b"gzip", b"x-gzip")  # RFC 9110 8.4.1.3: x-gzip is gzip
_MEMO_MAX_LENGTH = 200

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text.
_ETAG = rb'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_ETAG_LIST = re.compile(rb"[ \t,]*(?:" + _ETAG + rb"[ \t]*(?:,[ \t,]*|\Z))*")
_OPAQUE_TAG = re.compile(rb'"[\x21\x23-\x7e\x80-\xff]*"')


def accepts_gzip(value: bytes | None) -> bool:
    """True when the reader accepts gzip at all and does not prefer identity.

    No header means identity (what every server does, although the RFC would
    allow anything). ``*`` covers gzip unless gzip is listed itself; an
    element whose q-value breaks the grammar is ignored.
    """
    if value is None:
        return False
    if len(value) <= _MEMO_MAX_LENGTH:  # readers repeat one value: parse it once
        return _accepts_gzip_memo(value)
    return _accepts_gzip(value)


@lru_cache(maxsize=256)
def _accepts_gzip_memo(value: bytes) -> bool:
    return _accepts_gzip(value)


def _accepts_gzip(value: bytes) -> bool:
    weights: dict[bytes, int] = {}
    for element in value.split(b","):
        coding, *params = element.split(b";")
        coding = coding.strip(b" \t").lower()
        if not coding or coding in weights:
            continue
        weight = 1000
        for param in params:
            name, _, raw = param.partition(b"=")
            if name.strip(b" \t").lower() == b"q":
                weight = _weight(raw.strip(b" \t"))
                break
        if weight >= 0:
            weights[coding] = weight
    gzip_weight = next((weights[c] for c in _GZIP if c in weights), weights.get(b"*", 0))
    return gzip_weight > 0 and gzip_weight >= weights.get(b"identity", 0)


def _weight(raw: bytes) -> int:
    """A qvalue in thousandths, or -1 when it breaks the grammar."""
    if _QVALUE.fullmatch(raw) is None:
        return -1
    whole, _, fraction = raw.partition(b".")
    return int(whole) * 1000 + int((fraction + b"000")[:3])


def entity_tags(value: bytes) -> frozenset[bytes] | None:
    """The opaque tags an If-None-Match list names (``W/`` dropped: weak comparison).

    ``*`` gives ``frozenset({b"*"})``; a value outside the grammar gives None.
    """
    stripped = value.strip(b" \t")
    if stripped == b"*":
        return frozenset((b"*",))
    if _ETAG_LIST.fullmatch(value) is None:
        return None
    return frozenset(_OPAQUE_TAG.findall(value))


def none_match(value: bytes, current: Collection[bytes]) -> bool:
    """True when If-None-Match `value` names one of the `current` opaque tags (or ``*``).

    That is the "not modified" outcome; an unparsable value never matches.
    """
    if value in current:  # the usual case: exactly the tag the reader was given
        return True
    tags = entity_tags(value)
    if tags is None:
        return False
    return b"*" in tags or not tags.isdisjoint(current)


def http_date(value: bytes) -> datetime | None:
    """An HTTP-date (IMF-fixdate, RFC 850 or asctime form) as aware UTC, or None."""
    try:
        moment = parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

"""Turning a ``text``/``caption`` parameter into what Telegram stores, with its limits.

Order matters and follows Telegram: parse the markup, trim surrounding whitespace, then
measure in UTF-16 code units. So a text full of ``&amp;`` is judged by its parsed length.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_request
from .html_parse import HtmlParseError, ParsedText, parse_html, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
_TRIM = " \t\r\n\v\f"
_RAW_AMPERSAND = re.compile(rb"&(?!(?:lt|gt|amp|quot);|#[0-9]{1,8};|#x[0-9a-fA-F]{1,6};)")


def _trim(parsed: ParsedText) -> ParsedText:
    """Drop leading/trailing whitespace and clip the entities to what remains."""
    text = parsed.text
    stripped_left = text.lstrip(_TRIM)
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_TRIM)
    end = utf16_len(result)
    entities: list[dict[str, Any]] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            entities.append({**entity, "offset": start, "length": stop - start})
    return ParsedText(result, entities)


def parse_markup(
    raw: str, parse_mode: str | None, entities: list[dict[str, Any]] | None, strict: bool
) -> ParsedText:
    """Parse raw text in a parse mode; ``strict`` also rejects a bare ``&`` (emulator-only)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        if strict:
            match = _RAW_AMPERSAND.search(raw.encode("utf-8"))
            if match is not None:
                raise bad_request(
                    f'can\'t parse entities: Unescaped "&" at byte offset {match.start()}'
                )
        try:
            return parse_html(raw)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    if mode in ("", "none"):
        return ParsedText(raw, [dict(e) for e in entities or []])
    if mode in ("markdown", "markdownv2"):
        # Not parsed by the emulator: stored verbatim, documented in the README.
        return ParsedText(raw, [])
    raise bad_request("unsupported parse_mode")


def message_text(
    raw: str | None,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None,
    strict: bool = False,
) -> ParsedText:
    """A message text as stored, or the 400 Telegram gives (empty / too long / bad markup)."""
    if raw is None or raw == "":
        raise bad_request("message text is empty")
    parsed = _trim(parse_markup(raw, parse_mode, entities, strict))
    if not parsed.text:
        raise bad_request("message text is empty")
    if utf16_len(parsed.text) > MAX_TEXT:
        raise bad_request("message is too long")
    return parsed


def caption_text(
    raw: str | None,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None,
    strict: bool = False,
) -> ParsedText:
    """A caption as stored (may be empty), or the 400 for a too-long or malformed caption."""
    if not raw:
        return ParsedText("", [])
    parsed = _trim(parse_markup(raw, parse_mode, entities, strict))
    if utf16_len(parsed.text) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return parsed

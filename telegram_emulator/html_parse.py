"""Telegram's HTML parse mode, following TDLib's ``parse_html`` rule for rule.

Why a hand-written scanner instead of ``html.parser``: Telegram's acceptance rules and
error messages are its own. It works on UTF-8 bytes (error offsets are byte offsets), keeps
unknown ``&...`` sequences literally, accepts attributes without values, closes the innermost
tag with ``</>``, and reports errors as e.g. ``Unsupported start tag "script" at byte offset 10``.
Entity offsets and lengths are counted in UTF-16 code units, as the Bot API reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "u": "underline", "ins": "underline", "tg-spoiler": "spoiler", "span": "spoiler",
}  # fmt: skip
_NAMED = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_SPACES = b" \t\r\n\v\f\0"
_NAME_TOKEN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_TYPE_ORDER = [
    "blockquote", "expandable_blockquote", "pre", "code", "text_link", "text_mention",
    "custom_emoji", "bold", "italic", "underline", "strikethrough", "spoiler",
]  # fmt: skip


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; the message is TDLib's wording."""


@dataclass
class ParsedText:
    """Plain text plus Bot API ``MessageEntity`` dicts (offsets in UTF-16 code units)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int
    byte_start: int


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _is_first_byte(byte: int) -> bool:
    return (byte & 0xC0) != 0x80


def _utf16_units(first_byte: int) -> int:
    return 2 if first_byte >= 0xF0 else 1


def _decode_reference(data: bytes, pos: int) -> tuple[str, int] | None:
    """Decode ``&lt;``/``&#123;``/``&#x1F;`` at pos; None keeps the ``&`` literally."""
    end = pos + 1
    if data[end] == ord("#"):
        end += 1
        value = 0
        if data[end] == ord("x"):
            end += 1
            while chr(data[end]) in "0123456789abcdefABCDEF" and data[end] != 0:
                value = value * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while ord("0") <= data[end] <= ord("9"):
                value = value * 10 + data[end] - ord("0")
                end += 1
        if value == 0 or value >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(value)
    else:
        while chr(data[end]).isascii() and chr(data[end]).isalpha():
            end += 1
        named = _NAMED.get(data[pos + 1 : end])
        if named is None:
            return None
        char = named
    if data[end] == ord(";"):
        end += 1
    return char, end


def _normalize_url(url: str) -> str | None:
    """A loose version of TDLib's check_url: add http:// and a root path when missing."""
    if not url or any(c.isspace() for c in url):
        return None
    lowered = url.lower()
    if lowered.startswith(("tg:", "ton:", "mailto:")):
        return url
    if "://" not in url:
        url = "http://" + url
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or rest[0] in "/?#":
        return None
    cut = min((rest.index(c) for c in "/?#" if c in rest), default=len(rest))
    if cut == len(rest) or rest[cut] != "/":
        rest = rest[:cut] + "/" + rest[cut:]
    return f"{scheme}://{rest}"


def parse_html(text: str) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, or raise HtmlParseError."""
    data = text.encode("utf-8") + b"\0\0\0"
    size = len(data) - 3
    out: list[str] = []
    out_bytes = bytearray()
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    utf16 = 0
    i = 0

    def emit(chunk: str) -> None:
        out.append(chunk)
        out_bytes.extend(chunk.encode("utf-8", "surrogatepass"))

    while i < size:
        byte = data[i]
        if byte == ord("&"):
            decoded = _decode_reference(data, i)
            if decoded is not None:
                char, i = decoded
                if 0xD800 <= ord(char) <= 0xDFFF:
                    raise HtmlParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities,"
                        " check for unmatched surrogate code units"
                    )
                utf16 += 2 if ord(char) > 0xFFFF else 1
                emit(char)
                continue
        if byte != ord("<"):
            start = i
            i += 1
            while i < size and not _is_first_byte(data[i]):
                i += 1
            utf16 += _utf16_units(byte)
            emit(data[start:i].decode("utf-8"))
            continue
        begin = i
        i += 1
        if data[i] != ord("/"):
            i = _start_tag(data, begin, i, stack, utf16, len(out_bytes))
            continue
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        while data[i] not in _SPACES and data[i] != ord(">"):
            i += 1
        end_name = data[begin + 2 : i].decode("utf-8", "replace").lower()
        while data[i] in _SPACES and data[i] != 0:
            i += 1
        if data[i] != ord(">"):
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        i += 1
        top = stack.pop()
        if end_name and end_name != top.tag:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{top.tag}>", '
                f'found "</{end_name}>"'
            )
        if utf16 > top.offset:
            content = bytes(out_bytes[top.byte_start :]).decode("utf-8", "replace")
            _close(top, utf16 - top.offset, content, entities)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    for entity in entities:
        entity.pop("_language", None)  # a code language only counts inside pre
    entities.sort(key=lambda e: (e["offset"], -e["length"], _TYPE_ORDER.index(e["type"])))
    return ParsedText("".join(out), entities)


def _start_tag(data: bytes, begin: int, i: int, stack: list[_Open], utf16: int, pos: int) -> int:
    """Read a start tag whose ``<`` is at begin; push it and return the index after ``>``."""
    while data[i] not in _SPACES and data[i] != ord(">"):
        i += 1
    if data[i] == 0:
        raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
    tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
    if tag not in SUPPORTED_TAGS:
        raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
    argument = ""
    while data[i] != ord(">"):
        while data[i] != 0 and data[i] in _SPACES:
            i += 1
        if data[i] == ord(">"):
            break
        attr_start = i
        while data[i] not in _SPACES and data[i] not in b"=>/\"'":
            i += 1
        name = data[attr_start:i].decode("utf-8", "replace").lower()
        if not name:
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        while data[i] != 0 and data[i] in _SPACES:
            i += 1
        if data[i] != ord("="):
            if data[i] == 0:
                raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            if tag == "blockquote" and name == "expandable":
                argument = "1"
            continue
        i += 1
        while data[i] != 0 and data[i] in _SPACES:
            i += 1
        if data[i] == 0:
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        value, i = _attribute_value(data, i)
        if data[i] == 0:
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
        argument = _argument(tag, name, value, argument)
    if tag == "span" and argument != "spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    stack.append(_Open(tag, argument, utf16, pos))
    return i + 1


def _attribute_value(data: bytes, i: int) -> tuple[str, int]:
    """A quoted string (entities decoded) or a bare name token (lower-cased)."""
    if data[i] not in b"'\"":
        start = i
        while data[i] in _NAME_TOKEN:
            i += 1
        if data[i] not in _SPACES and data[i] != ord(">"):
            raise HtmlParseError(f"Unexpected end of name token at byte offset {start}")
        return data[start:i].decode("ascii").lower(), i
    quote = data[i]
    i += 1
    value = bytearray()
    while data[i] != quote and data[i] != 0:
        if data[i] == ord("&"):
            decoded = _decode_reference(data, i)
            if decoded is not None:
                value.extend(decoded[0].encode("utf-8", "surrogatepass"))
                i = decoded[1]
                continue
        value.append(data[i])
        i += 1
    if data[i] == quote:
        i += 1
    return value.decode("utf-8", "replace"), i


def _argument(tag: str, name: str, value: str, current: str) -> str:
    """The one attribute each tag cares about; others are ignored like Telegram does."""
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "1"
    return current


def _close(top: _Open, length: int, content: str, entities: list[dict[str, Any]]) -> None:
    """Append the entity a closed, non-empty tag produces."""
    offset = top.offset
    prev = entities[-1] if entities else None
    same_span = prev is not None and prev["offset"] == offset and prev["length"] == length
    if top.tag in _SIMPLE:
        entities.append({"type": _SIMPLE[top.tag], "offset": offset, "length": length})
    elif top.tag == "tg-emoji":
        if not top.argument.isdigit() or top.argument.startswith("0"):
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entities.append(
            {"type": "custom_emoji", "offset": offset, "length": length,
             "custom_emoji_id": top.argument}
        )  # fmt: skip
    elif top.tag == "a":
        url = _normalize_url(top.argument or content)
        if url is not None and url.startswith("tg://user?id="):
            user = {"id": int(url.split("=", 1)[1] or 0), "is_bot": False, "first_name": ""}
            entities.append({"type": "text_mention", "offset": offset, "length": length,
                             "user": user})  # fmt: skip
        elif url is not None:
            entities.append({"type": "text_link", "offset": offset, "length": length, "url": url})
    elif top.tag == "pre":
        if same_span and prev is not None and prev["type"] == "code" and prev.get("_language"):
            language = prev.pop("_language")
            prev.update({"type": "pre", "language": language})
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif top.tag == "code":
        pre_without_language = (
            same_span and prev is not None and prev["type"] == "pre" and "language" not in prev
        )
        if pre_without_language and top.argument and prev is not None:
            prev["language"] = top.argument
        else:
            entity: dict[str, Any] = {"type": "code", "offset": offset, "length": length}
            if top.argument:
                entity["_language"] = top.argument
            entities.append(entity)
    elif top.tag == "blockquote":
        kind = "expandable_blockquote" if top.argument else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})

"""Turn the bytes of a fetched page into NFC text, and refuse legacy font encodings.

Vietnamese sites still serve every generation of encoding: UTF-8 (often with
decomposed NFD letters), Windows-1258 (whose codec also yields decomposed tone
marks), Windows-1252 mislabelled pages, and, on old government and provincial
portals, the pre-Unicode *font* encodings TCVN3 (ABC) and VNI. Those last two
are not character sets at all: the bytes are ordinary Windows-1252 and only a
special font (.VnTime, VNI-Times) draws them as Vietnamese. No codec can decode
them, so instead of storing mojibake such as "Th«ng tin ViÖt Nam" we detect
them with a scoring heuristic and raise :class:`LegacyEncodingError`.

Order of evidence (the WHATWG sniffing order, simplified): a byte order mark,
then the HTTP ``Content-Type`` charset, then ``<meta charset>`` or
``<meta http-equiv="content-type">`` in the first 4 KB, then UTF-8, then
Windows-1258, then Windows-1252.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from news.errors import ExtractionError

__all__ = ["LegacyEncodingError", "decode_html", "detect_legacy_encoding", "looks_binary"]


class LegacyEncodingError(ExtractionError):
    """The page is written in a pre-Unicode Vietnamese font encoding (TCVN3 or VNI)."""

    def __init__(self, encoding: str, *, url: str | None = None):
        self.encoding = encoding
        super().__init__(
            f"page uses the legacy Vietnamese font encoding {encoding}; it cannot be decoded",
            url=url,
        )


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_SNIFF_BYTES = 4096
# Labels that browsers treat as Windows-1252 (WHATWG Encoding Standard): a page
# labelled latin-1 that uses 0x80-0x9F means the Windows characters.
_AS_CP1252 = frozenset({"latin-1", "iso8859-1", "ascii", "us-ascii", "iso-8859-1", "cp819"})


def _codec(label: str) -> str | None:
    """Python codec name for a charset label, or ``None`` if unknown."""
    label = label.strip().strip("\"'").lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in _AS_CP1252:
        return "cp1252"
    if name in ("utf-16", "utf-32"):  # no BOM, so the label alone cannot be trusted
        return None
    return name


def _declared(content: bytes, content_type: str | None) -> list[str]:
    """Declared encodings, most authoritative first (HTTP header, then meta)."""
    found: list[str] = []
    if content_type:
        match = _HEADER_CHARSET.search(content_type)
        if match:
            name = _codec(match.group(1))
            if name:
                found.append(name)
    match_meta = _META_CHARSET.search(content[:_SNIFF_BYTES])
    if match_meta:
        name = _codec(match_meta.group(1).decode("ascii", "ignore"))
        if name:
            found.append(name)
    return found


def _decode_bytes(content: bytes, content_type: str | None) -> str:
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, errors="replace")
    declared = _declared(content, content_type)
    if declared:
        # The first declaration wins, but a lie (a "utf-8" page that is really
        # Windows-1258) must not turn into U+FFFD soup: only a strict decode counts.
        try:
            return content.decode(declared[0])
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8", "cp1258", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode(declared[0] if declared else "cp1252", errors="replace")


# ---------------------------------------------------------------- legacy detection

# Every letter of Vietnamese in NFC: a character from this set inside a word is
# normal text, whatever encoding tables it also appears in.
_VIET_LOWER = (
    "abcdefghijklmnopqrstuvwxyzđàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
)
_VIET_LETTERS = frozenset(_VIET_LOWER + _VIET_LOWER.upper())
# TCVN3 (ABC) stores each accented vowel as one byte in 0xA1-0xFF; read as
# Windows-1252 these are symbols and non-Vietnamese Latin letters glued inside
# words ("Th«ng", "ViÖt", "c¸c").
_TCVN3_CHARS = frozenset("¡¢£¤¥¦§¨©ª«¬\xad®µ¶·¸¹»¼½¾ÆÇËÎÏÐÑÖ×ØÜÞßåæçëîïñö÷ûüþ") - _VIET_LETTERS
# VNI writes a base vowel followed by a separate mark byte: "Vieät", "thoâng",
# "ñöôïc" (được). These bigrams and mark letters never occur in Vietnamese.
_VNI_MARKS = "ùøûõïâáàåãäêéèúüëôö"
_VNI_PAIR = re.compile(rf"[aeiouyAEIOUY][{_VNI_MARKS}]")
# Vowel pairs from the list above that are ordinary Vietnamese ("quân", "hoá").
_VNI_LEGIT_PAIRS = frozenset("uâ uê uô iê yê oà oá oã oè oé uà uá uã uè ué".split())
_VNI_ONLY = frozenset("øûïåäüëöñ")
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.I | re.S)
_WORD = re.compile(r"[^\s\d.,;:!?()\[\]{}\"'“”‘’/|<>=+*&#%@_-]+")
_MIN_HITS = 2
_MIN_RATIO = 0.05


def _letters_around(word: str, i: int) -> bool:
    """True if the character at ``i`` is glued to an ASCII letter on either side."""
    before = word[i - 1] if i > 0 else ""
    after = word[i + 1] if i + 1 < len(word) else ""
    return (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha())


# Also ordinary punctuation on Unicode pages («quote», © 2024, "a · b"): these
# count only when wedged between two letters, as in "Th«ng".
_TCVN3_PUNCT = frozenset("«»©·")


def _wedged(word: str, i: int) -> bool:
    before = word[i - 1] if i > 0 else ""
    after = word[i + 1] if i + 1 < len(word) else ""
    return before.isalpha() and after.isalpha()


def _tcvn3_word(word: str) -> bool:
    for i, ch in enumerate(word):
        if ch in _TCVN3_PUNCT:
            if _wedged(word, i):
                return True
        elif ch in _TCVN3_CHARS and _letters_around(word, i):
            return True
    return False


def _vni_word(word: str) -> bool:
    if word[:2].lower() in ("gi", "qu"):
        word = word[2:]  # "giá", "quá": the i/u is part of the consonant, any vowel follows
    for match in _VNI_PAIR.finditer(word):
        pair = match.group(0)
        if pair.lower() not in _VNI_LEGIT_PAIRS or pair[1] in _VNI_ONLY:
            return True
    # ư and đ stand alone in VNI ("ngöôøi", "ñöôïc"); the other marks follow a vowel.
    return any(ch in "öñ" and _letters_around(word, i) for i, ch in enumerate(word))


def detect_legacy_encoding(text: str) -> str | None:
    """``"TCVN3"`` or ``"VNI"`` if ``text`` reads like a legacy font encoding, else ``None``.

    Counts the words that only make sense in one of those encodings; a page is
    flagged when such words are both several and a noticeable share of all
    words, so a stray "naïve" or "«quote»" on a Unicode page never trips it.
    """
    plain = unicodedata.normalize("NFC", _TAGS.sub(" ", text))
    words = [w for w in _WORD.findall(plain) if any(ch.isalpha() for ch in w)]
    if not words:
        return None
    tcvn3 = sum(1 for w in words if _tcvn3_word(w))
    vni = sum(1 for w in words if _vni_word(w))
    best, hits = ("TCVN3", tcvn3) if tcvn3 >= vni else ("VNI", vni)
    if hits >= _MIN_HITS and hits / len(words) >= _MIN_RATIO:
        return best
    return None


#: Bytes no text encoding of a web page uses (tab, newlines and form feed aside).
_CONTROL_BYTES = frozenset(range(0x00, 0x09)) | frozenset(range(0x0E, 0x20)) | {0x0B, 0x7F}


def looks_binary(content: bytes, *, sample: int = 8192) -> bool:
    """True for an image, archive or random bytes: control bytes in the first few KB.

    A UTF-16 page (it starts with its BOM) is text despite its NUL bytes.
    """
    head = content[:sample]
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    return b"\x00" in head or controls / len(head) > 0.05


def decode_html(content: bytes, content_type: str | None = None, *, url: str | None = None) -> str:
    """Decode a page to NFC text; raise :class:`LegacyEncodingError` for TCVN3/VNI pages.

    ``content_type`` is the HTTP header value, e.g. ``"text/html; charset=utf-8"``;
    `url` names the page in the errors. Binary data is refused as not text.
    """
    if looks_binary(content):
        raise ExtractionError("not text: binary data served as a web page", url=url)
    text = unicodedata.normalize("NFC", _decode_bytes(content, content_type))
    legacy = detect_legacy_encoding(text)
    if legacy is not None:
        raise LegacyEncodingError(legacy, url=url)
    return text

"""Vietnamese text helpers: normalisation, diacritic folding, slugs, summaries.

Vietnamese sites mix precomposed (NFC) and decomposed (NFD) letters, sprinkle
non-breaking and zero-width spaces through their markup, and write the same
word with or without tone marks in search boxes. Everything Loa stores or
compares goes through :func:`normalize_text` first, and everything it matches
loosely (slugs, search, hashtags) goes through :func:`fold_diacritics`, which,
unlike most "remove accents" recipes (and SQLite FTS5), also folds ``đ``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold_diacritics", "hashtag", "normalize_text", "slugify", "summarize"]

# Invisible characters that separate words on real pages; treated as spaces so
# "Công\u200btác" does not become one word and "\u00a0\u00a0" collapses away.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_NEWLINES = re.compile(r"\r\n?")
_SPACE_RUN = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")

# A sentence stop, optionally followed by closing quotes/brackets, then a space.
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’'»)]*(?=\s)")
# Short words whose trailing period is an abbreviation, not a sentence end
# ("TP. Hồ Chí Minh", "ThS. Nguyễn Văn A").
_ABBREVIATIONS = frozenset(
    {"tp", "ths", "ts", "pgs", "gs", "bs", "bsck", "ks", "ls", "q", "p", "tt", "st", "mr", "dr"}
)
_TRAILING_JUNK = " ,;:-–—(\"“'‘"


def normalize_text(s: str, *, keep_newlines: bool = False) -> str:
    """Return ``s`` in NFC with control characters dropped and whitespace collapsed.

    Zero-width characters and non-breaking spaces count as whitespace. With
    ``keep_newlines`` line breaks survive (each line stripped, at most one blank
    line in a row) so callers can keep paragraph structure.
    """
    s = unicodedata.normalize("NFC", s)
    s = _NEWLINES.sub("\n", s)
    out: list[str] = []
    for ch in s:
        if ch == "\n":
            out.append("\n" if keep_newlines else " ")
        elif ch in _ZERO_WIDTH or ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf"):
            continue  # NUL, escape codes, soft hyphens, bidi marks: invisible noise
        else:
            out.append(ch)
    text = _SPACE_RUN.sub(" ", "".join(out))
    if keep_newlines:
        text = "\n".join(line.strip() for line in text.split("\n"))
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def fold_diacritics(s: str) -> str:
    """Lowercase and strip Vietnamese tone and vowel marks, folding ``đ`` to ``d``.

    Used wherever readers type without accents: "Công tác tuyên giáo" →
    "cong tac tuyen giao". ``đ`` has no decomposition in Unicode, so it must be
    replaced explicitly.
    """
    s = unicodedata.normalize("NFC", s).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", s)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def _words(s: str) -> list[str]:
    """Folded alphanumeric words of ``s``; every other character separates."""
    return [w for w in re.split(r"[\W_]+", fold_diacritics(s)) if w]


def slugify(s: str) -> str:
    """URL slug: "Công tác tuyên giáo" → "cong-tac-tuyen-giao" ("" for no words)."""
    return "-".join(_words(s))


def hashtag(s: str) -> str:
    """Telegram-friendly hashtag body: "Công tác tuyên giáo" → "CongTacTuyenGiao".

    Hashtags stop at the first space or punctuation mark, so words are joined
    in CamelCase with nothing in between.
    """
    return "".join(w[:1].upper() + w[1:] for w in _words(s))


def _is_abbreviation(text: str, stop: int) -> bool:
    """True if the period at ``stop`` ends an abbreviation or an initial."""
    if text[stop] != ".":
        return False
    start = stop
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:stop].lstrip("(\"“'‘")
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True  # an initial: "N. Đoan"
    return fold_diacritics(word) in _ABBREVIATIONS


def summarize(text: str, max_chars: int = 400) -> str:
    """Shorten ``text`` to at most ``max_chars`` characters without cutting a word.

    Prefers the last sentence end that fits (a stop, optionally followed by
    closing quotes); otherwise cuts at the last word boundary and appends "…".
    A first word longer than the budget leaves only "…": a cut word reads as a
    different word in Vietnamese, which is worse than no summary.
    """
    text = normalize_text(text)
    if len(text) <= max_chars:
        return text
    if max_chars <= 0:
        return ""
    best = 0
    for match in _SENTENCE_END.finditer(text, 0, max_chars + 1):
        if match.end() > max_chars:
            break
        if not _is_abbreviation(text, match.start()):
            best = match.end()
    if best:
        return text[:best]
    cut = text.rfind(" ", 0, max_chars)  # room for the ellipsis
    if cut <= 0:
        return "…"
    head = text[:cut].rstrip(_TRAILING_JUNK)
    return (head + "…") if head else "…"

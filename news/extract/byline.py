"""Bylines as Vietnamese papers and portals print them, after the article's body.

Provincial portals have no author field: the byline is the last line of the
body, an upper-case name in bold, often right-aligned, in a few shapes::

    NGUYÊN ĐOAN (THỰC HIỆN)       an interview ("conducted by")
    HOÀNG LIÊN (tổng hợp)         a round-up ("compiled by")
    PHƯƠNG ANH - Ảnh: NGỌC TÚ     the author, then the photographer
    ĐỨC QUÂN                      followed by a line "Ảnh: THANH HẢI"
    Tin, ảnh: HỒNG NHUNG          "story and photos by"

Both the portal landmark reader (:mod:`news.extract.portal`) and zero-config
(:mod:`news.extract.zero_config`) read these lines here, so they agree on one convention:
the author is the name **as printed**, in NFC, its case kept (title-casing
would garble initials such as "NG.ĐOAN") and a role note in parentheses kept,
since "(THỰC HIỆN)" or "(tổng hợp)" tells a reader what kind of authorship it
is; a label such as "Tin, ảnh:" and a trailing photo credit are not part of it.

A mixed-case name ("Lê Phương") is only a byline when a label introduces it or
the page sets it apart (bold or right-aligned): otherwise any short line of
capitalised words, a place or an organisation, would pass for one.
"""

from __future__ import annotations

import re

from news.text import normalize_text

__all__ = ["MAX_BYLINE", "byline", "is_photo_credit"]

MAX_BYLINE = 60
_LABEL = re.compile(
    r"^(?:(?:tin|bài)(?:\s*(?:,|và|&|\+|-)\s*ảnh)?|tác giả|thực hiện|nhóm thực hiện)\s*:\s*",
    re.I,
)
#: "… - Ảnh: T.H", "… (Ảnh: T.H)", "…, ảnh: T.H" at the end of a byline.
_CREDIT = re.compile(r"\s*(?:[-–—|,;]\s*|\(\s*)ảnh\s*:[^()]*\)?\s*$", re.I)
_PHOTO_LINE = re.compile(r"^\(?\s*(?:ảnh|ảnh minh họa|ảnh minh hoạ)\s*:\s*\S", re.I)
_ROLE = re.compile(r"\s*\(([^()]{2,20})\)$")
_SOURCE = re.compile(r"^(?:theo|nguồn)\b", re.I)
#: Words joining several authors: "QUANG PHONG - TÙNG NGUYÊN", "A và B".
_JOINERS = frozenset({"-", "–", "—", ",", "và", "&"})
_MAX_WORDS = 10


def is_photo_credit(text: str) -> bool:
    """A line that credits the photos only ("Ảnh: THANH HẢI")."""
    line = normalize_text(text)
    return len(line) <= MAX_BYLINE and bool(_PHOTO_LINE.match(line))


def _name_shape(name: str) -> bool:
    """Capitalised words or initials ("K. Miên", "NG.ĐOAN"), no digits, no sentence."""
    words = [w for w in name.replace(",", " , ").split() if w not in _JOINERS]
    if not 1 <= len(words) <= _MAX_WORDS:
        return False
    for word in words:
        letters = word.replace(".", "").replace("'", "")
        if not letters.isalpha() or not word[0].isupper():
            return False
    return True


def _upper(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def byline(text: str, *, set_apart: bool = False) -> str | None:
    """The author a byline line names (see the module doc), or None if it is no byline.

    `set_apart`: the page prints the line in bold or right-aligned, so a name
    in mixed case counts too.
    """
    line = normalize_text(text)
    if not line or len(line) > MAX_BYLINE or _SOURCE.match(line) or is_photo_credit(line):
        return None
    label = _LABEL.match(line)
    if label:
        line = line[label.end() :]
    line = _CREDIT.sub("", line).strip(" -–—,;")
    role = _ROLE.search(line)
    name = line[: role.start()].strip() if role else line
    if not _name_shape(name):
        return None
    if label or _upper(name) or set_apart:
        return line
    return None

"""Decoding page bytes: BOM, header, meta, fallbacks, NFC, and legacy font encodings."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import pytest

from news.errors import ExtractionError
from news.extract.charset import LegacyEncodingError, decode_html, detect_legacy_encoding

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "vi-news"
VIET = "Thông tin Việt Nam: người dân được hưởng lợi từ chính sách mới"
TCVN3 = (
    "Th«ng tin ViÖt Nam: ng­êi d©n ®­îc h­ëng lîi tõ chÝnh s¸ch míi. "
    "C¸c tØnh thµnh ®· triÓn khai kÕ ho¹ch."
)
VNI = (
    "Thoâng tin Vieät Nam: ngöôøi daân ñöôïc höôûng lôïi töø chính saùch môùi. "
    "Caùc tænh thaønh ñaõ trieån khai keá hoaïch."
)


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: base letters precomposed, tone marks combining."""
    out = b""
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        nfd = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in _TONES))
        out += base.encode("cp1258") + "".join(c for c in nfd if c in _TONES).encode("cp1258")
    return out


def page(body: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body><p>{body}</p></body></html>"


def test_bom_wins_over_everything() -> None:
    data = codecs.BOM_UTF8 + page(VIET, '<meta charset="windows-1252">').encode("utf-8")
    assert VIET in decode_html(data, "text/html; charset=iso-8859-1")


def test_utf16_bom() -> None:
    data = codecs.BOM_UTF16_LE + page(VIET).encode("utf-16-le")
    assert VIET in decode_html(data)


def test_header_beats_meta() -> None:
    data = to_cp1258(page(VIET, '<meta charset="utf-8">'))
    text = decode_html(data, "text/html; charset=windows-1258")
    assert VIET in text


def test_meta_used_without_header() -> None:
    data = page("café", '<meta http-equiv="Content-Type" content="text/html; charset=cp1252">')
    assert "café" in decode_html(data.encode("cp1252"))


def test_meta_charset_attribute() -> None:
    data = to_cp1258(page(VIET, '<meta charset="windows-1258">'))
    assert VIET in decode_html(data)


def test_windows_1258_bytes_become_clean_nfc() -> None:
    text = decode_html(to_cp1258(page(VIET)))  # undeclared: utf-8 fails, then cp1258
    assert VIET in text
    assert unicodedata.is_normalized("NFC", text)


def test_nfd_utf8_becomes_nfc() -> None:
    nfd = unicodedata.normalize("NFD", VIET)
    text = decode_html(page(nfd).encode("utf-8"))
    assert VIET in text
    assert nfd not in text


def test_lying_declaration_falls_back() -> None:
    data = to_cp1258(page(VIET, '<meta charset="utf-8">'))
    assert VIET in decode_html(data)


def test_unknown_label_is_ignored() -> None:
    data = page(VIET, '<meta charset="x-no-such-charset">').encode("utf-8")
    assert VIET in decode_html(data, "text/html; charset=bogus")


@pytest.mark.parametrize("as_bytes", [True, False])
def test_tcvn3_raises(as_bytes: bool) -> None:
    data = page(TCVN3).encode("cp1252") if as_bytes else page(TCVN3).encode("utf-8")
    with pytest.raises(LegacyEncodingError, match="TCVN3") as info:
        decode_html(data)
    assert isinstance(info.value, ExtractionError)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8"])
def test_vni_raises(encoding: str) -> None:
    with pytest.raises(LegacyEncodingError, match="VNI"):
        decode_html(page(VNI).encode(encoding))


def test_short_legacy_samples_are_detected() -> None:
    assert detect_legacy_encoding("Th«ng tin ViÖt Nam") == "TCVN3"
    assert detect_legacy_encoding("Vieät Nam thoâng tin") == "VNI"


@pytest.mark.parametrize(
    "text",
    [
        VIET,
        "Giá vàng hôm nay giảm; quân đội, khuê các, tiên, yên, hoà, quá, giây, giông",
        "«Trích dẫn» © 2024 Báo Mẫu · Tin tức » Thể thao",
        "Huấn luyện viên Raúl và tiền đạo Müller ở câu lạc bộ Bayern: một trận đấu hay",
    ],
)
def test_normal_text_is_not_flagged(text: str) -> None:
    assert detect_legacy_encoding(text) is None
    assert text in decode_html(page(text).encode("utf-8"))


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.html")), ids=lambda p: p.name)
def test_every_corpus_page_decodes(path: Path) -> None:
    text = decode_html(path.read_bytes(), "text/html")
    assert unicodedata.is_normalized("NFC", text)
    assert "\ufffd" not in text[:4096] or path.name in {"vnexpress-4.html", "thanhnien-2.html"}

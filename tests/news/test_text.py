"""Vietnamese text helpers: NFC, folding, slugs, hashtags, summaries."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from news.text import fold_diacritics, hashtag, normalize_text, slugify, summarize

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "vi-news"
VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàằầèềìòồờùừỳáắấéếíóốớúứýảẳẩẻểỉỏổởủửỷãẵẫẽễĩõỗỡũữỹạặậẹệịọộợụựỵ"
)
vietnamese_text = st.text(
    alphabet=VIETNAMESE + VIETNAMESE.upper() + " .,!?“”\"'-\n\u00a0", max_size=300
)


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


# ---------------------------------------------------------------- normalize_text


def test_normalize_text_composes_nfd() -> None:
    assert normalize_text(nfd("Công tác tuyên giáo")) == "Công tác tuyên giáo"
    assert unicodedata.is_normalized("NFC", normalize_text(nfd("Quảng Nam")))


def test_normalize_text_collapses_nbsp_zero_width_and_tabs() -> None:
    raw = "\u00a0 Ngày\u200bđăng:\t16:56\u00a0\u00a0|\ufeff 13/03 \r\n"
    assert normalize_text(raw) == "Ngày đăng: 16:56 | 13/03"


def test_normalize_text_drops_control_characters() -> None:
    assert normalize_text("Hội\x00 nghị\x07\x1b[0m tỉnh\u00ad") == "Hội nghị[0m tỉnh"


def test_normalize_text_newlines_only_on_request() -> None:
    raw = "Dòng một  \r\n\r\n\r\n\r\n  Dòng\u00a0hai\rDòng ba"
    assert normalize_text(raw) == "Dòng một Dòng hai Dòng ba"
    assert normalize_text(raw, keep_newlines=True) == "Dòng một\n\nDòng hai\nDòng ba"


def test_normalize_text_empty_and_blank() -> None:
    assert normalize_text("") == ""
    assert normalize_text(" \u00a0\u200b\n\t") == ""


@given(vietnamese_text)
def test_normalize_text_is_idempotent_and_nfc(s: str) -> None:
    once = normalize_text(s)
    assert normalize_text(once) == once
    assert normalize_text(nfd(s)) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "  " not in once and once == once.strip()


# ---------------------------------------------------------------- folding


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Công tác tuyên giáo", "cong tac tuyen giao"),
        ("Xây dựng Đảng", "xay dung dang"),
        ("ĐÀ NẴNG", "da nang"),
        ("Kinh tế - Xã hội", "kinh te - xa hoi"),
        ("ắằẳẵặ ấầẩẫậ ếềểễệ ốồổỗộ ớờởỡợ ứừửữự ýỳỷỹỵ", "aaaaa aaaaa eeeee ooooo ooooo uuuuu yyyyy"),
        ("Hello, world 2024!", "hello, world 2024!"),
    ],
)
def test_fold_diacritics(raw: str, folded: str) -> None:
    assert fold_diacritics(raw) == folded
    assert fold_diacritics(nfd(raw)) == folded


@given(vietnamese_text)
def test_fold_diacritics_is_ascii_for_vietnamese(s: str) -> None:
    folded = fold_diacritics(s)
    assert all(ord(ch) < 128 or ch in "“”\u00a0" for ch in folded)
    assert fold_diacritics(folded) == folded


# ---------------------------------------------------------------- slugs and hashtags


@pytest.mark.parametrize(
    ("raw", "slug"),
    [
        ("Công tác tuyên giáo", "cong-tac-tuyen-giao"),
        ("Kinh tế - Xã hội", "kinh-te-xa-hoi"),
        ('  Phó Bí thư: "Thấm nhuần tư tưởng"!  ', "pho-bi-thu-tham-nhuan-tu-tuong"),
        ("Nâng cao chất lượng (kỳ 2)", "nang-cao-chat-luong-ky-2"),
        ("snake_case__name", "snake-case-name"),
        ("", ""),
        ("  —  !!", ""),
    ],
)
def test_slugify(raw: str, slug: str) -> None:
    assert slugify(raw) == slug


def test_hashtag() -> None:
    assert hashtag("Công tác tuyên giáo") == "CongTacTuyenGiao"
    assert hashtag("Kinh tế - Xã hội") == "KinhTeXaHoi"
    assert hashtag("Xây dựng Đảng") == "XayDungDang"
    assert hashtag("") == ""


# ---------------------------------------------------------------- summarize


def test_summarize_keeps_text_that_fits() -> None:
    text = "Một câu ngắn. Câu thứ hai."
    assert summarize(text, 400) == text
    assert summarize("  Một\u00a0 câu  ", 400) == "Một câu"


def test_summarize_cuts_at_last_sentence_end() -> None:
    text = "Câu thứ nhất. Câu thứ hai dài hơn! Câu thứ ba thì còn dài hơn nữa cơ."
    assert summarize(text, 40) == "Câu thứ nhất. Câu thứ hai dài hơn!"
    assert summarize(text, 20) == "Câu thứ nhất."


def test_summarize_includes_closing_quote_after_stop() -> None:
    text = "Ông nói: “Phải làm ngay.” Sau đó hội nghị tiếp tục bàn nhiều việc khác."
    assert summarize(text, 40) == "Ông nói: “Phải làm ngay.”"
    text = 'Ông nói: "Phải làm ngay!" Sau đó hội nghị tiếp tục bàn nhiều việc khác.'
    assert summarize(text, 40) == 'Ông nói: "Phải làm ngay!"'


def test_summarize_ellipsis_sentence_end() -> None:
    assert summarize("Chờ đợi… Rồi mọi việc cũng xong xuôi cả thôi.", 20) == "Chờ đợi…"


def test_summarize_without_sentence_end_cuts_at_word() -> None:
    text = "Đảng bộ Khối các cơ quan tỉnh luôn giữ vị trí vai trò quan trọng"
    out = summarize(text, 30)
    assert out == "Đảng bộ Khối các cơ quan tỉnh…"
    assert len(out) <= 30


def test_summarize_drops_dangling_punctuation_before_ellipsis() -> None:
    assert summarize("Thứ nhất, thứ hai, thứ ba, thứ tư", 20) == "Thứ nhất, thứ hai…"


def test_summarize_skips_abbreviations() -> None:
    text = "Tại TP. Hồ Chí Minh, hội nghị diễn ra trong hai ngày liên tiếp với nhiều đại biểu"
    out = summarize(text, 40)
    assert out.endswith("…") and not out.endswith("TP.")


def test_summarize_single_huge_word() -> None:
    assert summarize("x" * 50, 10) == "…"
    assert summarize("x" * 50, 0) == ""


@given(vietnamese_text, st.integers(min_value=1, max_value=120))
def test_summarize_never_cuts_a_word(text: str, max_chars: int) -> None:
    full = normalize_text(text)
    out = summarize(text, max_chars)
    assert len(out) <= max_chars
    if full.startswith(out) and (out == full or full[len(out)] == " "):
        return  # the whole text, or cut at a sentence end
    assert out.endswith("…")
    head = out[:-1]
    assert full.startswith(head)
    if head:  # "…" alone: even the first word did not fit
        assert not full[len(head)].isalnum()  # the cut is not inside a word


# ---------------------------------------------------------------- real pages


def _index() -> list[dict[str, Any]]:
    index = CORPUS / "INDEX.json"
    if not index.exists():
        pytest.skip("vi-news corpus not available")
    entries: list[dict[str, Any]] = json.loads(index.read_text(encoding="utf-8"))
    return entries


def test_corpus_titles_fold_and_slug() -> None:
    titles = {entry["file"]: entry["title"] for entry in _index()}
    assert fold_diacritics(titles["vnexpress-2.html"]) == "dong nuoc doc tren canh dong ha noi"
    assert slugify(titles["24h-1.html"]) == "dot-nhap-lo-luyen-thi-cong-chuc-han-quoc"
    assert hashtag(titles["ione-1.html"]) == "NhungNguoiKhoHanhViBotLa"
    for title in titles.values():
        assert normalize_text(nfd(title)) == normalize_text(title)
        assert fold_diacritics(nfd(title)) == fold_diacritics(title)


@pytest.mark.parametrize(
    ("file", "phrase", "folded"),
    [
        ("ione-1.html", "Didier Montalvo, 6 tuổi, sống tại Colombia", "6 tuoi, song tai colombia"),
        ("24h-1.html", "Tỷ giá ngoại tệ", "ty gia ngoai te"),
        ("thanhnien-1.html", "Mã xác nhận", "ma xac nhan"),
    ],
)
def test_corpus_nfd_pages_normalize(file: str, phrase: str, folded: str) -> None:
    """These files (noted in INDEX.json) spell some words in decomposed NFD form."""
    _index()
    raw = (CORPUS / file).read_text(encoding="utf-8")
    assert phrase not in raw  # only present decomposed
    normalized = normalize_text(raw)
    assert phrase in normalized
    assert folded in fold_diacritics(raw)

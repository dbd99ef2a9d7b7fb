"""Byline lines as Vietnamese portals print them: which are bylines, and whose name they give."""

from __future__ import annotations

import unicodedata

import pytest

from news.extract.byline import byline, is_photo_credit


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("NGUYÊN ĐOAN", "NGUYÊN ĐOAN"),
        ("NGUYÊN ĐOAN (THỰC HIỆN)", "NGUYÊN ĐOAN (THỰC HIỆN)"),
        ("HOÀNG LIÊN (tổng hợp)", "HOÀNG LIÊN (tổng hợp)"),
        ("PHƯƠNG ANH - Ảnh: NGỌC TÚ", "PHƯƠNG ANH"),
        ("THANH HẢI (Ảnh: T.H)", "THANH HẢI"),
        ("Tin, ảnh: HỒNG NHUNG", "HỒNG NHUNG"),
        ("Tin, ảnh: Vũ Phương Thảo", "Vũ Phương Thảo"),
        ("Bài và ảnh: Lê Na", "Lê Na"),
        ("Bài: NGỌC ANH - Ảnh: HẢI LONG", "NGỌC ANH"),
        ("QUANG PHONG - TÙNG NGUYÊN", "QUANG PHONG - TÙNG NGUYÊN"),
        ("NG.ĐOAN", "NG.ĐOAN"),
        ("\u00a0THANH HẢI ", "THANH HẢI"),
        (unicodedata.normalize("NFD", "ĐỨC QUÂN"), "ĐỨC QUÂN"),
    ],
)
def test_byline_gives_the_name_as_printed(line: str, author: str) -> None:
    found = byline(line)
    assert found == author
    assert unicodedata.is_normalized("NFC", found)


@pytest.mark.parametrize(
    "line",
    [
        "Ảnh: THANH HẢI",  # a photo credit names the photographer, not the author
        "Theo VnExpress",
        "(Theo Infonet)",
        "Hà Nội",  # capitalised words, but not set apart: a place as likely as a name
        "Lê Phương",
        "Kết luận",
        "Các đơn vị báo cáo kết quả.",
        "TIN LIÊN QUAN: 3",
        "Chia sẻ bài viết của bạn về sự tàn phá môi trường tại đây.",
        "",
    ],
)
def test_not_a_byline(line: str) -> None:
    assert byline(line) is None


def test_a_name_in_mixed_case_needs_bold_or_right_alignment() -> None:
    assert byline("Lê Phương", set_apart=True) == "Lê Phương"
    assert byline("K. Miên", set_apart=True) == "K. Miên"
    assert byline("Kết luận", set_apart=True) is None  # not a name


def test_photo_credit_lines() -> None:
    assert is_photo_credit("Ảnh: THANH HẢI")
    assert is_photo_credit("(Ảnh: T.H)")
    assert not is_photo_credit("Tin, ảnh: HỒNG NHUNG")
    assert not is_photo_credit("Quang cảnh hội nghị. Ảnh: T.H")

"""The cms-portal extractor on the sample page, edge cases, and link discovery."""

from __future__ import annotations

import json
import random
import unicodedata
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from news.errors import ExtractionError
from news.extract import ExtractedArticle
from news.extract.byline import byline, is_photo_credit
from news.extract.page import canonicalize_url
from news.extract.portal import discover_cms_links, extract_cms_article
from news.text import normalize_text
from tests.sites.server import CORPUS_DIR, load_index

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2023, 6, 1, 9, 0, tzinfo=TZ)
FIXTURE = Path(__file__).parent / "fixtures" / "portal-article.html"
SAMPLE_TEXT = Path(__file__).resolve().parents[3] / "shared" / "samples" / "portal-article.txt"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "vi-news"
URL = "https://portal.example.vn/Default.aspx?tabid=204&NewsID=4567&utm_source=zalo"
CAPTION = (
    "Đảng bộ Khối tổ chức tọa đàm về tăng cường xây dựng, chỉnh đốn Đảng năm 2022. Ảnh: NG.ĐOAN"
)
CHROME = [
    "Thứ năm, 14/05/2015, 10:06:10",
    "Chào mừng",
    "Lượt xem",
    "690",
    "[Trở về]",
    "Các tin mới hơn",
    "Các tin cũ hơn",
    "Liên kết web",
    "Lượt truy cập",
    "00004156702",
    "Hôm nay",
    "Hôm qua",
    "Tháng này",
    "Tuần này",
    "Năm này",
    "Search",
    "Chi tiết tin tức",
    "Ngày đăng",
    "NGUYÊN ĐOAN",
]


def extract(html: str | bytes, url: str = URL) -> ExtractedArticle:
    return extract_cms_article(html, url=url, now=NOW, tz=TZ)


@pytest.fixture(scope="module")
def article() -> ExtractedArticle:
    return extract(FIXTURE.read_bytes())


def test_sample_header_fields(article: ExtractedArticle) -> None:
    assert article.title == (
        'Phó Bí thư Thường trực Tỉnh ủy Lê Văn Dũng: "Thấm nhuần tư tưởng, hành động quyết liệt"'
    )
    assert article.category == "Công tác tuyên giáo"
    assert article.category_slug == "cong-tac-tuyen-giao"
    assert article.author == "NGUYÊN ĐOAN (THỰC HIỆN)"
    assert article.url == URL


def test_sample_date_year_is_inferred(article: ExtractedArticle) -> None:
    assert article.published_at == datetime(2023, 3, 13, 16, 56, tzinfo=TZ)
    assert article.published_at.isoformat() == "2023-03-13T16:56:00+07:00"
    assert article.date_inferred is True


def test_sample_summary_is_the_lead(article: ExtractedArticle) -> None:
    assert article.summary.startswith("Chia sẻ với Báo Quảng Nam nhân Kỷ niệm 60 năm")
    assert len(article.summary) <= 400
    assert article.body.startswith(article.summary.removesuffix("…"))
    short = extract_cms_article(FIXTURE.read_bytes(), url=URL, now=NOW, tz=TZ, summary_chars=120)
    assert len(short.summary) <= 120 and short.summary.endswith("…")


def test_sample_body(article: ExtractedArticle) -> None:
    paragraphs = article.body.split("\n\n")
    assert paragraphs[0].startswith("Chia sẻ với Báo Quảng Nam")
    assert paragraphs[-1] == "- Trân trọng cảm ơn đồng chí!"
    assert "(Phó Bí thư Thường trực Tỉnh ủy Lê Văn Dũng)" in paragraphs
    assert article.body.count(CAPTION) == 1
    assert article.body.count("tặng Giấy khen của Ban Thường vụ Đảng ủy Khối") == 1
    for chrome in CHROME:
        assert chrome not in article.body, chrome


def test_sample_body_has_every_sample_paragraph(article: ExtractedArticle) -> None:
    """Each article line of the text dump is in the body once (captions were printed twice)."""
    if not SAMPLE_TEXT.exists():
        pytest.skip("sample text not available")
    lines = [line.strip() for line in SAMPLE_TEXT.read_text(encoding="utf-8").splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Ngày đăng")) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("NGUYÊN ĐOAN"))
    expected = list(dict.fromkeys(normalize_text(line) for line in lines[start:end] if line))
    assert article.body.split("\n\n") == expected


def test_sample_image_and_canonical(article: ExtractedArticle) -> None:
    assert article.image == (
        "https://portal.example.vn/Portals/0/NewsImages/2023/03/13/LVD-trao-giay-khen.jpg"
    )
    assert article.canonical_url == (
        "https://portal.example.vn/tin-tuc/thu-nhuan-tu-tuong-hanh-dong-quyet-liet-4567.html"
    )


def test_to_json_dict(article: ExtractedArticle) -> None:
    data = json.loads(json.dumps(article.to_json_dict(), ensure_ascii=False))
    assert data["published_at"] == "2023-03-13T16:56:00+07:00"
    assert data["date_inferred"] is True
    assert data["category_slug"] == "cong-tac-tuyen-giao"
    assert set(data) == set(ExtractedArticle.__dataclass_fields__)


def test_nfd_input_gives_nfc_output(article: ExtractedArticle) -> None:
    decomposed = unicodedata.normalize("NFD", FIXTURE.read_text(encoding="utf-8"))
    assert decomposed != FIXTURE.read_text(encoding="utf-8")
    for page in (decomposed, decomposed.encode("utf-8")):
        result = extract(page)
        assert result == article
        for value in (result.title, result.category, result.body, result.author or ""):
            assert unicodedata.is_normalized("NFC", value)


def test_bom_and_meta_charset_decoding(article: ExtractedArticle) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert extract(b"\xef\xbb\xbf" + text.encode("utf-8")) == article
    assert extract(b"\xff\xfe" + text.encode("utf-16-le")) == article
    page = _page(title="Café à la mode", lead="Crème brûlée für alle.", charset="windows-1252")
    result = extract(page.encode("cp1252", errors="xmlcharrefreplace"))  # old sites did this
    assert result.title == "Café à la mode"
    assert result.summary == "Crème brûlée für alle."


def test_canonical_falls_back_to_og_url_then_url() -> None:
    page = _page(head='<meta property="og:url" content="/tin-tuc/a-1.html?fbclid=x&amp;id=2">')
    assert extract(page).canonical_url == "https://portal.example.vn/tin-tuc/a-1.html?id=2"
    assert (
        extract(_page()).canonical_url
        == "https://portal.example.vn/Default.aspx?tabid=204&NewsID=4567"
    )


def test_canonicalize_url() -> None:
    assert (
        canonicalize_url("http://a.vn/x.html?utm_source=f&b=1&gclid=2&UTM_Medium=3&c=#top")
        == "http://a.vn/x.html?b=1&c="
    )


# ---------------------------------------------------------------- small synthetic pages


def _page(
    *,
    title: str = "Tiêu đề bài viết",
    category: str | None = "Văn hóa",
    lead: str = "Đoạn mở đầu của bài.",
    body: str = "<p>Đoạn thân bài thứ nhất.</p><p>Đoạn thân bài thứ hai.</p>",
    author: str = "<p><b>TRẦN AN</b></p>",
    head: str = "",
    charset: str = "utf-8",
    date: str = "Ngày đăng: 08:15 | 02/05 <span>Lượt xem: 12</span>",
) -> str:
    cat = f"<div>{escape(category)}</div>" if category is not None else ""
    return f"""<html><head><meta charset="{charset}"><title>Trang tin</title>{head}</head>
<body><div>Thứ hai, 01/05/2023, 10:00:00</div>
<div>Chi tiết tin tức</div>{cat}<h2>{escape(title)}</h2><div>{date}</div>
<p>{escape(lead)}</p>{body}{author}<a href="/">[Trở về]</a><div>Liên kết web</div></body></html>"""


def test_minimal_page() -> None:
    result = extract(_page())
    assert result.title == "Tiêu đề bài viết"
    assert result.category == "Văn hóa"
    assert result.published_at == datetime(2023, 5, 2, 8, 15, tzinfo=TZ)
    assert result.body.split("\n\n") == [
        "Đoạn mở đầu của bài.",
        "Đoạn thân bài thứ nhất.",
        "Đoạn thân bài thứ hai.",
    ]
    assert result.author == "TRẦN AN"
    assert result.image is None


def test_without_author_line_or_date() -> None:
    result = extract(_page(author="", date=""))
    assert result.author is None
    assert result.published_at is None and result.date_inferred is False
    assert result.body.endswith("Đoạn thân bài thứ hai.")


def test_body_sentences_that_resemble_chrome_are_kept() -> None:
    body = (
        "<p>Chào mừng các đại biểu đến với hội nghị.</p>"
        "<p>Cập nhật tình hình mưa lũ trên địa bàn.</p><p>2023</p><p>Lượt xem: 5</p>"
    )
    result = extract(_page(body=body, date=""))
    assert result.body.split("\n\n")[1:] == [
        "Chào mừng các đại biểu đến với hội nghị.",
        "Cập nhật tình hình mưa lũ trên địa bàn.",
    ]
    assert result.published_at is None


def test_title_falls_back_to_og_title() -> None:
    page = _page(category=None, title="", head='<meta property="og:title" content="Tựa từ OG">')
    assert extract(page).title == "Tựa từ OG"
    assert extract(_page(category=None, title="")).title == "Trang tin"


def test_lazy_image_with_base_href() -> None:
    body = '<p><img data-src="anh/1.jpg" src="data:image/gif;base64,R0lG"></p><p>Nội dung.</p>'
    page = _page(body=body, head='<base href="https://cdn.example.vn/media/">')
    assert extract(page).image == "https://cdn.example.vn/media/anh/1.jpg"


def test_no_body_raises() -> None:
    with pytest.raises(ExtractionError, match="no article body") as info:
        extract(_page(lead="", body="", author=""))
    assert info.value.url == URL


def test_listing_page_raises() -> None:
    listing = """<html><head><title>Trang chủ</title></head><body>
    <div>Thứ hai, 01/05/2023, 10:00:00</div><div>Tin mới nhất</div>
    <div><h3><a href="/tin-tuc/bai-mot-1001.html">Bài một</a></h3><p>Tóm tắt một.</p></div>
    <div><h3><a href="/tin-tuc/bai-hai-1002.html">Bài hai</a></h3><p>Tóm tắt hai.</p></div>
    <div>Lượt truy cập</div><div>Hôm nay: 12</div></body></html>"""
    with pytest.raises(ExtractionError, match="not an article page"):
        extract(listing)


@pytest.mark.parametrize("name", ["vnexpress-4.html", "thanhnien-2.html", "soha-2.html"])
def test_real_listing_pages_raise(name: str) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip("vi-news corpus not available")
    with pytest.raises(ExtractionError):
        extract(path.read_bytes(), url="https://example.vn/")


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"   \n\t",
        b"\x00\x01\x02\x03",
        random.Random(7).randbytes(4096),
        b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 8,
        "plain text, not HTML at all",
    ],
)
def test_junk_raises_extraction_error(junk: bytes | str) -> None:
    with pytest.raises(ExtractionError) as info:
        extract(junk)
    assert info.value.url == URL


# ---------------------------------------------------------------- discovery


def test_discover_cms_links() -> None:
    listing = """<html><head><base href="/tin-tuc/"></head><body>
    <a href="/">Trang chủ</a>
    <a href="/chuyen-muc/van-hoa.html">Văn hóa</a>
    <a href="/chuyen-muc/nam-2024-12.html">Năm 2024</a>
    <a href="/tin-tuc/bai-mot-1001.html"><img src="/a.jpg"></a>
    <a href="/tin-tuc/bai-mot-1001.html#binh-luan">Bài một</a>
    <a href="bai-hai-1002.html?utm_source=fb">Bài hai</a>
    <a href="https://portal.example.vn/Default.aspx?tabid=1&amp;id=3-77.html">Bài ba</a>
    <a href="https://www.portal.example.vn/thoi-su/bai-bon-1004.html">Bài bốn</a>
    <a href="https://other.example.vn/tin-tuc/bai-nam-1005.html">Trang khác</a>
    <a href="mailto:toasoan@portal.example.vn">Liên hệ</a>
    <a href="javascript:history.back()">[Trở về]</a>
    <a href="/lien-he.html">Liên hệ</a>
    <a href="/tin-tuc/bai-hai-1002.html">Bài hai (lặp)</a>
    </body></html>"""
    links = discover_cms_links(listing, base_url="https://portal.example.vn/")
    assert links == [
        "https://portal.example.vn/tin-tuc/bai-mot-1001.html",
        "https://portal.example.vn/tin-tuc/bai-hai-1002.html",
        "https://www.portal.example.vn/thoi-su/bai-bon-1004.html",
    ]


def test_discover_on_junk_raises() -> None:
    with pytest.raises(ExtractionError):
        discover_cms_links(b"", base_url="https://portal.example.vn/")


# ---------------------------------------------------------------- bylines

BYLINES = [e for e in load_index() if "byline" in e.get("note", "")]


@pytest.mark.parametrize("entry", BYLINES, ids=[e["path"] for e in BYLINES])
def test_byline_after_the_body_is_the_author_not_a_paragraph(entry: dict[str, Any]) -> None:
    """Each printed form: upper-case name with (THỰC HIỆN) or (tổng hợp), a photo
    credit after it on the same or the next line, "Tin, ảnh: …"."""
    article = extract_cms_article(
        (CORPUS_DIR / entry["path"]).read_bytes(),
        url=entry["url"],
        now=datetime.fromisoformat(entry["now"]),
        tz=TZ,
    )
    assert article.author is not None
    assert article.author == entry["expected"]["author"]
    assert unicodedata.is_normalized("NFC", article.author)
    last = article.body.split("\n\n")[-1]
    assert byline(last) is None and not is_photo_credit(last), last


def test_photo_credit_without_byline_stays_in_the_body() -> None:
    page = """<html><body><div>Chi tiết tin tức</div><div>Tin hoạt động</div>
      <div>Hội nghị tổng kết năm</div><div>Ngày đăng: 08:30 | 13/03</div>
      <p>Sáng nay, Đảng ủy Khối tổ chức hội nghị tổng kết công tác năm.</p>
      <p>Quang cảnh hội nghị.</p><p>Ảnh: T.H</p></body></html>"""
    article = extract(page)
    assert article.author is None
    assert article.body.endswith("Quang cảnh hội nghị.\n\nẢnh: T.H")

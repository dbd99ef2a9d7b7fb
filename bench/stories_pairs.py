"""Build tests/stories/pairs.json: labelled article pairs for story grouping.

The file holds each text once (``docs``: site, category, title, summary, body)
and the pairs as ``[kind, same_story, doc a, doc b]``.

Reproducible (fixed seed): ``.venv/bin/python -m bench.stories_pairs``.

Base articles are real text: the saved pages of ../shared/corpus/vi-news and
tests/sites/corpus (extracted the way a poll reads them) and the demo
portal's stories (loa/demo_stories.py). From them:

- positives: a copy as another portal republishes it, with light edits (title
  reworded or prefixed "Khánh Hòa:", byline "(Tin, ảnh: …)" changed, lead
  trimmed, NFD text, a photo caption) and heavy ones (a paragraph dropped or
  added, paragraphs reordered, lead rewritten, the body cut short, several
  edits at once);
- negatives: different articles, easy (any two) and hard: two articles of one
  site (one template), of one category, templated reports written from one
  mould (weather, meetings of one committee, gold prices, power cuts) whose
  openings and closings are the same words, follow-ups that quote the earlier
  story's lead, and short notices.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loa.demo_stories import STORIES
from news.errors import ExtractionError
from news.extract import reader_for
from news.extract.reader import SiteReader

ROOT = Path(__file__).resolve().parent.parent
VI_NEWS = ROOT.parent / "shared" / "corpus" / "vi-news"
SITES = ROOT / "tests" / "sites" / "corpus"
OUT = ROOT / "tests" / "stories" / "pairs.json"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Doc:
    """One article's text, as stored (title, lead, body with paragraphs on lines)."""

    site: str
    category: str
    title: str
    summary: str
    body: str


def _vi_news() -> list[Doc]:
    docs = []
    for entry in json.loads((VI_NEWS / "INDEX.json").read_text(encoding="utf-8")):
        if entry["kind"] != "article":
            continue
        published = entry.get("published")
        now = (
            datetime.fromisoformat(published["iso"]) + timedelta(days=1)
            if published
            else datetime(2012, 12, 31, tzinfo=TZ)
        )
        url = f"http://{entry['site']}/{entry['file'].removesuffix('.html')}-article.html"
        try:
            art = SiteReader(None).article(
                (VI_NEWS / entry["file"]).read_bytes(), url=url, now=now, tz=TZ, summary_chars=400
            )
        except ExtractionError:
            continue
        docs.append(
            Doc(entry["site"], entry.get("category") or "", art.title, art.summary, art.body)
        )
    return docs


def _sites() -> list[Doc]:
    docs = []
    for entry in json.loads((SITES / "index.json").read_text(encoding="utf-8")):
        if entry["kind"] != "article":
            continue
        charset = entry.get("served_charset") or entry.get("charset") or "utf-8"
        art = reader_for(entry["profile"]).article(
            (SITES / entry["path"]).read_bytes(),
            url=entry["url"],
            now=datetime.fromisoformat(entry["now"]),
            tz=TZ,
            summary_chars=400,
            content_type=f"text/html; charset={charset}",
        )
        site = entry["path"].split("/")[0]
        docs.append(
            Doc(site, entry["expected"].get("category") or "", art.title, art.summary, art.body)
        )
    return docs


def _demo() -> list[Doc]:
    return [
        Doc("demo", s.category, s.title, s.lead, "\n".join((*s.paragraphs, s.author)))
        for s in STORIES
    ]


# --- edits a republishing portal makes -------------------------------------------------------

_PREFIXES = ["Khánh Hòa: ", "Quảng Nam: ", "[Thời sự] ", "Tin địa phương - ", "Video: "]
_BYLINES = ["(Tin, ảnh: MINH ANH)", "Theo Báo Khánh Hòa", "NGUYỄN HÙNG (tổng hợp)", "PV"]
_CAPTIONS = [
    "Quang cảnh buổi làm việc. Ảnh: T.H",
    "Các đại biểu tham quan mô hình tại địa phương. (Ảnh: Văn Khoa)",
    "Ảnh minh họa: Internet",
]
_FILLERS = [
    "Trước đó, địa phương đã nhiều lần kiểm tra, đôn đốc việc triển khai các nội dung trên.",
    "Người dân có thể liên hệ đường dây nóng của địa phương để được hướng dẫn cụ thể.",
    "Thời gian tới, các đơn vị sẽ tiếp tục phối hợp chặt chẽ, báo cáo kết quả định kỳ hằng quý.",
]


def _paragraphs(doc: Doc) -> list[str]:
    return [p for p in doc.body.split("\n") if p.strip()]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?…])\s+", text) if s]


def _retitle(rng: random.Random, title: str) -> str:
    words = title.split()
    choice = rng.randrange(3)
    if choice == 0 and len(words) > 6:  # shortened
        return " ".join(words[: max(5, len(words) * 2 // 3)])
    if choice == 1:  # a prefix
        return rng.choice(_PREFIXES) + title
    return title.upper() if rng.random() < 0.3 else title.rstrip(".") + " trong năm nay"


def _byline(rng: random.Random, paras: list[str]) -> list[str]:
    if paras and len(paras[-1].split()) <= 4:  # the author line
        paras = paras[:-1]
    return [*paras, rng.choice(_BYLINES)]


def light(rng: random.Random, doc: Doc) -> Doc:
    """One or two of the small edits every republishing portal makes."""
    title, lead, paras = doc.title, doc.summary, _paragraphs(doc)
    for op in rng.sample(["title", "byline", "lead", "nfd", "caption"], k=rng.randint(1, 2)):
        if op == "title":
            title = _retitle(rng, title)
        elif op == "byline":
            paras = _byline(rng, paras)
        elif op == "lead":
            lead = _sentences(lead)[0] if lead else lead
        elif op == "caption":
            paras.insert(min(1, len(paras)), rng.choice(_CAPTIONS))
        else:
            title, lead = unicodedata.normalize("NFD", title), unicodedata.normalize("NFD", lead)
            paras = [unicodedata.normalize("NFD", p) for p in paras]
    return Doc("copy", doc.category, title, lead, "\n".join(paras))


def heavy(rng: random.Random, doc: Doc) -> Doc:
    """A light edit plus structural ones: paragraphs dropped, added, reordered, cut short."""
    edited = light(rng, doc)
    title, lead, paras = edited.title, edited.summary, _paragraphs(edited)
    for op in rng.sample(["drop", "add", "reorder", "relead", "cut"], k=rng.randint(1, 3)):
        if op == "drop" and len(paras) > 3:
            del paras[rng.randrange(1, len(paras))]
        elif op == "add":
            paras.insert(rng.randrange(len(paras) + 1), rng.choice(_FILLERS))
        elif op == "reorder" and len(paras) > 2:
            i = rng.randrange(len(paras) - 1)
            paras[i], paras[i + 1] = paras[i + 1], paras[i]
        elif op == "relead":
            lead = _sentences(paras[0])[0] if paras else lead
        elif op == "cut" and len(paras) > 4:
            paras = paras[: max(3, len(paras) * 2 // 3)]
    return Doc("copy", doc.category, title, lead, "\n".join(paras))


# --- templated reports: hard negatives --------------------------------------------------------

_PLACES = ["Nha Trang", "Cam Ranh", "Ninh Hòa", "Vạn Ninh", "Diên Khánh", "Khánh Vĩnh", "Cam Lâm"]
_NAMES = ["Nguyễn Văn Hùng", "Trần Thị Mai", "Lê Quang Minh", "Phạm Đức Thắng", "Võ Thị Lan"]
_TOPICS = [
    (
        "tình hình kinh tế - xã hội quý I",
        "thu ngân sách đạt 32% dự toán, giải ngân vốn đầu tư công còn chậm",
    ),
    ("công tác phòng, chống thiên tai", "nhiều tuyến đê xung yếu cần gia cố trước mùa mưa bão"),
    ("tiến độ xây dựng nông thôn mới", "còn 5 xã chưa đạt tiêu chí về thu nhập và môi trường"),
    (
        "công tác cải cách hành chính",
        "tỷ lệ hồ sơ trực tuyến toàn trình đạt 61%, tăng 15% so với cùng kỳ",
    ),
    ("chuẩn bị đại hội đảng bộ các cấp", "văn kiện đã được góp ý rộng rãi trong cán bộ, đảng viên"),
    (
        "công tác bảo đảm trật tự an toàn giao thông",
        "số vụ tai nạn giảm 12%, số người chết giảm 9%",
    ),
    (
        "dự án đường cao tốc qua địa bàn tỉnh",
        "còn 14 hộ dân chưa nhận tiền bồi thường giải phóng mặt bằng",
    ),
    ("kết quả thu hút đầu tư", "tỉnh cấp mới 18 dự án với tổng vốn đăng ký hơn 9.000 tỷ đồng"),
]


def _meeting(rng: random.Random, i: int) -> Doc:
    topic, finding = _TOPICS[i % len(_TOPICS)]
    chair = rng.choice(_NAMES)
    day = 1 + i % 27
    opening = (
        f"Sáng {day}/6, Ban Thường vụ Tỉnh ủy tổ chức hội nghị nghe báo cáo về {topic}. "
        f"Đồng chí {chair}, Phó Bí thư Thường trực Tỉnh ủy chủ trì hội nghị. Dự hội nghị có "
        "các đồng chí Ủy viên Ban Thường vụ Tỉnh ủy; lãnh đạo các sở, ban, ngành, đoàn thể "
        "của tỉnh và Bí thư các huyện ủy, thị ủy, thành ủy."
    )
    body = [
        f"Theo báo cáo, thời gian qua {finding}. Các cơ quan chuyên môn đã tham mưu nhiều giải "
        f"pháp, nhưng kết quả tại {rng.choice(_PLACES)} và {rng.choice(_PLACES)} chưa đạt yêu cầu.",
        f"Tại hội nghị, các đại biểu đã thảo luận, làm rõ nguyên nhân của những hạn chế về "
        f"{topic}, "
        "đồng thời đề xuất tháo gỡ vướng mắc về cơ chế, nguồn lực và phân công trách nhiệm.",
        f"Phát biểu kết luận, đồng chí {chair} đề nghị các cấp ủy, chính quyền tập trung lãnh đạo, "
        "chỉ đạo quyết liệt, đồng bộ các nhiệm vụ, giải pháp; phân công rõ người, rõ việc, rõ thời "
        "gian hoàn thành; định kỳ báo cáo Ban Thường vụ Tỉnh ủy kết quả thực hiện.",
    ]
    return Doc(
        "tinhuy",
        "Thời sự",
        f"Ban Thường vụ Tỉnh ủy nghe báo cáo về {topic}",
        opening,
        "\n".join(body),
    )


def _weather(rng: random.Random, i: int) -> Doc:
    day, hi, lo = 1 + i % 28, rng.randint(29, 37), rng.randint(21, 26)
    rain = rng.choice(
        ["mưa rào và dông rải rác", "nắng nóng, chiều tối có mưa dông", "mưa vừa, mưa to"]
    )
    wind = rng.choice(["gió Đông Bắc cấp 3", "gió Tây Nam cấp 2-3", "gió nhẹ"])
    places = rng.sample(_PLACES, 3)
    lead = (
        f"Đài Khí tượng Thủy văn tỉnh cho biết, ngày {day}/7 khu vực đồng bằng ven biển có {rain}, "
        f"nhiệt độ cao nhất từ {hi - 2} đến {hi} độ C."
    )
    body = [
        f"Khu vực {places[0]} và {places[1]} trời nhiều mây, có {rain}; {wind}. Nhiệt độ thấp nhất "
        f"từ {lo} đến {lo + 2} độ C, độ ẩm từ 70 đến 85%.",
        f"Vùng núi phía tây, trong đó có {places[2]}, đề phòng lốc, sét và mưa đá trong cơn dông; "
        "mưa lớn cục bộ có thể gây lũ quét, sạt lở đất trên các sườn dốc.",
        "Trên biển, vùng biển ven bờ có sóng cao từ 0,5 đến 1 mét, biển êm; tàu thuyền hoạt động "
        "bình thường nhưng cần theo dõi các bản tin dự báo tiếp theo.",
    ]
    return Doc(
        "kttv",
        "Thời tiết",
        f"Thời tiết ngày {day}/7: {rain} ở đồng bằng ven biển",
        lead,
        "\n".join(body),
    )


def _gold(rng: random.Random, i: int) -> Doc:
    day, buy = 1 + i % 28, rng.randint(66, 79)
    move = rng.choice(["tăng", "giảm", "đi ngang"])
    lead = (
        f"Sáng {day}/8, giá vàng miếng SJC tại các doanh nghiệp trong tỉnh {move}, giao dịch quanh "
        f"mức {buy},{rng.randint(1, 9)} triệu đồng mỗi lượng mua vào."
    )
    body = [
        f"Cụ thể, Công ty Vàng bạc đá quý niêm yết giá vàng miếng ở mức "
        f"{buy},{rng.randint(1, 9)} triệu đồng mỗi lượng mua vào và {buy + 2},"
        f"{rng.randint(1, 9)} triệu đồng mỗi lượng bán ra.",
        f"Vàng nhẫn trơn 9999 được mua vào {buy - 8},{rng.randint(1, 9)} triệu đồng "
        f"mỗi lượng, bán ra {buy - 6},{rng.randint(1, 9)} triệu đồng mỗi lượng. Lượng khách "
        "giao dịch tại các cửa hàng ở "
        f"{rng.choice(_PLACES)} không nhiều, chủ yếu là người dân bán ra chốt lời.",
        "Trên thị trường thế giới, giá vàng giao ngay dao động quanh mức 2.000 USD mỗi ounce do "
        "giới đầu tư chờ đợi quyết định lãi suất của Cục Dự trữ liên bang Mỹ.",
    ]
    return Doc(
        "gia", "Kinh tế", f"Giá vàng hôm nay {day}/8: vàng miếng SJC {move}", lead, "\n".join(body)
    )


def _power_cut(rng: random.Random, i: int) -> Doc:
    day = 1 + i % 28
    places = rng.sample(_PLACES, 2)
    lead = (
        f"Công ty Điện lực tỉnh thông báo lịch tạm ngừng cung cấp điện ngày {day}/9 để bảo trì, "
        f"sửa chữa lưới điện tại {places[0]} và {places[1]}."
    )
    body = [
        f"Từ 7 giờ đến 11 giờ 30: một phần khu vực {places[0]}, gồm các thôn {rng.randint(1, 9)}, "
        f"{rng.randint(10, 19)} và khu dân cư dọc tỉnh lộ {rng.randint(1, 9)}.",
        f"Từ 13 giờ đến 17 giờ: toàn bộ khu vực {places[1]}, trừ các trạm biến áp chuyên dùng "
        "của khách hàng có đăng ký riêng.",
        "Điện lực có thể đóng điện trở lại bất cứ lúc nào không cần báo trước; đề nghị khách hàng "
        "không làm việc trên đường dây, thiết bị điện trong thời gian trên để bảo đảm an toàn.",
    ]
    return Doc(
        "dienluc",
        "Thông báo",
        f"Lịch cắt điện ngày {day}/9 tại {places[0]}, {places[1]}",
        lead,
        "\n".join(body),
    )


def _notice(rng: random.Random, i: int) -> Doc:
    month = 1 + i % 12
    who = rng.choice(["Chủ tịch UBND tỉnh", "Bí thư Tỉnh ủy", "Giám đốc Sở Tư pháp"])
    return Doc(
        "thongbao",
        "Thông báo",
        f"Lịch tiếp công dân của {who} tháng {month}",
        f"{who} tiếp công dân định kỳ vào ngày {rng.randint(5, 25)}/{month} "
        "tại Trụ sở Tiếp công dân tỉnh.",
        "",
    )


def _followup(rng: random.Random, earlier: Doc, other: Doc) -> Doc:
    """A new story that recalls the earlier one's lead, then tells its own."""
    lead = f"Như Báo đã đưa tin, {earlier.summary[:1].lower()}{earlier.summary[1:]}"
    return Doc("followup", other.category, other.title, lead, other.body)


def build(seed: int = 14) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    docs = [d for d in _vi_news() + _sites() + _demo() if d.body]
    pairs: list[dict[str, Any]] = []

    def add(kind: str, label: bool, a: Doc, b: Doc) -> None:
        pairs.append({"kind": kind, "same_story": label, "a": asdict(a), "b": asdict(b)})

    for doc in docs:
        add("copy-light", True, doc, light(rng, doc))
        add("copy-heavy", True, doc, heavy(rng, doc))
        if rng.random() < 0.5:
            add("copy-heavy", True, light(rng, doc), heavy(rng, doc))
    by_site: dict[str, list[Doc]] = {}
    by_category: dict[str, list[Doc]] = {}
    for doc in docs:
        by_site.setdefault(doc.site, []).append(doc)
        by_category.setdefault(doc.category, []).append(doc)
    for group, kind in ((by_site, "same-site"), (by_category, "same-category")):
        for members in group.values():
            for i in range(len(members) - 1):
                add(kind, False, members[i], light(rng, members[i + 1]))
    for _ in range(40):
        a, b = rng.sample(docs, 2)
        add("random", False, a, b)
    for make in (_meeting, _weather, _gold, _power_cut, _notice):
        made = [make(rng, i) for i in range(9)]
        for i in range(len(made) - 1):
            add(f"template-{make.__name__.strip('_')}", False, made[i], made[i + 1])
        add(f"template-{make.__name__.strip('_')}-copy", True, made[0], light(rng, made[0]))
    for _ in range(12):
        a, b = rng.sample(docs, 2)
        add("follow-up", False, a, _followup(rng, a, b))
    return pairs


def compact(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each text once ("docs"), the pairs as indexes into it: a quarter of the size."""
    docs: list[dict[str, str]] = []
    index: dict[str, int] = {}

    def ref(doc: dict[str, str]) -> int:
        key = json.dumps(doc, ensure_ascii=False, sort_keys=True)
        if key not in index:
            index[key] = len(docs)
            docs.append(doc)
        return index[key]

    rows = [[p["kind"], p["same_story"], ref(p["a"]), ref(p["b"])] for p in pairs]
    return {"docs": docs, "pairs": rows}


def main() -> None:
    pairs = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = compact(pairs)
    lines = ",\n".join(json.dumps(d, ensure_ascii=False) for d in data["docs"])
    rows = ",\n".join(json.dumps(r, ensure_ascii=False) for r in data["pairs"])
    OUT.write_text(f'{{"docs": [\n{lines}\n],\n"pairs": [\n{rows}\n]}}\n', encoding="utf-8")
    positives = sum(p["same_story"] for p in pairs)
    print(f"{len(pairs)} pairs ({positives} same story, {len(pairs) - positives} not) → {OUT}")


if __name__ == "__main__":
    main()

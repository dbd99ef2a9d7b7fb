"""The operator's `/status` page as one HTML document: inline CSS, inline SVG, no script.

Vietnamese by default like the rest of Loa (`settings.language`; `?lang=en`
switches). Every value from the database (source names, chats, titles,
Telegram's error descriptions) passes through :func:`html.escape`: a failure
reason is text someone else wrote. Times are shown in the newsroom's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from ops.status_chart import ChartTexts, hourly_chart
from ops.status_data import StatusSnapshot

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Trạng thái",
        "generated": "Cập nhật lúc {time} ({zone})",
        "switch_to": "en",
        "switch_name": "English",
        "articles": "Bài viết",
        "backlog": "Tin chờ gửi",
        "sent_hour": "Đã gửi (1 giờ)",
        "failed": "Gửi lỗi",
        "duplicates": "Có thể trùng",
        "readers": "Người đọc",
        "chart": "Bài mới và tin nhắn đã gửi mỗi giờ (48 giờ qua)",
        "chart_found": "Bài mới",
        "chart_sent": "Tin nhắn đã gửi",
        "pauses": "Đang tạm dừng",
        "pause_all": "tất cả nguồn và kênh",
        "pause_source": "nguồn {name}",
        "pause_chat": "kênh {name}",
        "since": "từ {time}",
        "sources": "Nguồn tin",
        "source": "Nguồn",
        "health": "Tình trạng",
        "healthy": "tốt",
        "unhealthy": "lỗi",
        "paused": "tạm dừng",
        "last_poll": "Lần quét cuối",
        "last_article": "Bài mới nhất",
        "last_error": "Lỗi gần nhất",
        "never": "chưa có",
        "chats": "Gửi tin theo kênh",
        "chat": "Kênh / người đọc",
        "pending": "chờ",
        "sending": "đang gửi",
        "failed_col": "lỗi",
        "sent_day": "đã gửi (24 giờ)",
        "other_chats": "{count} người đọc khác",
        "failures": "Lỗi gửi gần đây",
        "time": "Thời gian",
        "article": "Bài viết",
        "attempts": "Lần thử",
        "reason": "Lý do",
        "no_failures": "Không có lỗi nào.",
        "no_sources": "Chưa có nguồn tin nào.",
        "no_chats": "Chưa gửi tin nào.",
        "events": "Sự kiện gần đây",
        "warnings": "Cảnh báo",
        "stories": "Cùng câu chuyện, nhiều nguồn ({hours} giờ qua)",
        "stories_count": "{groups} câu chuyện, {articles} bài",
        "story": "Câu chuyện",
        "first_title": "Tiêu đề bài đầu",
        "story_sources": "Nguồn",
        "copies": "Số bài",
        "latest_copy": "Bài mới nhất",
        "no_stories": "Chưa có câu chuyện nào được nhiều nguồn đăng.",
        "refused_title": "Trang trạng thái đang tắt",
        "refused": (
            "Trang này cần mật khẩu. Đặt status_password (và tùy chọn status_username, "
            "mặc định “loa”) trong tệp cấu hình, hoặc biến môi trường LOA_STATUS_PASSWORD, "
            "rồi khởi động lại. Mã API không mở được trang này."
        ),
        "day_format": "%d/%m",
        "time_format": "%d/%m %H:%M",
        "full_format": "%d/%m/%Y %H:%M:%S",
    },
    "en": {
        "title": "Status",
        "generated": "Updated at {time} ({zone})",
        "switch_to": "vi",
        "switch_name": "Tiếng Việt",
        "articles": "Articles",
        "backlog": "Waiting to send",
        "sent_hour": "Sent (1 h)",
        "failed": "Failed",
        "duplicates": "Possible duplicates",
        "readers": "Readers",
        "chart": "Articles found and messages sent per hour (last 48 h)",
        "chart_found": "Articles found",
        "chart_sent": "Messages sent",
        "pauses": "Paused",
        "pause_all": "every source and chat",
        "pause_source": "source {name}",
        "pause_chat": "chat {name}",
        "since": "since {time}",
        "sources": "Sources",
        "source": "Source",
        "health": "Health",
        "healthy": "healthy",
        "unhealthy": "unhealthy",
        "paused": "paused",
        "last_poll": "Last poll",
        "last_article": "Latest article",
        "last_error": "Last error",
        "never": "never",
        "chats": "Deliveries per chat",
        "chat": "Chat",
        "pending": "pending",
        "sending": "sending",
        "failed_col": "failed",
        "sent_day": "sent (24 h)",
        "other_chats": "{count} other readers",
        "failures": "Recent failures",
        "time": "Time",
        "article": "Article",
        "attempts": "Attempts",
        "reason": "Reason",
        "no_failures": "No failures.",
        "no_sources": "No sources yet.",
        "no_chats": "Nothing sent yet.",
        "events": "Recent events",
        "warnings": "Warnings",
        "stories": "One story, several sources (last {hours} h)",
        "stories_count": "{groups} stories, {articles} articles",
        "story": "Story",
        "first_title": "First title",
        "story_sources": "Sources",
        "copies": "Copies",
        "latest_copy": "Latest copy",
        "no_stories": "No story was published by more than one source.",
        "refused_title": "The status page is off",
        "refused": (
            "This page needs a password. Set status_password (and optionally "
            "status_username, “loa” by default) in the config file, or the environment "
            "variable LOA_STATUS_PASSWORD, then restart. API tokens do not open this page."
        ),
        "day_format": "%d %b",
        "time_format": "%d %b %H:%M",
        "full_format": "%d %b %Y %H:%M:%S",
    },
}

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1f2530;background:#f4f6f8}
header{background:#1f2a3a;color:#fff;padding:14px 24px;display:flex;align-items:baseline;
gap:18px;flex-wrap:wrap}
header h1{margin:0;font-size:20px}header .meta{color:#c0c8d4;font-size:13px}
header a{color:#9cc3ff;margin-left:auto}
main{padding:16px 24px;max-width:1280px;margin:0 auto}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.card{background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:24px;font-variant-numeric:tabular-nums}
.card span{color:#5b6574;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.card.warn b{color:#c0392b}
section{background:#fff;border-radius:8px;padding:12px 16px;margin-top:14px;
box-shadow:0 1px 2px #0001;overflow-x:auto}
h2{font-size:15px;margin:2px 0 10px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceff2;vertical-align:top}
th{font-size:12px;color:#5b6574;font-weight:600;white-space:nowrap}
td.t{white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.ok,.bad,.pause{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px}
.ok{background:#e3f4e8;color:#1e7b3a}.bad{background:#fde6e3;color:#b3261e}
.pause{background:#fff1d6;color:#8a5a00}
.muted{color:#7a8391}.err{color:#b3261e;max-width:420px;overflow-wrap:anywhere}
.paused-box{background:#fff8e6;border-left:4px solid #f0a500}
ul{margin:0;padding-left:18px}
"""


def _fmt(moment: datetime | None, tz: ZoneInfo, t: dict[str, str]) -> str:
    """A time in the language's short form in the newsroom's zone, escaped; "never" for None."""
    if moment is None:
        return f'<span class="muted">{escape(t["never"])}</span>'
    return escape(moment.astimezone(tz).strftime(t["time_format"]))


def _table(headers: Iterable[tuple[str, bool]], rows: list[str], empty: str) -> str:
    """A table with (label, numeric) headers; `empty` in a muted line when no rows."""
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(
        f"<th{' class=n' if numeric else ''}>{escape(label)}</th>" for label, numeric in headers
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def status_page(snapshot: StatusSnapshot, *, title: str, language: str, tz: ZoneInfo) -> str:
    """The whole page for `snapshot` in `language` ("vi" or "en"), times in `tz`."""
    t = TEXTS.get(language, TEXTS["vi"])
    language = language if language in TEXTS else "vi"
    s = snapshot.status

    def card(label: str, value: int, warn: bool = False) -> str:
        css = "card warn" if warn and value else "card"
        return f'<div class="{css}"><b>{value:,}</b><span>{escape(label)}</span></div>'

    sent_hour = s.last_hour.get("sent", 0)
    cards = "".join(
        [
            card(t["articles"], s.articles),
            card(t["backlog"], s.backlog),
            card(t["sent_hour"], sent_hour),
            card(t["failed"], s.deliveries.get("failed", 0), warn=True),
            card(t["duplicates"], s.possible_duplicates, warn=True),
            card(t["readers"], s.readers.readers),
        ]
    )
    chart = hourly_chart(
        snapshot.hours,
        tz,
        ChartTexts(t["chart"], t["chart_found"], t["chart_sent"], t["day_format"]),
    )
    body = [
        f'<div class="cards">{cards}</div>',
        _pauses(snapshot, t, tz),
        f"<section><h2>{escape(t['chart'])}</h2>{chart}</section>",
        _sources(snapshot, t, tz),
        _chats(snapshot, t),
        _stories(snapshot, t, tz),
        _failures(snapshot, t, tz),
        _events(snapshot, t),
    ]
    other = t["switch_to"]
    generated = t["generated"].format(
        time=snapshot.generated_at.astimezone(tz).strftime(t["full_format"]), zone=tz.key
    )
    return (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)} — {escape(t['title'])}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>{escape(title)} — {escape(t['title'])}</h1>"
        f'<span class="meta">{escape(generated)}</span>'
        f'<a href="?lang={other}" hreflang="{other}">{escape(t["switch_name"])}</a></header>'
        f"<main>{''.join(body)}</main></body></html>"
    )


def _pauses(snapshot: StatusSnapshot, t: dict[str, str], tz: ZoneInfo) -> str:
    if not snapshot.status.pauses:
        return ""
    items = []
    for p in snapshot.status.pauses:
        key = f"pause_{p.kind.value}"
        what = t[key].format(name=p.name)
        since = t["since"].format(time=p.created_at.astimezone(tz).strftime(t["time_format"]))
        items.append(f'<li><span class="pause">{escape(what)}</span> {escape(since)}</li>')
    return (
        f'<section class="paused-box" id="pauses"><h2>{escape(t["pauses"])}</h2>'
        f"<ul>{''.join(items)}</ul></section>"
    )


def _sources(snapshot: StatusSnapshot, t: dict[str, str], tz: ZoneInfo) -> str:
    rows = []
    for line in snapshot.sources:
        h = line.health
        badge = (
            f'<span class="ok">{escape(t["healthy"])}</span>'
            if h.healthy
            else f'<span class="bad">{escape(t["unhealthy"])}</span>'
        )
        if line.paused:
            badge += f' <span class="pause">{escape(t["paused"])}</span>'
        article = _fmt(line.last_article_at, tz, t)
        if line.last_article_title:
            article += f'<br><span class="muted">{escape(line.last_article_title[:120])}</span>'
        error = escape(h.last_error or "") if not h.healthy or h.consecutive_failures else ""
        rows.append(
            f"<tr><td>{escape(h.name)}</td><td>{badge}</td>"
            f'<td class="t">{_fmt(h.last_polled_at, tz, t)}</td><td>{article}</td>'
            f'<td class="err">{error}</td></tr>'
        )
    headers = [(t["source"], False), (t["health"], False), (t["last_poll"], False)]
    headers += [(t["last_article"], False), (t["last_error"], False)]
    table = _table(headers, rows, t["no_sources"])
    return f'<section id="sources"><h2>{escape(t["sources"])}</h2>{table}</section>'


def _chats(snapshot: StatusSnapshot, t: dict[str, str]) -> str:
    rows = []
    for c in snapshot.chats:
        name = escape(c.chat) if c.chat else escape(t["other_chats"].format(count=c.chats))
        badges = ""
        if c.channel_status == "failed":
            badges += f' <span class="bad">{escape(t["unhealthy"])}</span>'
        if c.paused:
            badges += f' <span class="pause">{escape(t["paused"])}</span>'
        if c.channel_status == "failed" and c.channel_error:
            badges += f'<br><span class="err">{escape(c.channel_error)}</span>'
        rows.append(
            f"<tr><td>{name}{badges}</td><td class=n>{c.pending:,}</td>"
            f"<td class=n>{c.sending:,}</td><td class=n>{c.failed:,}</td>"
            f"<td class=n>{c.sent:,}</td></tr>"
        )
    headers = [(t["chat"], False), (t["pending"], True), (t["sending"], True)]
    headers += [(t["failed_col"], True), (t["sent_day"], True)]
    table = _table(headers, rows, t["no_chats"])
    return f'<section id="chats"><h2>{escape(t["chats"])}</h2>{table}</section>'


def _stories(snapshot: StatusSnapshot, t: dict[str, str], tz: ZoneInfo) -> str:
    """Stories told by two or more articles lately (news.stories.groups), newest first."""
    recent = snapshot.status.stories
    rows = [
        f"<tr><td class=n>{g.story_id}</td><td>{escape(g.first_title[:120])}</td>"
        f"<td>{escape(', '.join(g.sources))}</td><td class=n>{g.copies}</td>"
        f'<td class="t">{_fmt(g.last_seen_at, tz, t)}</td></tr>'
        for g in recent.top
    ]
    headers = [(t["story"], True), (t["first_title"], False), (t["story_sources"], False)]
    headers += [(t["copies"], True), (t["latest_copy"], False)]
    table = _table(headers, rows, t["no_stories"])
    title = escape(t["stories"].format(hours=recent.hours))
    count = escape(t["stories_count"].format(groups=recent.groups, articles=recent.articles))
    summary = f'<p class="muted">{count}</p>' if recent.groups else ""
    return f'<section id="stories"><h2>{title}</h2>{summary}{table}</section>'


def _failures(snapshot: StatusSnapshot, t: dict[str, str], tz: ZoneInfo) -> str:
    rows = [
        f'<tr><td class="t">{_fmt(f.at, tz, t)}</td><td>{escape(f.chat)}</td>'
        f"<td>{escape(f.article_title[:120])}</td><td class=n>{f.attempts}</td>"
        f'<td class="err">{escape(f.error)}</td></tr>'
        for f in snapshot.failures
    ]
    headers = [(t["time"], False), (t["chat"], False), (t["article"], False)]
    headers += [(t["attempts"], True), (t["reason"], False)]
    table = _table(headers, rows, t["no_failures"])
    return f'<section id="failures"><h2>{escape(t["failures"])}</h2>{table}</section>'


def _events(snapshot: StatusSnapshot, t: dict[str, str]) -> str:
    s = snapshot.status
    parts = []
    if s.source_warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in s.source_warnings)
        parts.append(f'<section id="warnings"><h2>{escape(t["warnings"])}</h2><ul>{items}</ul>')
        parts.append("</section>")
    if s.recent_events:
        items = "".join(f"<li>{escape(e)}</li>" for e in s.recent_events)
        parts.append(f'<section id="events"><h2>{escape(t["events"])}</h2><ul>{items}</ul>')
        parts.append("</section>")
    return "".join(parts)


def refused_page(language: str) -> str:
    """The page shown when no status password is configured: how to turn the page on."""
    t = TEXTS.get(language, TEXTS["vi"])
    language = language if language in TEXTS else "vi"
    return (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{escape(t['refused_title'])}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(t['refused_title'])}</h1></header>"
        f"<main><section><p>{escape(t['refused'])}</p></section></main></body></html>"
    )

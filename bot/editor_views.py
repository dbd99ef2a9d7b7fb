"""The editors' replies as HTML: articles, /status, /sources, /channels, poll results.

Pure functions from the service layer's results to text, so the handlers stay
thin and every value that came from a site, a config file or Telegram is
escaped in one place before it reaches `parse_mode=HTML`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from html import escape

from bot.channels import ChannelCheck
from bot.i18n import t
from config.settings import SourceConfig
from news.editorial import FoundArticle, PauseInfo
from news.status import SourceHealth, Status
from news.stories.groups import StoryGroup
from news.stories.split_view import SplitOutcome

TITLE_CHARS = 120
ERROR_CHARS = 300


def short(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def when(moment: datetime | None, tz: tzinfo, lang: str) -> str:
    """A moment in the newsroom's zone ("09:12 13/03"), or "never"."""
    if moment is None:
        return t(lang, "ed_never")
    return moment.astimezone(tz).strftime("%H:%M %d/%m")


def article_line(lang: str, article_id: int, title: str, state: str) -> str:
    """``#12 “Title” (new)``, escaped."""
    return t(
        lang,
        "ed_article",
        id=article_id,
        title=escape(short(title, TITLE_CHARS)),
        state=t(lang, f"ed_state_{state}"),
    )


def found_article(lang: str, found: FoundArticle, group: StoryGroup | None = None) -> str:
    """An article with a link, where each generation of it went, and its story's other copies."""
    head = article_line(lang, found.id, found.title, found.state)
    lines = [f'<a href="{escape(found.url, quote=True)}">{head}</a>']
    if found.posted:
        chats = ", ".join(
            escape(f"{p.chat} ({p.state}" + (f", #{p.generation})" if p.generation else ")"))
            for p in found.posted
        )
        lines.append(t(lang, "ed_posted_to", chats=chats))
    else:
        lines.append(t(lang, "ed_not_posted"))
    if found.readers:
        lines.append(t(lang, "ed_readers", count=found.readers))
    if group is not None:
        lines.append(story_line(lang, group, found.id))
    return "\n".join(lines)


def story_line(lang: str, group: StoryGroup, article_id: int) -> str:
    """``Same story: #5 baotinh, #7 chinhphu (withdrawn)``, each copy a link to its page."""
    withdrawn = f" ({t(lang, 'ed_state_withdrawn')})"
    copies = ", ".join(
        f'<a href="{escape(m.url, quote=True)}">#{m.article_id} {escape(m.source or "?")}</a>'
        + (withdrawn if m.withdrawn else "")
        for m in group.others(article_id)
    )
    return t(lang, "ed_story_line", copies=copies)


def split_text(lang: str, outcome: SplitOutcome) -> str:
    """What a split did: the article's own story now, new posts, posts losing its link."""
    if not outcome.split:
        return t(lang, "ed_split_alone", id=outcome.article_id)
    lines = [t(lang, "ed_split_done", id=outcome.article_id, story=outcome.story_id)]
    if outcome.new_posts:
        lines.append(t(lang, "ed_split_posts", chats=_chats_and_readers(lang, outcome.new_posts)))
    else:
        lines.append(t(lang, "ed_split_no_posts"))
    if outcome.edited:
        lines.append(t(lang, "ed_split_edits", chats=_chats_and_readers(lang, outcome.edited)))
    if outcome.replanned:
        ids = ", ".join(f"#{i}" for i in outcome.replanned)
        lines.append(t(lang, "ed_split_replanned", ids=ids))
    return "\n".join(lines)


def _chats_and_readers(lang: str, chats: Sequence[str]) -> str:
    """Channels and groups by name (escaped), readers' private chats only counted."""
    named = sorted({c for c in chats if not c.isdigit()})
    readers = len({c for c in chats if c.isdigit()})
    parts = [escape(c) for c in named]
    if readers:
        parts.append(t(lang, "ed_split_readers", count=readers))
    return ", ".join(parts)


def chat_list(chats: Sequence[str]) -> str:
    """Chats joined and escaped."""
    return escape(", ".join(chats))


def status_text(lang: str, status: Status, pauses: Sequence[PauseInfo], tz: tzinfo) -> str:
    """The /status reply: sources, the last hour, backlog, failing chats, duplicates, pauses."""
    lines = [f"<b>{t(lang, 'ed_status_title')}</b>", t(lang, "ed_status_sources")]
    lines += [source_line(lang, source, tz) for source in status.sources] or ["—"]
    states = ", ".join(f"{state} {count}" for state, count in status.last_hour.items())
    lines.append(t(lang, "ed_status_last_hour", states=states))
    lines.append(t(lang, "ed_status_backlog", count=status.backlog))
    if status.failed_channels:
        lines.append(t(lang, "ed_status_failed_channels"))
        lines += [
            f"• {escape(name)}: {escape(short(error, ERROR_CHARS))}"
            for name, error in status.failed_channels
        ]
    if status.possible_duplicates:
        lines.append(t(lang, "ed_status_duplicates", count=status.possible_duplicates))
    stories = status.stories
    if stories.groups:
        lines.append(
            t(lang, "ed_status_stories", hours=stories.hours, groups=stories.groups,
              articles=stories.articles)
        )  # fmt: skip
    lines.append(pauses_text(lang, pauses, tz))
    return "\n".join(lines)


def source_line(lang: str, source: SourceHealth, tz: tzinfo) -> str:
    """``✅ name – last success: …``, with the failures of an unhealthy source."""
    mark = "✅" if source.healthy and not source.consecutive_failures else "⚠️"
    line = t(
        lang,
        "ed_source_line",
        mark=mark,
        name=escape(source.name),
        last=when(source.last_success_at, tz, lang),
    )
    if source.consecutive_failures:
        error = escape(short(source.last_error or "", ERROR_CHARS))
        line += " – " + t(
            lang, "ed_source_failing", failures=source.consecutive_failures, error=error
        )
    return line


def pauses_text(lang: str, pauses: Sequence[PauseInfo], tz: tzinfo) -> str:
    """What is paused, since when and by whom; or that nothing is."""
    if not pauses:
        return t(lang, "ed_status_no_pauses")
    lines = [t(lang, "ed_status_paused")]
    for pause in pauses:
        by = f", {pause.created_by}" if pause.created_by else ""
        lines.append(f"• {escape(pause_label(lang, pause.kind.value, pause.name))} "
                     f"({when(pause.created_at, tz, lang)}{by})")  # fmt: skip
    return "\n".join(lines)


def pause_label(lang: str, kind: str, name: str) -> str:
    """``source demo``, ``chat @tin`` or the words for everything."""
    return t(lang, "ed_pause_all") if kind == "all" else f"{kind} {name}"


def sources_text(
    lang: str,
    configured: Sequence[SourceConfig],
    health: Sequence[SourceHealth],
    paused: set[str],
    tz: tzinfo,
) -> str:
    """The /sources reply: each configured source, its address, interval, health, pause."""
    if not configured:
        return t(lang, "ed_no_sources")
    known = {h.name: h for h in health}
    lines = [f"<b>{t(lang, 'ed_sources_title')}</b>"]
    for cfg in configured:
        state = known.get(cfg.name) or SourceHealth(cfg.name, True, None, None, 0, None)
        lines.append(source_line(lang, state, tz))
        detail = t(
            lang,
            "ed_source_config",
            name=escape(cfg.name),
            url=escape(cfg.url),
            interval=cfg.poll_interval,
        )
        if cfg.name in paused:
            detail += " – " + t(lang, "ed_source_paused")
        lines.append("   " + detail)
    return "\n".join(lines)


def channels_text(lang: str, checks: Sequence[ChannelCheck], paused: set[str]) -> str:
    """The /channels reply: what Telegram said about each configured chat."""
    if not checks:
        return t(lang, "ed_no_channels")
    lines = [f"<b>{t(lang, 'ed_channels_title')}</b>"]
    for check in checks:
        chat = escape(check.configured)
        problem = escape(short(check.problem or "", ERROR_CHARS))
        if check.retry:
            line = t(lang, "ed_channel_unchecked", chat=chat, problem=problem)
        elif check.problem is None:
            title = escape(check.title or check.chat_id or "")
            line = t(lang, "ed_channel_ok", chat=chat, title=title)
        else:
            line = t(lang, "ed_channel_problem", chat=chat, problem=problem)
        if check.configured in paused:
            line += " – " + t(lang, "ed_source_paused")
        lines.append(line)
    return "\n".join(lines)

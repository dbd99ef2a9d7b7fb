"""Which chats an article goes to, from the configured route rules."""

from __future__ import annotations

from collections.abc import Sequence

from config.settings import RouteRule


def chats_for(rules: Sequence[RouteRule], *, category_slug: str | None, source: str) -> list[str]:
    """Chats whose rule matches, each once, in rule order."""
    chats = [r.channel for r in rules if r.matches(category_slug=category_slug, source=source)]
    return list(dict.fromkeys(chats))

"""Which chats an article goes to, from the configured route rules."""

from __future__ import annotations

from collections.abc import Sequence

from config.settings import RouteRule


def chats_for(
    rules: Sequence[RouteRule], *, category_slug: str | None, source: str, text: str = ""
) -> list[str]:
    """Chats whose rule matches, each once, in rule order."""
    chats = []
    for rule in rules:
        if rule.matches(category_slug=category_slug, source=source, text=text):
            chat = rule.chat_for(category_slug)
            if chat is not None:
                chats.append(chat)
    return list(dict.fromkeys(chats))

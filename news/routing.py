"""Which chats an article goes to, from the configured route rules.

A :class:`config.settings.RouteRule` is only data; matching it against an
article (category slug, source, whole words without diacritics) happens here.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.settings import RouteRule
from news.text import slugify


def rule_matches(
    rule: RouteRule, *, category_slug: str | None, source: str, text: str = ""
) -> bool:
    """True when the article's category, source and words pass `rule`'s filters."""
    if rule.sources and source not in rule.sources:
        return False
    if rule.categories and category_slug not in {slugify(c) for c in rule.categories}:
        return False
    words = f" {slugify(text).replace('-', ' ')} "
    if rule.include and not any(has_word(words, w) for w in rule.include):
        return False
    return not any(has_word(words, w) for w in rule.exclude)


def rule_chat(rule: RouteRule, category_slug: str | None) -> str | None:
    """The chat `rule` names for an article (None: templated but no category)."""
    if "{category_slug}" not in rule.channel:
        return rule.channel
    if not category_slug:
        return None
    return rule.channel.replace("{category_slug}", category_slug.replace("-", "_"))


def has_word(folded_text: str, word: str) -> bool:
    """Whole-word, diacritic-insensitive containment ("tuyen giao" finds "Tuyên giáo")."""
    needle = slugify(word).replace("-", " ")
    return bool(needle) and f" {needle} " in folded_text


def chats_for(
    rules: Sequence[RouteRule], *, category_slug: str | None, source: str, text: str = ""
) -> list[str]:
    """Chats whose rule matches, each once, in rule order."""
    chats = []
    for rule in rules:
        if rule_matches(rule, category_slug=category_slug, source=source, text=text):
            chat = rule_chat(rule, category_slug)
            if chat is not None:
                chats.append(chat)
    return list(dict.fromkeys(chats))


def chats_without_dedupe(
    rules: Sequence[RouteRule], *, category_slug: str | None, source: str, text: str = ""
) -> set[str]:
    """Chats a matching rule names with ``dedupe_stories: false``.

    One rule that wants every copy posted wins over others naming the same
    chat: an owner who turned dedupe off for a chat expects to see each copy.
    """
    return {
        chat
        for rule in rules
        if not rule.dedupe_stories
        and rule_matches(rule, category_slug=category_slug, source=source, text=text)
        and (chat := rule_chat(rule, category_slug)) is not None
    }

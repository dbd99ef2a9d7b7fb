"""Channel post templates: checked when the configuration is read.

A template is a ``str.format`` string over a fixed set of plain fields. No
format specs, conversions, attribute or index access are allowed: they add
nothing a newsroom needs, and ``{url:>99999999999}`` would allocate a 100 GB
string when rendered. Tags must be ones Telegram's HTML accepts. This module
only checks; :mod:`bot.render` renders.
"""

from __future__ import annotations

import re
from string import Formatter

TEMPLATE_FIELDS = ("title", "category_line", "date", "summary", "url", "read_more")
#: The tags Telegram's parse_mode=HTML accepts (see the Bot API's formatting options).
TELEGRAM_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote".split()
)
TAG = re.compile(r"</?([a-zA-Z][\w-]*)[^>]*>")


def check_template(template: str) -> str:
    """Return `template` if it uses only plain known fields and Telegram's tags."""
    try:
        parts = list(Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template is not a valid format string: {exc}") from None
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            raise ValueError(
                f"template field {{{field}}} is not one of {', '.join(TEMPLATE_FIELDS)}"
            )
        if spec or conversion:
            raise ValueError(f"template field {{{field}}} takes no format spec or conversion")
    for match in TAG.finditer(template):
        if match.group(1).lower() not in TELEGRAM_TAGS:
            raise ValueError(f"tag <{match.group(1)}> is not allowed by Telegram")
    if "{url}" not in template:
        raise ValueError("the template must contain {url}: the link is never dropped")
    return template

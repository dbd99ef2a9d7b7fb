"""Every reader-facing string of the bot, per language, looked up with `t`.

Kept in one module so a translator sees all of them at once, and so a test can
prove both languages have the same keys with the same placeholders: a key
missing in English would otherwise only show up as a crash in a reader's chat.
Vietnamese is the default; a reader whose Telegram client says "en…" gets English.
"""

from __future__ import annotations

from typing import Final

VI: Final = "vi"
EN: Final = "en"
LANGUAGES: Final = (VI, EN)

STRINGS: Final[dict[str, dict[str, str]]] = {
    VI: {
        "welcome": (
            "Xin chào! Tôi là Loa, bot tin tức.\n"
            "Chọn một chuyên mục bên dưới, hoặc gõ /help để xem các lệnh."
        ),
        "all_categories": "Tất cả",
        "help": (
            "Các lệnh:\n"
            "/latest [chuyên mục] [số] – tin mới nhất (mặc định 5, tối đa 20)\n"
            "/categories – các chuyên mục, số bài và RSS\n"
            "/feeds – địa chỉ các nguồn RSS và OPML\n"
            "/start – lời chào và các chuyên mục\n"
            "/help – trợ giúp này"
        ),
        "no_articles": "Chưa có tin nào.",
        "latest_title": "Tin mới nhất",
        "latest_title_category": "Tin mới nhất – {category}",
        "page_empty": "Không còn tin nào ở trang này.",
        "older": "◀ Cũ hơn",
        "newer": "Mới hơn ▶",
        "no_such_category": "Không có chuyên mục “{query}”.",
        "closest": "Có phải bạn muốn tìm:",
        "latest_hint": (
            "Cách dùng: /latest [chuyên mục] [số từ 1 đến 20], ví dụ /latest tuyen giao 10"
        ),
        "no_categories": "Chưa có chuyên mục nào.",
        "categories_title": "Chuyên mục (số bài – RSS):",
        "feeds_title": "Nguồn RSS:",
        "feed_all": "Tất cả tin",
        "feed_opml": "OPML (mọi nguồn)",
        "unknown_command": "Tôi không hiểu lệnh này. Gõ /help để xem các lệnh.",
        "plain_text": "Gõ /latest để xem tin mới nhất, hoặc /help để xem các lệnh.",
        "stale_button": "Nút này đã cũ, hãy gõ /latest.",
        "error": "Xin lỗi, đã có lỗi. Vui lòng thử lại sau.",
        "cmd_start": "Lời chào và các chuyên mục",
        "cmd_help": "Các lệnh",
        "cmd_latest": "Tin mới nhất",
        "cmd_categories": "Các chuyên mục",
        "cmd_feeds": "Nguồn RSS",
    },
    EN: {
        "welcome": (
            "Hello! I am Loa, a news bot.\n"
            "Pick a category below, or send /help to see the commands."
        ),
        "all_categories": "All",
        "help": (
            "Commands:\n"
            "/latest [category] [n] – newest headlines (default 5, at most 20)\n"
            "/categories – categories, article counts and RSS\n"
            "/feeds – the RSS feed and OPML addresses\n"
            "/start – welcome and categories\n"
            "/help – this help"
        ),
        "no_articles": "No news yet.",
        "latest_title": "Latest news",
        "latest_title_category": "Latest news – {category}",
        "page_empty": "No more news on this page.",
        "older": "◀ Older",
        "newer": "Newer ▶",
        "no_such_category": "No such category: “{query}”.",
        "closest": "Did you mean:",
        "latest_hint": "Usage: /latest [category] [number 1 to 20], e.g. /latest tuyen giao 10",
        "no_categories": "No categories yet.",
        "categories_title": "Categories (articles – RSS):",
        "feeds_title": "RSS feeds:",
        "feed_all": "All news",
        "feed_opml": "OPML (every feed)",
        "unknown_command": "I don't know that command. Send /help to see the commands.",
        "plain_text": "Send /latest for the newest headlines, or /help for the commands.",
        "stale_button": "This button is out of date; send /latest.",
        "error": "Sorry, something went wrong. Please try again later.",
        "cmd_start": "Welcome and categories",
        "cmd_help": "The commands",
        "cmd_latest": "Newest headlines",
        "cmd_categories": "The categories",
        "cmd_feeds": "RSS feeds",
    },
}


def reader_language(language_code: str | None) -> str:
    """The reader's language from Telegram's `language_code`: "en…" → en, else vi."""
    return EN if (language_code or "").lower().startswith("en") else VI


def t(lang: str, key: str, **fields: object) -> str:
    """The string `key` in `lang` (vi for an unknown language), with `fields` filled in.

    A missing key raises KeyError on purpose: the catalog test catches it
    before a reader would.
    """
    text = STRINGS.get(lang, STRINGS[VI])[key]
    return text.format(**fields) if fields else text

"""Every reader-facing string of the bot, per language, looked up with `t`.

Kept in one module so a translator sees all of them at once, and so a test can
prove both languages have the same keys with the same placeholders: a key
missing in English would otherwise only show up as a crash in a reader's chat.
Vietnamese is the default; a reader whose Telegram client says "en…" gets English.
"""

from __future__ import annotations

from typing import Final

from bot.i18n_addsource import ADDSOURCE_STRINGS
from bot.i18n_editors import EDITOR_STRINGS

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
            "/search <từ khóa> – tìm bài viết (không cần gõ dấu)\n"
            "/categories – các chuyên mục, số bài và RSS\n"
            "/feeds – địa chỉ các nguồn RSS và OPML\n"
            "/subscribe <chuyên mục|từ khóa> – nhận tin mới qua tin nhắn riêng\n"
            "/unsubscribe <…> – bỏ theo dõi\n"
            "/mysubs – các mục bạn theo dõi\n"
            "/digest daily HH:MM | off – tin tổng hợp mỗi ngày\n"
            "/quiet HH-HH | off – giờ yên lặng\n"
            "/lang vi|en – ngôn ngữ\n"
            "/tz <múi giờ> – múi giờ của bạn, ví dụ /tz +7\n"
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
        # --- search and inline mode
        "search_hint": (
            "Cách dùng: /search <từ khóa>, ví dụ /search tuyen giao (có dấu hay không đều được)"
        ),
        "search_title": "Tìm “{query}”: {total} bài – trang {page}/{pages}",
        "search_none": "Không tìm thấy bài nào cho “{query}”.",
        "search_stale": "Nút này đã cũ, hãy tìm lại bằng /search.",
        "cmd_search": "Tìm bài viết",
        # --- subscriptions and preferences
        "label_all": "Tất cả tin",
        "label_keywords": "Từ khóa: {words}",
        "sub_hint": (
            "Cách dùng: /subscribe <chuyên mục hoặc từ khóa>, ví dụ /subscribe tuyen giao.\n"
            "Hoặc chọn một chuyên mục:"
        ),
        "sub_done": "Đã theo dõi “{label}”. Tin mới sẽ được gửi cho bạn ở đây.",
        "sub_already": "Bạn đã theo dõi “{label}” rồi.",
        "sub_did_you_mean": "Hay bạn muốn theo dõi chuyên mục:",
        "sub_too_many": "Bạn đã theo dõi {max} mục, hãy bỏ bớt bằng /mysubs.",
        "sub_bad_keywords": "Từ khóa không hợp lệ: tối đa 6 từ và 100 ký tự, có chữ hoặc số.",
        "sub_private_only": "Hãy nhắn riêng cho tôi để theo dõi tin: {link}",
        "sub_confirm": "Theo dõi “{label}”? Tin mới sẽ được gửi cho bạn ở đây.",
        "sub_confirm_button": "✅ Theo dõi",
        "unsub_done": "Đã bỏ theo dõi “{label}”.",
        "unsub_unknown": "Bạn không theo dõi “{query}”. Xem /mysubs.",
        "unsub_tapped": "Đã bỏ theo dõi.",
        "mysubs_title": "Bạn đang theo dõi (bấm để bỏ):",
        "mysubs_empty": "Bạn chưa theo dõi gì. Gõ /subscribe để bắt đầu.",
        "lang_hint": "Chọn ngôn ngữ: /lang vi hoặc /lang en",
        "lang_done": "Đã chọn tiếng Việt.",
        "digest_hint": "Cách dùng: /digest daily 07:00 (tin tổng hợp mỗi ngày) hoặc /digest off",
        "digest_on": "Bạn sẽ nhận một bản tin tổng hợp mỗi ngày lúc {time} ({tz}).",
        "digest_off": "Đã tắt bản tin tổng hợp: tin mới sẽ đến ngay khi có.",
        "quiet_hint": "Cách dùng: /quiet 22-7 (giờ yên lặng) hoặc /quiet off",
        "quiet_on": (
            "Giờ yên lặng: {start}:00–{end}:00 ({tz}). "
            "Tin trong giờ này được gửi gộp thành một tin khi hết giờ."
        ),
        "quiet_off": "Đã tắt giờ yên lặng.",
        "digest_title": "Tin tổng hợp: {count} tin",
        "quiet_title": "Tin trong giờ yên lặng: {count} tin",
        "cmd_subscribe": "Theo dõi chuyên mục hoặc từ khóa",
        "cmd_unsubscribe": "Bỏ theo dõi",
        "cmd_mysubs": "Các mục bạn theo dõi",
        "cmd_lang": "Ngôn ngữ (vi/en)",
        "cmd_digest": "Tin tổng hợp mỗi ngày",
        "cmd_quiet": "Giờ yên lặng",
        "cmd_tz": "Múi giờ của bạn",
        "tz_hint": (
            "Cách dùng: /tz Asia/Bangkok hoặc /tz +7 (múi giờ cho tin tổng hợp và giờ yên lặng; "
            "mặc định {tz})"
        ),
        "tz_done": "Múi giờ của bạn: {tz}.",
        **EDITOR_STRINGS["vi"],
        **ADDSOURCE_STRINGS["vi"],
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
            "/search <words> – search articles (diacritics optional)\n"
            "/categories – categories, article counts and RSS\n"
            "/feeds – the RSS feed and OPML addresses\n"
            "/subscribe <category|keywords> – new articles in a private message\n"
            "/unsubscribe <…> – stop following\n"
            "/mysubs – what you follow\n"
            "/digest daily HH:MM | off – one digest a day\n"
            "/quiet HH-HH | off – quiet hours\n"
            "/lang vi|en – language\n"
            "/tz <zone> – your time zone, e.g. /tz +7\n"
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
        # --- search and inline mode
        "search_hint": (
            "Usage: /search <words>, e.g. /search tuyen giao (with or without diacritics)"
        ),
        "search_title": "Search “{query}”: {total} found – page {page}/{pages}",
        "search_none": "No articles found for “{query}”.",
        "search_stale": "This button is out of date; search again with /search.",
        "cmd_search": "Search articles",
        # --- subscriptions and preferences
        "label_all": "All news",
        "label_keywords": "Keywords: {words}",
        "sub_hint": (
            "Usage: /subscribe <category or keywords>, e.g. /subscribe tuyen giao.\n"
            "Or pick a category:"
        ),
        "sub_done": "Subscribed to “{label}”. New articles will be sent to you here.",
        "sub_already": "You already follow “{label}”.",
        "sub_did_you_mean": "Or did you mean the category:",
        "sub_too_many": "You follow {max} things already; remove some with /mysubs.",
        "sub_bad_keywords": "Invalid keywords: at most 6 words, 100 characters, letters or digits.",
        "sub_private_only": "Write to me privately to subscribe: {link}",
        "sub_confirm": "Subscribe to “{label}”? New articles will be sent to you here.",
        "sub_confirm_button": "✅ Subscribe",
        "unsub_done": "Unsubscribed from “{label}”.",
        "unsub_unknown": "You don't follow “{query}”. See /mysubs.",
        "unsub_tapped": "Unsubscribed.",
        "mysubs_title": "You follow (tap to remove):",
        "mysubs_empty": "You follow nothing yet. Send /subscribe to start.",
        "lang_hint": "Pick a language: /lang vi or /lang en",
        "lang_done": "Language set to English.",
        "digest_hint": "Usage: /digest daily 07:00 (one digest a day) or /digest off",
        "digest_on": "You will get one digest a day at {time} ({tz}).",
        "digest_off": "Digest off: new articles arrive as they appear.",
        "quiet_hint": "Usage: /quiet 22-7 (quiet hours) or /quiet off",
        "quiet_on": (
            "Quiet hours: {start}:00–{end}:00 ({tz}). "
            "Alerts in that time arrive as one summary when it ends."
        ),
        "quiet_off": "Quiet hours off.",
        "digest_title": "Digest: {count} articles",
        "quiet_title": "During your quiet hours: {count} articles",
        "cmd_subscribe": "Follow a category or keywords",
        "cmd_unsubscribe": "Stop following",
        "cmd_mysubs": "What you follow",
        "cmd_lang": "Language (vi/en)",
        "cmd_digest": "One digest a day",
        "cmd_quiet": "Quiet hours",
        "cmd_tz": "Your time zone",
        "tz_hint": (
            "Usage: /tz Asia/Bangkok or /tz +7 (the zone of your digest and quiet hours; "
            "default {tz})"
        ),
        "tz_done": "Your time zone: {tz}.",
        **EDITOR_STRINGS["en"],
        **ADDSOURCE_STRINGS["en"],
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

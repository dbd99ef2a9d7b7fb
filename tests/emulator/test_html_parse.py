"""The HTML parser against TDLib's own parse_html cases (wording and UTF-16 offsets)."""

from __future__ import annotations

import pytest

from telegram_emulator.errors import ApiError
from telegram_emulator.html_parse import HtmlParseError, parse_html, utf16_len
from telegram_emulator.text import message_text

ERRORS = [
    ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
    ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
    ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
    ("🏟 🏟&lt;<i    aba>", 'Can\'t find end tag corresponding to start tag "i"'),
    ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
    ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
    ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
    ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
    ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
    ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
    ("🏟 🏟&lt;<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
    ("Hi <script>x</script>", 'Unsupported start tag "script" at byte offset 3'),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
]


@pytest.mark.parametrize(("source", "error"), ERRORS)
def test_rejects_like_tdlib(source: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as info:
        parse_html(source)
    assert str(info.value) == error


OK = [
    ("&ge;&lt;&gt;&amp;&quot;&laquo;&#12345678;", '&ge;<>&"&laquo;&#12345678;', []),
    ("AT&T", "AT&T", []),
    ("🏟 🏟<i>🏟 &gt;<b aba = caba>&lt🏟</b></i>", "🏟 🏟🏟 ><🏟", [("italic", 5, 7), ("bold", 9, 3)]),
    ('<pre><code class="language-py">x=1</code></pre>', "x=1", [("pre", 0, 3)]),
    ("<pre><code>x</code></pre>", "x", [("pre", 0, 1), ("code", 0, 1)]),
    ("<a href=telegram.org>t</a>", "t", [("text_link", 0, 1)]),
    ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
    ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st",
     [("spoiler", 0, 1), ("spoiler", 1, 1)]),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
    ("<b>x</>", "x", [("bold", 0, 1)]),
]  # fmt: skip


@pytest.mark.parametrize(("source", "text", "entities"), OK)
def test_parses_like_tdlib(source: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


def test_link_url_is_normalised() -> None:
    assert parse_html("<a href='telegram.org?&lt;'>x</a>").entities[0]["url"] == (
        "http://telegram.org/?<"
    )


def test_length_is_measured_after_parsing_in_utf16() -> None:
    # 4096 "&" written as "&amp;" is 20480 bytes of markup but exactly 4096 characters.
    assert message_text("&amp;" * 4096, "HTML", None).text == "&" * 4096
    with pytest.raises(ApiError, match="message is too long"):
        message_text("&amp;" * 4097, "HTML", None)
    # An emoji outside the BMP counts twice.
    assert utf16_len("🏟") == 2
    with pytest.raises(ApiError, match="message is too long"):
        message_text("🏟" * 2049, None, None)


def test_whitespace_is_trimmed_and_empty_rejected() -> None:
    parsed = message_text("  <b> hi </b>\n", "HTML", None)
    assert parsed.text == "hi"
    assert parsed.entities == [{"type": "bold", "offset": 0, "length": 2}]
    with pytest.raises(ApiError, match="message text is empty"):
        message_text("<b> </b>", "HTML", None)


def test_strict_mode_rejects_bare_ampersand() -> None:
    with pytest.raises(ApiError, match='can\'t parse entities: Unescaped "&" at byte offset 2'):
        message_text("AT&T", "HTML", None, strict=True)
    assert message_text("AT&amp;T &#38; &#x26;", "HTML", None, strict=True).text == "AT&T & &"

"""The strings catalog: both languages complete, placeholders matching."""

from __future__ import annotations

import string

import pytest

from bot.i18n import EN, LANGUAGES, STRINGS, VI, reader_language, t


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    keys = set().union(*(STRINGS[lang] for lang in LANGUAGES))
    for lang in LANGUAGES:
        missing = keys - STRINGS[lang].keys()
        assert not missing, f"{lang} lacks {sorted(missing)}"
    for key in keys:
        assert _fields(STRINGS[VI][key]) == _fields(STRINGS[EN][key]), key
        assert STRINGS[VI][key].strip() and STRINGS[EN][key].strip(), key


@pytest.mark.parametrize(
    ("code", "lang"),
    [("en", EN), ("en-US", EN), ("EN-gb", EN), ("vi", VI), ("fr", VI), (None, VI), ("", VI)],
)
def test_reader_language_from_telegram_language_code(code: str | None, lang: str) -> None:
    assert reader_language(code) == lang


def test_t_fills_fields_and_falls_back_to_vietnamese() -> None:
    assert t(EN, "no_such_category", query="x") == "No such category: “x”."
    assert t("de", "no_articles") == STRINGS[VI]["no_articles"]
    with pytest.raises(KeyError):
        t(VI, "no_such_key")

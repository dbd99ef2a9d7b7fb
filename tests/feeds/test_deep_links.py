"""The home page links the bot's t.me deep links next to each feed, when the bot is known."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lxml.html
import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from bot.identity import record_username
from config.loader import load_settings
from config.settings import Settings
from feeds.cache import rebuild_all
from feeds.deep_links import bot_username, category_payload, start_link
from feeds.server import create_app
from news.errors import ConfigError
from tests.conftest import free_port
from tests.helpers import extracted, running_server, store_article

LONG = "Chuyên mục " + "rất dài " * 10  # its slug is over Telegram's 64-character limit


def make_settings(tmp_path: Path, **environ: str) -> Settings:
    return load_settings(
        None,
        environ={"LOA_HTTP_PORT": str(free_port()), "LOA_DATA_DIR": str(tmp_path), **environ},
    )


@contextmanager
def home(settings: Settings, factory: sessionmaker[Session]) -> Iterator[str]:
    with running_server(create_app(settings, factory), settings.http_port) as url:
        yield url


def bot_links(base: str, lang: str = "vi") -> dict[str, str]:
    """Each deep link's href, by the text its row starts with (a category, or "all news")."""
    page = requests.get(f"{base}/?lang={lang}", timeout=10)
    assert page.status_code == 200
    doc = lxml.html.document_fromstring(page.text)
    found = {}
    for link in doc.xpath('//a[@class="telegram-bot"]'):
        assert link.text == ("Theo dõi trên Telegram" if lang == "vi" else "Subscribe on Telegram")
        row = link.getparent()
        found[(row.text or "").split(" — ")[0].strip()] = link.get("href")
    return found


@pytest.fixture
def seeded(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    store_article(factory, extracted(1, category="Kinh tế"))
    store_article(factory, extracted(2, category='Tin <b>nóng</b> & "mới"'))
    store_article(factory, extracted(3, category=LONG))
    return factory


def test_each_category_and_all_link_to_the_bot_when_its_username_is_set(
    seeded: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, LOA_BOT_USERNAME="@Loa_News_bot")
    rebuild_all(seeded, settings)
    with home(settings, seeded) as base:
        links = bot_links(base)
        assert links["Tất cả tin"] == "https://t.me/Loa_News_bot?start=all"
        assert links["Kinh tế"] == "https://t.me/Loa_News_bot?start=cat_kinh-te"
        assert (
            links['Tin <b>nóng</b> & "mới"']
            == "https://t.me/Loa_News_bot?start=cat_tin-b-nong-b-moi"
        )
        assert LONG.strip() not in links  # no link Telegram would refuse
        assert bot_links(base, "en")["All news"] == "https://t.me/Loa_News_bot?start=all"
        html = requests.get(f"{base}/", timeout=10).text
        assert (
            "<b>nóng</b>" not in html
            and "Tin &lt;b&gt;nóng&lt;/b&gt; &amp; &quot;mới&quot;" in html
        )


def test_the_username_the_bot_recorded_is_used_and_the_setting_wins(
    seeded: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    with home(settings, seeded) as base:
        assert bot_links(base) == {}  # unknown: no links at all
        record_username(settings.bot_username_file, "recorded_bot")
        assert bot_links(base)["Kinh tế"] == "https://t.me/recorded_bot?start=cat_kinh-te"
    override = make_settings(tmp_path, LOA_BOT_USERNAME="chosen_bot")
    assert bot_username(override) == "chosen_bot"


@pytest.mark.parametrize(
    "content", ['x"><script>alert(1)</script>', "bot", "a" * 40, "", "ok_bot\nextra", "\xff\xfe"]
)
def test_a_damaged_username_file_means_no_links(tmp_path: Path, content: str) -> None:
    settings = make_settings(tmp_path)
    settings.bot_username_file.write_text(content, encoding="latin-1")
    assert bot_username(settings) is None


def test_start_links_follow_telegrams_rules() -> None:
    assert start_link("loa_bot", category_payload(None)) == "https://t.me/loa_bot?start=all"
    assert start_link("loa_bot", category_payload("thoi-su")) == (
        "https://t.me/loa_bot?start=cat_thoi-su"
    )
    assert start_link("loa_bot", category_payload("x" * 61)) is None  # 65 characters
    assert start_link("loa_bot", "cat_a b") is None
    assert start_link("no", "all") is None and start_link("a/b_bot", "all") is None


@pytest.mark.parametrize("value", ["not valid!", "ab", "@" + "x" * 40])
def test_a_bad_bot_username_setting_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="username"):
        load_settings(None, environ={"LOA_BOT_USERNAME": value})

"""How a post offers the article: the `read_more` option, link previews, and the outbox file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from bot.publisher import Publisher
from bot.render import RenderOptions, render_edits, render_post
from bot.senders import OutboxSender
from config.loader import load_settings
from config.settings import ChannelConfig, Settings
from news import ledger
from news.models import Article
from telegram_emulator import Emulator
from tests.helpers import extracted, store_article

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LINK = '">Đọc tiếp</a>'


def article(factory: sessionmaker[Session], n: int = 1, **changes: object) -> Article:
    result = store_article(factory, replace(extracted(n), **changes))  # type: ignore[arg-type]
    with factory() as session:
        return session.get_one(Article, result.article_id)


def buttons(params: dict[str, object]) -> list[dict[str, str]]:
    markup = params.get("reply_markup")
    if markup is None:
        return []
    assert isinstance(markup, dict)
    return [button for row in markup["inline_keyboard"] for button in row]


@pytest.mark.parametrize(
    ("read_more", "has_link", "has_button"),
    [("button", False, True), ("link", True, False), ("both", True, True)],
)
@pytest.mark.parametrize("send_mode", ["preview", "photo"])
def test_read_more_puts_the_article_link_where_the_channel_wants_it(
    factory: sessionmaker[Session],
    read_more: str,
    has_link: bool,
    has_button: bool,
    send_mode: str,
) -> None:
    post = article(factory)
    opts = RenderOptions(tz=TZ, read_more=read_more, send_mode=send_mode)  # type: ignore[arg-type]
    (request,) = render_post(post, chat_id="@c", opts=opts)
    text = request.params.get("text") or request.params["caption"]
    assert (LINK in text) is has_link
    assert text.startswith("<b>Bài số 1</b>") and "Tóm tắt bài viết." in text
    if has_link:
        assert f'<a href="{post.canonical_url}">Đọc tiếp</a>' in text
    else:
        assert "Đọc tiếp" not in text and text == text.rstrip()
    expected = [{"text": "Đọc tiếp", "url": post.canonical_url}] if has_button else []
    assert buttons(request.params) == expected
    (edit,) = render_edits(post, chat_id="@c", message_ids=[5], methods=[request.method], opts=opts)
    assert buttons(edit.params) == expected  # a correction keeps the same shape
    edited = edit.params.get("text") or edit.params["caption"]
    assert (LINK in edited) is has_link


def test_read_more_leaves_a_custom_template_as_written(factory: sessionmaker[Session]) -> None:
    post = article(factory)
    template = '<i>{title}</i> — <a href="{url}">{read_more}</a>'
    (request,) = render_post(
        post, chat_id="@c", opts=RenderOptions(tz=TZ, template=template, read_more="button")
    )
    assert (
        request.params["text"] == f'<i>Bài số 1</i> — <a href="{post.canonical_url}">Đọc tiếp</a>'
    )
    assert len(buttons(request.params)) == 1


def test_read_more_is_a_channel_option_defaulting_to_button(tmp_path: Path) -> None:
    assert ChannelConfig(chat="@c").read_more == "button"
    config = tmp_path / "loa.yaml"
    config.write_text(
        "channels:\n"
        "  - {chat: '@lien_ket', read_more: link}\n"
        "  - {chat: '@ca_hai', read_more: both}\n",
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    assert settings.channel_options("@lien_ket").read_more == "link"
    assert settings.channel_options("@ca_hai").read_more == "both"
    assert settings.channel_options("@khac").read_more == "button"
    with pytest.raises(ValidationError, match="read_more"):
        ChannelConfig(chat="@c", read_more="footer")


@pytest.mark.parametrize(("read_more", "has_link", "has_button"), [
    ("button", False, True), ("link", True, False), ("both", True, True),
])  # fmt: skip
def test_read_more_reaches_telegram(
    factory: sessionmaker[Session],
    publisher: Publisher,
    settings: Settings,
    telegram_emulator: Emulator,
    read_more: str,
    has_link: bool,
    has_button: bool,
) -> None:
    telegram_emulator.create_chat("channel", username="doc_tiep")
    channel = ChannelConfig(chat="@doc_tiep", read_more=read_more)
    publisher.settings = settings.model_copy(update={"channels": [channel]})
    post = article(factory)
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, post.id, ["@doc_tiep"])
    assert publisher.publish(delivery_id).status == "sent"
    (message,) = telegram_emulator.messages("@doc_tiep")
    links = [e["url"] for e in message.entities if e["type"] == "text_link"]
    assert links == ([post.canonical_url] if has_link else [])
    assert message.text is not None and ("Đọc tiếp" in message.text) is has_link
    assert (message.reply_markup is not None) is has_button


SVG_IMAGES = [
    "http://portal.test/images/logo.svg",
    "http://portal.test/images/Logo.SVG?v=3",
    "http://portal.test/static/banner.svgz",
    "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
]


@pytest.mark.parametrize("image", SVG_IMAGES)
def test_link_preview_skips_an_svg_image_for_the_article_page(
    factory: sessionmaker[Session], image: str
) -> None:
    post = article(factory, image=image)
    (request,) = render_post(post, chat_id="@c", opts=RenderOptions(tz=TZ))
    assert request.params["link_preview_options"]["url"] == post.canonical_url


@pytest.mark.parametrize("image", SVG_IMAGES)
def test_photo_mode_with_an_svg_image_sends_the_preview_post(
    factory: sessionmaker[Session], image: str
) -> None:
    post = article(factory, image=image)
    (request,) = render_post(post, chat_id="@c", opts=RenderOptions(tz=TZ, send_mode="photo"))
    assert request.method == "sendMessage"
    assert request.params["link_preview_options"]["url"] == post.canonical_url


def test_a_raster_image_still_leads_the_preview_and_the_photo(
    factory: sessionmaker[Session],
) -> None:
    post = article(factory, image="http://portal.test/images/svg-guide.jpg?format=svg")
    (preview,) = render_post(post, chat_id="@c", opts=RenderOptions(tz=TZ))
    assert preview.params["link_preview_options"]["url"] == post.image
    (photo,) = render_post(post, chat_id="@c", opts=RenderOptions(tz=TZ, send_mode="photo"))
    assert photo.method == "sendPhoto" and photo.params["photo"] == post.image


def test_outbox_file_keeps_vietnamese_readable(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    post = article(factory, title="Hội nghị tổng kết công tác tuyên giáo")
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, post.id, ["@loa_demo"])
    settings = load_settings(None, environ={})
    Publisher(factory, OutboxSender(tmp_path / "outbox"), settings).publish(delivery_id)
    (path,) = (tmp_path / "outbox").iterdir()
    raw = path.read_bytes()
    assert "Hội nghị tổng kết công tác tuyên giáo".encode() in raw  # UTF-8, literally
    assert b"\\u" not in raw
    assert json.loads(raw)["params"]["text"].startswith("<b>Hội nghị")

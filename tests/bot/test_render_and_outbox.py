"""Rendering escapes everything and fits Telegram's limits; the outbox writes exact requests."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.publisher import Publisher
from bot.render import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    BotRequest,
    RenderOptions,
    check_template,
    plain_text_fallback,
    render_post,
    visible_length,
)
from bot.senders import OutboxSender
from config.loader import load_settings
from news import ledger
from news.models import Article, Delivery, DeliveryState
from tests.helpers import extracted, store_article

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ICT = timezone(timedelta(hours=7))
OPTS = RenderOptions(tz=TZ)


def _article(factory: sessionmaker[Session], **kw: object) -> Article:
    result = store_article(factory, replace(extracted(1), **kw))  # type: ignore[arg-type]
    with factory() as session:
        return session.get_one(Article, result.article_id)


def test_hostile_title_and_huge_summary_render_a_valid_message(
    factory: sessionmaker[Session],
) -> None:
    article = _article(
        factory,
        title="<script>alert(1)</script> & </b> giá vàng",
        summary="Câu có <b>thẻ</b> & ký tự đặc biệt. " * 400,
        published_at=datetime(2023, 3, 13, 16, 56, tzinfo=ICT),
    )
    both = RenderOptions(tz=TZ, read_more="both")  # a link in the text and the button
    (request,) = render_post(article, chat_id="@loa_demo", opts=both)
    text = request.params["text"]
    assert request.method == "sendMessage" and request.params["parse_mode"] == "HTML"
    assert "<b>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;/b&gt; giá vàng</b>" in text
    assert "<script>" not in text and "<b>thẻ</b>" not in text
    assert "#CongTacTuyenGiao · Công tác tuyên giáo" in text
    assert "16:56, 13/03/2023" in text
    assert visible_length(text) <= TEXT_LIMIT
    assert text.rstrip().endswith(">Đọc tiếp</a>")  # the link survives the cut
    summary_part = text.split("\n\n")[1]
    assert summary_part.endswith(".")  # cut at a sentence end, never inside an entity
    assert request.params["reply_markup"]["inline_keyboard"][0][0]["url"] == article.canonical_url
    assert request.params["link_preview_options"]["url"] == article.image


def test_photo_mode_splits_a_long_post_and_keeps_short_ones_whole(
    factory: sessionmaker[Session],
) -> None:
    photo = RenderOptions(tz=TZ, send_mode="photo")
    short = _article(factory, summary="Tin ngắn.")
    (single,) = render_post(short, chat_id="@c", opts=photo)
    assert single.method == "sendPhoto" and "Tin ngắn." in single.params["caption"]
    long = _article(factory, summary="Một câu dài về kinh tế. " * 80)
    first, second = render_post(long, chat_id="@c", opts=photo)
    assert first.method == "sendPhoto" and visible_length(first.params["caption"]) <= CAPTION_LIMIT
    assert second.method == "sendMessage" and "Một câu dài" in second.params["text"]
    preview = RenderOptions(tz=TZ, send_mode="photo", long_caption="preview")
    (only,) = render_post(long, chat_id="@c", opts=preview)
    assert only.method == "sendMessage"


def test_english_channel_and_custom_template(factory: sessionmaker[Session]) -> None:
    article = _article(factory)
    template = check_template('<i>{title}</i> — <a href="{url}">{read_more}</a>')
    (request,) = render_post(
        article, chat_id="@en", opts=RenderOptions(tz=TZ, language="en", template=template)
    )
    assert request.params["text"] == (
        f'<i>Bài số 1</i> — <a href="{article.canonical_url}">Read more</a>'
    )
    for bad in ("<script>{title}</script>{url}", "{title} {nope} {url}", "{title}"):
        with pytest.raises(ValueError):
            check_template(bad)


def test_plain_text_fallback_keeps_the_words() -> None:
    request = BotRequest(
        "sendMessage", {"chat_id": 1, "text": "<b>A &amp; B</b>", "parse_mode": "HTML"}
    )
    fallback = plain_text_fallback(request)
    assert fallback.params == {"chat_id": 1, "text": "A & B"}


def test_publish_to_outbox_writes_one_file_and_marks_sent(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    result = store_article(factory, extracted(7))
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, result.article_id, ["@loa_demo"])
    settings = load_settings(None, environ={})
    publisher = Publisher(factory, OutboxSender(tmp_path / "outbox"), settings)
    outcome = publisher.publish(delivery_id)
    assert outcome.status == "sent"
    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [f"delivery-{delivery_id}-g0.json"]
    payload = json.loads(files[0].read_text(encoding="utf-8"))
    assert payload["method"] == "sendMessage"
    assert payload["params"]["chat_id"] == "@loa_demo"
    assert "Bài số 7" in payload["params"]["text"]
    # Publishing the same delivery again sends nothing more.
    assert publisher.publish(delivery_id).status == "skipped"
    assert len(list((tmp_path / "outbox").iterdir())) == 1
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.state is DeliveryState.SENT
        assert row.message_ids == list(outcome.message_ids)
        assert row.methods == ["sendMessage"] and row.article_version == 1

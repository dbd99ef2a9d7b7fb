"""Rendering escapes everything; the outbox writes the exact request, atomically."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.publisher import publish_delivery
from bot.render import TEXT_LIMIT, render_article
from bot.senders import OutboxSender
from news import ledger
from news.models import Article, Delivery, DeliveryState
from tests.helpers import extracted, store_article

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ICT = timezone(timedelta(hours=7))


def test_render_escapes_text_and_keeps_the_link(factory: sessionmaker[Session]) -> None:
    long_summary = "Câu <script>alert(1)</script> & chuyện. " * 400
    result = store_article(
        factory,
        extracted(
            1,
            title="A < B & C",
            summary=long_summary,
            published_at=datetime(2023, 3, 13, 16, 56, tzinfo=ICT),
        ),
    )
    with factory() as session:
        article = session.get_one(Article, result.article_id)
        request = render_article(article, chat_id="@loa_demo", tz=TZ)
    text = request.params["text"]
    assert request.method == "sendMessage"
    assert request.params["parse_mode"] == "HTML"
    assert "<b>A &lt; B &amp; C</b>" in text
    assert "<script>" not in text
    assert "#CongTacTuyenGiao" in text
    assert "16:56, 13/03/2023" in text
    assert len(text) <= TEXT_LIMIT
    assert text.endswith('">Đọc tiếp</a>')
    assert request.params["reply_markup"]["inline_keyboard"][0][0]["url"] == article.canonical_url


def test_publish_to_outbox_writes_one_file_and_marks_sent(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    result = store_article(factory, extracted(7))
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, result.article_id, ["@loa_demo"])
    sender = OutboxSender(tmp_path / "outbox")
    outcome = publish_delivery(factory, sender, delivery_id, tz=TZ)
    assert outcome.status == "sent"
    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [f"delivery-{delivery_id}-g0.json"]
    payload = json.loads(files[0].read_text(encoding="utf-8"))
    assert payload["method"] == "sendMessage"
    assert payload["params"]["chat_id"] == "@loa_demo"
    assert "Bài số 7" in payload["params"]["text"]
    # Publishing the same delivery again sends nothing more.
    assert publish_delivery(factory, sender, delivery_id, tz=TZ).status == "skipped"
    assert len(list((tmp_path / "outbox").iterdir())) == 1
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.state is DeliveryState.SENT
        assert row.message_ids == list(outcome.message_ids)

"""Routing: categories, sources, keywords (diacritic-insensitive), templated chats, bursts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from config.settings import RouteRule
from news.announce import plan_announcements
from news.db import utcnow
from news.models import Delivery
from news.routing import chats_for, rule_matches
from tests.helpers import extracted, store_article


def test_keywords_match_whole_words_without_diacritics() -> None:
    rule = RouteRule(channel="@kt", include=["giá vàng", "lúa"], exclude=["quảng cáo"])
    assert rule_matches(rule, category_slug=None, source="s", text="Giá vàng tăng mạnh")
    assert rule_matches(rule, category_slug=None, source="s", text="Nông dân thu hoạch LÚA")
    assert not rule_matches(rule, category_slug=None, source="s", text="Thảo luận")  # whole words
    assert not rule_matches(rule, category_slug=None, source="s", text="giá vàng: quang cao")
    assert not rule_matches(rule, category_slug=None, source="s", text="Thời tiết")


def test_rules_combine_categories_sources_and_templates() -> None:
    rules = [
        RouteRule(channel="@all"),
        RouteRule(channel="@tg", categories=["Công tác Tuyên giáo"], sources=["portal"]),
        RouteRule(channel="@demo_{category_slug}"),
        RouteRule(channel="@all"),
    ]
    assert chats_for(rules, category_slug="cong-tac-tuyen-giao", source="portal") == [
        "@all",
        "@tg",
        "@demo_cong_tac_tuyen_giao",
    ]
    assert chats_for(rules, category_slug="cong-tac-tuyen-giao", source="other") == [
        "@all",
        "@demo_cong_tac_tuyen_giao",
    ]
    assert chats_for(rules, category_slug=None, source="portal") == ["@all"]


def test_a_burst_is_spread_after_the_limit(factory: sessionmaker[Session]) -> None:
    ids = [store_article(factory, extracted(n)).article_id for n in range(5)]
    now = utcnow()
    planned = plan_announcements(
        factory, ids, [RouteRule(channel="@c")], burst_limit=2, spacing_seconds=60, now=now
    )
    assert [p.delay_seconds for p in planned] == [0, 0, 60, 120, 180]
    with factory() as session:
        rows = {r.id: r for r in session.query(Delivery)}
    assert rows[planned[0].delivery_id].next_attempt_at is None
    held = rows[planned[4].delivery_id].next_attempt_at
    assert held is not None and abs((held - now) - timedelta(seconds=180)) < timedelta(seconds=1)

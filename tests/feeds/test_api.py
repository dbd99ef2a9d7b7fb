"""The HTTP API over real HTTP: tokens, limits, validation, the editors' actions, the spec."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from feeds.api_models import MAX_BODY_BYTES
from news.models import Article, ArticleStatus, Delivery, Event, EventKind
from tests.feeds.api_helpers import CHATS, OTHER_TOKEN, TOKEN, api_server, api_settings, client

ARTICLE = {
    "title": "Tỉnh khánh thành cầu dân sinh",
    "url": "https://cms.example/tin-tuc/cau-dan-sinh-77.html",
    "published_at": "2024-05-01T09:30:00+07:00",
    "category": "Xã hội",
    "summary": "Cây cầu nối hai xã miền núi đã được đưa vào sử dụng.",
    "body": "Sáng nay, tỉnh tổ chức lễ khánh thành.\nCầu dài 120 m.",
    "image": "https://cms.example/images/77.jpg",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return api_settings(tmp_path)


@pytest.fixture
def base(settings: Settings, factory: sessionmaker[Session]) -> Iterator[str]:
    with api_server(settings, factory) as url:
        yield url


def test_every_api_call_needs_one_of_the_tokens(
    base: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls = [
        ("POST", "/api/articles", ARTICLE),
        ("POST", "/api/articles/1/republish", {}),
        ("POST", "/api/articles/1/withdraw", None),
        ("POST", "/api/sources/demo/poll", None),
        ("GET", "/api/status", None),
    ]
    with caplog.at_level(logging.WARNING, logger="feeds.api"):
        for token in (None, "wrong", TOKEN[:-1], TOKEN + "x", ""):
            http = client(token)
            for method, path, body in calls:
                answer = http.request(method, base + path, json=body)
                assert answer.status_code == 401, (token, path)
                assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="loa"')
                assert "error" in answer.json()
    assert sum("API call refused" in r.getMessage() for r in caplog.records) == 25
    basic = client(None)
    basic.headers["Authorization"] = f"Basic {TOKEN}"
    assert basic.get(f"{base}/api/status").status_code == 401
    wrong = client("wrong").get(f"{base}/api/status")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    for token in (TOKEN, OTHER_TOKEN):
        assert client(token).get(f"{base}/api/status").status_code == 200


def test_no_tokens_configured_means_every_call_is_refused(
    tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    settings = api_settings(tmp_path, tokens="")
    assert settings.api_tokens == []
    with api_server(settings, factory) as base:
        for token in (None, "", "anything"):
            answer = client(token).post(f"{base}/api/articles", json=ARTICLE)
            assert answer.status_code == 401
            assert "no api_tokens are configured" in answer.json()["error"]
        assert client("x").get(f"{base}/api/status").status_code == 401
        # the description stays public: it holds no secrets
        assert client(None).get(f"{base}/api/openapi.json").status_code == 200
    with factory() as session:
        assert session.scalars(select(Article)).all() == []


def test_bodies_over_a_megabyte_are_refused_even_without_a_length(base: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    huge = b'{"title": "' + b"a" * MAX_BODY_BYTES + b'"}'
    answer = httpx.post(f"{base}/api/articles", content=huge, headers=headers)
    assert answer.status_code == 413

    def chunked() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"a" * 65536

    answer = httpx.post(f"{base}/api/articles", content=chunked(), headers=headers)
    assert answer.status_code == 413
    assert answer.json() == {"error": "the body is larger than 1 MB"}
    for path in ("/api/articles/1/republish", "/api/articles/1/withdraw"):
        assert httpx.post(base + path, content=huge, headers=headers).status_code == 413
    # without a token, the size does not matter: 401 before reading
    assert httpx.post(f"{base}/api/articles", content=huge).status_code == 401


INVALID = [
    (b"{not json", "body", "not valid JSON"),
    (b"", "body", "not valid JSON"),
    (b"\xff\xfe{}", "body", "not UTF-8"),
    (b"[1, 2]", "body", "must be a JSON object"),
    (b'{"url": NaN}', "body", "not valid JSON"),
    (b"[" * 100_000, "body", "not valid JSON"),
    (b'{"title": "x"}', "url", "Field required"),
    (b'{"url": "https://a.example/1"', "body", "not valid JSON"),
    (b'{"url": "https://a.example/1", "summary": "s"}', "title", "Field required"),
    (b'{"url": "javascript:alert(1)", "title": "t"}', "url", "http(s) URL"),
    (b'{"url": "https://a.example:99999/", "title": "t"}', "url", "invalid port"),
    (b'{"url": "https://a.example/1", "title": " \\u200b "}', "title", "no visible"),
    (b'{"url": "https://a.example/1", "title": 5}', "title", "valid string"),
    (b'{"url": "https://a.example/1", "title": "\\ud800"}', "title", "unicode string"),
    (b'{"url": "https://a.example/1", "title": "t", "publish": 1}', "publish", "Extra"),
    (b'{"url": "https://a.example/1", "title": "t", "published_at": "hom qua"}',
     "published_at", "datetime"),
    (b'{"url": "https://a.example/1", "title": "t", "published_at": "0001-01-01T00:00:00Z"}',
     "published_at", "1970"),
    (b'{"url": "https://a.example/1", "title": "t", "image": "data:image/png;base64,AA"}',
     "image", "http(s) URL"),
    (b'{"url": ["https://a.example/1"]}', "url", "valid string"),
]  # fmt: skip


def test_invalid_bodies_are_422_naming_the_field(base: str) -> None:
    http = client()  # one server for every case: each is one request
    for body, field, message in INVALID:
        answer = http.post(f"{base}/api/articles", data=body)
        assert answer.status_code == 422, (body[:80], answer.text)
        payload = answer.json()
        assert payload["field"] == field, (body[:80], payload)
        assert message in payload["error"], (body[:80], payload)


def test_unknown_articles_sources_and_paths_are_404(base: str) -> None:
    http = client()
    for path in (
        "/api/articles/424242/republish",
        "/api/articles/424242/withdraw",
        "/api/articles/abc/withdraw",
        "/api/articles/99999999999999999999/withdraw",
        "/api/sources/nope/poll",
        "/api/nothing",
    ):
        answer = http.post(base + path)
        assert answer.status_code == 404, path
        assert answer.json()["error"]
    assert http.get(f"{base}/api/articles").status_code == 405


def test_push_stores_announces_and_answers_with_the_deliveries(
    base: str, factory: sessionmaker[Session]
) -> None:
    http = client()
    answer = http.post(f"{base}/api/articles", json=ARTICLE)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["outcome"] == "new"
    assert [d["chat"] for d in created["deliveries"]] == CHATS
    assert created["readers"] == 0
    assert created["queued"] == 0  # no broker in this test: the rows wait in the database
    with factory() as session:
        article = session.get_one(Article, created["id"])
        assert article.title == ARTICLE["title"]
        assert article.category is not None and article.category.slug == "xa-hoi"
        rows = session.scalars(select(Delivery).where(Delivery.article_id == article.id)).all()
        assert sorted(r.id for r in rows) == [d["id"] for d in created["deliveries"]]

    again = http.post(f"{base}/api/articles", json=ARTICLE)
    assert again.status_code == 200
    assert again.json() == {
        "id": created["id"], "outcome": "unchanged", "deliveries": [], "readers": 0, "queued": 0,
    }  # fmt: skip
    fixed = http.post(f"{base}/api/articles", json={**ARTICLE, "body": "Đã sửa."})
    assert (fixed.status_code, fixed.json()["outcome"]) == (200, "updated")
    with factory() as session:
        assert session.get_one(Article, created["id"]).version == 2
        assert len(session.scalars(select(Delivery)).all()) == 2  # a correction posts nothing


def test_republish_withdraw_and_status(base: str, factory: sessionmaker[Session]) -> None:
    http = client()
    article_id = http.post(f"{base}/api/articles", json=ARTICLE).json()["id"]
    answer = http.post(f"{base}/api/articles/{article_id}/republish")
    assert answer.status_code == 202, answer.text
    again = answer.json()
    assert again["generation"] == 1 and [d["chat"] for d in again["deliveries"]] == CHATS
    one = http.post(f"{base}/api/articles/{article_id}/republish", json={"chat": "@kenh_b"})
    assert one.status_code == 202
    assert [d["chat"] for d in one.json()["deliveries"]] == ["@kenh_b"]
    stranger = http.post(f"{base}/api/articles/{article_id}/republish", json={"chat": "@other"})
    assert stranger.status_code == 409
    assert (
        http.post(f"{base}/api/articles/{article_id}/republish", json={"chat": ""}).json()["field"]
        == "chat"
    )

    for _ in range(2):  # withdrawing twice changes nothing more
        answer = http.post(f"{base}/api/articles/{article_id}/withdraw")
        assert answer.status_code == 200
        assert answer.json() == {"id": article_id, "state": "withdrawn"}
    with factory() as session:
        assert session.get_one(Article, article_id).status is ArticleStatus.WITHDRAWN
        events = session.scalars(select(Event).where(Event.kind == EventKind.ARTICLE_WITHDRAWN))
        assert ["the HTTP API" in e.message for e in events] == [True]
    refused = http.post(f"{base}/api/articles/{article_id}/republish")
    assert refused.status_code == 409 and "withdrawn" in refused.json()["error"]

    status = http.get(f"{base}/api/status")
    assert status.status_code == 200
    snapshot: dict[str, Any] = status.json()
    assert snapshot["articles"] == 1
    assert set(snapshot["deliveries"]) >= {"pending", "sent", "failed"}
    assert isinstance(snapshot["recent_events"], list)


def test_the_openapi_document_and_docs_page_describe_every_endpoint(base: str) -> None:
    spec = client(None).get(f"{base}/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    operations = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    assert operations == {
        ("/api/articles", "post"),
        ("/api/articles/{id}/republish", "post"),
        ("/api/articles/{id}/withdraw", "post"),
        ("/api/sources/{name}/poll", "post"),
        ("/api/status", "get"),
    }
    schemas = spec["components"]["schemas"]
    assert set(schemas["ArticlePush"]["required"]) == {"title", "url"}
    assert set(schemas["ArticlePush"]["properties"]) == set(ARTICLE)

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(spec):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for path, ops in spec["paths"].items():
        for op in ops.values():
            if "security" not in op:
                assert "401" in op["responses"], path
    page = client(None).get(f"{base}/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "http" not in page.text.split("<body>", 1)[0]
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in page.text

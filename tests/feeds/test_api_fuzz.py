"""Property: whatever JSON (or junk) a caller sends, the API answers it, never with a 500.

Runs against one real server per test; every example is one HTTP request. URL
pushes name hosts no source lives on, so they are refused before any lookup:
nothing leaves loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from tests.feeds.api_helpers import api_server, api_settings, client

ANSWERS = {200, 201, 202, 401, 404, 405, 409, 413, 422}
FIELDS = ["title", "url", "published_at", "category", "summary", "body", "image"]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
urls = st.builds(
    "{}{}{}".format,
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "javascript:", "//", ""]),
    st.sampled_from(["cms.example", "127.0.0.1", "[::1]", "10.0.0.1", "2130706433", "", "a:b@c"])
    | st.text(max_size=15),
    st.sampled_from(["/", "/tin-tuc/a-1.html", ":99999/", ":80/x?utm_source=y", ""])
    | st.text(max_size=15),
)
moments = (
    st.datetimes(timezones=st.none() | st.just(UTC)).map(datetime.isoformat)
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.text(max_size=25)
)
field_values: dict[str, st.SearchStrategy[Any]] = {
    "title": st.text(max_size=60) | json_values,
    "url": urls | json_values,
    "published_at": moments | json_values,
    "category": st.text(max_size=30) | st.none() | json_values,
    "summary": st.text(max_size=200) | json_values,
    "body": st.text(max_size=400) | json_values,
    "image": urls | st.none() | json_values,
}
articles = st.fixed_dictionaries(
    {"title": st.text(min_size=1, max_size=60), "url": urls},
    optional={name: field_values[name] for name in FIELDS if name not in ("title", "url")},
)
bodies = (
    articles.map(json.dumps)
    | st.fixed_dictionaries({"url": urls | json_values}).map(json.dumps)
    | st.dictionaries(
        st.sampled_from([*FIELDS, "chat", "force", "x"]), json_values, max_size=8
    ).map(json.dumps)
    | json_values.map(json.dumps)
    | st.binary(max_size=120)
)


plausible_articles = st.fixed_dictionaries(
    {
        "title": st.text(min_size=1, max_size=80),
        "url": st.text(max_size=40).map(lambda t: "https://cms.example/tin/" + quote(t)),
    },
    optional={
        "published_at": st.datetimes(
            min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30),
            timezones=st.none() | st.timezones(),
        ).map(datetime.isoformat),
        "category": st.text(max_size=200) | st.none(),
        "summary": st.text(max_size=300),
        "body": st.text(max_size=600),
        "image": st.text(max_size=20).map(lambda t: "http://img.example/" + quote(t)) | st.none(),
    },
)  # fmt: skip


@pytest.fixture
def base(tmp_path: Path, factory: sessionmaker[Session]) -> Iterator[str]:
    with api_server(api_settings(tmp_path), factory) as url:
        yield url


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = client()
    yield session
    session.close()


def answered(response: requests.Response) -> None:
    event(str(response.status_code))
    assert response.status_code in ANSWERS, (response.status_code, response.text[:500])
    if response.status_code == 404 and response.text == "Not Found":
        return  # a path no /api/ route can match (a newline in it): the server's own 404
    payload = response.json()
    if response.status_code >= 400:
        assert isinstance(payload["error"], str) and payload["error"]


@FUZZ
@given(body=bodies)
def test_random_pushes_never_answer_500(base: str, http: requests.Session, body: Any) -> None:
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    answered(http.post(f"{base}/api/articles", data=data))


@FUZZ
@given(
    article=st.integers(min_value=-5, max_value=2**63) | st.text(max_size=20),
    action=st.sampled_from(["republish", "withdraw"]),
    body=bodies,
)
def test_random_actions_never_answer_500(
    base: str, http: requests.Session, article: int | str, action: str, body: Any
) -> None:
    path = quote(str(article), safe="")
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    answered(http.post(f"{base}/api/articles/{path or 1}/{action}", data=data))


@FUZZ
@given(name=st.text(max_size=30), body=bodies)
def test_random_polls_never_answer_500(
    base: str, http: requests.Session, name: str, body: Any
) -> None:
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    answered(http.post(f"{base}/api/sources/{quote(name, safe='') or 'x'}/poll", data=data))


@FUZZ
@given(article=plausible_articles, action=st.sampled_from(["republish", "withdraw"]), body=bodies)
def test_plausible_pushes_are_stored_and_acted_on_without_500(
    base: str, http: requests.Session, article: dict[str, Any], action: str, body: Any
) -> None:
    pushed = http.post(f"{base}/api/articles", json=article)
    answered(pushed)
    assert pushed.status_code in (200, 201, 422)
    if pushed.status_code != 422:
        data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        answered(http.post(f"{base}/api/articles/{pushed.json()['id']}/{action}", data=data))

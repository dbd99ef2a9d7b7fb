"""Small test helpers: a real uvicorn server in a thread, and article rows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import requests
import uvicorn
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from news.extract import ExtractedArticle
from news.store import UpsertResult, get_or_create_source, upsert_article
from news.text import slugify


@contextmanager
def running_server(
    app: ASGIApp, port: int, *, options: dict[str, Any] | None = None
) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1:`port` until the block ends.

    `options` are uvicorn.Config's (e.g. feeds.serving.uvicorn_options, as `loa serve`).
    """
    base = {"host": "127.0.0.1", "port": port, "log_config": None, "access_log": False}
    config = uvicorn.Config(app, **{**base, **(options or {})})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def extracted(
    n: int,
    *,
    title: str | None = None,
    category: str = "Công tác tuyên giáo",
    published_at: datetime | None = None,
    summary: str = "Tóm tắt bài viết.",
    body: str = "Nội dung bài viết.",
) -> ExtractedArticle:
    """An ExtractedArticle as the portal extractor would produce it."""
    url = f"http://portal.test/tin-tuc/bai-{n}-{n}.html"
    return ExtractedArticle(
        url=url,
        canonical_url=url,
        title=title or f"Bài số {n}",
        category=category,
        category_slug=slugify(category),
        published_at=published_at,
        date_inferred=False,
        summary=summary,
        body=body,
        image=f"http://portal.test/images/{n}.jpg",
        author="PV",
    )


def store_article(factory: sessionmaker[Session], article: ExtractedArticle) -> UpsertResult:
    """Upsert `article` under a test source and commit."""
    with factory.begin() as session:
        source = get_or_create_source(
            session, name="portal", kind="html", url="http://portal.test/"
        )
        return upsert_article(session, article, source=source)


def healthy(base_url: str) -> bool:
    """Whether a `loa serve` at `base_url` answers /healthz (False while it is starting)."""
    try:
        return requests.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False

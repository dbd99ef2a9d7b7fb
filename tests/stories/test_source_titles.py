"""A source's `title` is the name readers see on "Also on" links, in posts and in feeds.

The config name (`bao-tinh`) is an identifier; a reader should read "Báo tỉnh".
Without a title the name is shown, as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.publisher import render_options
from bot.render import render_post
from config.loader import load_settings
from feeds.cache import rebuild_all
from news.models import Article, RenderedFeed
from tests.feeds.test_story_links import add, group

CONFIG = """
sources:
  - name: tinhuy
    title: "Cổng TTĐT Tỉnh ủy & <HĐND>"
    url: http://tinhuy.test/
  - name: baotinh
    url: http://baotinh.test/
routes:
  - channel: "@tin_tinh"
"""


def test_titles_name_the_copies_in_posts_and_feeds(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "loa.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    settings = load_settings(path, environ={"LOA_BASE_URL": "http://feeds.test"})
    assert settings.source_titles() == {"tinhuy": "Cổng TTĐT Tỉnh ủy & <HĐND>"}

    opts = render_options(settings, "@tin_tinh")
    with factory() as session:
        article = session.get_one(Article, add(factory, 1, "baotinh", "Tỉnh ủy tổng kết năm"))
        (post,) = render_post(
            article,
            chat_id="@tin_tinh",
            opts=opts,
            also_on=[("http://tinhuy.test/tin/2.html", "tinhuy"), ("http://x.test/3", "xa")],
        )
    assert post.params["text"].endswith(
        'Cũng đăng trên: <a href="http://tinhuy.test/tin/2.html">'
        "Cổng TTĐT Tỉnh ủy &amp; &lt;HĐND&gt;</a>, "
        '<a href="http://x.test/3">xa</a>'  # no title configured: the name
    )

    first = add(factory, 2, "tinhuy", "Tỉnh ủy tổng kết năm 2026")
    second = add(factory, 3, "baotinh", "Tổng kết năm của Tỉnh ủy")
    group(factory, first, second)
    rebuild_all(factory, settings)
    with factory() as session:
        body = session.scalar(select(RenderedFeed.body).where(RenderedFeed.key == "all.json"))
        atom = session.scalar(select(RenderedFeed.body).where(RenderedFeed.key == "all.atom"))
    assert body is not None and atom is not None
    items = {item["url"]: item for item in json.loads(body)["items"]}
    copy = items["http://baotinh.test/tin/3.html"]["_loa"]["also_on"][0]
    assert copy["source"] == "Cổng TTĐT Tỉnh ủy & <HĐND>"
    assert items["http://tinhuy.test/tin/2.html"]["_loa"]["also_on"][0]["source"] == "baotinh"
    entries = {e.link: e.links for e in feedparser.parse(atom).entries}
    (related,) = [lk for lk in entries["http://baotinh.test/tin/3.html"] if lk.rel == "related"]
    assert related.get("title") == "Tỉnh ủy tổng kết năm 2026 (Cổng TTĐT Tỉnh ủy & <HĐND>)"

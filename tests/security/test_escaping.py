"""Markup in a title, summary, body, category or author never becomes markup downstream.

A site (or a CMS push) can put ``<script>``, an ``onerror`` image, a CDATA
terminator or a closing tag in any text field. Telegram messages and the home
page are covered where they are rendered (tests/bot/test_render_and_outbox.py,
tests/feeds/test_feeds.py, tests/ops/test_status_page.py); this file covers the
feeds: RSS 2.0, Atom and JSON Feed, served over real HTTP. Each is parsed as a
feed reader would: the XML must be well formed, every text field must read
back as the literal text, and every field a reader renders as HTML
(``description``, Atom ``content``/``summary`` of type html, ``content_html``)
must hold no element or attribute that runs script.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import lxml.etree
import lxml.html
import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from feeds.cache import rebuild_all
from feeds.server import create_app
from news.store import get_or_create_source, upsert_article
from tests.conftest import free_port
from tests.helpers import extracted, running_server

HOSTILE = '<script>alert("t")</script><img src=x onerror=alert(1)> ]]> </title> & <b>đậm</b>'
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


@pytest.fixture
def base(factory: sessionmaker[Session]) -> Iterator[str]:
    settings: Settings = load_settings(None, environ={"LOA_HTTP_PORT": str(free_port())})
    article = replace(
        extracted(1),
        title=f"Tin {HOSTILE}",
        summary=f"Tóm tắt {HOSTILE}",
        body=f"Đoạn một {HOSTILE}\nĐoạn hai {HOSTILE}",
        author=f"PV {HOSTILE}",
        category=f"Mục {HOSTILE}",
    )
    with factory.begin() as session:
        source = get_or_create_source(
            session, name="portal", kind="html", url="http://portal.test/"
        )
        upsert_article(session, article, source=source)
    rebuild_all(factory, settings)
    with running_server(create_app(settings, factory), settings.http_port) as url:
        yield url


def assert_inert_html(fragment: str) -> None:
    """`fragment`, rendered as HTML by a reader, has no script, handler or javascript: URL."""
    if not fragment.strip():
        return
    tree = lxml.html.fragment_fromstring(fragment, create_parent="div")
    assert not tree.xpath("//script | //iframe | //object | //embed"), fragment
    for element in tree.iter():
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), fragment
            assert not value.strip().lower().startswith("javascript:"), fragment
    assert "alert(" not in "".join(
        element.get("src", "") + element.get("href", "") for element in tree.iter()
    )


def xml_texts(root: lxml.etree._Element) -> list[str]:
    return [t for t in root.itertext() if t.strip()]


def test_rss_reads_back_literal_text_and_inert_html(base: str) -> None:
    response = requests.get(f"{base}/feeds/all.rss", timeout=10)
    assert response.status_code == 200
    root = lxml.etree.fromstring(response.content)  # well formed despite "]]>" and "</title>"
    (item,) = root.iter("item")
    title = item.findtext("title")
    assert title == f"Tin {HOSTILE}"  # the literal text, escaped once on the wire
    assert b"<script>" not in response.content
    for html_field in [item.findtext("description"), item.findtext(CONTENT)]:
        assert_inert_html(html_field or "")
    assert [c.text for c in item.iter("category")] == [f"Mục {HOSTILE}"]


def test_atom_reads_back_literal_text_and_inert_html(base: str) -> None:
    response = requests.get(f"{base}/feeds/all.atom", timeout=10)
    root = lxml.etree.fromstring(response.content)
    (entry,) = root.iter(f"{ATOM}entry")
    title = entry.find(f"{ATOM}title")
    assert title is not None
    if title.get("type") in ("html", "xhtml"):
        assert_inert_html(title.text or "")
    else:
        assert title.text == f"Tin {HOSTILE}"
    assert b"<script>" not in response.content
    for tag in ("summary", "content"):
        node = entry.find(f"{ATOM}{tag}")
        if node is None:
            continue
        kind = node.get("type", "text")
        if kind == "xhtml":
            assert not node.xpath(".//*[local-name()='script']")
        elif kind == "html":
            assert_inert_html(node.text or "")
        else:  # text: shown as is, so it must read back as the literal text
            assert HOSTILE in (node.text or ""), node.text


def test_json_feed_reads_back_literal_text_and_inert_html(base: str) -> None:
    response = requests.get(f"{base}/feeds/all.json", timeout=10)
    (item,) = response.json()["items"]
    assert item["title"] == f"Tin {HOSTILE}"
    assert_inert_html(item.get("content_html", ""))
    assert "<script>" not in item.get("content_html", "")
    assert HOSTILE in item.get("content_text", HOSTILE)  # plain text stays literal

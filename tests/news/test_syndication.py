"""Feeds and sitemaps as sources; hostile XML is refused."""

from __future__ import annotations

import pytest

from news.errors import ExtractionError
from news.syndication import parse_feed, parse_sitemap

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>T</title><link>http://s.test/</link><description>d</description>
<item><title>Tin &lt;1&gt; &amp; hai</title><link>http://s.test/a-1.html</link>
<description>&lt;p&gt;Ng\xc3\xa0y m\xe1\xbb\x9bi&lt;/p&gt;</description>
<pubDate>Fri, 28 Dec 2012 14:46:00 +0700</pubDate><category>Kinh t\xe1\xba\xbf</category>
<enclosure url="http://s.test/1.jpg" type="image/jpeg" length="10"/></item>
<item><title>No link</title></item>
</channel></rss>"""


def test_rss_entries_become_feed_items() -> None:
    (item,) = parse_feed(RSS, url="http://s.test/rss")
    assert item.link == "http://s.test/a-1.html"
    assert item.title == "Tin <1> & hai"
    assert item.summary == "Ngày mới"
    assert (
        item.published_at is not None
        and item.published_at.isoformat() == "2012-12-28T07:46:00+00:00"
    )
    assert item.image == "http://s.test/1.jpg"
    assert item.category == "Kinh tế"


def test_sitemap_and_index() -> None:
    urlset = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <url><loc>http://s.test/a-1.html</loc></url>
    <url><loc> http://s.test/a-2.html </loc></url></urlset>"""
    assert parse_sitemap(urlset, url="u").pages == [
        "http://s.test/a-1.html",
        "http://s.test/a-2.html",
    ]
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>http://s.test/sm-1.xml</loc></sitemap></sitemapindex>"""
    assert parse_sitemap(index, url="u").children == ["http://s.test/sm-1.xml"]


@pytest.mark.parametrize(
    "hostile",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        b"<urlset><url><loc>&a;</loc></url></urlset>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><urlset>&e;</urlset>',
        b"<html>not xml",
    ],
)
def test_hostile_or_broken_sitemaps_are_refused(hostile: bytes) -> None:
    with pytest.raises(ExtractionError):
        parse_sitemap(hostile, url="http://s.test/sitemap.xml")


def test_garbage_feed_is_a_clear_error() -> None:
    with pytest.raises(ExtractionError, match="not a readable feed"):
        parse_feed(b"\x00\x01 garbage", url="http://s.test/rss")

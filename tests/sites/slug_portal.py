"""A portal whose article URLs follow the title, served by the SiteServer.

Many Vietnamese portals put the title's slug in the URL
(``/tin/<category>/<slug>-<id>.html``), so correcting a title moves the article
to a new URL and the old one answers 404. :class:`SlugPortal` builds such a
site (``news-modern`` markup, so the built-in profile reads it and its
``-(\\d+)\\.html$`` pattern finds the CMS id) from plain data, and
:meth:`SlugPortal.correct_title` does what the CMS does on a correction.

Pages are set on the server under its port-free keys, with root-relative
links, so the site survives :meth:`SiteServer.move_to_new_port` unchanged.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace

from news.text import slugify
from tests.sites.server import SiteServer

HOST = "slug.test"


@dataclass(frozen=True)
class SlugArticle:
    """One story of the portal; its URL is derived from category, title and id."""

    id: int
    title: str
    category: str = "Thời sự"
    lead: str = "Tỉnh tổ chức hội nghị tổng kết công tác năm và triển khai nhiệm vụ năm mới."
    paragraphs: tuple[str, ...] = (
        "Hội nghị có sự tham dự của lãnh đạo các sở, ngành và địa phương trong tỉnh.",
        "Các đại biểu thảo luận giải pháp đẩy mạnh chuyển đổi số trong năm tới.",
    )
    published: str = "Thứ hai, 13/03/2023, 09:12 (GMT+7)"

    @property
    def path(self) -> str:
        """``/tin/thoi-su/<slug>-<id>.html``: the slug follows the title."""
        return f"/tin/{slugify(self.category)}/{slugify(self.title)}-{self.id}.html"


@dataclass
class SlugPortal:
    """The portal's CMS: publishes articles and a listing onto a SiteServer."""

    server: SiteServer
    articles: list[SlugArticle] = field(default_factory=list)

    def __post_init__(self) -> None:
        for article in self.articles:
            self._put(article)
        self.publish_listing()

    @property
    def listing_url(self) -> str:
        """The served address of the home page (changes when the server moves)."""
        return self.server.url_for(f"http://{HOST}/")

    def url_of(self, article_id: int) -> str:
        """The served address of an article as the portal links it now."""
        return self.server.url_for(f"http://{HOST}{self._get(article_id).path}")

    def correct_title(self, article_id: int, title: str, *, relist: bool = True) -> str:
        """Retitle an article: new slug URL, the old URL answers 404; returns the new URL.

        ``relist=False`` leaves the home page as it was (a cached listing that
        lags behind the article pages); :meth:`publish_listing` catches up.
        """
        old = self._get(article_id)
        new = replace(old, title=title)
        self.articles[self.articles.index(old)] = new
        self.server.set_status(f"http://{HOST}{old.path}", 404)
        self._put(new)
        if relist:
            self.publish_listing()
        return self.url_of(article_id)

    def publish_listing(self) -> None:
        """The home page: newest first, one ``h3.title-news`` link per article."""
        items = "\n".join(
            f'<h3 class="title-news"><a href="/{HOST}{a.path}">{html.escape(a.title)}</a></h3>'
            for a in sorted(self.articles, key=lambda a: a.id, reverse=True)
        )
        page = "<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>Cổng tin</title>"
        page += f"</head><body><section class='list-news'>{items}</section></body></html>"
        self.server.set_page(f"http://{HOST}/", page.encode("utf-8"))

    def _get(self, article_id: int) -> SlugArticle:
        return next(a for a in self.articles if a.id == article_id)

    def _put(self, article: SlugArticle) -> None:
        title, category = html.escape(article.title), html.escape(article.category)
        section = f"/{HOST}/tin/{slugify(article.category)}/"
        body = "".join(f'<p class="Normal">{html.escape(p)}</p>' for p in article.paragraphs)
        page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>{title} - Cổng tin</title>
<link rel="canonical" href="/{HOST}{article.path}">
<meta property="article:section" content="{category}">
</head><body>
<div class="header-content"><ul class="breadcrumb"><li><a href="{section}">{category}</a></li></ul>
<span class="date">{article.published}</span></div>
<h1 class="title-detail">{title}</h1>
<p class="description">{html.escape(article.lead)}</p>
<article class="fck_detail">{body}</article>
</body></html>"""
        self.server.set_status(f"http://{HOST}{article.path}", None)
        self.server.set_page(f"http://{HOST}{article.path}", page.encode("utf-8"))

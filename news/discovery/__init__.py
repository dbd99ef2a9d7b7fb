"""Finding what Loa can watch on a site, from any one of its pages (``loa add-source``).

The parts, each a module of its own:

- :mod:`news.discovery.model`: the values passed between them (candidates,
  scores, the proposal);
- :mod:`news.discovery.candidates`: feeds (``<link rel="alternate">``,
  ``/feed``, ``/rss``), sitemaps (``/sitemap.xml``, robots.txt ``Sitemap:``,
  sitemap indexes, Google News sitemaps) and HTML listing pages (pages whose
  links mostly lead to article-like pages of the same site, category menus);
- :mod:`news.discovery.scoring`: each built-in profile and zero-config on a
  few articles, scored on title, date with time, lead, body, category and the
  absence of page chrome;
- :mod:`news.discovery.derive`: a selector profile from the landmarks that
  stay the same across a site's article pages, when no profile fits;
- :mod:`news.discovery.propose`: all of it for one URL, as a
  :class:`~news.discovery.model.Proposal` (a SourceConfig and maybe a profile).
"""

"""Reading news pages: from a fetched page's bytes to an :class:`ExtractedArticle`.

This is what the rest of Loa uses; the modules behind it are private::

    reader.py       SiteReader: which extractor reads a source's pages, and article identities
    article.py      ExtractedArticle, the one shape every extractor returns
    page.py         a page's text, tree, addresses, metadata and laid-out lines, for every extractor
    profiles.py     site profiles (CSS selectors per CMS), the built-in ones, article identity
    portal.py       the provincial portal CMS, read by its visible text landmarks
    zero_config/    sites without a profile: trafilatura for the body, heuristics for the rest
    byline.py       the author as Vietnamese pages print it under the body
    charset.py      bytes to NFC text; legacy font encodings (TCVN3, VNI) refused
    dates.py        the dates Vietnamese pages print, year-less ones included
"""

from news.extract.article import ExtractedArticle
from news.extract.charset import LegacyEncodingError
from news.extract.dates import ParsedDate
from news.extract.profiles import BUILTIN_PROFILES, SiteProfile, article_identity
from news.extract.reader import SiteReader, reader_for

__all__ = [
    "BUILTIN_PROFILES",
    "ExtractedArticle",
    "LegacyEncodingError",
    "ParsedDate",
    "SiteProfile",
    "SiteReader",
    "article_identity",
    "reader_for",
]

"""Zero-config extraction: read an article, or a listing's links, from a site with no profile.

:mod:`.extractor` wires the field modules together; see its docstring for how
the fields are found and when a page counts as an article.
"""

from news.extract.zero_config.extractor import extract_generic
from news.extract.zero_config.links import discover_generic_links

__all__ = ["discover_generic_links", "extract_generic"]

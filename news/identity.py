"""Which stored article a listed URL is: identities, their host-less keys, moved origins.

An article's *identity* is formed from the URL its source lists it at
(:func:`news.extract.article_identity`): ``host#id:N`` when the site profile
reads the CMS id from the URL, else ``host/path?query`` (scheme, ``www.``/``m.``,
trailing slash and tracking parameters dropped). Articles stored without a
source (a CMS push) use their canonical URL.

The host in an identity is only a note of where the article was first seen.
Within one source, articles are matched on the identity's *key*, the part
after the host (``#id:N``, ``/path?query``), so a source whose host or port
changes, or a story whose URL slug follows a corrected title, is still the
same article. Keys are compared only within one source: two sites that
number their stories alike never meet.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def identity_key(identity: str) -> str:
    """The host-less part of an identity: ``#id:N``, ``/path``, ``?query`` (``/`` if empty).

    Both forms ever stored are understood: ``host…`` identities, and full URLs
    (the canonical-URL default of sourceless articles).
    """
    if "://" in identity:
        parts = urlsplit(identity)
        rest = parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
        return rest or "/"
    cuts = [i for i in (identity.find(c) for c in "/#?") if i >= 0]
    return identity[min(cuts) :] if cuts else "/"


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-case, without the scheme's default port."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def rebase(url: str, old: str, new: str) -> str | None:
    """`url` moved from origin `old` to origin `new`, or None when it is not under `old`."""
    if not url or origin(url) != old:
        return None
    parts = urlsplit(url)
    target = urlsplit(new)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))

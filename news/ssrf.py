"""Which addresses from outside the config Loa may fetch (server-side request forgery).

`/post`, `/preview` and the HTTP API's ``{"url": ...}`` push make Loa fetch an
address someone else chose. Left open, that is a way into the newsroom's
network: the cloud metadata service at 169.254.169.254, an admin page on
127.0.0.1, a database on 10.0.0.5. So such a URL is fetched only when

1. it is http(s) and its host is a configured source's host (or its ``www.``
   / ``m.`` twin) or listed in ``allowed_hosts`` (``*.example.org`` for its
   subdomains), and
2. every address the host resolves to is public: loopback, private,
   link-local, multicast, reserved, unspecified and other non-global ranges
   are refused, IPv4 and IPv6 alike, IPv4 inside IPv6 (``::ffff:10.0.0.1``,
   6to4, Teredo) by the address inside, and the numeric spellings a resolver
   accepts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``) by what they spell,
   unless a configured source lives at that very host and port (an intranet
   portal is a legitimate source).

``loa add-source URL`` (and the editors' ``/addsource``) fetch a site that is
not a source yet, so rule 1 cannot apply: its policy
(:meth:`HostPolicy.for_add_source`) lets any host be named, but keeps rule 2
for all of them, except the hosts listed in ``allowed_hosts``, which may then
also resolve to private or loopback addresses (how a newsroom adds an intranet
portal, and how tests reach a loopback test server). Configured sources'
own host and port stay allowed as above.

The check runs on every redirect hop (:class:`news.fetch.Fetcher` follows
redirects itself when given a check) and once more when each connection is
opened, on the addresses actually connected to, so a name that resolves to a
public address for the check and to a private one a moment later (DNS
rebinding) is still refused. Name resolution is injected (`resolve`), so tests
check private addresses without ever connecting to them.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from config.settings import Settings
from news.errors import EditorialError, FetchError
from news.fetch import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_SECONDS,
    DEFAULT_TIMEOUT,
    Fetcher,
    make_session,
)
from news.politeness import HostGate

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host, port → the addresses to connect to (as strings)
Resolver = Callable[[str, int], Sequence[str]]
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: what inet_aton reads as a number: 2130706433, 0177.0.0.1, 0x7f.1
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class HostNotAllowed(EditorialError):
    """A URL from outside the config points where Loa may not fetch; says why."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"refused to fetch {url[:200]}: {reason}")


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host` (FetchError when none)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host} ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def literal_ip(host: str) -> IPAddress | None:
    """`host` as an IP address when it spells one, in any form a resolver accepts."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(bare.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare.rstrip(".")))
        except OSError:
            return None
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why Loa may not fetch from `ip` ("loopback", "private", ...), or None when public."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            reason = refusal(inner)
            if reason is not None or ip.ipv4_mapped is not None:
                return reason
    for name, flagged in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flagged:
            return name
    return None if ip.is_global else "non-public"


def _host_key(host: str) -> str:
    """A host as compared here: lower-case, no trailing dot, numeric forms as the address."""
    host = host.strip("[]").lower().rstrip(".")
    ip = literal_ip(host)
    return str(ip) if ip is not None else host


def _twins(host: str) -> set[str]:
    """A source's host and its ``www.``/``m.`` twins (article identities treat them as one)."""
    bare = host
    for prefix in ("www.", "m."):
        if host.startswith(prefix):
            bare = host[len(prefix) :]
    if literal_ip(bare) is not None:
        return {host}
    return {host, bare, f"www.{bare}", f"m.{bare}"}


def _endpoint(url: str) -> tuple[str, str, int]:
    """Scheme, host key and port of an http(s) URL; HostNotAllowed for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise HostNotAllowed(url, "not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise HostNotAllowed(url, "only http(s) URLs with a host are fetched")
    return scheme, _host_key(parts.hostname), port or _DEFAULT_PORTS[scheme]


def _listed(entries: Sequence[str]) -> tuple[frozenset[str], frozenset[str]]:
    """``allowed_hosts`` as exact host keys and ``*.`` suffixes."""
    hosts: set[str] = set()
    suffixes: set[str] = set()
    for entry in entries:
        entry = entry.strip().lower().rstrip(".")
        if entry.startswith("*."):
            suffixes.add(entry[2:])
        elif entry:
            hosts.add(_host_key(entry))
    return frozenset(hosts), frozenset(suffixes)


@dataclass(frozen=True)
class HostPolicy:
    """The hosts a URL from outside the config may name, and where private addresses are fine."""

    #: exact host keys allowed
    hosts: frozenset[str]
    #: ``example.org`` for an ``*.example.org`` entry: its subdomains are allowed
    suffixes: frozenset[str]
    #: (host key, port) of every configured source: private addresses allowed there
    sources: frozenset[tuple[str, int]]
    #: add-source: any host may be named; only the listed ones may also be private
    open_hosts: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> HostPolicy:
        hosts: set[str] = set()
        endpoints: set[tuple[str, int]] = set()
        for source in settings.effective_sources():
            _, host, port = _endpoint(source.url)
            hosts |= _twins(host)
            endpoints.add((host, port))
        listed, suffixes = _listed(settings.allowed_hosts)
        return cls(frozenset(hosts | listed), suffixes, frozenset(endpoints))

    @classmethod
    def for_add_source(cls, settings: Settings) -> HostPolicy:
        """The policy of ``loa add-source``: any host, public addresses only, except that
        hosts in ``allowed_hosts`` (and configured sources' endpoints) may be private.

        The URL names a site that is not a source yet, so "a source's host" cannot
        be the rule; the address checks still run on every hop and at connect.
        """
        hosts, suffixes = _listed(settings.allowed_hosts)
        endpoints = cls.from_settings(settings).sources
        return cls(hosts, suffixes, endpoints, open_hosts=True)

    def listed(self, host: str) -> bool:
        """Whether `host` (a host key) is in `hosts` or under one of `suffixes`."""
        return host in self.hosts or any(host.endswith(f".{s}") for s in self.suffixes)

    def host_allowed(self, host: str) -> bool:
        """Whether `host` (a host key) may be named: a source's host or listed in
        ``allowed_hosts``; any host under the add-source policy."""
        return self.open_hosts or self.listed(host)

    def addresses(self, url: str, host: str, port: int, resolve: Resolver) -> list[str]:
        """The addresses `host` may be reached at; HostNotAllowed if any is not public.

        All of them must pass, not just one: the connection may go to any.
        """
        ip = literal_ip(host)
        found = [str(ip)] if ip is not None else list(resolve(host, port))
        if not found:
            raise HostNotAllowed(url, f"{host} resolves to no address")
        if (host, port) in self.sources:
            return found  # a configured source lives here: its network is the operator's call
        if self.open_hosts and self.listed(host):
            return found  # listed in allowed_hosts for add-source: an intranet site is fine
        where = "a host in allowed_hosts" if self.open_hosts else "a configured source"
        for address in found:
            try:
                reason = refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            except ValueError:
                reason = "not an IP address"
            if reason is not None:
                shown = host if address == host else f"{host} ({address})"
                raise HostNotAllowed(
                    url,
                    f"{shown} is a {reason} address; only {where} may live there",
                )
        return found


def check_url(
    url: str, settings: Settings | HostPolicy, *, resolve: Resolver = system_resolve
) -> list[str]:
    """Refuse `url` (HostNotAllowed, logged) unless Loa may fetch it; see the module.

    Returns the checked addresses its host resolved to.
    """
    policy = settings if isinstance(settings, HostPolicy) else HostPolicy.from_settings(settings)
    try:
        _, host, port = _endpoint(url)
        if not policy.host_allowed(host):
            raise HostNotAllowed(
                url, f"{host} is neither a configured source's host nor in allowed_hosts"
            )
        return policy.addresses(url, host, port, resolve)
    except HostNotAllowed as exc:
        log.warning("SSRF guard: %s", exc)
        raise


def safe_fetcher(
    settings: Settings,
    *,
    resolve: Resolver = system_resolve,
    respect_robots: bool = True,
    gate: HostGate | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    policy: HostPolicy | None = None,
) -> Fetcher:
    """The ordinary :class:`Fetcher` (deadline, size cap, robots), checked on every hop.

    Each URL, first and redirected, passes :func:`check_url`; each connection
    is opened only to addresses that pass the same check at that moment.
    Proxies from the environment are ignored: the check must see the real peer.
    `policy` replaces the settings' (``HostPolicy.for_add_source`` for add-source).
    """
    policy = policy or HostPolicy.from_settings(settings)

    def guard(host: str, port: int) -> Sequence[str]:
        url = f"//{host}:{port}"
        try:
            return policy.addresses(url, _host_key(host), port, resolve)
        except HostNotAllowed as exc:
            log.warning("SSRF guard at connect: %s", exc)
            raise

    session = make_session()
    session.trust_env = False
    plain = session.get_adapter("http://")
    assert isinstance(plain, HTTPAdapter)  # make_session's, with Loa's retry policy
    adapter = _GuardedAdapter(guard, max_retries=plain.max_retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return Fetcher(
        session,
        timeout=timeout,
        max_bytes=max_bytes,
        max_seconds=max_seconds,
        gate=gate,
        respect_robots=respect_robots,
        check=lambda url: check_url(url, policy, resolve=resolve),
    )


def _open_checked(conn: HTTPConnection, guard: Resolver) -> socket.socket:
    """urllib3's ``_new_conn``, connecting only to addresses `guard` passed just now."""
    error: OSError | None = None
    for address in guard(conn.host, conn.port):
        try:
            return urllib3_connection.create_connection(
                (address, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            ) from exc
        except OSError as exc:
            error = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


class _GuardedAdapter(HTTPAdapter):
    """An adapter whose connection pools open sockets through :func:`_open_checked`."""

    def __init__(self, guard: Resolver, **kwargs: Any):
        class Plain(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return _open_checked(self, guard)

        class Secure(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return _open_checked(self, guard)

        class PlainPool(HTTPConnectionPool):
            ConnectionCls = Plain

        class SecurePool(HTTPSConnectionPool):
            ConnectionCls = Secure

        self._pools = {"http": PlainPool, "https": SecurePool}
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

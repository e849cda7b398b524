"""Outbound URLs are hostile: a peer (or a mistaken administrator) chooses them.

:func:`check_outbound_url` accepts a URL the node is about to call only if

* its scheme is ``https`` (``http`` only when ``security.allow_http_callbacks`` is on),
* it has a host and no user information,
* and every address the host resolves to is a public one — unless the host is listed in
  ``security.callback_allow_hosts`` (development, or deliberate internal partners): loopback,
  private, link-local (cloud metadata services), multicast, reserved and unspecified addresses
  are refused.

:func:`check_outbound_url` resolves the name where it runs (a blocking ``getaddrinfo``);
:func:`check_outbound_url_async` resolves it on a thread, for the event loop;
:func:`check_outbound_form` checks only what needs no DNS (the form, an IP literal's address), for
code inside a database transaction, after one of the others has checked the name. A name that
resolves differently a moment later (DNS rebinding) is caught when connecting, for the requests that
go through :class:`~connector.http.transport.AiohttpTransport` (negotiation messages, peers'
catalogues): its :class:`PublicAddressResolver` keeps only the addresses this check would accept.
Requests are sent without redirects, without proxies from the environment, with timeouts and size
caps (:mod:`connector.http.fetch`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from connector.errors import BadRequest
from connector.settings import SecuritySettings

Resolver = Callable[[str, int], Iterable[str]]


class OutboundRefused(BadRequest):
    """The node will not call this URL."""

    slug = "outbound-url-refused"


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 §2.5.5.1 (deprecated)
_NEVER_PUBLIC = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # RFC 8215: NAT64 within one network
    ipaddress.IPv6Network("fec0::/10"),  # RFC 3879: site-local (deprecated)
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to an IPv4 host: mapped, 6to4, NAT64 or
    IPv4-compatible (a translator or tunnel would deliver it there)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _NEVER_PUBLIC):
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not (embedded.is_global and not embedded.is_multicast):
            return False
    return ip.is_global and not ip.is_multicast


def _host_key(host: str) -> str:
    """``host`` as allow-list entries are compared: lower case, without IPv6 brackets, and in
    the ASCII (IDNA) form httpx sends, which is the form a resolver is asked for."""
    host = host.lower().strip("[]")
    if host.isascii():  # already the form httpx sends (IDNA changes only non-ASCII labels)
        return host
    try:
        return httpx.URL(scheme="http", host=host).raw_host.decode("ascii").lower().strip("[]")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return host


def _allowed_hosts(security: SecuritySettings) -> frozenset[str]:
    return frozenset(_host_key(host) for host in security.callback_allow_hosts)


def _target(url: str, security: SecuritySettings) -> tuple[str, int] | None:
    """The (host, port) whose addresses decide whether the node may call ``url``; None when the
    host is allowed as it is; :class:`OutboundRefused` for a URL refused on its form."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused(f"{url!r} is not a valid URL") from None
    allowed_schemes = ("https", "http") if security.allow_http_callbacks else ("https",)
    if parts.scheme not in allowed_schemes:
        raise OutboundRefused(f"the URL must use {' or '.join(allowed_schemes)}")
    host = parts.hostname
    if not host:
        raise OutboundRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("the URL must not carry credentials")
    if _host_key(host) in _allowed_hosts(security):
        return None
    return host, port or (443 if parts.scheme == "https" else 80)


def _check_addresses(host: str, addresses: list[str]) -> None:
    if not addresses:
        raise OutboundRefused(f"the host {host!r} does not resolve")
    if not all(_public(address) for address in addresses):
        raise OutboundRefused(
            f"the host {host!r} resolves to a loopback, private or link-local address"
        )


def check_outbound_url(
    url: str, security: SecuritySettings, *, resolver: Resolver = resolve
) -> str:
    """``url`` if the node may call it (see the module docstring); :class:`OutboundRefused`.
    Resolves the host where it runs (a blocking ``getaddrinfo``): from the event loop, use
    :func:`check_outbound_url_async`."""
    target = _target(url, security)
    if target is not None:
        _check_addresses(target[0], list(resolver(*target)))
    return url


def check_outbound_form(url: str, security: SecuritySettings) -> str:
    """``url`` as far as it can be checked without DNS: its form, and its address when the host
    is an IP literal; :class:`OutboundRefused` otherwise. For code that must not wait for a
    resolver (inside a database transaction, on the event loop): a host name is left to
    :func:`check_outbound_url_async`, run before by whoever accepted the URL, and to the
    connect-time :class:`PublicAddressResolver` when it is called."""
    target = _target(url, security)
    if target is not None:
        literal = target[0].strip("[]")
        try:
            ipaddress.ip_address(literal.split("%", 1)[0])
        except ValueError:
            return url
        _check_addresses(target[0], [literal])
    return url


async def check_outbound_url_async(
    url: str, security: SecuritySettings, *, resolver: Resolver = resolve
) -> str:
    """:func:`check_outbound_url` for the event loop: the host is resolved on a thread (a slow
    DNS answer for a name a peer chose must not stall the node), and only when it must be."""
    target = _target(url, security)
    if target is not None:
        addresses = await asyncio.to_thread(lambda: list(resolver(*target)))
        _check_addresses(target[0], addresses)
    return url


class PublicAddressResolver(AbstractResolver):
    """aiohttp's resolver (``getaddrinfo`` in a thread) keeping only public addresses, unless the
    host is in ``security.callback_allow_hosts``: a connection goes only where
    :func:`check_outbound_url` would let it, whatever the name resolves to by then. A name left
    with no address fails to connect (``httpx.ConnectError`` through the transport). Addresses
    written in the URL are not resolved; :func:`check_outbound_url` checks them."""

    def __init__(self, security: SecuritySettings) -> None:
        self._allowed = _allowed_hosts(security)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        # A ThreadedResolver belongs to the event loop it was made on: one per lookup.
        found = await ThreadedResolver().resolve(host, port, family)
        if _host_key(host) in self._allowed:
            return found
        public = [result for result in found if _public(result["host"])]
        if not public:
            raise OSError(f"{host!r} resolves to no public address")
        return public

    async def close(self) -> None:
        """Nothing is held between lookups."""

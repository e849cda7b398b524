"""Outbound URLs are hostile: a peer (or a mistaken administrator) chooses them.

:func:`check_outbound_url` accepts a URL the node is about to call only if

* its scheme is ``https`` (``http`` only when ``security.allow_http_callbacks`` is on),
* it has a host and no user information,
* and every address the host resolves to is a public one — unless the host is listed in
  ``security.callback_allow_hosts`` (development, or deliberate internal partners): loopback,
  private, link-local (cloud metadata services), multicast, reserved and unspecified addresses
  are refused.

The check resolves the name when it runs. A name that resolves differently a moment later (DNS
rebinding) is caught when connecting, for the requests that go through
:class:`~connector.http.transport.AiohttpTransport` (negotiation messages, peers' catalogues):
its :class:`PublicAddressResolver` keeps only the addresses this check would accept. Requests are
sent without redirects, without proxies from the environment, with timeouts and size caps
(:mod:`connector.http.fetch`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

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


def _public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _allowed_hosts(security: SecuritySettings) -> frozenset[str]:
    return frozenset(host.lower().strip("[]") for host in security.callback_allow_hosts)


def check_outbound_url(
    url: str, security: SecuritySettings, *, resolver: Resolver = resolve
) -> str:
    """``url`` if the node may call it (see the module docstring); :class:`OutboundRefused`."""
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
    if host.lower() in _allowed_hosts(security):
        return url
    addresses = list(resolver(host, port or (443 if parts.scheme == "https" else 80)))
    if not addresses:
        raise OutboundRefused(f"the host {host!r} does not resolve")
    if not all(_public(address) for address in addresses):
        raise OutboundRefused(
            f"the host {host!r} resolves to a loopback, private or link-local address"
        )
    return url


class PublicAddressResolver(AbstractResolver):
    """aiohttp's resolver (``getaddrinfo`` in a thread) keeping only public addresses, unless the
    host is in ``security.callback_allow_hosts``: a connection goes only where
    :func:`check_outbound_url` would let it, whatever the name resolves to by then. A name left
    with no address fails to connect (``httpx.ConnectError`` through the transport). Addresses
    written in the URL are not resolved; :func:`check_outbound_url` checks them."""

    def __init__(self, security: SecuritySettings) -> None:
        self._allowed = _allowed_hosts(security)
        self._resolver: ThreadedResolver | None = None  # made on the event loop that resolves

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._resolver is None:
            self._resolver = ThreadedResolver()
        found = await self._resolver.resolve(host, port, family)
        if host.lower() in self._allowed:
            return found
        public = [result for result in found if _public(result["host"])]
        if not public:
            raise OSError(f"{host!r} resolves to no public address")
        return public

    async def close(self) -> None:
        if self._resolver is not None:
            await self._resolver.close()

"""Outbound URLs are hostile: a peer (or a mistaken administrator) chooses them.

:func:`check_outbound_url` accepts a URL the node is about to call only if

* its scheme is ``https`` (``http`` only when ``security.allow_http_callbacks`` is on),
* it has a host and no user information,
* and every address the host resolves to is a public one — unless the host is listed in
  ``security.callback_allow_hosts`` (development, or deliberate internal partners): loopback,
  private, link-local (cloud metadata services), multicast, reserved and unspecified addresses
  are refused.

The check resolves the name when it runs; a name that resolves differently a moment later (DNS
rebinding) is not caught here. Requests are then sent without redirects, without proxies from the
environment, with timeouts and size caps (:mod:`connector.http.fetch`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

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
    if host.lower() in {h.lower().strip("[]") for h in security.callback_allow_hosts}:
        return url
    addresses = list(resolver(host, port or (443 if parts.scheme == "https" else 80)))
    if not addresses:
        raise OutboundRefused(f"the host {host!r} does not resolve")
    if not all(_public(address) for address in addresses):
        raise OutboundRefused(
            f"the host {host!r} resolves to a loopback, private or link-local address"
        )
    return url

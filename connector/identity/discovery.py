"""Issuer discovery: from an issuer URL to its metadata (RFC 8414, else OpenID Connect).

RFC 8414 §3.1 inserts the well-known segment before the issuer's path
(``https://idp.example/realms/x`` → ``https://idp.example/.well-known/oauth-authorization-
server/realms/x``); OpenID Connect Discovery appends ``/.well-known/openid-configuration`` to
it. The first that answers 200 wins. The document's ``issuer`` must equal the configured issuer
exactly (RFC 8414 §3.3), or an attacker able to serve one document could impersonate another
issuer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from connector.http.fetch import Answer, FetchError, json_document, send, send_sync

RFC8414_SUFFIX = "/.well-known/oauth-authorization-server"
OPENID_SUFFIX = "/.well-known/openid-configuration"


def metadata_urls(issuer: str) -> list[str]:
    """Where ``issuer``'s metadata may be, in the order tried."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc8414 = urlunsplit((parts.scheme, parts.netloc, RFC8414_SUFFIX + path, "", ""))
    openid = issuer.rstrip("/") + OPENID_SUFFIX
    return [rfc8414] if rfc8414 == openid else [rfc8414, openid]


def checked_metadata(issuer: str, answer: Answer, url: str) -> dict[str, Any]:
    """The metadata in ``answer``, checked to belong to ``issuer``."""
    metadata = json_document(answer, url)
    if metadata.get("issuer") != issuer:
        raise FetchError(f"{url} describes issuer {metadata.get('issuer')!r}, not {issuer!r}")
    return metadata


def endpoint(metadata: dict[str, Any], name: str, issuer: str) -> str:
    """The URL ``metadata[name]`` (``jwks_uri``, ``token_endpoint``), checked to be http(s)."""
    value = metadata.get(name)
    if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
        raise FetchError(f"the metadata of {issuer} has no usable {name}")
    if urlsplit(issuer).scheme == "https" and urlsplit(value).scheme != "https":
        raise FetchError(f"the metadata of {issuer} gives a plain-HTTP {name}")
    return value


async def discover(client: httpx.AsyncClient, issuer: str, *, max_bytes: int) -> dict[str, Any]:
    """The metadata of ``issuer`` (:class:`~connector.http.fetch.FetchError` if none)."""
    failures = []
    for url in metadata_urls(issuer):
        answer = await send(client, httpx.Request("GET", url), max_bytes=max_bytes)
        if answer.status == 404:
            failures.append(f"{url}: 404")
            continue
        return checked_metadata(issuer, answer, url)
    raise FetchError(f"no metadata found for {issuer} ({'; '.join(failures)})")


def discover_sync(client: httpx.Client, issuer: str, *, max_bytes: int) -> dict[str, Any]:
    """:func:`discover` for a synchronous client."""
    failures = []
    for url in metadata_urls(issuer):
        answer = send_sync(client, httpx.Request("GET", url), max_bytes=max_bytes)
        if answer.status == 404:
            failures.append(f"{url}: 404")
            continue
        return checked_metadata(issuer, answer, url)
    raise FetchError(f"no metadata found for {issuer} ({'; '.join(failures)})")

"""HTTP for identity documents and tokens: no proxies from the environment, no redirects, a
timeout and a size cap on every answer.

Issuer metadata, key sets and token answers come from URLs in our own settings, yet they are
still read defensively: a misconfigured or compromised server must not make the node follow it
elsewhere, wait forever, or read an endless body. The same request/answer types serve the
synchronous and the asynchronous clients, so callers parse answers once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx

from connector.http.jsonbody import holds_unstorable_text, may_hold_unstorable_text, printable

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_BYTES = 256 * 1024


class FetchError(Exception):
    """A request that failed: transport error, redirect, oversized or unreadable answer."""


@dataclass(frozen=True)
class Answer:
    """A read answer: status, headers and body (complete, within the cap)."""

    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON; :class:`FetchError` when it is not (or holds what is no text)."""
        try:
            document = json.loads(self.body)
        except ValueError:
            raise FetchError("the answer is not JSON") from None
        except RecursionError:
            raise FetchError("the answer is JSON nested too deep") from None
        # valid JSON, but no text to store or show
        if may_hold_unstorable_text(self.body) and holds_unstorable_text(document):
            raise FetchError("the answer holds a NUL character or a lone UTF-16 surrogate")
        return document


class _NoCookieJar(CookieJar):
    """A cookie jar that keeps nothing."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None


class _NoCookies(httpx.Cookies):
    """An empty cookie store that stays empty: ``Set-Cookie`` answers are ignored, and neither
    ``update`` nor ``set`` stores anything."""

    def __init__(self) -> None:
        super().__init__(_NoCookieJar())

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("this client keeps no cookies")


class CookielessAsyncClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that keeps no cookies. Peers and the authority speak DSP and
    OAuth, neither of which uses cookies: a ``Set-Cookie`` in an answer is ignored rather than
    kept and sent back (to that peer, or to another one on the same host), and httpx does not
    read every answer's headers into a cookie jar (a tenth of the client's own CPU per request).
    (httpx's deprecated per-request ``cookies=`` would still be sent; nothing here uses it.)
    """

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("cookies"):
            raise TypeError("this client keeps no cookies")
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("this client keeps no cookies")


def new_async_client(timeout: float = DEFAULT_TIMEOUT_SECONDS) -> httpx.AsyncClient:
    """An async client with the rules above (``transport`` injectable by callers who build their
    own with the same options)."""
    return CookielessAsyncClient(trust_env=False, follow_redirects=False, timeout=timeout)


def new_sync_client(timeout: float = DEFAULT_TIMEOUT_SECONDS) -> httpx.Client:
    """A synchronous client with the rules above."""
    return httpx.Client(trust_env=False, follow_redirects=False, timeout=timeout)


def _check_head(response: httpx.Response, max_bytes: int) -> None:
    if response.is_redirect:
        raise FetchError(f"{response.request.url} answered a redirect, which is not followed")
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{response.request.url} answered more than {max_bytes} bytes")


def _append(body: bytearray, chunk: bytes, max_bytes: int, url: httpx.URL) -> None:
    body.extend(chunk)
    if len(body) > max_bytes:
        raise FetchError(f"{url} answered more than {max_bytes} bytes")


async def send(
    client: httpx.AsyncClient, request: httpx.Request, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Answer:
    """Send ``request`` and read its answer (at most ``max_bytes``)."""
    try:
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            _check_head(response, max_bytes)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                _append(body, chunk, max_bytes, request.url)
        finally:
            await response.aclose()
    except httpx.HTTPError as error:
        raise FetchError(_failure(request, error)) from None
    return Answer(response.status_code, response.headers, bytes(body))


def _failure(request: httpx.Request, error: httpx.HTTPError) -> str:
    """What went wrong, for logs and administrators (e.g. an untrusted certificate). The cause
    may quote a peer's bytes: only printable characters are kept (it may end up stored)."""
    # A request we could not write (LocalProtocolError) may be quoted header and all, tokens
    # included: its text is left out.
    text = "" if isinstance(error, httpx.LocalProtocolError) else str(error)[:300]
    cause = printable(text)
    kind = f"{type(error).__name__}: {cause}" if cause else type(error).__name__
    return f"{request.method} {request.url} failed ({kind})"


def send_sync(
    client: httpx.Client, request: httpx.Request, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Answer:
    """:func:`send` for a synchronous client."""
    try:
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            _check_head(response, max_bytes)
            body = bytearray()
            for chunk in response.iter_bytes():
                _append(body, chunk, max_bytes, request.url)
        finally:
            response.close()
    except httpx.HTTPError as error:
        raise FetchError(_failure(request, error)) from None
    return Answer(response.status_code, response.headers, bytes(body))


def json_document(answer: Answer, url: str) -> dict[str, Any]:
    """The JSON object a ``200`` answer from ``url`` holds; :class:`FetchError` otherwise."""
    if answer.status != 200:
        raise FetchError(f"{url} answered HTTP {answer.status}")
    document = answer.json()
    if not isinstance(document, dict):
        raise FetchError(f"{url} did not answer a JSON object")
    return document

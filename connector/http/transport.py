"""``AiohttpTransport``: httpx's API on aiohttp's connection pool and HTTP parser.

Peer messages keep everything httpx gives the node (``httpx.Request``, the ``httpx.Auth`` flow
that adds tokens and DPoP proofs, httpx's exception tree, its decoding of ``Content-Encoding``)
and leave the wire to aiohttp through httpx's transport seam. The reason is CPU: against the same
uvicorn server on loopback, a request through httpx's own transport costs its client 0.95 to 1.6
ms of CPU, through this one 0.4 to 0.65 ms (``bench/bench_http_floor.py``); between two nodes
that was a sixth of the CPU of a whole negotiation (``docs/benchmarks.md``).

The rules of :mod:`connector.http.fetch` hold here as well:

* no proxy from the environment (aiohttp reads none without ``trust_env``), no redirect followed
  (httpx follows none with ``follow_redirects=False``; aiohttp is told the same), and aiohttp
  keeps no cookie;
* the body is handed to httpx as it arrives (httpx decodes it once; the caller caps its size),
  each read within httpx's read timeout;
* TLS is verified (:func:`connector.http.tls.outbound_ssl_context` unless a context is given);
* every failure becomes the matching ``httpx.TransportError``, so callers catch one tree;
* the request goes out as httpx built it: its URL as written (a DPoP proof names it), its
  headers, no ``Content-Type`` of aiohttp's own;
* an idle connection the peer has closed is not reused, even when the event loop has not read
  the close yet: its socket is looked at (``_FreshConnector``), without giving up the event
  loop before the request is written.

The aiohttp session is opened on first use, on the event loop that uses it, and closed by
:meth:`AiohttpTransport.aclose` (``httpx.AsyncClient.aclose`` calls it).
"""

from __future__ import annotations

import asyncio
import io
import select
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from aiohttp import http_exceptions
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict
from yarl import URL

from connector.http.tls import outbound_ssl_context

KEEPALIVE_SECONDS = 4.0
"""How long an idle connection is kept: under the 5 s after which uvicorn (and httpx's own pool)
give one up, so the node seldom reuses a connection its peer is closing."""
LARGE_BODY_BYTES = 1024 * 1024
"""A request body above this size goes to aiohttp as a file-like object (aiohttp warns that raw
bytes that large hold up the event loop while being written)."""


@contextmanager
def _as_httpx(request: httpx.Request) -> Iterator[None]:
    """aiohttp's errors raised as httpx's (the most specific that fits)."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connecting timed out", request=request) from exc
    except aiohttp.SocketTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "reading timed out", request=request) from exc
    except aiohttp.ServerTimeoutError as exc:
        raise httpx.TimeoutException(str(exc) or "timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(
            f"cannot connect to {exc.host}:{exc.port}: {exc.os_error}", request=request
        ) from exc
    except (
        aiohttp.ServerDisconnectedError,
        aiohttp.ClientPayloadError,
        http_exceptions.HttpProcessingError,  # what aiohttp's Python parser raises as it is
    ) as exc:
        raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from exc
    except aiohttp.ClientResponseError as exc:  # an answer aiohttp's parser refused
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientOSError as exc:  # reset or broken once connected
        raise httpx.ReadError(str(exc), request=request) from exc
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
        raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.TransportError(f"{type(exc).__name__}: {exc}", request=request) from exc
    except UnicodeError as exc:  # a host name IDNA cannot encode
        raise httpx.ConnectError(f"the host cannot be encoded: {exc}", request=request) from exc
    except ValueError as exc:  # a request aiohttp refuses to write (e.g. CR or LF in a header)
        raise httpx.LocalProtocolError(str(exc), request=request) from exc
    except OSError as exc:  # anything aiohttp did not wrap
        raise httpx.NetworkError(f"{type(exc).__name__}: {exc}", request=request) from exc


class _Body(httpx.AsyncByteStream):
    """An answer's body, read from aiohttp as the caller iterates; each read waits at most
    ``read_timeout`` seconds.

    The read timeout is kept here rather than left to aiohttp: when its C parser fails on a
    body (a malformed chunk arriving after the first ones), aiohttp stops its own read timer and
    the stream gets neither data nor an error, so a read would wait for ever."""

    def __init__(
        self, response: aiohttp.ClientResponse, request: httpx.Request, read_timeout: float | None
    ) -> None:
        self._response = response
        self._request = request
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        with _as_httpx(self._request):
            while True:
                try:
                    async with asyncio.timeout(self._read_timeout):
                        chunk = await content.readany()
                except TimeoutError:
                    raise httpx.ReadTimeout(
                        "the answer's body stopped arriving", request=self._request
                    ) from None
                if not chunk:
                    return
                yield chunk

    async def aclose(self) -> None:
        # The connection goes back to the pool, or is closed when the body was left unread.
        self._response.release()


async def _chunks(stream: httpx.AsyncByteStream) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts in aiohttp's terms (aiohttp has no write timeout)."""
    timeouts = request.extensions.get("timeout", {})
    pool, connect = timeouts.get("pool"), timeouts.get("connect")
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if pool is None or connect is None else pool + connect,
        sock_connect=connect,
        sock_read=timeouts.get("read"),
    )


def _unsolicited(protocol: object) -> bool:
    """Whether an idle connection's socket has something to read: its peer closed it (or
    sent what no request asked for) after its last answer, and the event loop has not read
    that yet. One non-blocking ``poll``; a connection whose socket cannot be seen counts as
    closed."""
    transport = getattr(protocol, "transport", None)
    sock = None if transport is None else transport.get_extra_info("socket")
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class _FreshConnector(aiohttp.TCPConnector):
    """aiohttp's connector, which reuses an idle connection unless its transport is already
    closed, less the idle connections whose peer closed them and the event loop has not
    noticed yet (a peer may close right after answering without saying so): those are closed
    instead of reused, and the request takes the next one or a new one.

    The alternative, one turn of the event loop before each request so that the loop reads
    the close first, put every request behind all the work the loop had queued (under load,
    tens of milliseconds each), and made two busy nodes take turns. This looks at the pool
    (aiohttp's ``_conns``, idle connections oldest first, as its ``_get`` takes them) only to
    close connections; ``_get`` then skips them as it skips any closed one."""

    async def _get(self, key: Any, traces: Any) -> Any:
        now, keepalive = time.monotonic(), self._keepalive_timeout
        for protocol, idle_since in list(self._conns.get(key, ())):
            if not protocol.is_connected():
                continue  # _get drops it
            if keepalive is not None and now - idle_since > keepalive:
                continue  # kept too long: _get drops it too (aiohttp sweeps such ones lazily)
            if not _unsolicited(protocol):
                break  # the one _get will take
            protocol.close()
        return await super()._get(key, traces)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """At most ``max_connections`` connections at once (all hosts), each kept
    :data:`KEEPALIVE_SECONDS` when idle; names resolved by ``resolver`` (aiohttp's default when
    None; :class:`~connector.http.outbound.PublicAddressResolver` for peers)."""

    def __init__(
        self,
        *,
        max_connections: int,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._resolver = resolver
        self._ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = _FreshConnector(
            limit=self._max_connections,
            keepalive_timeout=KEEPALIVE_SECONDS,
            resolver=self._resolver,
            ssl=self._ssl_context or outbound_ssl_context(),
        )
        return aiohttp.ClientSession(
            connector=connector,
            skip_auto_headers=("Content-Type",),  # no body type httpx did not set
            auto_decompress=False,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None or self._session.closed:
            self._session = self._open()
        headers = CIMultiDict(request.headers.multi_items())
        data: bytes | io.BytesIO | AsyncIterator[bytes] | None
        try:
            data = request.content or None
            if data is not None and len(data) > LARGE_BODY_BYTES:
                data = io.BytesIO(data)
        except httpx.RequestNotRead:  # a streamed body: aiohttp chooses how to frame it
            headers.popall("transfer-encoding", None)
            data = _chunks(request.stream)  # type: ignore[arg-type]
        with _as_httpx(request):
            response = await self._session.request(
                request.method,
                URL(str(request.url), encoded=True),  # sent as httpx wrote it (DPoP's htu)
                headers=headers,
                data=data,
                allow_redirects=False,
                compress=None,
                timeout=_timeout(request),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response, request, request.extensions.get("timeout", {}).get("read")),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

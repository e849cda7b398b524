"""``AiohttpTransport`` against scripted HTTP/1.1 peers on 127.0.0.1: what httpx callers see
(status, headers, body, decoding), what goes on the wire (the URL as written, bodies, reused
connections), and every failure as an ``httpx.TransportError``."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import inspect
import os
import select
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
from tls_support import private_ca

from connector.http.outbound import PublicAddressResolver, check_outbound_url
from connector.http.tls import outbound_ssl_context
from connector.http.transport import KEEPALIVE_SECONDS, AiohttpTransport, _FreshConnector
from connector.settings import SecuritySettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Received:
    head: str
    body: bytes

    @property
    def target(self) -> str:
        return self.head.split(" ")[1]

    def header(self, name: str) -> list[str]:
        lines = self.head.split("\r\n")[1:]
        return [
            line.split(":", 1)[1].strip()
            for line in lines
            if line.split(":", 1)[0].strip().lower() == name.lower()
        ]


async def read_request(reader: asyncio.StreamReader) -> Received | None:
    """One request from ``reader`` (None when the client closed the connection)."""
    try:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    except asyncio.IncompleteReadError:
        return None
    received = Received(head, b"")
    if received.header("content-length"):
        received.body = await reader.readexactly(int(received.header("content-length")[0]))
    elif "chunked" in ",".join(received.header("transfer-encoding")).lower():
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            received.body += chunk[:-2]
    return received


Handler = Callable[[Received, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Peer:
    """Answers each request with ``handler``; counts connections, keeps what it received."""

    handler: Handler
    connections: int = 0
    requests: list[Received] = field(default_factory=list)
    sockets: list[Any] = field(default_factory=list)
    port: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.sockets.append(writer.get_extra_info("socket"))
        try:
            while (received := await read_request(reader)) is not None:
                self.requests.append(received)
                await self.handler(received, writer)
                await writer.drain()
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def answer(status: str, body: bytes = b"", headers: tuple[str, ...] = ()) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def replying(data: bytes, *, close: bool = False) -> Handler:
    async def handler(received: Received, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        if close:
            await writer.drain()
            writer.close()

    return handler


DEVELOPMENT_NO_HOSTS = SecuritySettings(callback_allow_hosts=[], allow_http_callbacks=True)
OK = answer("200 OK", b'{"ok":true}', ("Content-Type: application/json",))


async def started(peer: Peer, tls: ssl.SSLContext | None = None) -> asyncio.Server:
    server = await asyncio.start_server(peer._serve, "127.0.0.1", 0, ssl=tls)
    peer.port = server.sockets[0].getsockname()[1]
    return server


def client(**options: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=4, **options),  # type: ignore[arg-type]
        trust_env=False,
        follow_redirects=False,
        timeout=5,
    )


async def test_an_answer_reaches_httpx_whole() -> None:
    peer = Peer(replying(answer("201 Created", b'{"a":1}', ("X-Thing: one", "X-Thing: two"))))
    async with await started(peer), client() as http:
        response = await http.post(
            f"http://127.0.0.1:{peer.port}/negotiations/request",
            json={"consumerPid": "urn:uuid:1"},
            headers={"Authorization": "DPoP abc"},
        )
    assert response.status_code == 201
    assert response.reason_phrase == "Created"
    assert response.headers.get_list("x-thing") == ["one", "two"]
    assert response.json() == {"a": 1}
    assert response.http_version == "HTTP/1.1"
    [received] = peer.requests
    assert received.head.startswith("POST /negotiations/request HTTP/1.1\r\n")
    assert received.header("authorization") == ["DPoP abc"]
    assert received.header("content-type") == ["application/json"]
    assert received.header("host") == [f"127.0.0.1:{peer.port}"]
    assert received.body == b'{"consumerPid":"urn:uuid:1"}'


async def test_the_url_goes_out_as_httpx_wrote_it() -> None:
    # A DPoP proof names the URL httpx built; the request line must carry that same URL.
    peer = Peer(replying(OK))
    path = "/negotiations/urn%3Auuid%3Aa%2Fb/%C3%A9t%C3%A9%7E?q=a%20b%2Fc"
    async with await started(peer), client() as http:
        response = await http.get(f"http://127.0.0.1:{peer.port}{path}")
        assert str(response.request.url) == f"http://127.0.0.1:{peer.port}{path}"
    assert peer.requests[0].target == path
    assert peer.requests[0].header("content-length") == []  # no body, no length
    assert peer.requests[0].body == b""


async def test_connections_are_kept_and_reused() -> None:
    peer = Peer(replying(OK))
    async with await started(peer), client() as http:
        for _ in range(5):
            assert (await http.get(f"http://127.0.0.1:{peer.port}/")).json() == {"ok": True}
    assert peer.connections == 1


async def test_a_body_left_unread_costs_only_its_connection() -> None:
    peer = Peer(replying(answer("200 OK", b"x" * 1_000_000)))
    async with await started(peer), client() as http:
        url = f"http://127.0.0.1:{peer.port}/"
        async with http.stream("GET", url) as response:
            assert response.status_code == 200
            async for _ in response.aiter_bytes():
                break
        assert len((await http.get(url)).content) == 1_000_000
    assert peer.connections == 2


async def test_a_redirect_is_answered_not_followed() -> None:
    peer = Peer(replying(answer("302 Found", headers=("Location: http://169.254.169.254/",))))
    async with await started(peer), client() as http:
        response = await http.post(f"http://127.0.0.1:{peer.port}/a", json={})
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/"
    assert len(peer.requests) == 1


async def test_a_compressed_body_is_decoded_once() -> None:
    text = b'{"compressed": true}' * 50
    peer = Peer(replying(answer("200 OK", gzip.compress(text), ("Content-Encoding: gzip",))))
    async with await started(peer), client() as http:
        response = await http.get(f"http://127.0.0.1:{peer.port}/")
    assert response.content == text


async def test_a_streamed_request_body_arrives_whole() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for number in range(100):
            yield f"part {number};".encode()

    peer = Peer(replying(OK))
    async with await started(peer), client() as http:
        response = await http.post(f"http://127.0.0.1:{peer.port}/push", content=parts())
    assert response.status_code == 200
    assert peer.requests[0].body == b"".join(f"part {n};".encode() for n in range(100))


async def test_no_cookie_is_kept_by_the_transport() -> None:
    peer = Peer(replying(answer("200 OK", headers=("Set-Cookie: session=secret; Path=/",))))
    async with await started(peer):
        url = f"http://localhost:{peer.port}/"  # aiohttp's own jar keeps no cookie of an IP
        transport = AiohttpTransport(max_connections=2)
        try:
            for _ in range(2):  # a bare transport: no httpx cookie jar around it
                response = await transport.handle_async_request(httpx.Request("GET", url))
                await response.aread()
                await response.aclose()
        finally:
            await transport.aclose()
    assert peer.requests[1].header("cookie") == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{_closed_port()}/")


async def test_a_peer_that_does_not_answer_is_a_read_timeout() -> None:
    async def silent(received: Received, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    peer = Peer(silent)
    async with await started(peer), client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"http://127.0.0.1:{peer.port}/", timeout=httpx.Timeout(5, read=0.2))


async def read_whole(http: httpx.AsyncClient, url: str, *, read: float = 5) -> bytes:
    async with http.stream("GET", url, timeout=httpx.Timeout(5, read=read)) as response:
        return await response.aread()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="closed without answering"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", id="body cut"),
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="no status line"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 100_000 + b"\r\n\r\n", id="huge header"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad chunk size"
        ),
    ],
)
async def test_a_broken_answer_is_a_transport_error(data: bytes) -> None:
    peer = Peer(replying(data, close=True))
    async with await started(peer), client() as http:
        with pytest.raises(httpx.TransportError) as raised:
            await read_whole(http, f"http://127.0.0.1:{peer.port}/")
    assert isinstance(raised.value, httpx.RemoteProtocolError | httpx.ReadError)
    assert raised.value.request.url.port == peer.port


async def test_tls_certificates_are_verified(tmp_path: Path) -> None:
    authority = private_ca(tmp_path)
    peer = Peer(replying(OK))
    async with await started(peer, tls=authority.server_context()):
        url = f"https://127.0.0.1:{peer.port}/"
        async with client() as http:  # certifi's bundle does not hold the private authority
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                await http.get(url)
        async with client(ssl_context=outbound_ssl_context(authority.ca_file)) as http:
            assert (await http.get(url)).json() == {"ok": True}
    assert len(peer.requests) == 1


async def test_a_closed_transport_opens_a_new_session_when_used_again() -> None:
    peer = Peer(replying(OK))
    transport = AiohttpTransport(max_connections=2)
    async with await started(peer):
        for _ in range(2):
            async with httpx.AsyncClient(transport=transport) as http:
                assert (await http.get(f"http://127.0.0.1:{peer.port}/")).status_code == 200
    assert peer.connections == 2


async def test_a_name_is_connected_to_only_at_addresses_the_outbound_check_accepts() -> None:
    # DNS rebinding: check_outbound_url saw a public address for the name; when connecting,
    # the name resolves to loopback. The connection must not be made.
    checked = check_outbound_url(
        "http://localhost/", DEVELOPMENT_NO_HOSTS, resolver=lambda _host, _port: ["8.8.8.8"]
    )
    assert checked == "http://localhost/"
    peer = Peer(replying(OK))
    async with await started(peer):
        refusing = client(resolver=PublicAddressResolver(DEVELOPMENT_NO_HOSTS))
        async with refusing as http:
            with pytest.raises(httpx.ConnectError, match="no public address"):
                await http.get(f"http://localhost:{peer.port}/")
        assert peer.connections == 0
        allowing = client(resolver=PublicAddressResolver(SecuritySettings()))  # lists localhost
        async with allowing as http:
            assert (await http.get(f"http://localhost:{peer.port}/")).status_code == 200
    assert peer.connections == 1


async def test_a_body_broken_after_its_first_chunks_ends_within_the_read_timeout() -> None:
    # aiohttp's C parser stops its own read timer when a later chunk line is malformed, and
    # its stream then neither ends nor fails: the transport's read timeout must end it.
    async def broken_later(received: Received, writer: asyncio.StreamWriter) -> None:
        writer.write(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n')
        await writer.drain()
        await asyncio.sleep(0.05)  # the bad chunk line arrives in a segment of its own
        writer.write(b"zz\r\n")
        await writer.drain()
        writer.close()

    peer = Peer(broken_later)
    async with await started(peer), client() as http:
        with pytest.raises(httpx.TransportError) as raised:
            with anyio.fail_after(10):  # only so that a regression ends; the read timeout is 0.5
                await read_whole(http, f"http://127.0.0.1:{peer.port}/", read=0.5)
    assert isinstance(raised.value, httpx.ReadTimeout | httpx.RemoteProtocolError)


async def test_a_connection_the_peer_closed_after_its_answer_is_not_reused() -> None:
    # A peer may close right after answering without saying so (Connection: close); the next
    # request must take a new connection rather than fail on the closed one.
    peer = Peer(replying(OK, close=True))
    async with await started(peer), client() as http:
        url = f"http://127.0.0.1:{peer.port}/negotiations/request"
        for _ in range(20):
            assert (await http.post(url, json={})).status_code == 200
    assert peer.connections == 20


@pytest.mark.parametrize("close", [False, True])
async def test_over_tls_connections_are_reused_unless_the_peer_closed_them(
    tmp_path: Path, close: bool
) -> None:
    """Whether a peer closed an idle connection is read from its socket: over TLS too, where
    what the peer sent last (a session ticket, the response) must not count as a close."""
    authority = private_ca(tmp_path)
    peer = Peer(replying(OK, close=close))
    context = outbound_ssl_context(authority.ca_file)
    async with (
        await started(peer, tls=authority.server_context()),
        client(ssl_context=context) as http,
    ):
        for _ in range(10):
            response = await http.post(f"https://127.0.0.1:{peer.port}/", json={})
            assert response.status_code == 200
            await asyncio.sleep(0.01)  # the peer's close, if any, arrives meanwhile
    assert peer.connections == (10 if close else 1)


@pytest.mark.parametrize("oldest_expired", [False, True])
async def test_of_two_idle_connections_the_one_the_peer_closed_is_not_reused(
    oldest_expired: bool,
) -> None:
    """The check of closed connections looks at them in the order aiohttp's pool hands them
    out (oldest first), past those the pool drops for having been kept too long: it relies on
    aiohttp internals (``TCPConnector._get``, ``_conns``), which this pins down."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                while await read_request(reader) is not None:
                    await asyncio.sleep(0.05)  # both first requests on their way at once
                    writer.write(OK)
                    await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = AiohttpTransport(max_connections=4)
    async with server, httpx.AsyncClient(transport=transport) as http:
        url = f"http://127.0.0.1:{port}/"
        await asyncio.gather(http.post(url, json={}), http.post(url, json={}))
        connector = transport._session.connector  # type: ignore[union-attr]
        assert isinstance(connector, _FreshConnector)
        ((_key, idle),) = connector._conns.items()  # type: ignore[attr-defined]
        assert len(idle) == 2
        newest_port = idle[1][0].transport.get_extra_info("sockname")[1]
        (closing,) = (w for w in writers if w.get_extra_info("peername")[1] == newest_port)
        # The peer's end shut at once (its transport's close would wait for its event loop)...
        with socket.socket(fileno=os.dup(closing.get_extra_info("socket").fileno())) as end:
            end.shutdown(socket.SHUT_RDWR)
        time.sleep(0.1)  # ...and the close reaches this side, where the loop does not read it
        if oldest_expired:  # kept past the keep-alive time, not yet swept by aiohttp
            protocol, idle_since = idle[0]
            idle[0] = (protocol, idle_since - 10 * KEEPALIVE_SECONDS)
        assert (await http.post(url, json={})).status_code == 200
    assert len(writers) == (3 if oldest_expired else 2)


def test_the_aiohttp_internals_the_transport_relies_on_are_there() -> None:
    parameters = list(inspect.signature(aiohttp.TCPConnector._get).parameters)
    assert parameters == ["self", "key", "traces"]
    assert inspect.iscoroutinefunction(aiohttp.TCPConnector._get)


async def test_a_request_goes_out_without_waiting_for_a_turn_of_the_event_loop() -> None:
    """A request on a pooled connection is written in the step of its task that sends it,
    not after a turn of the event loop (which would put it behind every callback queued
    meanwhile: under load, two nodes then took turns instead of working at once)."""
    peer = Peer(replying(OK))
    async with await started(peer), client() as http:
        url = f"http://127.0.0.1:{peer.port}/"
        assert (await http.get(url)).status_code == 200  # a connection in the pool
        (server_side,) = peer.sockets
        request = asyncio.ensure_future(http.get(url))
        await asyncio.sleep(0)  # the request's task takes one step; nothing else runs
        waiting = select.poll()
        waiting.register(server_side.fileno(), select.POLLIN)
        assert waiting.poll(0), "the request was not written in its first step"
        assert (await request).status_code == 200


async def test_a_request_aiohttp_would_not_write_is_a_local_protocol_error() -> None:
    peer = Peer(replying(OK))
    async with await started(peer), client() as http:
        request = http.build_request("GET", f"http://127.0.0.1:{peer.port}/")
        request.headers["Authorization"] = "DPoP a\r\nX-Injected: yes"
        with pytest.raises(httpx.LocalProtocolError):
            await http.send(request)
    assert peer.requests == []


async def test_large_and_untyped_bodies_go_out_as_httpx_built_them() -> None:
    large = b"x" * (3 * 1024 * 1024)  # above the size aiohttp warns about for raw bytes
    peer = Peer(replying(OK))
    async with await started(peer), client() as http:
        url = f"http://127.0.0.1:{peer.port}/push"
        assert (await http.post(url, content=large)).status_code == 200
        assert (await http.post(url, content=b"")).status_code == 200
    big, empty = peer.requests
    assert big.body == large
    assert big.header("content-length") == [str(len(large))]
    assert big.header("content-type") == empty.header("content-type") == []  # none was set
    assert empty.body == b""

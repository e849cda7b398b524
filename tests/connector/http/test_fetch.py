"""``connector.http.fetch``: how a failed request is reported; clients that keep no cookies."""

from __future__ import annotations

import httpx
import pytest

from connector.http.fetch import CookielessAsyncClient, FetchError, send

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        # The cause may quote a peer's bytes, and reaches logs, problem documents and stored
        # termination reasons: printable characters only.
        (
            httpx.RemoteProtocolError("bad status line 'HTTP/1.1 2\x00\udc80'"),
            "RemoteProtocolError: bad status line 'HTTP/1.1 2??'",
        ),
        # httpx quotes an illegal header whole: with a token in it, the token would be logged.
        (
            httpx.LocalProtocolError("Illegal header value b'DPoP secret-token\\n'"),
            "LocalProtocolError",
        ),
        (httpx.ReadTimeout(""), "ReadTimeout"),
    ],
    ids=["peer's bytes", "our own header", "no text"],
)
async def test_a_failure_names_its_cause_safely(error: httpx.HTTPError, shown: str) -> None:
    def failing(request: httpx.Request) -> httpx.Response:
        raise error

    async with httpx.AsyncClient(transport=httpx.MockTransport(failing)) as http:
        with pytest.raises(FetchError) as raised:
            await send(http, http.build_request("GET", "https://peer.test/"))
    assert str(raised.value) == f"GET https://peer.test/ failed ({shown})"


async def test_peer_clients_keep_no_cookies() -> None:
    seen: list[str | None] = []

    def peer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"}, json={})

    async with CookielessAsyncClient(transport=httpx.MockTransport(peer)) as http:
        for _ in range(2):
            await send(http, http.build_request("GET", "https://peer.test/"))
        # A plain httpx client would send the cookie back the second time.
        assert seen == [None, None]
        assert not http.cookies
        with pytest.raises(TypeError, match="no cookies"):
            http.cookies = {"session": "abc"}
        with pytest.raises(TypeError, match="no cookies"):
            http.cookies.set("session", "abc")
        http.cookies.update({"session": "abc"})  # stores nothing either
        assert not http.cookies
        await send(http, http.build_request("GET", "https://peer.test/"))
        assert seen == [None, None, None]
    with pytest.raises(TypeError, match="no cookies"):
        CookielessAsyncClient(cookies={"session": "abc"})

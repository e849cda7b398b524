"""``connector.http.fetch``: how a failed request is reported."""

from __future__ import annotations

import httpx
import pytest

from connector.http.fetch import FetchError, send

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_failure_names_its_cause_in_printable_text() -> None:
    # FetchError messages reach logs, problem documents and stored termination reasons; a cause
    # may quote a peer's bytes.
    def failing(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("bad status line 'HTTP/1.1 2\x00\udc80'")

    async with httpx.AsyncClient(transport=httpx.MockTransport(failing)) as http:
        with pytest.raises(FetchError) as raised:
            await send(http, http.build_request("GET", "https://peer.test/"))
    assert str(raised.value) == (
        "GET https://peer.test/ failed (RemoteProtocolError: bad status line 'HTTP/1.1 2??')"
    )


async def test_a_request_that_could_not_be_written_is_not_quoted() -> None:
    # httpx quotes an illegal header whole: with a token in it, the token would be logged.
    def failing(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError("Illegal header value b'DPoP secret-token\\n'")

    async with httpx.AsyncClient(transport=httpx.MockTransport(failing)) as http:
        with pytest.raises(FetchError) as raised:
            await send(http, http.build_request("GET", "https://peer.test/"))
    assert str(raised.value) == "GET https://peer.test/ failed (LocalProtocolError)"

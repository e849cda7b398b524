"""Trailing slashes: ``/x/`` is routed as ``/x`` (DSP 2025-1: accept paths with and without a
trailing ``/``), instead of Starlette's 307 redirect."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connector.http.paths import TrailingSlashMiddleware

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _where(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "path": request.url.path,
            "raw": request.scope["raw_path"].decode(),
            "q": request.url.query,
        }
    )


def _client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[Route("/", _where), Route("/a/{pid}/termination", _where, methods=["POST"])]
    )
    transport = httpx.ASGITransport(app=TrailingSlashMiddleware(app))
    return httpx.AsyncClient(transport=transport, base_url="http://node.test")


@pytest.mark.parametrize("path", ["/a/p1/termination", "/a/p1/termination/", "/a/p1/termination//"])
async def test_a_path_is_the_same_with_or_without_trailing_slashes(path: str) -> None:
    async with _client() as client:
        response = await client.post(path + "?x=1")
    assert response.status_code == 200
    # Routed without the slashes; the raw path stays as called (a DPoP proof names it).
    assert response.json() == {"path": "/a/p1/termination", "raw": path, "q": "x=1"}


async def test_the_root_stays_the_root() -> None:
    async with _client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.json()["path"] == "/"


async def test_an_unknown_path_is_still_unknown() -> None:
    async with _client() as client:
        response = await client.get("/a/p1/other/")
    assert response.status_code == 404

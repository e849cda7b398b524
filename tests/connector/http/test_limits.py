"""The body-size cap: bodies over the limit get 413 and never reach the application."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connector.http.limits import BodySizeLimitMiddleware

LIMIT = 1024
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _app(seen: list[int]) -> BodySizeLimitMiddleware:
    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        seen.append(len(body))
        return JSONResponse({"received": len(body)})

    return BodySizeLimitMiddleware(
        Starlette(routes=[Route("/", echo, methods=["POST"])]), max_bytes=LIMIT
    )


@pytest.fixture
def seen() -> list[int]:
    return []


async def test_body_within_limit_passes(seen: list[int]) -> None:
    transport = httpx.ASGITransport(app=_app(seen))
    async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as client:
        response = await client.post("/", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert seen == [LIMIT]


async def test_declared_length_over_limit_is_refused(seen: list[int]) -> None:
    transport = httpx.ASGITransport(app=_app(seen))
    async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as client:
        response = await client.post("/", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert seen == []


async def test_streamed_body_over_limit_is_cut(seen: list[int]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 300

    transport = httpx.ASGITransport(app=_app(seen))
    async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as client:
        response = await client.post("/", content=chunks())
    assert response.status_code == 413
    assert seen == []

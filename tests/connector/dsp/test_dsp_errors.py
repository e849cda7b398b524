"""Errors on protocol routes: a peer that goes away mid-request is not an error of the node."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pg_cluster import connect_where_nothing_listens
from starlette.requests import ClientDisconnect

from connector.dsp.errors import dsp_route_class


def _app() -> FastAPI:
    router = APIRouter(route_class=dsp_route_class("ContractNegotiationError"))

    @router.post("/gone")
    async def gone() -> None:
        raise ClientDisconnect

    @router.post("/store-down")
    def store_down() -> None:
        connect_where_nothing_listens()

    @router.post("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    app = FastAPI()
    app.include_router(router)
    return app


def _post(path: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as client:
            return await client.post(path)

    return asyncio.run(call())


def test_a_peer_that_disconnects_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="etds.dsp"):
        response = _post("/gone")
    assert response.status_code == 400
    assert response.json()["@type"] == "ContractNegotiationError"
    assert [r.levelno for r in caplog.records if r.name == "etds.dsp"] == [logging.INFO]


def test_an_unexpected_error_is_still_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="etds.dsp"):
        response = _post("/broken")
    assert response.status_code == 500
    assert [r.levelno for r in caplog.records if r.name == "etds.dsp"] == [logging.ERROR]


def test_a_database_outage_is_a_503_the_peer_retries(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="etds.dsp"):
        response = _post("/store-down")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    body = response.json()
    assert body["@type"] == "ContractNegotiationError"
    assert body["code"] == "503"
    assert "127.0.0.1" not in response.text  # driver details stay in the log
    assert [r.levelno for r in caplog.records if r.name == "etds.dsp"] == [logging.WARNING]

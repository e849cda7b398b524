"""Fixtures of the DSP endpoint tests: the sample data an in-process provider serves, that
provider (with its assets and contract definitions; a module may define its own), an HTTP
client for the authority's tokens, asyncio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from dataspace_support import Dataspace
from dsp_provider import Provider, define_contracts, generate_data
from dsp_provider import provider_app as make_provider

from connector.store.database import Database


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def sample_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_data(tmp_path_factory.mktemp("data"))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture
async def provider(
    dataspace: Dataspace, database: Database, sample_data: Path
) -> AsyncIterator[Provider]:
    created = make_provider(dataspace, database, sample_data)
    await created.add_assets()
    define_contracts(database)
    try:
        yield created
    finally:
        await created.node.identity.aclose()

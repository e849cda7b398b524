"""Fixtures of the security suite: one authority process per session, node B per test."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from security_support import (
    Dataspace,
    Node,
    node_b,
)

from connector.store.database import Database


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def node_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """Node B's own (migrated, empty) database."""
    path = tmp_path / "node-b.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database.from_url(f"sqlite:///{path}")
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for real requests to the authority process."""
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture
async def node(dataspace: Dataspace, node_database: Database) -> AsyncIterator[Node]:
    """Node B with the protected route only."""
    created = node_b(dataspace, node_database)
    try:
        yield created
    finally:
        await created.identity.aclose()


@pytest.fixture
async def bearer_node(dataspace: Dataspace, node_database: Database) -> AsyncIterator[Node]:
    """Node B configured to accept plain bearer tokens too (to test claims in isolation)."""
    created = node_b(dataspace, node_database, accept_bearer=True)
    try:
        yield created
    finally:
        await created.identity.aclose()


@pytest.fixture
def refusals(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captured logs, where every refusal's reason (``log_detail``) is written."""
    caplog.set_level(logging.INFO)
    return caplog

"""Fixtures of the security suite: one authority process per session, node B per test."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from authorityproc import run_authority, write_authority_config
from security_support import (
    ADMIN_B,
    B_MANAGEMENT,
    NODE_A,
    NODE_B,
    NODE_C,
    READER_B,
    Dataspace,
    Node,
    node_b,
)

from connector.identity import keys
from connector.store.database import Database
from connector.store.migrate import upgrade
from etds_examples.nodeproc import free_port


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def dataspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataspace]:
    """A real authority process (Ed25519 signing key) with A, B, C and B's administrators."""
    root = tmp_path_factory.mktemp("dataspace")
    key_dir = root / "keys"
    key_dir.mkdir()
    authority_key = key_dir / "authority.pem"
    keys.write_private_key(authority_key, keys.private_key_pem(keys.generate_key("ed25519")))
    database_url = f"sqlite:///{root / 'authority.db'}"
    database = Database.from_url(database_url)
    upgrade(database)
    port = free_port()
    space = Dataspace(
        issuer=f"http://127.0.0.1:{port}",
        database=database,
        key_dir=key_dir,
        authority_key=keys.load_signing_key(authority_key),
    )
    space.register(NODE_A, org_type="regional_agency", country="FR", nuts=["FRJ"])
    space.register(NODE_B, org_type="research", country="FR")
    space.register(NODE_C, org_type="company", country="FR")
    space.register(
        ADMIN_B, scopes=["management:read", "management:write"], audiences=[B_MANAGEMENT]
    )
    space.register(READER_B, scopes=["management:read"], audiences=[B_MANAGEMENT])
    config = write_authority_config(
        root / "authority.toml", port=port, database_url=database_url, signing_keys=[authority_key]
    )
    try:
        with run_authority(config, port=port, log_file=root / "authority.log"):
            yield space
    finally:
        database.dispose()


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

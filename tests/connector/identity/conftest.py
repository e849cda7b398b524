"""Fixtures of the identity unit tests: an in-process authority with two participants."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from identity_support import NODE_A, NODE_B, InProcessAuthority, make_authority


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def authority(tmp_path: Path, sqlite_template: Path) -> Iterator[InProcessAuthority]:
    """An authority (Ed25519 signing key) where A (a regional agency) and B are registered."""
    created = make_authority(tmp_path, sqlite_template)
    created.register(NODE_A, org_type="regional_agency", country="FR", nuts=["FRJ", "FRJ13"])
    created.register(NODE_B, key_type="ed25519", org_type="research", country="FR")
    try:
        yield created
    finally:
        created.database.dispose()

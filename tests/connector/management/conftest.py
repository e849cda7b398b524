"""The management API suites' client: the node's whole application on a test database, with the
sample data roots of the test (``tmp_path``); server errors come back as responses (a 500 is a
failure the tests see, not an exception)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.settings import load_settings
from connector.store.database import Database


@pytest.fixture
def client(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(storage={"data_roots": [str(tmp_path)]})
    with TestClient(create_app(settings, database=database), raise_server_exceptions=False) as c:
        yield c

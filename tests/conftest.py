"""Fixtures shared by every test suite: databases on both backends, a throwaway PostgreSQL.

* ``pg_cluster`` (session): a PostgreSQL cluster started for this test run (see
  ``tests/pg_cluster.py``). Skipped with a reason when the server binaries are missing, except
  when ``CI=true``: then a missing PostgreSQL fails the run rather than silently testing less.
* ``db_backend`` / ``db_url``: parametrised over ``sqlite`` and ``postgresql`` (the latter marked
  ``postgres``, so ``-m "not postgres"`` runs SQLite only). ``db_url`` is a fresh, empty,
  *unmigrated* database per test (for migration tests).
* ``database``: a migrated, empty :class:`Database` per test. Fast: the schema is migrated once
  per session and backend; each SQLite test gets a copy of a migrated template file, each
  PostgreSQL test a shared migrated database whose tables are truncated first.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dataspace_support import (
    ADMIN_B,
    B_MANAGEMENT,
    NODE_A,
    NODE_B,
    NODE_C,
    READER_B,
    Dataspace,
    running_dataspace,
)
from pg_cluster import PostgresCluster, find_bindir
from sqlalchemy import text

from connector.store.database import Database
from connector.store.migrate import upgrade
from connector.store.models import metadata

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A running throwaway PostgreSQL cluster, stopped and deleted at the end of the session."""
    bindir = find_bindir()
    if bindir is None:
        reason = (
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH, through "
            "pg_config or under /usr/lib/postgresql/*/bin; install PostgreSQL (make postgres)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    cluster = PostgresCluster(bindir)
    atexit.register(cluster.stop)  # also when the run dies before fixture teardown
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """``"sqlite"`` or ``"postgresql"``: each test using a database runs on both."""
    backend: str = request.param
    return backend


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty, unmigrated database on ``db_backend``."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = f"fresh_{uuid.uuid4().hex[:16]}"
    url = cluster.create_database(name)
    try:
        yield url
    finally:
        cluster.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file to copy (WAL checkpointed, so the main file is complete)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "etds.db"
    database = Database.from_url(f"sqlite:///{path}")
    try:
        upgrade(database)
    finally:
        database.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return path


@pytest.fixture(scope="session")
def postgres_migrated_url(pg_cluster: PostgresCluster) -> str:
    """A PostgreSQL database migrated once per session, shared (truncated) by the tests."""
    url = pg_cluster.create_database("etds_shared")
    upgrade(url)
    return url


def _truncate_all(database: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with database.transaction() as connection:
        connection.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on ``db_backend``, disposed of after the test."""
    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "etds.db"
        shutil.copyfile(template, path)
        opened = Database.from_url(f"sqlite:///{path}")
    else:
        # Its work on the event loop (database.run_on_loop = "always"), as on SQLite: the
        # in-process tests then cover that path on both; the e2e nodes run the default (threads).
        opened = Database.from_url(
            request.getfixturevalue("postgres_migrated_url"), run_on_loop=True
        )
        _truncate_all(opened)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture(scope="session")
def dataspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataspace]:
    """A real authority process (Ed25519 signing key) with A, B, C and B's administrators."""

    def register(space: Dataspace) -> None:
        space.register(NODE_A, org_type="regional_agency", country="FR", nuts=["FRJ"])
        space.register(NODE_B, org_type="research", country="FR")
        space.register(NODE_C, org_type="company", country="FR")
        space.register(
            ADMIN_B, scopes=["management:read", "management:write"], audiences=[B_MANAGEMENT]
        )
        space.register(READER_B, scopes=["management:read"], audiences=[B_MANAGEMENT])

    with running_dataspace(tmp_path_factory.mktemp("dataspace"), register) as (space, _):
        yield space

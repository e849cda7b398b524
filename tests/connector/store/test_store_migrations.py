"""Migrations build exactly ``models.metadata`` on both databases, and index every foreign key."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from connector.store.database import Database
from connector.store.migrate import current_revision, downgrade, head_revision, upgrade
from connector.store.models import metadata


def test_upgrade_reaches_head_and_matches_the_models(db_url: str) -> None:
    assert current_revision(db_url) is None
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()
    database = Database.from_url(db_url)
    try:
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        database.dispose()


def test_upgrade_twice_is_harmless_and_downgrade_removes_everything(db_url: str) -> None:
    database = Database.from_url(db_url)
    try:
        upgrade(database)
        upgrade(database)
        assert current_revision(database) == head_revision()
        downgrade(database, "base")
        assert current_revision(database) is None
        assert set(inspect(database.engine).get_table_names()) == {"alembic_version"}
        upgrade(database)
        assert set(metadata.tables) <= set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()


def test_replicas_migrating_at_once_all_succeed(db_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def migrate() -> None:
        try:
            barrier.wait()
            upgrade(db_url)
        except BaseException as error:  # reported below, with the thread's own exception
            errors.append(error)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert current_revision(db_url) == head_revision()


def test_every_foreign_key_column_leads_an_index(database: Database) -> None:
    inspector = inspect(database.engine)
    missing = []
    for table in inspector.get_table_names():
        indexed = [tuple(index["column_names"]) for index in inspector.get_indexes(table)]
        indexed += [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        indexed.append(tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
        for foreign_key in inspector.get_foreign_keys(table):
            columns = tuple(foreign_key["constrained_columns"])
            if not any(index[: len(columns)] == columns for index in indexed):
                missing.append(f"{table}{list(columns)}")
    assert missing == []
    assert len(inspector.get_foreign_keys("contract_negotiations")) == 2


def test_polled_columns_are_indexed(database: Database) -> None:
    inspector = inspect(database.engine)
    for table in ("contract_negotiations", "transfer_processes"):
        indexes = {tuple(index["column_names"]) for index in inspector.get_indexes(table)}
        assert ("pending", "next_attempt_at") in indexes
        assert ("state",) in indexes
    assert ("expires_at",) in {
        tuple(index["column_names"]) for index in inspector.get_indexes("used_tokens")
    }

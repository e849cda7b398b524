"""Migrations build exactly ``models.metadata`` on both databases, and index every foreign key."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

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


def test_every_unique_key_over_a_pid_leads_with_it(database: Database) -> None:
    """A process is looked up by a pid with its role and counterparty: a key that led with the
    role and counterparty could be matched on those two alone (migration 0006)."""
    inspector = inspect(database.engine)
    for table in ("contract_negotiations", "transfer_processes"):
        keys = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        keys |= {tuple(i["column_names"]) for i in inspector.get_indexes(table) if i["unique"]}
        over_pids = [k for k in keys if {"provider_pid", "consumer_pid"} & set(k)]
        assert len(over_pids) == 4  # (pid, role, counterparty) and our own pid, each pid
        assert all(key[0] in ("provider_pid", "consumer_pid") for key in over_pids), over_pids


def test_the_pid_first_keys_keep_the_processes_and_their_uniqueness(db_url: str) -> None:
    """0005 → 0006 → 0005 → head with a negotiation and its history stored: both stay, and so
    does what is unique."""
    upgrade(db_url, "0005")
    database = Database.from_url(db_url)
    try:
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO contract_negotiations (id, role, state, provider_pid, "
                    "consumer_pid, counterparty_id, counterparty_address, protocol, asset_id, "
                    "pending, attempts, version, created_at, updated_at, mode) VALUES ('n', "
                    "'provider', 'REQUESTED', 'P', 'C', 'peer', 'https://peer', 'dsp', 'a', "
                    ":no, 0, 1, :at, :at, 'auto')"
                ),
                {"no": False, "at": datetime(2026, 12, 8, tzinfo=UTC)},
            )
            connection.execute(
                text(
                    "INSERT INTO negotiation_messages (negotiation_id, direction, message_type, "
                    "body, at) VALUES ('n', 'in', 'ContractRequestMessage', '{}', :at)"
                ),
                {"at": datetime(2026, 12, 8, tzinfo=UTC)},
            )
        for revision in ("0006", "0005", "head"):
            if revision == "0005":
                downgrade(database, revision)
            else:
                upgrade(database, revision)
            with database.engine.connect() as connection:
                ids = connection.execute(text("SELECT id FROM contract_negotiations")).all()
                assert [row.id for row in ids] == ["n"]
                # SQLite rebuilds the table: its history must not go with the old one.
                history = text("SELECT count(*) FROM negotiation_messages")
                assert connection.execute(history).scalar() == 1
                with pytest.raises(IntegrityError):
                    connection.execute(
                        text(
                            "INSERT INTO contract_negotiations (id, role, state, provider_pid, "
                            "consumer_pid, counterparty_id, counterparty_address, protocol, "
                            "asset_id, pending, attempts, version, created_at, updated_at, "
                            "mode) VALUES ('m', 'provider', 'REQUESTED', 'P2', 'C', 'peer', "
                            "'https://peer', 'dsp', 'a', :no, 0, 1, :at, :at, 'auto')"
                        ),
                        {"no": False, "at": datetime(2026, 12, 8, tzinfo=UTC)},
                    )
                connection.rollback()
    finally:
        database.dispose()

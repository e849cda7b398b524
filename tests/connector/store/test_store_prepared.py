"""Prepared statements: the same values in and out as ``Connection.execute``, on both backends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lost_connections import end_pooled_connection
from sqlalchemy import bindparam, event, func, insert, or_, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError
from store_records import at

from connector.store import migrate
from connector.store.database import Database, store_unavailable
from connector.store.models import ContractAgreement, ContractNegotiation
from connector.store.prepared import Prepared
from connector.store.types import UTCDateTime

TABLE = ContractNegotiation.__table__
AgreementTable = ContractAgreement.__table__
C = TABLE.c
ROW = {
    "id": "n1",
    "role": "provider",
    "state": "REQUESTED",
    "provider_pid": "urn:uuid:p1",
    "consumer_pid": "urn:uuid:c1",
    "counterparty_id": "did:web:peer",
    "counterparty_address": "https://peer.example/dsp",
    "protocol": "dataspace-protocol-http:2025-1",
    "asset_id": "asset-1",
    "pending": True,
    "next_attempt_at": at(5),
    "attempts": 2,
    "offer": {"@id": "urn:offer:1", "permission": [{"action": "use", "é": [1, 2.5, None]}]},
    "mode": "auto",
    "created_at": at(0),
    "updated_at": at(1),
    "version": 3,
}
BY_ID = select(TABLE).where(C.id == bindparam("id"))


def _pids(id: str) -> dict[str, str]:
    return {"id": id, "provider_pid": f"urn:uuid:p-{id}", "consumer_pid": f"urn:uuid:c-{id}"}


def _insert(database: Database, **changes: object) -> None:
    with database.transaction() as session:
        session.execute(insert(TABLE).values({**ROW, **changes}))


def test_a_row_reads_back_as_connection_execute_gives_it(database: Database) -> None:
    _insert(database)
    prepared = Prepared(BY_ID)
    with database.read() as session:
        expected = dict(session.execute(BY_ID, {"id": "n1"}).one()._mapping)
        assert prepared.first(session, {"id": "n1"}) == expected
        assert prepared.rows(session, {"id": "n1"}) == [expected]
        assert prepared.first(session, {"id": "nobody"}) is None
    assert expected["offer"] == ROW["offer"]
    assert expected["next_attempt_at"] == at(5)
    assert expected["next_attempt_at"].tzinfo is UTC
    assert expected["pending"] is True


def test_values_written_read_back_as_connection_execute_writes_them(database: Database) -> None:
    """What a Prepared INSERT stores is what SQLAlchemy stores (JSON, booleans, UTC times)."""
    columns = {name: bindparam(name, type_=C[name].type) for name in ROW}
    prepared = Prepared(insert(TABLE).values(columns).returning(C.id, C.version))
    later = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    with database.transaction() as session:
        row = prepared.first(session, {**ROW, **_pids("n2"), "updated_at": later})
    assert row == {"id": "n2", "version": 3}
    _insert(database, **_pids("n3"), updated_at=later)
    with database.read() as session:
        stored = {
            record["id"]: {k: v for k, v in record.items() if k not in _pids("")}
            for record in (dict(r._mapping) for r in session.execute(select(TABLE)))
        }
        raw = {
            r[0]: r[1:]
            for r in session.execute(
                text("SELECT id, offer, pending, updated_at FROM contract_negotiations")
            )
        }
    assert stored["n2"] == stored["n3"]
    assert raw["n2"] == raw["n3"]  # the very same stored form, not only the same value
    assert stored["n2"]["updated_at"] == later.astimezone(UTC)


def test_a_parameter_used_twice_is_processed_once(database: Database) -> None:
    """Positional paramstyles list such a bind twice; processing it twice would convert a
    converted value (here: a datetime that is a string already)."""
    _insert(database)
    prepared = Prepared(
        select(C.id).where(or_(C.created_at == bindparam("t"), C.updated_at == bindparam("t")))
    )
    with database.read() as session:
        assert prepared.rows(session, {"t": at(1)}) == [{"id": "n1"}]
        assert prepared.rows(session, {"t": at(2)}) == []


def test_values_built_into_the_statement_need_no_parameter(database: Database) -> None:
    _insert(database)
    prepared = Prepared(select(C.id).where(C.role == "provider", C.version == bindparam("v")))
    with database.read() as session:
        assert prepared.rows(session, {"v": 3}) == [{"id": "n1"}]
        assert prepared.rows(session, {"v": 4}) == []


def test_a_missing_parameter_is_named(database: Database) -> None:
    with database.read() as session, pytest.raises(ValueError, match="'id'"):
        Prepared(BY_ID).first(session, {})


def test_statements_whose_sql_depends_on_the_parameters_are_refused(database: Database) -> None:
    expanding = Prepared(select(C.id).where(C.id.in_(bindparam("ids", expanding=True))))
    with database.read() as session, pytest.raises(ValueError, match="expanding"):
        expanding.rows(session, {"ids": ["n1"]})


def test_a_driver_error_is_sqlalchemys_and_leaves_the_transaction_usable(
    database: Database,
) -> None:
    _insert(database)
    columns = {name: bindparam(name, type_=C[name].type) for name in ROW}
    prepared = Prepared(insert(TABLE).values(columns).returning(C.id))
    with database.transaction() as session:
        with pytest.raises(IntegrityError), session.begin_nested():
            prepared.first(session, ROW)
        assert prepared.first(session, {**ROW, **_pids("n2")})
    with database.read() as session:
        assert session.execute(select(C.id).order_by(C.id)).scalars().all() == ["n1", "n2"]


def test_a_lost_connection_is_an_outage_and_is_replaced(database: Database) -> None:
    if database.backend != "postgresql":
        pytest.skip("SQLite connections are files: they are not lost")
    backend = end_pooled_connection(database)
    with pytest.raises(DBAPIError) as raised, database.read() as session:
        Prepared(BY_ID).first(session, {"id": "n1"})
    assert raised.value.connection_invalidated
    assert store_unavailable(raised.value)
    with database.read() as session:  # the pool replaced the lost connection
        assert session.execute(text("SELECT pg_backend_pid()")).scalar() != backend


def test_statement_listeners_see_prepared_statements(database: Database) -> None:
    """Instrumentation (OpenTelemetry's, a test counting statements) listens for statement
    events: with a listener, a Prepared statement goes through Connection.execute, and gives
    the same rows."""
    _insert(database)
    prepared = Prepared(BY_ID)
    with database.read() as session:
        unobserved = prepared.first(session, {"id": "n1"})
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.read() as session:
            assert prepared.first(session, {"id": "n1"}) == unobserved
            assert prepared.rows(session, {"id": "nobody"}) == []
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    selects = [s for s in seen if "FROM contract_negotiations" in s]
    assert len(selects) == 2
    expanding = Prepared(select(C.id).where(C.id.in_(bindparam("ids", expanding=True))))
    with database.read() as session:
        event.listen(session, "after_cursor_execute", record)
        with pytest.raises(ValueError, match="expanding"):  # refused with listeners too
            expanding.rows(session, {"ids": ["n1"]})


def test_without_statement_listeners_nothing_goes_through_connection_execute(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of Prepared, in reads (whose PostgreSQL engine has a connection listener of
    its own, for the isolation level) and in writes."""
    _insert(database)

    def refuse(*_args: object) -> None:
        raise AssertionError("went through Connection.execute")

    monkeypatch.setattr(Prepared, "_through_sqlalchemy", refuse)
    with database.read() as session:
        assert Prepared(BY_ID).first(session, {"id": "n1"}) is not None
    with database.transaction() as session:
        assert Prepared(BY_ID).first(session, {"id": "n1"}) is not None


def test_a_driver_error_reading_the_rows_is_sqlalchemys(database: Database) -> None:
    """SQLite computes a row as it is read: an error in the second row comes from fetching,
    and is the same ``sqlalchemy.exc`` exception as an error running the statement."""
    if database.backend != "sqlite":
        pytest.skip("PostgreSQL computes every row before the first is read")
    _insert(database, attempts=1)
    _insert(database, **_pids("n2"), attempts=0)
    # abs() of the smallest 64-bit integer overflows: for n2 only (the second row).
    smallest = (C.attempts - 1) * 9223372036854775807 - 1
    overflowing = Prepared(select(func.abs(smallest).label("big")).order_by(C.id))
    with database.read() as session, pytest.raises(OperationalError, match="integer overflow"):
        overflowing.rows(session, {})


def test_a_value_a_type_refuses_is_a_statement_error_as_with_connection_execute(
    database: Database,
) -> None:
    statement = select(C.id).where(C.created_at == bindparam("t", type_=UTCDateTime))
    with database.read() as session, pytest.raises(StatementError, match="expected a datetime"):
        session.execute(statement, {"t": "yesterday"})
    with database.read() as session, pytest.raises(StatementError, match="expected a datetime"):
        Prepared(statement).rows(session, {"t": "yesterday"})


def test_outside_a_transaction_a_write_is_committed_as_with_connection_execute(
    database: Database,
) -> None:
    """``Connection.execute`` begins a transaction that ``commit()`` ends; on the driver's
    cursor the driver would begin one SQLAlchemy knows nothing of, and the pool would roll it
    back."""
    columns = {name: bindparam(name, type_=C[name].type) for name in ROW}
    with database.engine.connect() as connection:
        Prepared(insert(TABLE).values(columns).returning(C.id)).first(connection, ROW)
        connection.commit()
    with database.read() as session:
        assert session.execute(select(C.id)).scalars().all() == ["n1"]


def test_with_echo_on_the_statements_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'echo.db'}", echo=True)
    try:
        migrate.upgrade(database)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"), database.read() as session:
            Prepared(BY_ID).first(session, {"id": "n1"})
        assert any("FROM contract_negotiations" in r.getMessage() for r in caplog.records)
    finally:
        database.dispose()


def test_two_columns_of_one_name_are_refused(database: Database) -> None:
    other = AgreementTable.c
    with database.read() as session, pytest.raises(ValueError, match="two columns"):
        Prepared(select(C.id, other.id).where(C.agreement_id == other.id)).rows(session, {})

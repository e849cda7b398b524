"""Database: URL handling, SQLite pragmas and transaction modes, commit/rollback everywhere."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lost_connections import end_pooled_connection
from pg_cluster import connect_where_nothing_listens
from sqlalchemy import Connection, create_engine, event, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool
from store_records import asset

from connector.store import database as database_module
from connector.store.database import Database, normalise_url, server_is_local, store_unavailable
from connector.store.models import Lease
from connector.store.repositories.assets import AssetRepository


def test_postgres_urls_mean_psycopg_3() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        assert normalise_url(url).drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("mysql://u@h/db", "unsupported database URL scheme 'mysql'"),
        ("postgresql+psycopg2://u@h/db", "unsupported"),
    ],
)
def test_unsupported_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_url(url)


def test_relative_sqlite_path_is_relative_to_cwd_and_parent_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = Database.from_url("sqlite:///var/nested/etds.db")
    try:
        with database.transaction() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        database.dispose()
    assert (tmp_path / "var" / "nested" / "etds.db").is_file()
    assert database.backend == "sqlite"


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'etds.db'}")
    with database.transaction() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    yield database
    database.dispose()


def _threaded(tmp_path: Path, threads: int) -> Database:
    """A SQLite database whose work always goes to its ``threads`` worker threads."""
    return Database.from_url(
        f"sqlite:///{tmp_path / 'etds.db'}", worker_threads=threads, run_on_loop=False
    )


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(
    sqlite_database: Database,
) -> None:
    with sqlite_database.read() as session:
        pragma = {
            name: session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,
    }


def _statements(database: Database) -> list[str]:
    """What SQLite runs from now on, through SQLAlchemy or on the driver's connection."""
    seen: list[str] = []
    database.engine.dispose()  # the connections opened from now on are traced

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(seen.append)

    event.listen(database.engine, "connect", trace)
    return seen


def test_sqlite_writers_begin_immediate_and_readers_begin_deferred(
    sqlite_database: Database,
) -> None:
    seen = _statements(sqlite_database)
    with sqlite_database.transaction() as session:
        session.execute(text("SELECT 1"))
    with sqlite_database.read() as session:
        session.execute(text("SELECT 2"))
    assert [s for s in seen if not s.startswith("PRAGMA")] == [
        "BEGIN IMMEDIATE",
        "SELECT 1",
        "COMMIT",
        "BEGIN",
        "SELECT 2",
        "ROLLBACK",
    ]


def test_sqlite_writer_holds_the_write_lock_from_its_first_statement(
    sqlite_database: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "etds.db", timeout=0, isolation_level=None)
    try:
        with sqlite_database.transaction() as session:
            session.execute(text("SELECT count(*) FROM t"))  # only read so far
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            # ...while readers still read (WAL).
            assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_failed_commit_rolls_back_and_frees_the_write_lock(
    sqlite_database: Database, tmp_path: Path
) -> None:
    with sqlite_database.transaction() as session:
        session.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        session.execute(
            text(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER"
                " REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    with pytest.raises(IntegrityError), sqlite_database.transaction() as session:
        session.execute(text("INSERT INTO child VALUES (1, 99)"))  # refused only at COMMIT
    other = sqlite3.connect(tmp_path / "etds.db", timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the write lock is free again
        other.execute("ROLLBACK")
    finally:
        other.close()
    with sqlite_database.read() as session:  # and the pooled connection is usable
        assert session.execute(text("SELECT count(*) FROM child")).scalar_one() == 0


def test_sqlite_savepoints_roll_back_inside_the_transaction(sqlite_database: Database) -> None:
    with sqlite_database.transaction() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        nested = session.begin_nested()
        session.execute(text("INSERT INTO t VALUES (2)"))
        nested.rollback()
    with sqlite_database.read() as session:
        assert session.execute(text("SELECT x FROM t")).scalars().all() == [1]


def _parent_and_child(database: Database) -> None:
    with database.transaction() as session:
        session.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        session.execute(
            text(
                "CREATE TABLE child (id INTEGER PRIMARY KEY,"
                " parent INTEGER REFERENCES parent(id) ON DELETE CASCADE)"
            )
        )
        session.execute(text("INSERT INTO parent VALUES (1)"))
        session.execute(text("INSERT INTO child VALUES (10, 1)"))


def _rebuild_parent(session: Connection) -> None:
    """What SQLite's ALTER (Alembic's batch mode) does: copy, drop, rename."""
    session.execute(text("CREATE TABLE parent_new (id INTEGER PRIMARY KEY)"))
    session.execute(text("INSERT INTO parent_new SELECT id FROM parent"))
    session.execute(text("DROP TABLE parent"))
    session.execute(text("ALTER TABLE parent_new RENAME TO parent"))


def test_a_schema_transaction_rebuilding_a_table_keeps_the_rows_that_refer_to_it(
    sqlite_database: Database,
) -> None:
    """In a plain transaction the DROP cascades to the children (SQLite deletes the old table's
    rows first); in a schema transaction foreign keys are checked at its end instead."""
    _parent_and_child(sqlite_database)
    with sqlite_database.schema_transaction() as session:
        _rebuild_parent(session)
    with sqlite_database.read() as session:
        assert session.execute(text("SELECT id, parent FROM child")).all() == [(10, 1)]
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1  # on again
    with sqlite_database.transaction() as session:
        _rebuild_parent(session)
    with sqlite_database.read() as session:
        assert session.execute(text("SELECT count(*) FROM child")).scalar() == 0


def _orphan_child(database: Database) -> None:
    with database.schema_transaction() as session:
        session.execute(text("DELETE FROM parent"))  # not enforced until the end
        session.execute(text("INSERT INTO t VALUES (7)"))


def test_a_schema_transaction_that_leaves_a_dangling_reference_is_rolled_back(
    sqlite_database: Database,
) -> None:
    _parent_and_child(sqlite_database)
    with pytest.raises(IntegrityError, match="child row 10 -> parent"):
        _orphan_child(sqlite_database)
    with sqlite_database.read() as session:
        assert session.execute(text("SELECT count(*) FROM parent")).scalar() == 1
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0
    with pytest.raises(IntegrityError), sqlite_database.transaction() as session:
        session.execute(text("INSERT INTO child VALUES (11, 99)"))  # enforced again


def test_a_schema_transaction_commits_and_rolls_back(database: Database) -> None:
    with database.schema_transaction() as session:
        AssetRepository(session).create(asset("kept"))
    with pytest.raises(RuntimeError, match="abort"):
        _create_then_fail(database, "dropped", schema=True)
    with database.read() as session:
        assert sorted(AssetRepository(session).get_many(["kept", "dropped"])) == ["kept"]


def _create_then_fail(database: Database, asset_id: str, *, schema: bool = False) -> None:
    with database.schema_transaction() if schema else database.transaction() as session:
        AssetRepository(session).create(asset(asset_id))
        raise RuntimeError("abort")


def test_transaction_commits_and_rolls_back(database: Database) -> None:
    with database.transaction() as session:
        AssetRepository(session).create(asset("kept"))
    with pytest.raises(RuntimeError, match="abort"):
        _create_then_fail(database, "dropped")
    with database.read() as session:
        assert sorted(AssetRepository(session).get_many(["kept", "dropped"])) == ["kept"]


def test_read_never_keeps_writes(database: Database) -> None:
    if database.backend == "postgresql":
        with pytest.raises(DBAPIError, match="read-only"), database.read() as session:
            AssetRepository(session).create(asset("a"))
    else:
        with database.read() as session:
            AssetRepository(session).create(asset("a"))
    with database.read() as session:
        assert AssetRepository(session).get_many(["a"]) == {}


def test_connection_gives_a_core_connection_in_a_transaction(database: Database) -> None:
    with database.transaction() as connection:
        assert connection.in_transaction()
        assert connection.execute(text("SELECT 41 + 1")).scalar() == 42
    assert "Database(" in repr(database)


def test_read_sees_one_snapshot(database: Database) -> None:
    with database.read() as session:
        repository = AssetRepository(session)
        assert repository.get_many(["late"]) == {}
        with database.transaction() as writer:
            AssetRepository(writer).create(asset("late"))
        assert repository.get_many(["late"]) == {}
    with database.read() as session:
        assert sorted(AssetRepository(session).get_many(["late"])) == ["late"]


@pytest.mark.parametrize("idle_seconds", [0.0, 3600.0])
def test_a_pooled_connection_is_pinged_only_after_sitting_idle(
    database: Database, monkeypatch: pytest.MonkeyPatch, idle_seconds: float
) -> None:
    if database.backend != "postgresql":
        pytest.skip("SQLite connections are files: nothing to ping")
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", idle_seconds)
    # The server drops the connection while it sits in the pool (a restart, an idle timeout).
    backend = end_pooled_connection(database)
    if idle_seconds:  # handed back a moment ago: used without a ping, and found dead
        with pytest.raises(DBAPIError), database.read() as second:
            second.execute(text("SELECT 1"))
        return
    with database.read() as second:  # pinged, replaced
        assert second.execute(text("SELECT pg_backend_pid()")).scalar() != backend


def test_a_missing_table_is_a_bug_not_an_outage(database: Database) -> None:
    """SQLite reports a missing table as OperationalError, like a locked database: the first is
    a bug or a missing migration (500), the second worth retrying (503)."""
    with pytest.raises(DBAPIError) as raised, database.read() as session:
        session.execute(text("SELECT * FROM no_such_table"))
    assert not store_unavailable(raised.value)


def test_a_write_lock_held_past_the_busy_timeout_is_an_outage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(url, connect_args={"timeout": 0.05}, poolclass=NullPool)
    try:
        with pytest.raises(DBAPIError) as raised, engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert "locked" in str(raised.value)
        assert store_unavailable(raised.value)
    finally:
        engine.dispose()
        holder.rollback()
        holder.close()


def test_a_lock_not_obtained_in_time_and_a_serialization_failure_are_outages(
    database: Database,
) -> None:
    """PostgreSQL: both may succeed when tried again (503 for a peer or an administrator,
    not 500)."""
    if database.backend != "postgresql":
        pytest.skip("PostgreSQL's SQLSTATEs 55P03 and 40001")
    with database.transaction() as session:
        session.execute(text("CREATE TABLE contended (x integer)"))
        session.execute(text("INSERT INTO contended VALUES (1)"))
    engine = database.engine
    try:
        with engine.connect() as holder, engine.connect() as other:
            holder.execute(text("SELECT 1"))  # a transaction open on each (autobegin)
            holder.execute(text("UPDATE contended SET x = 2"))  # holds the row
            other.execute(text("SET LOCAL lock_timeout = '50ms'"))
            with pytest.raises(DBAPIError) as timed_out:
                other.execute(text("UPDATE contended SET x = 3"))
            assert getattr(timed_out.value.orig, "sqlstate", None) == "55P03"
            assert store_unavailable(timed_out.value)
            other.rollback()
            other.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            other.execute(text("SELECT x FROM contended")).all()  # its snapshot: before
            holder.commit()
            with pytest.raises(DBAPIError) as conflicted:
                other.execute(text("UPDATE contended SET x = 4"))
            assert getattr(conflicted.value.orig, "sqlstate", None) == "40001"
            assert store_unavailable(conflicted.value)
            other.rollback()
    finally:
        with database.transaction() as session:
            session.execute(text("DROP TABLE contended"))


def test_postgresql_work_on_the_loop_waits_for_a_lock_at_most_a_few_seconds(
    postgres_migrated_url: str,
) -> None:
    """The event loop waits with it: ``lock_timeout`` on every connection of a database whose
    work runs on the loop (the URL's own ``options`` kept); none otherwise."""
    on_loop = Database.from_url(
        postgres_migrated_url + "?options=-c%20statement_timeout%3D7000", run_on_loop=True
    )
    threads = Database.from_url(postgres_migrated_url)
    try:
        with on_loop.read() as session:
            assert session.execute(text("SHOW lock_timeout")).scalar_one() == "5s"
            assert session.execute(text("SHOW statement_timeout")).scalar_one() == "7s"
        with threads.read() as session:
            assert session.execute(text("SHOW lock_timeout")).scalar_one() == "0"
    finally:
        on_loop.dispose()
        threads.dispose()


def test_a_server_that_does_not_answer_is_an_outage() -> None:
    with pytest.raises(DBAPIError) as raised:
        connect_where_nothing_listens()
    assert store_unavailable(raised.value)


def test_worker_threads_default_by_backend(tmp_path: Path) -> None:
    """One writer at a time on SQLite: a couple of threads; on PostgreSQL a few, and at most
    half the connections the pool may open (one piece of work can hold two: its transaction
    and a read)."""
    sqlite = Database.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    postgres = Database.from_url("postgresql://etds@127.0.0.1:1/etds")
    small = Database.from_url("postgresql://etds@127.0.0.1:1/etds", pool_size=4, max_overflow=2)
    chosen = Database.from_url(f"sqlite:///{tmp_path / 'b.db'}", worker_threads=5)
    try:
        assert sqlite.worker_threads == database_module.SQLITE_WORKER_THREADS == 2
        assert postgres.worker_threads == database_module.POSTGRES_WORKER_THREADS == 4
        assert small.worker_threads == 3
        assert chosen.worker_threads == 5
    finally:
        for database in (sqlite, postgres, small, chosen):
            database.dispose()
    with pytest.raises(ValueError, match="at least 1"):
        Database.from_url(f"sqlite:///{tmp_path / 'c.db'}", worker_threads=0)


def test_run_gives_the_result_of_the_work(database: Database) -> None:
    """On the event loop's own thread: SQLite, and PostgreSQL as the fixture opens it
    (``run_on_loop``)."""

    def insert(value: int) -> tuple[int, str]:
        with database.transaction() as session:
            session.execute(text("INSERT INTO assets_probe VALUES (:x)"), {"x": value})
            total = session.execute(text("SELECT sum(x) FROM assets_probe")).scalar_one()
        return total, threading.current_thread().name

    with database.transaction() as session:
        session.execute(text("CREATE TABLE assets_probe (x integer)"))
    try:
        total, thread = asyncio.run(database.run(insert, 41))
    finally:
        with database.transaction() as session:
            session.execute(text("DROP TABLE assets_probe"))
    assert total == 41
    assert database.runs_on_loop
    assert thread == threading.current_thread().name  # asyncio.run's loop runs here


def test_postgresql_work_goes_to_a_worker_thread_by_default(postgres_migrated_url: str) -> None:
    database = Database.from_url(postgres_migrated_url)  # a server on 127.0.0.1 even so

    def work() -> tuple[str, int]:
        with database.transaction() as session:
            return threading.current_thread().name, session.execute(text("SELECT 1")).scalar_one()

    try:
        name, one = asyncio.run(database.run(work))
    finally:
        database.dispose()
    assert not database.runs_on_loop
    assert name.startswith("etds-database")
    assert one == 1


def test_sqlite_work_goes_to_a_worker_thread_while_another_thread_writes(
    sqlite_database: Database,
) -> None:
    """The event loop never waits for the process's write lock: while another thread holds a
    write transaction, the work waits in a worker thread and the loop goes on (here: it is the
    loop that lets the other thread commit)."""
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        with sqlite_database.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            writing.set()
            release.wait(timeout=10)

    def work() -> tuple[str, int]:
        with sqlite_database.transaction() as session:
            total = session.execute(text("SELECT sum(x) FROM t")).scalar_one()
        return threading.current_thread().name, total

    async def main() -> tuple[str, int]:
        job = asyncio.create_task(sqlite_database.run(work))
        await asyncio.sleep(0.01)
        release.set()  # only possible if the loop is not blocked by the work
        return await job

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait(timeout=10)
    try:
        name, total = asyncio.run(main())
    finally:
        release.set()
        thread.join(timeout=10)
    assert name.startswith("etds-database")
    assert total == 1  # it began after the other transaction committed


def test_work_goes_to_a_worker_thread_while_the_loop_itself_is_in_a_transaction(
    sqlite_database: Database,
) -> None:
    """A coroutine holding a transaction across an ``await`` (better avoided): the process's
    write lock is re-entrant, so work run on the loop would get in and its BEGIN would wait for
    the loop's own transaction (the busy timeout, then an error). It waits in a worker thread
    instead, and runs once that transaction has committed."""

    def work() -> tuple[str, int]:
        with sqlite_database.transaction() as session:
            total = session.execute(text("SELECT sum(x) FROM t")).scalar_one()
        return threading.current_thread().name, total

    async def main() -> tuple[str, int]:
        with sqlite_database.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (5)"))
            job = asyncio.create_task(sqlite_database.run(work))
            await asyncio.sleep(0.01)
        return await job

    name, total = asyncio.run(main())
    assert name.startswith("etds-database")
    assert total == 5


def test_postgresql_work_waiting_for_a_row_lock_of_the_loops_own_transaction_goes_to_a_thread(
    database: Database,
) -> None:
    """A coroutine holding a PostgreSQL transaction across an ``await`` (better avoided): work
    run on the loop would wait for a row lock that transaction holds, and the loop could never
    commit it. It waits in a worker thread instead, and goes on once that one has committed."""
    if database.backend != "postgresql":
        pytest.skip("SQLite: test_work_goes_to_a_worker_thread_while_the_loop_itself_is_in_…")
    with database.transaction() as session:
        session.execute(text("CREATE TABLE locked_probe (x integer)"))
        session.execute(text("INSERT INTO locked_probe VALUES (1)"))

    def work() -> tuple[str, int]:
        with database.transaction() as session:
            session.execute(text("SET LOCAL lock_timeout = '10s'"))  # fail, never hang
            value = session.execute(
                text("UPDATE locked_probe SET x = x * 10 RETURNING x")
            ).scalar_one()
        return threading.current_thread().name, value

    async def main() -> tuple[str, int]:
        with database.transaction() as session:
            session.execute(text("UPDATE locked_probe SET x = x + 1"))  # the row's lock
            job = asyncio.create_task(database.run(work))
            await asyncio.sleep(0.05)
            assert not job.done()  # waiting for the lock, in its thread
        return await job

    try:
        name, value = asyncio.run(main())
    finally:
        with database.transaction() as session:
            session.execute(text("DROP TABLE locked_probe"))
    assert name.startswith("etds-database")
    assert value == 20  # after the loop's transaction committed


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("postgresql+psycopg://u@127.0.0.1:5432/db", True),
        ("postgresql+psycopg://u@localhost/db", True),
        ("postgresql+psycopg://u@[::1]:5432/db", True),
        ("postgresql+psycopg:///db?host=/var/run/postgresql", True),
        ("postgresql+psycopg://u@db.example.org/db", False),  # a name: perhaps elsewhere
        ("postgresql+psycopg://u@10.0.0.5/db", False),
        ("postgresql+psycopg://u@127.0.0.1/db?host=10.0.0.5", False),  # either may be used
        ("postgresql+psycopg://u@/db?host=127.0.0.1,10.0.0.5", False),
        ("postgresql+psycopg://u@127.0.0.1/db?hostaddr=10.0.0.5", False),
        ("sqlite:///etds.db", False),
        # Several hosts (SQLAlchemy's "host=h1&host=h2" gives a tuple), names, IPv6.
        ("postgresql+psycopg://u@/db?host=127.0.0.1&host=10.0.0.5", False),  # tuple form
        ("postgresql+psycopg://u@/db?host=/run/postgresql&host=/tmp", True),
        ("postgresql+psycopg://u@/db?host=/run/postgresql,db.example.org", False),
        ("postgresql+psycopg://u@127.0.0.2/db", True),
        ("postgresql+psycopg://u@LOCALHOST/db", True),
        ("postgresql+psycopg://u@localhost.example.org/db", False),
        ("postgresql+psycopg://u@[::ffff:10.0.0.5]/db", False),
        ("postgresql+psycopg://u@[fe80::1]/db", False),
    ],
)
def test_server_is_local(url: str, local: bool) -> None:
    assert server_is_local(normalise_url(url)) is local


def test_without_a_host_the_server_is_where_pghost_says(monkeypatch: pytest.MonkeyPatch) -> None:
    url = normalise_url("postgresql+psycopg:///db")
    monkeypatch.delenv("PGHOST", raising=False)
    assert server_is_local(url)  # the default Unix socket
    monkeypatch.setenv("PGHOST", "db.example.org")
    assert not server_is_local(url)
    monkeypatch.setenv("PGHOST", "/run/postgresql")
    assert server_is_local(url)


def test_postgresql_work_runs_on_the_event_loop_only_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    local, elsewhere = "postgresql+psycopg://u@127.0.0.1:1/db", "postgresql+psycopg://u@db:5432/db"
    assert not Database(create_engine(local)).runs_on_loop  # a URL cannot tell a proxy
    with caplog.at_level(logging.WARNING, logger="etds.store"):
        assert Database(create_engine(local), run_on_loop=True).runs_on_loop
        assert caplog.records == []
        assert Database(create_engine(elsewhere), run_on_loop=True).runs_on_loop
    [warning] = caplog.records
    assert "does not name a server on this machine" in warning.getMessage()
    database = Database.from_url(f"sqlite:///{tmp_path / 'etds.db'}", run_on_loop=False)
    try:
        name = asyncio.run(database.run(lambda: threading.current_thread().name))
    finally:
        database.dispose()
    assert name.startswith("etds-database")


def test_run_starts_no_more_than_worker_threads_at_once(tmp_path: Path) -> None:
    """Two threads: the third piece of work starts only when one of the first two has ended.
    Each of the first two waits (a bounded time) for the third to start: without the bound
    the third starts at once, and both see it start before either ends."""
    database = Database.from_url(
        f"sqlite:///{tmp_path / 'etds.db'}", worker_threads=2, run_on_loop=False
    )
    third_started = threading.Event()
    events: list[str] = []

    def work(name: str) -> bool:
        events.append(f"start {name}")
        if name == "third":
            third_started.set()
            return True
        saw_third = third_started.wait(timeout=1.0)
        events.append(f"end {name}")
        return saw_third

    async def main() -> list[bool]:
        first = asyncio.create_task(database.run(work, "first"))
        second = asyncio.create_task(database.run(work, "second"))
        await asyncio.sleep(0)  # both have their threads before the third asks
        return await asyncio.gather(first, second, database.run(work, "third"))

    try:
        saw = asyncio.run(main())
    finally:
        database.dispose()
    # The one of the first two that ended first cannot have seen the third start (the other may,
    # if its own wait had not run out yet when the third took the free thread).
    assert set(events[:2]) == {"start first", "start second"}  # two at once, not one
    assert not all(saw[:2])
    assert events.index("start third") > min(events.index("end first"), events.index("end second"))


def test_work_from_several_event_loops_shares_the_threads(tmp_path: Path) -> None:
    """Nothing in :meth:`Database.run` belongs to one event loop: work from a second loop (tests
    run apps on one database from several) runs on the same thread and gets its result."""
    database = _threaded(tmp_path, 1)
    results: list[threading.Thread] = []

    def other_loop() -> None:
        results.append(asyncio.run(database.run(threading.current_thread)))

    try:
        first = asyncio.run(database.run(threading.current_thread))
        thread = threading.Thread(target=other_loop)
        thread.start()
        thread.join(timeout=10)
    finally:
        database.dispose()
    assert results == [first]  # the very thread, not another one of the same name
    assert first is not threading.current_thread()


def test_work_cancelled_while_queued_never_runs(tmp_path: Path) -> None:
    database = Database.from_url(
        f"sqlite:///{tmp_path / 'etds.db'}", worker_threads=1, run_on_loop=False
    )
    release = threading.Event()
    ran: list[str] = []

    def blocking() -> None:
        release.wait(timeout=10)
        ran.append("blocking")

    def queued() -> None:
        ran.append("queued")

    async def main() -> bool:
        first = asyncio.create_task(database.run(blocking))
        second = asyncio.create_task(database.run(queued))
        await asyncio.sleep(0)  # both submitted; the one thread is taken by the first
        second.cancel()
        await asyncio.sleep(0)
        release.set()
        await first
        try:
            await second
        except asyncio.CancelledError:
            return True
        return False

    try:
        assert asyncio.run(main())
        asyncio.run(database.run(ran.append, "after"))  # the thread went on to later work
    finally:
        database.dispose()
    assert ran == ["blocking", "after"]


def test_work_cancelled_while_running_is_waited_for(tmp_path: Path) -> None:
    """The caller's cancellation takes effect only once the work has ended (its transaction
    committed or rolled back), even when cancelled again meanwhile."""
    database = Database.from_url(
        f"sqlite:///{tmp_path / 'etds.db'}", worker_threads=1, run_on_loop=False
    )
    started, release, ended = threading.Event(), threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        release.wait(timeout=10)
        ended.set()

    async def caller() -> bool:
        try:
            await database.run(work)
        except asyncio.CancelledError:
            return ended.is_set()  # the work had ended when the cancellation came through
        return False

    async def main() -> bool:
        task = asyncio.create_task(caller())
        while not started.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()  # again: still waiting
        for _ in range(3):
            await asyncio.sleep(0)
        release.set()
        return await task

    try:
        assert asyncio.run(main())
    finally:
        database.dispose()


def test_dispose_waits_for_running_work_and_the_database_stays_usable(tmp_path: Path) -> None:
    database = Database.from_url(
        f"sqlite:///{tmp_path / 'etds.db'}", worker_threads=1, run_on_loop=False
    )
    started, release = threading.Event(), threading.Event()
    events: list[str] = []

    def work() -> None:
        started.set()
        release.wait(timeout=10)
        events.append("work ended")

    running = threading.Thread(target=lambda: asyncio.run(database.run(work)))
    running.start()
    started.wait(timeout=10)
    timer = threading.Timer(0.1, release.set)
    timer.start()
    database.dispose()
    events.append("disposed")
    running.join(timeout=10)
    timer.join()
    assert events == ["work ended", "disposed"]

    def count() -> int:
        with database.transaction() as connection:
            return int(connection.execute(text("SELECT 1")).scalar_one())

    try:
        assert asyncio.run(database.run(count)) == 1
    finally:
        database.dispose()


def test_a_pghost_list_is_local_only_if_every_host_is(monkeypatch: pytest.MonkeyPatch) -> None:
    url = normalise_url("postgresql+psycopg:///db")
    monkeypatch.delenv("PGHOSTADDR", raising=False)
    monkeypatch.delenv("PGSERVICE", raising=False)
    monkeypatch.setenv("PGHOST", "/run/postgresql,db.example.org")
    assert not server_is_local(url)
    monkeypatch.setenv("PGHOST", "/run/postgresql,127.0.0.1")
    assert server_is_local(url)


# libpq connects to PGHOSTADDR, and to the host / hostaddr of a service (``service=`` or
# PGSERVICE, from pg_service.conf), whatever host the URL names ("host" is then only the name
# for authentication and TLS).
def test_pghostaddr_decides_where_libpq_connects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOSTADDR", "10.0.0.5")
    assert not server_is_local(normalise_url("postgresql+psycopg://u@localhost/db"))
    assert not server_is_local(normalise_url("postgresql+psycopg:///db"))
    monkeypatch.setenv("PGHOSTADDR", "127.0.0.1")
    assert server_is_local(normalise_url("postgresql+psycopg://u@localhost/db"))


def test_a_service_may_name_any_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGHOSTADDR", raising=False)
    monkeypatch.delenv("PGSERVICE", raising=False)
    assert not server_is_local(normalise_url("postgresql+psycopg://u@/db?service=prod"))
    monkeypatch.setenv("PGSERVICE", "prod")
    assert not server_is_local(normalise_url("postgresql+psycopg:///db"))


# On PostgreSQL the loop does not step aside for another thread's transaction, as SQLite does
# (Database.run: "beside what other threads do").
def test_postgresql_work_runs_on_the_loop_while_another_thread_writes(database: Database) -> None:
    if database.backend != "postgresql":
        pytest.skip("SQLite: test_sqlite_work_goes_to_a_worker_thread_while_another_thread_writes")
    writing, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with database.transaction() as session:
            session.execute(text("SELECT 1"))
            writing.set()
            release.wait(30)

    writer = threading.Thread(target=other_writer)
    writer.start()
    try:
        assert writing.wait(30)

        def work() -> str:
            with database.transaction() as session:
                session.execute(text("SELECT 1"))
            return threading.current_thread().name

        name = asyncio.run(database.run(work))
    finally:
        release.set()
        writer.join()
    assert name == threading.current_thread().name


def test_postgresql_work_waits_for_a_connection_off_the_loop(postgres_migrated_url: str) -> None:
    """Every pooled connection taken (by other threads): the work waits for one in a worker
    thread, not on the event loop (whose checkout would block the node up to pool_timeout)."""
    engine = create_engine(
        normalise_url(postgres_migrated_url), pool_size=1, max_overflow=0, pool_timeout=10
    )
    database = Database(engine, run_on_loop=True)
    taken, release = threading.Event(), threading.Event()

    def holder() -> None:
        with database.transaction():
            taken.set()
            release.wait(10)

    def work() -> int:
        with database.transaction() as session:
            return int(session.execute(text("SELECT 1")).scalar_one())

    async def main() -> tuple[int, int]:
        ticks = 0

        async def ticking() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(ticking())
        asyncio.get_running_loop().call_later(0.5, release.set)  # needs the loop to run
        threading.Timer(3.0, release.set).start()  # in case it does not: the test ends anyway
        result = await database.run(work)
        ticker.cancel()
        return result, ticks

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert taken.wait(10)
        result, ticks = asyncio.run(main())
    finally:
        release.set()
        thread.join()
        database.dispose()
    assert result == 1
    assert ticks >= 20  # the loop went on while the work waited for the connection


def _lease(name: str) -> Any:
    return insert(Lease.__table__).values(name=name, holder="h", expires_at=datetime.now(UTC))


def _leases(database: Database) -> list[str]:
    with database.read() as session:
        return sorted(session.execute(select(Lease.__table__.c.name)).scalars())


def _lease_then_fail(
    unit: AbstractContextManager[Connection], name: str, served: Any = None
) -> None:
    with unit as session:
        if served is not None:
            assert session.connection.dbapi_connection is served  # the same connection
        session.execute(_lease(name))
        raise RuntimeError("abort")


def test_statements_commit_one_by_one_on_postgresql_and_as_a_transaction_on_sqlite(
    database: Database,
) -> None:
    """``statements()``: on PostgreSQL each statement commits by itself (autocommit: no BEGIN,
    no COMMIT), so what ran before a failure stays; on SQLite it is a transaction."""
    with pytest.raises(RuntimeError, match="abort"):
        _lease_then_fail(database.statements(), "first")
    assert _leases(database) == (["first"] if database.backend == "postgresql" else [])


def test_after_statements_the_pooled_connection_is_transactional_again(
    database: Database,
) -> None:
    """The one pooled connection served ``statements()`` (autocommit on PostgreSQL): the next
    transaction on it still rolls back whole."""
    single = Database(create_engine(database.url, pool_size=1, max_overflow=0))
    try:
        with single.statements() as session:
            session.execute(_lease("alone"))
            served = session.connection.dbapi_connection
        with pytest.raises(RuntimeError, match="abort"):
            _lease_then_fail(single.transaction(), "dropped", served)
        assert _leases(single) == ["alone"]
    finally:
        single.dispose()

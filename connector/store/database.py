"""``Database``: the engine, its sessions, and transactions that behave well on SQLite.

Two ways in, both context managers yielding a Core :class:`~sqlalchemy.engine.Connection` (the
repositories run Core statements only; an ORM ``Session`` would add about 50 µs per transaction
and 10 µs per statement for nothing):

* ``db.transaction()`` — a read-write unit of work: commits when the block ends normally, rolls
  back when it raises. On SQLite it starts with ``BEGIN IMMEDIATE``: the write lock is taken up
  front (waiting up to ``busy_timeout``), so a writer never fails half-way with "database is
  locked" after it has read, and two writers never interleave. Writers of one process also queue
  on a lock of their own first: SQLite's busy handler waits by sleeping (1 ms, 2 ms, … up to
  100 ms between tries), so threads of one process contending for the write lock there would
  leave the database idle; on the process lock the next writer starts the moment the previous
  one commits. Other processes (another node on the same file, the CLI) still wait in SQLite.
* ``db.read()`` — a consistent read (one snapshot for every statement): a plain (deferred)
  ``BEGIN`` on SQLite, a ``REPEATABLE READ, READ ONLY`` transaction on PostgreSQL; always rolled
  back.

From the event loop, ``await db.run(function, *args)`` runs blocking work that uses them (a
negotiation message applied, a dispatcher's claim). On SQLite it runs on the event loop itself when
no other thread of the process is writing: SQLite's statements are calls into a file, the work
holds Python's GIL throughout anyway, and a worker thread only added hand-offs, GIL contention and
wake-ups (measured between two nodes: 7-11 % more negotiations per second, medians of alternating
runs, and 3-5 % fewer instructions). On PostgreSQL it runs there too when asked
(``run_on_loop=True``, the setting ``database.run_on_loop = "always"``), meant for a server on
this machine with fast commits: the loop waits for each round trip (tens of microseconds on
loopback; the server uses the CPU meanwhile) and for each commit's flush to disk, and the worker
threads' hand-offs and their contention for Python's GIL cost more than that (measured between
two nodes on loopback, alternating runs: 1.31 times the negotiations per second at 16 in flight
with the tests' server, which does not sync commits, 0.84 times the nodes' CPU and 0.78 times the
server's per negotiation; 1.13 times with commits synced to a disk taking 0.4 ms per sync). Not
by default: whether the server is near cannot be told from the URL (a proxy on 127.0.0.1 or a
Unix socket may forward to a server across a network), and there each round trip would stall the
whole node. Otherwise, and while the loop's own thread holds a transaction across an ``await``,
or while the pool has no connection free, it runs on the database's own worker threads,
at most ``worker_threads`` of them; the rest waits in their queue, first come first served, and
a thread takes the next piece of work the moment it ends one (a limiter on the event loop would
wait for a turn of the loop, busy under load, and leave the database idle meanwhile). On SQLite
the default is :data:`SQLITE_WORKER_THREADS`: SQLite admits one writer at a time, so more threads
only queue on the write lock, each waking in turn and competing with the event loop for Python's
GIL (measured in alternating runs: about 10 % fewer negotiations
per second with anyio's 40 threads than with 1, 2 or 4); with two, a read can go on beside a write
(unless both wait for another process's write lock). On PostgreSQL the default is
:data:`POSTGRES_WORKER_THREADS` (4), and never more than half the connections the pool may open
(``(pool_size + max_overflow) // 2``): the rest stay free for the management API's sessions
and for work on the event loop, and a job that held a read beside its transaction could never
leave the threads waiting for each other. Each thread holds Python's GIL for all but
its round trips; on a server nearby, a few threads keep it busy, and more only compete for the
GIL (measured between two nodes on loopback, alternating runs: 4 threads gave 1.15 and 1.24 times
the negotiations per second of 20, at 16 and 64 in flight). A server far away (milliseconds per
round trip) may want more (``database.worker_threads``).

SQLite is opened in WAL mode (readers never block the writer), with foreign keys on,
``synchronous=NORMAL``, a busy timeout, and the SQL function ``etds_lower`` that ``ilike`` needs
(Unicode-aware lowercase, see :mod:`connector.store.patterns`). The pysqlite driver's own
transaction handling is switched off and :meth:`Database.transaction` and :meth:`Database.read`
emit ``BEGIN`` themselves (as the recipe of SQLAlchemy's "Serializable isolation / Savepoints /
Transactional DDL" section does, but without its ``begin`` event listener: any connection event
listener makes SQLAlchemy dispatch every statement's events, about 15 % of a small transaction's
CPU; pool events such as ``connect`` do not), which also makes SAVEPOINTs and DDL
transactional. Only these two begin transactions: a connection taken from ``db.engine`` directly
runs each statement on its own.

PostgreSQL is reached through psycopg 3; a pooled connection that sat idle for more than
:data:`PING_AFTER_IDLE_SECONDS` is pinged before use and replaced if the server dropped it (a
restart, an idle timeout). SQLAlchemy's ``pool_pre_ping`` pings before every use: a round trip
and a server query per transaction, for connections a busy node handed back milliseconds
earlier.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidatePoolError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import QueuePool

from connector.store.patterns import register_sqlite_functions
from connector.store.prepared import Prepared

Backend = Literal["sqlite", "postgresql"]
log = logging.getLogger("etds.store")

SQLITE_BUSY_TIMEOUT_MS = 5000
DEFAULT_POOL_SIZE = 30
DEFAULT_MAX_OVERFLOW = 10
SQLITE_WORKER_THREADS = 2
"""Threads :meth:`Database.run` uses at once on SQLite by default (one writer at a time)."""
POSTGRES_WORKER_THREADS = 4
"""Threads :meth:`Database.run` uses at once on PostgreSQL by default (see the module's
docstring), at most half the connections the pool may open."""
PING_AFTER_IDLE_SECONDS = 1.0
LOOP_LOCK_TIMEOUT_MS = 5000
"""On PostgreSQL with ``run_on_loop`` (:meth:`Database.from_url`), a statement waits at most this
long for a lock (``lock_timeout``), then fails as :func:`store_unavailable` (55P03): the event
loop waits with it."""
_IDLE_SINCE = "etds_idle_since"
_POSTGRES_DRIVERS = ("postgresql", "postgres", "postgresql+psycopg")

T = TypeVar("T")


_SQLITE_BEGIN = {sql: Prepared(text(sql)) for sql in ("BEGIN", "BEGIN IMMEDIATE")}


def normalise_url(url: str | URL) -> URL:
    """``url`` checked and normalised: SQLite files, or PostgreSQL through psycopg 3.

    ``postgresql://`` and ``postgres://`` mean psycopg 3 (the one PostgreSQL driver installed).
    In-memory SQLite is refused: every pooled connection would see its own empty database.
    """
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
            raise ValueError(
                "in-memory SQLite is not supported (each connection would get its own empty "
                "database); use a file, e.g. sqlite:///var/etds.db"
            )
        return parsed.set(drivername="sqlite")
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:///path/to/file.db "
        "or postgresql+psycopg://user@host:5432/dbname"
    )


def server_is_local(url: URL) -> bool:
    """Whether the PostgreSQL server of ``url`` is on this machine: every address libpq may
    connect to is a Unix socket folder, ``localhost`` or a loopback address (round trips of tens
    of microseconds). libpq connects to ``hostaddr`` where one is given (the URL's, else
    ``PGHOSTADDR``; ``host`` is then only a name for authentication and TLS), else to ``host``
    (the URL's, else ``PGHOST``, else the default Unix socket). A service (``service=`` or
    ``PGSERVICE``: pg_service.conf) may name any server: never local. False for SQLite URLs.
    Not a guarantee: a local proxy (pgbouncer, a cloud SQL proxy, a tunnel) may forward to a
    server elsewhere."""
    if url.get_backend_name() != "postgresql":
        return False
    if url.query.get("service") or os.environ.get("PGSERVICE"):
        return False

    def values(name: str) -> list[str]:
        value = url.query.get(name)
        return [value] if isinstance(value, str) else list(value or ())

    hosts = values("host") + ([url.host] if url.host else [])
    if not any(hosts):
        hosts = [os.environ.get("PGHOST") or "/"]
    addresses = values("hostaddr")
    if not any(addresses):
        addresses = [os.environ.get("PGHOSTADDR") or ""]
    return all(
        _local_host(host)
        for part in (*hosts, *addresses)
        for host in part.split(",")
        if host.strip()
    )


def _local_host(host: str) -> bool:
    host = host.strip()
    if host.startswith(("/", "@")) or host.lower() == "localhost":  # Unix sockets
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: resolved by libpq, perhaps to another machine


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL (persistent). Changing the journal mode needs a lock SQLite does
    not wait for with the busy handler, so several processes opening a new file at once retry
    here, up to the busy timeout."""
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = str(cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
            continue
        if mode != "wal":
            raise RuntimeError(f"SQLite refused WAL mode (journal mode is {mode!r})")
        return


def _check_foreign_keys(driver: Any) -> None:
    """Raise :class:`IntegrityError` when a row of the SQLite database ``driver`` refers to a
    row that does not exist (what ``PRAGMA foreign_keys`` would have refused)."""
    violations = driver.execute("PRAGMA foreign_key_check").fetchall()
    if violations:
        shown = ", ".join(
            f"{table} row {rowid} -> {parent}" for table, rowid, parent, _ in violations[:5]
        )
        raise IntegrityError(
            "PRAGMA foreign_key_check",
            None,
            sqlite3.IntegrityError(f"{len(violations)} rows refer to missing rows: {shown}"),
        )


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from pysqlite: Database.transaction and Database.read emit it.
    dbapi_connection.isolation_level = None
    register_sqlite_functions(dbapi_connection)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
)
_POSTGRES_UNAVAILABLE_CLASSES = ("08", "53")  # connection exception, insufficient resources
_POSTGRES_UNAVAILABLE_STATES = (
    "57P01",  # admin shutdown
    "57P02",  # crash shutdown
    "57P03",  # cannot connect now
    "40001",  # serialization failure
    "40P01",  # deadlock detected (the server rolled this transaction back)
    "55P03",  # lock not available (lock_timeout, NOWAIT)
)


def store_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the store cannot be used right now, as opposed to a bug, a missing
    migration or a constraint violation: such a request may succeed if retried later.

    Unavailable: every pooled connection busy (the pool's timeout), a connection lost; on SQLite,
    the write lock still held after the busy timeout, the file unreadable; on PostgreSQL, no
    answer from the server (refused, dropped), a connection error, the server shutting down or
    out of resources (SQLSTATE classes 08 and 53, 57P01 to 57P03), a transaction it rolled back
    as a deadlock's victim or a serialization failure (40P01, 40001), a lock not obtained in time
    (55P03): all of them may succeed when tried again. SQLite reports "no such table" and syntax
    errors as ``OperationalError`` too: those are not unavailability.
    """
    if isinstance(error, PoolTimeoutError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    cause = error.orig
    if isinstance(cause, sqlite3.Error):
        return any(reason in str(cause).lower() for reason in _SQLITE_UNAVAILABLE)
    state = getattr(cause, "sqlstate", None)
    if state is None:  # psycopg: no server answer to classify (refused, closed, timed out)
        return isinstance(error, OperationalError)
    return str(state)[:2] in _POSTGRES_UNAVAILABLE_CLASSES or state in _POSTGRES_UNAVAILABLE_STATES


def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dialect: Any) -> Any:
    """A pool ``checkout`` listener: ping a connection idle for long enough; a failed ping makes
    the pool replace it, and every connection opened before it (SQLAlchemy's
    ``InvalidatePoolError`` protocol, what its own ``pool_pre_ping`` does)."""

    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or handed back a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: this connection is not usable
            # The server probably restarted: every connection older than now is stale.
            raise InvalidatePoolError(f"pooled connection lost: {error}") from error

    return on_checkout


async def _until_done(job: Future[Any]) -> None:
    """Wait for ``job`` to end, whatever cancels the waiting task meanwhile (the caller then
    re-raises its own cancellation; the job's outcome is not wanted)."""
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()

    def wake(_: Future[Any]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(ended.set)

    job.add_done_callback(wake)  # at once if it has ended already
    while not ended.is_set():
        with contextlib.suppress(asyncio.CancelledError):
            await ended.wait()


def default_worker_threads(
    backend: Backend,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_overflow: int = DEFAULT_MAX_OVERFLOW,
) -> int:
    """Threads for :meth:`Database.run` when not configured: :data:`SQLITE_WORKER_THREADS` on
    SQLite; on PostgreSQL :data:`POSTGRES_WORKER_THREADS`, at most half the connections the pool
    may open."""
    if backend == "sqlite":
        return SQLITE_WORKER_THREADS
    return min(POSTGRES_WORKER_THREADS, max(1, (pool_size + max(max_overflow, 0)) // 2))


class Database:
    """The node's database: one engine, a read-write and a read-only way to open connections.

    Repositories turn rows into frozen records before the block ends: nothing outlives the
    transaction.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        worker_threads: int | None = None,
        run_on_loop: bool | None = None,
    ) -> None:
        """Wrap ``engine`` (normally made by :meth:`from_url`). A SQLite engine gets the
        connection pragmas here (pysqlite's own BEGIN switched off: :meth:`transaction` and
        :meth:`read` emit it), so it must not have connected yet.

        ``worker_threads``: how many threads :meth:`run` uses at once (default: see
        :func:`default_worker_threads`, for the default pool). ``run_on_loop``: whether
        :meth:`run` does the work on the event loop itself (default: on SQLite only; True
        also on PostgreSQL, meant for a server on this machine: a warning is logged when the
        URL does not name one, :func:`server_is_local`; see :meth:`run`)."""
        self._engine = engine
        backend = engine.dialect.name
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database backend {backend!r}")
        self._backend: Backend = "sqlite" if backend == "sqlite" else "postgresql"
        read_engine: Engine
        if self._backend == "sqlite":
            if not event.contains(engine, "connect", _on_sqlite_connect):
                event.listen(engine, "connect", _on_sqlite_connect)
            read_engine = engine
        else:
            if not event.contains(engine.pool, "checkin", _on_checkin):
                event.listen(engine.pool, "checkin", _on_checkin)
                event.listen(engine.pool, "checkout", _ping_if_idle(engine.dialect))
            read_engine = engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        # Re-entrant: a nested write transaction in the same thread then fails the way it would
        # without the lock (SQLite's busy timeout), instead of waiting for itself forever.
        self._sqlite_lock = threading.RLock() if self._backend == "sqlite" else None
        self._writing = threading.local()  # .depth: this thread's transaction() nesting
        self._write_lock: AbstractContextManager[Any] = self._sqlite_lock or nullcontext()
        self._read_engine = read_engine
        threads = (
            default_worker_threads(self._backend) if worker_threads is None else worker_threads
        )
        if threads < 1:
            raise ValueError("worker_threads must be at least 1")
        self._worker_threads = threads
        sqlite = self._backend == "sqlite"
        self._run_on_loop = sqlite if run_on_loop is None else run_on_loop
        if self._run_on_loop and not sqlite and not server_is_local(engine.url):
            log.warning(
                'PostgreSQL work runs on the event loop (database.run_on_loop = "always"), '
                "but the URL does not name a server on this machine: the node stalls for each "
                "round trip to it"
            )
        # Started with the first piece of work (and again after dispose()).
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @classmethod
    def from_url(
        cls,
        url: str | URL,
        *,
        echo: bool = False,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_overflow: int = DEFAULT_MAX_OVERFLOW,
        worker_threads: int | None = None,
        run_on_loop: bool | None = None,
    ) -> Database:
        """A database for ``url`` (see :func:`normalise_url`).

        A relative SQLite path is relative to the working directory of the process; its parent
        folder is created when missing. At most ``pool_size`` connections stay open (opened
        when first needed); up to ``max_overflow`` more are opened when that many sessions run
        at once, and closed after use. Keep ``pool_size`` near the number of sessions the node
        runs at once: on PostgreSQL each new connection starts a server process, milliseconds
        of the server's CPU. ``worker_threads`` and ``run_on_loop``: see :meth:`run`.
        """
        parsed = normalise_url(url)
        backend: Backend = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql"
        if backend == "sqlite" and parsed.query.get("uri") is None:
            assert parsed.database is not None  # normalise_url refused the in-memory forms
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {}
        if backend == "postgresql" and run_on_loop:
            # Work on the event loop waits for row locks with the whole node: bounded.
            given = parsed.query.get("options")
            given = " ".join(given) if isinstance(given, tuple) else (given or "")
            connect_args["options"] = f"{given} -c lock_timeout={LOOP_LOCK_TIMEOUT_MS}".strip()
        engine = create_engine(
            parsed,
            echo=echo,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args=connect_args,
        )
        threads = (
            default_worker_threads(backend, pool_size, max_overflow)
            if worker_threads is None
            else worker_threads
        )
        return cls(engine, worker_threads=threads, run_on_loop=run_on_loop)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def backend(self) -> Backend:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._backend

    @property
    def url(self) -> URL:
        """The URL (``str()`` of it hides the password)."""
        return self._engine.url

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a read-write transaction: commit on success, roll back on any
        exception. Better not held across an ``await`` on the event loop: other coroutines'
        :meth:`run` work then goes to the worker threads, which wait for it."""
        with self._transaction(foreign_keys_at_commit=False) as connection:
            yield connection

    @contextmanager
    def schema_transaction(self) -> Iterator[Connection]:
        """A :meth:`transaction` for a schema migration. On SQLite its foreign keys are checked
        once, before it commits (``PRAGMA foreign_key_check``; a violation fails it), not
        enforced statement by statement: SQLite changes a table by building a new one, copying
        the rows and dropping the old one (Alembic's batch mode), and dropping a table that
        others refer to ``ON DELETE CASCADE`` would delete their rows (a negotiation's message
        history). SQLite ignores the pragma inside a transaction: it is turned off before
        ``BEGIN`` and on again once the transaction has ended, committed or not."""
        with self._transaction(foreign_keys_at_commit=True) as connection:
            yield connection

    @contextmanager
    def _transaction(self, *, foreign_keys_at_commit: bool) -> Iterator[Connection]:
        writing = self._writing
        depth = getattr(writing, "depth", 0)
        deferred = foreign_keys_at_commit and self._backend == "sqlite"
        with self._write_lock, self._engine.connect() as connection:
            writing.depth = depth + 1  # this thread is writing (see run())
            driver = connection.connection.driver_connection if deferred else None
            try:
                if driver is not None:
                    driver.execute("PRAGMA foreign_keys=OFF")
                self._begin(connection, "BEGIN IMMEDIATE")
                try:
                    yield connection
                    if driver is not None:
                        _check_foreign_keys(driver)
                    connection.commit()
                except BaseException:
                    # Also when COMMIT itself fails (a deferred constraint, a full disk): SQLite
                    # may keep the transaction, and its write lock, open on the pooled connection.
                    connection.rollback()
                    raise
            finally:
                if driver is not None:
                    driver.execute("PRAGMA foreign_keys=ON")
                writing.depth = depth

    @contextmanager
    def statements(self) -> Iterator[Connection]:
        """A connection whose every statement commits on its own, for work that one statement
        does whole: on PostgreSQL in autocommit, a single round trip where a transaction takes
        three (``BEGIN``, the statement, ``COMMIT``), and a statement that fails leaves nothing
        behind to roll back; on SQLite a :meth:`transaction` (its statements are calls into a
        file: nothing to save there, and its write lock is taken up front as usual). Not for
        repository methods that may write in several statements or in a SAVEPOINT (which
        PostgreSQL refuses outside a transaction): only for those made for it, such as
        ``NegotiationRepository.save_recording_at_once``."""
        if self._backend == "sqlite":
            with self.transaction() as connection:
                yield connection
            return
        writing = self._writing
        depth = getattr(writing, "depth", 0)
        with self._engine.connect() as connection:
            writing.depth = depth + 1  # this thread is writing (see run())
            try:
                # Undone when the pool takes the connection back; no round trip either way
                # (psycopg only remembers it, and sends no BEGIN while it is on).
                connection.execution_options(isolation_level="AUTOCOMMIT")
                # SQLAlchemy's own (no SQL): Prepared statements then run on the cursor.
                connection.begin()
                yield connection
                connection.commit()
            finally:
                writing.depth = depth

    def _begin(self, connection: Connection, sqlite_begin: str) -> None:
        """Begin a transaction on ``connection``: on SQLite by running ``sqlite_begin`` (no
        event listener: see the module's docstring) on the driver's connection, after
        SQLAlchemy's own (which emits nothing there: it only records that one is open, so that
        ``commit()`` and ``rollback()`` end it); elsewhere SQLAlchemy's own."""
        connection.begin()
        if self._backend == "sqlite":
            _SQLITE_BEGIN[sqlite_begin].rows(connection, {})

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a copy of the caller's context, for blocking work that opens
        this database's transactions; not for work that waits on something else (a peer, a
        file).

        On SQLite (``run_on_loop``) the work runs on the event loop itself, at once, when no
        other thread writes through this database: it holds Python's GIL throughout anyway, and
        SQLite's statements are calls into a file, not round trips, so a thread only added
        hand-offs, GIL contention and wake-ups (measured: 7-11 % more negotiations per second
        in alternating runs). Meanwhile no other thread can begin a write through it; the
        ``await`` is then no cancellation point, and the work goes before work queued for the
        threads. While another process (or another ``Database`` on the same file) holds
        SQLite's write lock, the work waits for it in SQLite's busy handler, at most the busy
        timeout (then fails as :func:`store_unavailable`), and the whole node with it.

        On PostgreSQL with ``run_on_loop`` (asked for explicitly; meant for a server on this
        machine) the work runs on the event loop too, at once, beside what other threads do,
        when the pool has connections free for it: the loop waits for its round trips, for each
        commit's flush, and for any row lock another transaction holds, as long as that one
        takes (another replica's work on the same negotiation: milliseconds; an administrator's
        session or a migration: longer; with :meth:`from_url`, at most
        :data:`LOOP_LOCK_TIMEOUT_MS`, then the work fails as :func:`store_unavailable`). The
        ``await`` is then no cancellation point, and the work goes before work queued for the
        threads.

        Otherwise (PostgreSQL without ``run_on_loop``, another thread writing to SQLite, the
        loop's own thread holding a transaction across an ``await``, the pool without
        connections free) the work goes to one of the database's ``worker_threads`` threads
        (work beyond that waits in their queue, in order). Cancelled while still queued, it
        never runs; cancelled while running, the caller waits for it to end (the transaction
        commits or rolls back) before the cancellation takes effect, as with
        ``anyio.to_thread.run_sync``."""
        context = contextvars.copy_context()
        lock = self._sqlite_lock
        # Not while the loop's own thread is in a transaction (held across an await): on SQLite
        # the re-entrant lock would let the work in, and its BEGIN would wait for that one; on
        # PostgreSQL the work could wait for a row lock that transaction holds.
        if self._run_on_loop and not getattr(self._writing, "depth", 0):
            if lock is None:  # PostgreSQL, run_on_loop asked for
                if self._pool_has_room():
                    return context.run(function, *args)
            elif lock.acquire(blocking=False):
                try:
                    return context.run(function, *args)
                finally:
                    lock.release()
        job = self._submit(context.run, function, *args)
        try:
            return await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            # wrap_future cancelled the job: that stops it only while it is queued.
            if not job.cancelled():
                await _until_done(job)
            raise

    def _pool_has_room(self) -> bool:
        """Whether the pool can hand out the connections one piece of work may hold at once
        (its transaction and a read) without waiting: else the loop would block in the checkout,
        up to ``pool_timeout``, and the work goes to a thread. A hint (other threads check out
        meanwhile), not a reservation."""
        pool = self._engine.pool
        if not isinstance(pool, QueuePool):
            return True
        limit = pool.size() + pool._max_overflow  # (QueuePool has no public accessor)
        return pool._max_overflow < 0 or pool.checkedout() + 2 <= limit

    def _submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        # Under the lock: dispose() cannot shut the executor down between choosing and using it.
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self._worker_threads, thread_name_prefix="etds-database"
                )
            return self._executor.submit(function, *args)

    @property
    def runs_on_loop(self) -> bool:
        """Whether :meth:`run` does the work on the event loop (SQLite: when no other thread
        writes; PostgreSQL: when asked for, ``run_on_loop``)."""
        return self._run_on_loop

    @property
    def worker_threads(self) -> int:
        """How many threads :meth:`run` uses at once (shared by every event loop)."""
        return self._worker_threads

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection reading one consistent snapshot; always rolled back (and refused writes
        on PostgreSQL)."""
        with self._read_engine.connect() as connection:
            self._begin(connection, "BEGIN")
            try:
                yield connection
            finally:
                connection.rollback()

    def dispose(self) -> None:
        """Close every pooled connection (call at shutdown, and before copying a SQLite file),
        after the work :meth:`run` gave its threads has ended (work run on an event loop ends
        before the loop goes on); the threads end too. The database stays usable: connections
        and threads start again when needed."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self._engine.url!r})"

"""Deleting an asset versus creating an agreement about it, concurrently, on PostgreSQL.

Agreements name assets without a foreign key, so nothing in the schema stops an asset from being
deleted while an agreement about it is being written. The repositories serialise the two on the
asset row: deletion locks it ``FOR UPDATE`` before looking for agreements, agreement creation
takes ``FOR KEY SHARE`` on it (when the asset is local). Whichever transaction comes second waits
for the first to finish; the tests observe that wait through ``pg_blocking_pids`` rather than
sleeping, and check the outcome is consistent:

* agreement first: the deletion waits, then sees the agreement and is refused (StillReferenced);
* deletion first: the agreement waits, then is written after the asset is gone, like any
  agreement about an asset that has no local row (a consumer's agreement about a remote asset).

On SQLite the question does not arise: ``BEGIN IMMEDIATE`` lets one writer in at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, text
from store_records import agreement, asset

from connector.store.database import Database
from connector.store.errors import StillReferenced
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.assets import AssetRepository

TIMEOUT = 30.0


class Worker:
    """A thread running ``work`` in its own transaction: it publishes its backend pid, may pause
    before committing until released, and keeps the exception it ended with (if any)."""

    def __init__(
        self, database: Database, work: Callable[[Connection], Any], *, hold: bool
    ) -> None:
        self.pid: int | None = None
        self.error: BaseException | None = None
        self.started = threading.Event()
        self.worked = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self._database = database
        self._work = work
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with self._database.transaction() as session:
                self.pid = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                self.started.set()
                self._work(session)
                self.worked.set()
                if not self.release.wait(TIMEOUT):
                    raise TimeoutError("never released")
        except BaseException as error:  # handed to the test thread
            self.error = error
        finally:
            self.started.set()

    def start(self) -> None:
        self._thread.start()
        assert self.started.wait(TIMEOUT)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> None:
        self.release.set()
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "worker did not finish"


@contextmanager
def _workers(*workers: Worker) -> Iterator[None]:
    try:
        yield
    finally:
        for worker in workers:
            worker.join()


def _waits_for(database: Database, waiter: Worker, holder: Worker) -> bool:
    """True once ``waiter``'s backend is blocked by a lock of ``holder``'s; False when ``waiter``
    finished its work without ever waiting (polls the lock manager until one of the two)."""
    if waiter.pid is None:  # it failed before its transaction started
        return False
    deadline = time.monotonic() + TIMEOUT
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as monitor:
        while not waiter.worked.is_set() and waiter.alive():
            blockers = monitor.execute(
                text("SELECT pg_blocking_pids(:pid)"), {"pid": waiter.pid}
            ).scalar_one()
            if holder.pid in blockers:
                return True
            if time.monotonic() > deadline:
                raise AssertionError("neither blocked nor finished")
            waiter.worked.wait(0.01)
    return False


def _create_asset(database: Database) -> None:
    with database.transaction() as session:
        AssetRepository(session).create(asset("a"))


@pytest.mark.parametrize("db_backend", ["postgresql"])
@pytest.mark.postgres
def test_deletion_waits_for_an_agreement_in_progress_and_is_then_refused(
    database: Database,
) -> None:
    _create_asset(database)
    creator = Worker(
        database, lambda s: AgreementRepository(s).create(agreement("ag", asset_id="a")), hold=True
    )
    deleter = Worker(database, lambda s: AssetRepository(s).delete("a"), hold=False)
    with _workers(creator, deleter):
        creator.start()
        assert creator.worked.wait(TIMEOUT)
        deleter.start()
        waited = _waits_for(database, deleter, creator)
        creator.release.set()
    assert waited, "the deletion did not wait for the agreement being created"
    assert creator.error is None
    assert isinstance(deleter.error, StillReferenced)
    assert "contract agreement 'ag'" in str(deleter.error)
    with database.read() as session:
        assert AssetRepository(session).exists("a")
        assert AgreementRepository(session).get("ag").asset_id == "a"


@pytest.mark.parametrize("db_backend", ["postgresql"])
@pytest.mark.postgres
def test_an_agreement_waits_for_a_deletion_in_progress_and_follows_it(
    database: Database,
) -> None:
    _create_asset(database)
    deleter = Worker(database, lambda s: AssetRepository(s).delete("a"), hold=True)
    creator = Worker(
        database, lambda s: AgreementRepository(s).create(agreement("ag", asset_id="a")), hold=False
    )
    with _workers(deleter, creator):
        deleter.start()
        assert deleter.worked.wait(TIMEOUT)
        creator.start()
        waited = _waits_for(database, creator, deleter)
        deleter.release.set()
    assert waited, "the agreement was written while the asset was being deleted"
    assert deleter.error is None
    assert creator.error is None
    with database.read() as session:
        assert not AssetRepository(session).exists("a")
        assert AgreementRepository(session).get("ag").asset_id == "a"


def test_agreements_about_assets_without_a_local_row_are_stored(database: Database) -> None:
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("ag-remote", asset_id="remote-asset"))
    with database.read() as session:
        assert AgreementRepository(session).get("ag-remote").asset_id == "remote-asset"
        assert not AssetRepository(session).exists("remote-asset")


def test_deleting_an_asset_after_its_agreement_is_refused_and_before_it_is_not(
    database: Database,
) -> None:
    _create_asset(database)
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("ag", asset_id="a"))
    with database.transaction() as session, pytest.raises(StillReferenced):
        AssetRepository(session).delete("a")
    with database.transaction() as session:
        AssetRepository(session).create(asset("b"))
    with database.transaction() as session:
        AssetRepository(session).delete("b")
        AgreementRepository(session).create(agreement("ag-b", asset_id="b"))
    with database.read() as session:
        assert not AssetRepository(session).exists("b")
        assert AgreementRepository(session).get("ag-b").asset_id == "b"

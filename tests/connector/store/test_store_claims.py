"""claim_due under concurrency: dispatchers on separate sessions never share a process."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest
from store_records import agreement, at, negotiation, transfer

from connector.store.database import Database
from connector.store.errors import InvalidRecord
from connector.store.repositories._process import ProcessLease
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.negotiations import NegotiationRepository
from connector.store.repositories.transfers import TransferRepository

ROWS = 60
WORKERS = 4


def _drain(database: Database, repository_type: type, holders: int) -> Counter[str]:
    claimed: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(holders)

    def dispatcher(holder: str) -> None:
        try:
            barrier.wait()
            while True:
                with database.transaction() as session:
                    batch = repository_type(session).claim_due(at(100), 4, holder, 600)
                if not batch:
                    return
                with lock:
                    claimed.update(record.id for record in batch)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=dispatcher, args=(f"w{n}",)) for n in range(holders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return claimed


def test_negotiations_are_claimed_exactly_once(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        for n in range(ROWS):
            repository.create(
                negotiation(f"n{n:03}", provider_pid=f"P{n}", consumer_pid=f"C{n}",
                            pending=True, next_attempt_at=at(n % 7))
            )  # fmt: skip
    claimed = _drain(database, NegotiationRepository, WORKERS)
    assert sorted(claimed) == [f"n{n:03}" for n in range(ROWS)]
    assert set(claimed.values()) == {1}


def test_transfers_are_claimed_exactly_once(database: Database) -> None:
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("agreement-1"))
        repository = TransferRepository(session)
        for n in range(ROWS):
            repository.create(
                transfer(f"t{n:03}", provider_pid=f"P{n}", consumer_pid=f"C{n}",
                         pending=True, next_attempt_at=at(n % 5))
            )  # fmt: skip
    claimed = _drain(database, TransferRepository, WORKERS)
    assert sorted(claimed) == [f"t{n:03}" for n in range(ROWS)]
    assert set(claimed.values()) == {1}


def test_a_lease_written_with_the_intent_keeps_claimers_away_until_it_expires(
    database: Database,
) -> None:
    """``create`` and ``save`` with a ProcessLease lease the process as they store it, as a
    claim in the same transaction would; a later save without one clears it."""
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        created = repository.create(
            negotiation("n1", provider_pid="P1", consumer_pid="C1", pending=True,
                        next_attempt_at=at(0)),
            lease=ProcessLease("node-a", at(10)),
        )  # fmt: skip
        other = repository.create(
            negotiation("n2", provider_pid="P2", consumer_pid="C2", next_attempt_at=at(0))
        )
        saved = repository.save(
            replace(other, pending=True), other.version, lease=ProcessLease("node-a", at(10))
        )
    with database.transaction() as session:
        assert NegotiationRepository(session).claim_due(at(5), 10, "node-b", 600) == []
    with database.transaction() as session:
        taken = NegotiationRepository(session).claim_due(at(10), 10, "node-b", 600)
    assert sorted(record.id for record in taken) == ["n1", "n2"]
    with database.transaction() as session:  # a save clears the lease node-b took
        repository = NegotiationRepository(session)
        repository.save(repository.get("n1"), created.version)
        repository.save(repository.get("n2"), saved.version)
    with database.transaction() as session:
        again = NegotiationRepository(session).claim_due(at(11), 10, "node-c", 600)
    assert sorted(record.id for record in again) == ["n1", "n2"]


def test_a_lease_is_checked_before_any_sql(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        record = repository.create(negotiation("n1", provider_pid="P1", consumer_pid="C1"))
        with pytest.raises(InvalidRecord, match="timezone-aware"):
            repository.save(record, record.version, lease=ProcessLease("a", datetime(2026, 1, 1)))
        with pytest.raises(InvalidRecord):
            repository.save(record, record.version, lease=ProcessLease("x" * 10_000, at(1)))

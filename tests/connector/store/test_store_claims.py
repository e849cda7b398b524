"""claim_due under concurrency: dispatchers on separate sessions never share a process."""

from __future__ import annotations

import threading
from collections import Counter

from store_records import agreement, at, negotiation, transfer

from connector.store.database import Database
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

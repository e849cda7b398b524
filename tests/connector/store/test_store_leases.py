"""LeaseRepository: one holder at a time, expiry, renewal, release, even under concurrency."""

from __future__ import annotations

import threading

import pytest
from store_records import at

from connector.store.database import Database
from connector.store.errors import InvalidRecord
from connector.store.records import LeaseRecord
from connector.store.repositories.leases import LeaseRepository


def _acquire(database: Database, holder: str, now: float, ttl: float = 30) -> bool:
    with database.transaction() as session:
        return LeaseRepository(session).acquire("dispatcher", holder, ttl, at(now))


def test_acquire_is_exclusive_until_expiry(database: Database) -> None:
    assert _acquire(database, "a", now=0) is True
    assert _acquire(database, "b", now=10) is False
    assert _acquire(database, "a", now=10) is True  # the holder extends it: now until 40 s
    assert _acquire(database, "b", now=39) is False
    assert _acquire(database, "b", now=40) is True
    with database.read() as session:
        repository = LeaseRepository(session)
        assert repository.holder_of("dispatcher", at(41)) == "b"
        assert repository.holder_of("dispatcher", at(70)) is None
        assert repository.get("dispatcher") == LeaseRecord(
            name="dispatcher", holder="b", expires_at=at(70)
        )
        assert repository.get("unknown") is None


def test_renew_only_by_the_current_holder_before_expiry(database: Database) -> None:
    _acquire(database, "a", now=0)
    with database.transaction() as session:
        repository = LeaseRepository(session)
        assert repository.renew("dispatcher", "a", 30, at(20)) is True
        assert repository.renew("dispatcher", "b", 30, at(20)) is False
        assert repository.holder_of("dispatcher", at(49)) == "a"
        assert repository.renew("dispatcher", "a", 30, at(50)) is False
        assert repository.renew("nothing", "a", 30, at(0)) is False


def test_release(database: Database) -> None:
    _acquire(database, "a", now=0)
    with database.transaction() as session:
        repository = LeaseRepository(session)
        assert repository.release("dispatcher", "b") is False
        assert repository.release("dispatcher", "a") is True
        assert repository.release("dispatcher", "a") is False
    assert _acquire(database, "b", now=1) is True


def test_invalid_arguments(database: Database) -> None:
    with database.transaction() as session:
        repository = LeaseRepository(session)
        with pytest.raises(ValueError, match="ttl_seconds"):
            repository.acquire("x", "a", 0, at(0))
        with pytest.raises(InvalidRecord, match="now"):
            repository.acquire("x", "a", 1, at(0).replace(tzinfo=None))
        with pytest.raises(InvalidRecord, match="name must not be empty"):
            repository.acquire("", "a", 1, at(0))


def test_concurrent_acquirers_get_one_holder(database: Database) -> None:
    barrier = threading.Barrier(8)
    winners: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def contend(holder: str) -> None:
        try:
            barrier.wait()
            won = _acquire(database, holder, now=0)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
            return
        if won:
            with lock:
                winners.append(holder)

    threads = [threading.Thread(target=contend, args=(f"replica-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(winners) == 1
    with database.read() as session:
        assert LeaseRepository(session).holder_of("dispatcher", at(1)) == winners[0]

"""ReplayRepository: a jti is accepted once until it expires, even under concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from store_records import at

import connector
from connector.store.database import Database
from connector.store.errors import InvalidRecord
from connector.store.repositories.replay import ReplayRepository

CHILD = Path(__file__).with_name("replay_child.py")


def _remember(database: Database, jti: str, expires: float, now: float, kind: str = "dpop") -> bool:
    with database.transaction() as session:
        return ReplayRepository(session).remember(kind, jti, at(expires), now=at(now))


def test_first_use_then_replay(database: Database) -> None:
    assert _remember(database, "j1", expires=60, now=0) is True
    assert _remember(database, "j1", expires=90, now=30) is False
    assert _remember(database, "j1", expires=60, now=59.999) is False
    assert _remember(database, "j1", kind="client-assertion", expires=60, now=30) is True
    assert _remember(database, "j2", expires=60, now=30) is True


def test_an_expired_entry_may_be_used_again_and_then_is_remembered(database: Database) -> None:
    assert _remember(database, "j", expires=60, now=0) is True
    assert _remember(database, "j", expires=200, now=60) is True
    assert _remember(database, "j", expires=300, now=150) is False


def test_purge_expired(database: Database) -> None:
    for n, expires in enumerate([10, 20, 30]):
        _remember(database, f"j{n}", expires=expires, now=0)
    with database.transaction() as session:
        assert ReplayRepository(session).purge_expired(at(20)) == 2
    with database.transaction() as session:
        assert ReplayRepository(session).purge_expired(at(20)) == 0
    assert _remember(database, "j2", expires=40, now=21) is False


def test_invalid_arguments(database: Database) -> None:
    with database.transaction() as session:
        repository = ReplayRepository(session)
        with pytest.raises(InvalidRecord, match="jti must not be empty"):
            repository.remember("dpop", "", at(1), now=at(0))
        with pytest.raises(InvalidRecord, match="now"):
            repository.remember("dpop", "j", at(1), now=at(0).replace(tzinfo=None))
        with pytest.raises(InvalidRecord, match="longer than 32"):
            repository.remember("k" * 33, "j", at(1), now=at(0))


def _race(workers: Sequence[Callable[[], bool]]) -> list[bool]:
    results: list[bool] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))
    lock = threading.Lock()

    def run(work: Callable[[], bool]) -> None:
        try:
            barrier.wait()
            outcome = work()
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
            return
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_eight_threads_same_jti_exactly_one_wins(database: Database) -> None:
    def work() -> bool:
        return _remember(database, "contended", expires=60, now=0)

    results = _race([work] * 8)
    assert sorted(results) == [False] * 7 + [True]


def test_two_engines_same_jti_exactly_one_wins(database: Database) -> None:
    other = Database.from_url(database.url)
    try:
        workers = [
            (lambda db=db: _remember(db, "contended", expires=60, now=0))
            for db in [database, other] * 4
        ]
        results = _race(workers)
    finally:
        other.dispose()
    assert sorted(results) == [False] * 7 + [True]


@pytest.mark.slow
def test_two_processes_same_jti_exactly_one_wins(database: Database) -> None:
    url = database.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(Path(connector.__file__).resolve().parents[1])}
    args = [url, "contended", at(60).isoformat(), at(0).isoformat()]
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert [child.returncode for child in children] == [0, 0], outputs
    assert sorted(out.strip() for out, _err in outputs) == ["False", "True"]

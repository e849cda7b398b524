"""PendingUse: a DPoP proof's single use, remembered in the transaction of the request's change
or, when the request did not get that far, on its own: used up whatever the request's outcome."""

from __future__ import annotations

import anyio
import pytest

from connector.errors import Unauthorized
from connector.identity.access import REPLAYED, PendingUse
from connector.identity.replay import DPOP, ReplayGuard, SingleUse
from connector.store.database import Database

pytestmark = pytest.mark.anyio

NOW = 1_000_000.0


def _use(jti: str = "proof-1") -> SingleUse:
    return SingleUse(DPOP, "thumbprint", jti, expires_at=NOW + 300, now=NOW)


def _used(guard: ReplayGuard, use: SingleUse) -> bool:
    """Whether ``use`` was remembered (trying it again is a replay)."""
    return not guard.first_use(
        use.kind, use.namespace, use.jti, expires_at=use.expires_at, now=use.now
    )


class Failed(Exception):
    pass


async def test_remembered_in_the_transaction_that_commits(database: Database) -> None:
    guard = ReplayGuard(database)
    pending = PendingUse(guard, _use())
    async with pending.applying() as proof:
        with database.transaction() as connection:
            proof.remember_in(connection)
        proof.committed()
        assert proof.done
    assert _used(guard, _use())


async def test_a_transaction_that_rolls_back_does_not_remember_it(database: Database) -> None:
    guard = ReplayGuard(database)
    with pytest.raises(Failed), database.transaction() as connection:
        assert guard.remember_in(connection, _use())
        raise Failed
    assert not _used(guard, _use())  # the first use is this check's own


async def test_a_failed_request_uses_the_proof_up(database: Database) -> None:
    guard = ReplayGuard(database)
    pending = PendingUse(guard, _use())
    with pytest.raises(Failed):
        async with pending.applying() as proof:
            with database.transaction() as connection:
                proof.remember_in(connection)
                raise Failed  # the change is refused: its transaction rolls back
    assert pending.done
    assert _used(guard, _use())


async def test_a_request_failing_before_its_transaction_uses_the_proof_up(
    database: Database,
) -> None:
    guard = ReplayGuard(database)
    with pytest.raises(Failed):
        async with PendingUse(guard, _use()).applying():
            raise Failed  # e.g. a malformed message
    assert _used(guard, _use())


async def test_committed_without_remember_in_is_not_taken_for_remembered(
    database: Database,
) -> None:
    """A handler path that stored nothing (a repeated message) still uses the proof up."""
    guard = ReplayGuard(database)
    pending = PendingUse(guard, _use())
    async with pending.applying() as proof:
        proof.committed()
        assert not proof.done
    assert pending.done
    assert _used(guard, _use())


async def test_a_replay_is_refused_in_the_transaction(database: Database) -> None:
    guard = ReplayGuard(database)
    assert guard.first_use(DPOP, "thumbprint", "proof-1", expires_at=NOW + 300, now=NOW)
    applied = False
    with pytest.raises(Unauthorized) as refused:
        async with PendingUse(guard, _use()).applying() as proof:
            with database.transaction() as connection:
                proof.remember_in(connection)
                applied = True
    assert not applied
    assert refused.value.log_detail is not None and REPLAYED in refused.value.log_detail


async def test_a_replay_is_refused_instead_of_the_failure(database: Database) -> None:
    """A replayed proof learns nothing from the request's own error."""
    guard = ReplayGuard(database)
    assert guard.first_use(DPOP, "thumbprint", "proof-1", expires_at=NOW + 300, now=NOW)
    with pytest.raises(Unauthorized) as refused:
        async with PendingUse(guard, _use()).applying():
            raise Failed
    assert isinstance(refused.value.__context__, Failed)


async def test_a_replay_is_refused_when_the_handler_remembered_nothing(
    database: Database,
) -> None:
    guard = ReplayGuard(database)
    assert guard.first_use(DPOP, "thumbprint", "proof-1", expires_at=NOW + 300, now=NOW)
    with pytest.raises(Unauthorized):
        async with PendingUse(guard, _use()).applying():
            pass


async def test_a_request_given_up_on_uses_the_proof_up(database: Database) -> None:
    guard = ReplayGuard(database)
    with anyio.move_on_after(0.05) as scope:
        async with PendingUse(guard, _use()).applying():
            await anyio.sleep(10)
    assert scope.cancelled_caught
    assert _used(guard, _use())


async def test_a_request_without_a_proof_has_nothing_to_remember(database: Database) -> None:
    pending = PendingUse(ReplayGuard(database), None)
    assert pending.done
    async with pending.applying() as proof:
        with database.transaction() as connection:
            proof.remember_in(connection)
    assert pending.done

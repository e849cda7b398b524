"""PendingUse: a DPoP proof's single use, remembered in the transaction of the request's change
or, when the request did not get that far, on its own: used up whatever the request's outcome."""

from __future__ import annotations

import anyio
import pytest
from starlette.requests import Request

from connector.errors import Unauthorized
from connector.identity.access import REPLAYED, PendingUse
from connector.identity.dependency import require_sender
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
    with database.transaction() as connection:
        pending.remember_in(connection)
    assert not pending.done  # until the caller says the transaction committed
    pending.committed()
    assert pending.done
    await pending.remember_alone()  # nothing left to do: no second insert, no replay
    assert _used(guard, _use())


async def test_a_transaction_that_rolls_back_takes_the_use_with_it(database: Database) -> None:
    guard = ReplayGuard(database)
    pending = PendingUse(guard, _use())

    def refused_change() -> None:
        with database.transaction() as connection:
            pending.remember_in(connection)
            raise Failed  # the change is refused: its transaction rolls back

    with pytest.raises(Failed):
        refused_change()
    assert not pending.done
    await pending.remember_alone()  # as the request ends
    assert pending.done
    assert _used(guard, _use())


async def test_a_request_that_stored_nothing_uses_the_proof_up(database: Database) -> None:
    """committed() without remember_in (a repeated message that changed nothing) is not taken
    for remembered."""
    guard = ReplayGuard(database)
    pending = PendingUse(guard, _use())
    pending.committed()
    assert not pending.done
    await pending.remember_alone()
    assert _used(guard, _use())


async def test_a_replay_is_refused_in_the_transaction(database: Database) -> None:
    guard = ReplayGuard(database)
    assert guard.first_use(DPOP, "thumbprint", "proof-1", expires_at=NOW + 300, now=NOW)
    pending = PendingUse(guard, _use())
    applied: list[bool] = []

    def change() -> None:
        with database.transaction() as connection:
            pending.remember_in(connection)
            applied.append(True)

    with pytest.raises(Unauthorized) as refused:
        change()
    assert applied == []
    assert REPLAYED in str(refused.value.log_detail)
    assert pending.done  # settled: nothing more to store, nothing more to refuse
    await pending.remember_alone()


async def test_a_replay_is_refused_when_remembered_alone(database: Database) -> None:
    guard = ReplayGuard(database)
    assert guard.first_use(DPOP, "thumbprint", "proof-1", expires_at=NOW + 300, now=NOW)
    pending = PendingUse(guard, _use())
    with pytest.raises(Unauthorized):
        await pending.remember_alone()
    assert pending.done
    await pending.remember_alone()  # once refused, the use is settled


async def test_remembered_alone_even_when_the_request_is_cancelled(database: Database) -> None:
    guard = ReplayGuard(database)
    pending = PendingUse(guard, _use())
    with anyio.CancelScope() as scope:
        scope.cancel()
        await pending.remember_alone()  # shielded from the request's cancellation
    assert _used(guard, _use())


async def test_a_request_without_a_proof_has_nothing_to_remember(database: Database) -> None:
    pending = PendingUse(ReplayGuard(database), None)
    assert pending.done
    with database.transaction() as connection:
        pending.remember_in(connection)
    await pending.remember_alone()
    assert pending.done


async def test_a_sender_needs_a_route_class_that_settles_the_use() -> None:
    """SenderDep on a route whose class would not store the proof's use is a wiring error, not
    an unchecked proof."""
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []})
    with pytest.raises(RuntimeError, match="does not settle"):
        await require_sender(request)

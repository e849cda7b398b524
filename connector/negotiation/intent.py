"""What a negotiation waits to send: the persisted intent the dispatcher delivers.

A negotiation with ``intent`` set and ``pending`` true has a message to send (due at
``next_attempt_at``); the DSP state changes only once the counterparty acknowledged it. The
management API shows such a negotiation in the "-ING" state of the message (``REQUESTING``,
``AGREEING``…).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from connector.http.jsonbody import printable
from connector.negotiation.states import PENDING_NAMES, Message, Role, State, advance, allowed
from connector.store.records import NegotiationRecord
from connector.store.repositories._process import ProcessLease

MAX_DETAIL = 2000


def storable_detail(text: str) -> str:
    """``text`` as a negotiation's ``error_detail`` keeps it: at most :data:`MAX_DETAIL`
    characters, printable ones only. Reasons quote peers' answers and the authority's errors,
    which may hold a NUL or a lone surrogate, text no database stores (on PostgreSQL the
    outcome of a send could then never be recorded, and the message went out again and
    again)."""
    return printable(text[:MAX_DETAIL])


def intend(
    record: NegotiationRecord, kind: Message, now: datetime, reason: str | None = None
) -> NegotiationRecord:
    """``record`` waiting to send ``kind`` now; InvalidTransition if it may not send it."""
    role: Role = record.role
    advance(role, State(record.state), kind)
    return replace(
        record,
        intent=kind.value,
        pending=True,
        next_attempt_at=now,
        attempts=0,
        error_detail=storable_detail(reason) if reason else record.error_detail,
    )


def due_at(record: NegotiationRecord, now: datetime) -> bool:
    """Whether ``record`` has a message to send at ``now`` (pending, its next attempt come)."""
    return record.pending and (record.next_attempt_at is None or record.next_attempt_at <= now)


def settled(record: NegotiationRecord) -> NegotiationRecord:
    """``record`` with nothing left to send."""
    return replace(record, intent=None, pending=False, next_attempt_at=None)


def drop_stale_intent(record: NegotiationRecord) -> NegotiationRecord:
    """``record`` without an intent its (new) state no longer allows."""
    role: Role = record.role
    if record.intent is not None and Message(record.intent) not in allowed(
        role, State(record.state)
    ):
        return settled(record)
    return record


def display_state(record: NegotiationRecord) -> str:
    """The state as the management API shows it: the "-ING" name while a message waits."""
    if record.intent is not None and record.pending:
        return PENDING_NAMES[Message(record.intent)]
    return record.state


@dataclass
class SendPlace:
    """A place the dispatcher keeps for the message one request (an inbound message, an
    administrator's new negotiation) may make due.

    The transaction that applies the request leases the negotiation to the dispatcher
    (:meth:`lease_for`) when it leaves a message due at once, and records what it stored
    (:meth:`taken`); once committed and answered, the dispatcher sends that message itself, with
    no claim (see :meth:`NegotiationDispatcher.reserve`). ``leased`` stays None when the
    transaction leased nothing (no message due, a repeat, an error): the place is then given
    back. A transaction tried again starts with :meth:`reset`."""

    holder: str
    lease_seconds: float
    peer: str
    leased: NegotiationRecord | None = None
    leased_at: datetime | None = None
    committed: bool = False
    """The transaction returned (committed): ``leased`` is stored, leased to the holder."""
    given_back: bool = False

    def reset(self) -> None:
        self.leased = self.leased_at = None

    def lease_for(self, record: NegotiationRecord, now: datetime) -> ProcessLease | None:
        """The lease to store ``record`` with: one when it has a message due at ``now``."""
        if not due_at(record, now):
            return None
        return ProcessLease(self.holder, now + timedelta(seconds=self.lease_seconds))

    def taken(self, record: NegotiationRecord, now: datetime) -> None:
        """``record`` was stored with the lease :meth:`lease_for` gave at ``now``."""
        self.leased, self.leased_at = record, now

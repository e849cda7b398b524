"""Persisted intent: what a negotiation waits to send, and how the management API names it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from negotiation_support import T0, negotiation

from connector.negotiation.intent import (
    MAX_DETAIL,
    display_state,
    drop_stale_intent,
    intend,
    settled,
)
from connector.negotiation.states import PENDING_NAMES, InvalidTransition, Message, State

LATER = T0.replace(hour=9)


def test_intend_persists_the_message_due_now_with_fresh_attempts() -> None:
    record = negotiation(attempts=3, next_attempt_at=T0, error_detail="old")
    intended = intend(record, Message.AGREE, LATER)
    assert (intended.intent, intended.pending) == ("AGREE", True)
    assert intended.next_attempt_at == LATER
    assert intended.attempts == 0
    assert intended.error_detail == "old"  # no reason given: the detail stays
    assert intended.state == record.state  # the state moves only once the peer acknowledged
    assert replace(intended, intent=None, pending=False, next_attempt_at=T0, attempts=3) == record


def test_intend_keeps_a_reason_within_bounds() -> None:
    intended = intend(negotiation(), Message.TERMINATE, LATER, "x" * (MAX_DETAIL + 10))
    assert intended.intent == "TERMINATE"
    assert intended.error_detail == "x" * MAX_DETAIL


@pytest.mark.parametrize(
    ("role", "state", "kind"),
    [
        ("provider", State.REQUESTED, Message.VERIFY),  # a consumer's message
        ("provider", State.AGREED, Message.AGREE),  # already sent
        ("consumer", State.REQUESTED, Message.ACCEPT),  # nothing offered yet
        ("consumer", State.FINALIZED, Message.TERMINATE),  # terminal
    ],
)
def test_intend_refuses_what_the_role_may_not_send(role: str, state: State, kind: Message) -> None:
    record = negotiation(role=role, state=state.value)
    with pytest.raises(InvalidTransition) as raised:
        intend(record, kind, LATER)
    assert (raised.value.sender, raised.value.state, raised.value.message) == (role, state, kind)


def test_settled_clears_the_intent_only() -> None:
    record = intend(negotiation(error_detail="why"), Message.OFFER, LATER)
    cleared = settled(record)
    assert (cleared.intent, cleared.pending, cleared.next_attempt_at) == (None, False, None)
    assert cleared.error_detail == "why"
    assert cleared.state == record.state
    assert cleared.offer == record.offer


def test_drop_stale_intent_drops_what_the_new_state_no_longer_allows() -> None:
    pending_agree = intend(negotiation(state="REQUESTED"), Message.AGREE, LATER)
    # The consumer terminated meanwhile: AGREE is no longer possible.
    dropped = drop_stale_intent(replace(pending_agree, state="TERMINATED"))
    assert (dropped.intent, dropped.pending, dropped.next_attempt_at) == (None, False, None)


def test_drop_stale_intent_keeps_what_is_still_allowed() -> None:
    pending_terminate = intend(negotiation(state="REQUESTED"), Message.TERMINATE, LATER)
    moved = replace(pending_terminate, state="ACCEPTED")
    assert drop_stale_intent(moved) == moved
    nothing = negotiation(state="AGREED")
    assert drop_stale_intent(nothing) == nothing


def test_display_state_names_pending_messages_by_their_ing_state() -> None:
    record = negotiation(state="REQUESTED")
    assert display_state(record) == "REQUESTED"
    assert display_state(intend(record, Message.AGREE, LATER)) == "AGREEING"
    assert display_state(intend(record, Message.TERMINATE, LATER)) == "TERMINATING"
    # An intent no longer pending (e.g. being re-decided) shows the DSP state.
    assert display_state(replace(record, intent="AGREE", pending=False)) == "REQUESTED"


def test_every_message_has_a_pending_name() -> None:
    for kind in Message:
        assert PENDING_NAMES[kind].endswith("ING")

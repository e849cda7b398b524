"""The negotiation transition tables: every legal move of DSP 2025-1 §4, and nothing else."""

from __future__ import annotations

import pytest

from connector.negotiation.states import (
    TERMINAL,
    TRANSITIONS,
    InvalidTransition,
    Message,
    State,
    advance,
    allowed,
    other,
)

LEGAL = {
    ("consumer", State.INITIAL, Message.REQUEST): State.REQUESTED,
    ("consumer", State.OFFERED, Message.REQUEST): State.REQUESTED,
    ("consumer", State.OFFERED, Message.ACCEPT): State.ACCEPTED,
    ("consumer", State.AGREED, Message.VERIFY): State.VERIFIED,
    ("provider", State.INITIAL, Message.OFFER): State.OFFERED,
    ("provider", State.REQUESTED, Message.OFFER): State.OFFERED,
    ("provider", State.REQUESTED, Message.AGREE): State.AGREED,
    ("provider", State.ACCEPTED, Message.AGREE): State.AGREED,
    ("provider", State.VERIFIED, Message.FINALIZE): State.FINALIZED,
}
for _role in ("consumer", "provider"):
    for _state in State:
        if _state not in TERMINAL:
            LEGAL[(_role, _state, Message.TERMINATE)] = State.TERMINATED

EVERY = [
    (role, state, message)
    for role in ("consumer", "provider")
    for state in State
    for message in Message
]


@pytest.mark.parametrize(("sender", "state", "message"), EVERY)
def test_the_table_is_exactly_the_protocol(sender: str, state: State, message: Message) -> None:
    expected = LEGAL.get((sender, state, message))
    if expected is None:
        with pytest.raises(InvalidTransition) as raised:
            advance(sender, state, message)  # type: ignore[arg-type]
        assert raised.value.state is state  # the error names the unchanged state
        assert state.value in str(raised.value)
    else:
        assert advance(sender, state, message) is expected  # type: ignore[arg-type]


def test_nothing_leaves_a_terminal_state() -> None:
    for role in ("consumer", "provider"):
        for state in TERMINAL:
            assert allowed(role, state) == frozenset()  # type: ignore[arg-type]


def test_events_go_one_way() -> None:
    # Consumer sending FINALIZED and provider sending ACCEPTED are errors in every state.
    for state in State:
        assert Message.FINALIZE not in allowed("consumer", state)
        assert Message.ACCEPT not in allowed("provider", state)


def test_the_receiver_checks_of_the_reference() -> None:
    # provider receives: counter-request and ACCEPTED only in OFFERED, verification in AGREED
    assert {s for s in State if Message.REQUEST in allowed("consumer", s)} == {
        State.INITIAL,
        State.OFFERED,
    }
    assert {s for s in State if Message.ACCEPT in allowed("consumer", s)} == {State.OFFERED}
    assert {s for s in State if Message.VERIFY in allowed("consumer", s)} == {State.AGREED}
    # consumer: offer only in REQUESTED (or first), agreement in REQUESTED or ACCEPTED,
    # FINALIZED only in VERIFIED
    assert {s for s in State if Message.OFFER in allowed("provider", s)} == {
        State.INITIAL,
        State.REQUESTED,
    }
    assert {s for s in State if Message.AGREE in allowed("provider", s)} == {
        State.REQUESTED,
        State.ACCEPTED,
    }
    assert {s for s in State if Message.FINALIZE in allowed("provider", s)} == {State.VERIFIED}


def test_the_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS["consumer"][State.OFFERED][Message.AGREE] = State.AGREED  # type: ignore[index]


def test_other_role() -> None:
    assert other("provider") == "consumer"
    assert other("consumer") == "provider"

"""The contract negotiation state machine of DSP 2025-1 as tables, with no I/O.

Both sides of a negotiation keep the same state; a message moves it when the counterparty
acknowledges it. ``TRANSITIONS[sender][state][message]`` is the state after ``sender`` (the role
that sends ``message``) has sent it in ``state``. The same table checks what we may send and what
we may receive: a provider receives what the consumer sends, and the other way round.

:func:`advance` is the only way to move: it returns the next state or raises
:class:`InvalidTransition` and changes nothing (states are plain strings, the caller stores the
result). ``INITIAL`` is local: a consumer's request not yet acknowledged, or a provider's offer not
yet acknowledged; the DSP never shows it.

Termination may come from either side in every state that is not terminal (DSP §4: "MAY be sent
at any state"); nothing leaves ``FINALIZED`` or ``TERMINATED``.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

Role = Literal["provider", "consumer"]


class State(StrEnum):
    INITIAL = "INITIAL"
    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class Message(StrEnum):
    """The negotiation messages, by what they do (the DSP type is :data:`DSP_TYPES`)."""

    REQUEST = "REQUEST"  # ContractRequestMessage (initial or counter)
    OFFER = "OFFER"  # ContractOfferMessage (initial or counter)
    ACCEPT = "ACCEPT"  # ContractNegotiationEventMessage ACCEPTED
    AGREE = "AGREE"  # ContractAgreementMessage
    VERIFY = "VERIFY"  # ContractAgreementVerificationMessage
    FINALIZE = "FINALIZE"  # ContractNegotiationEventMessage FINALIZED
    TERMINATE = "TERMINATE"  # ContractNegotiationTerminationMessage


DSP_TYPES: Final = MappingProxyType(
    {
        Message.REQUEST: "ContractRequestMessage",
        Message.OFFER: "ContractOfferMessage",
        Message.ACCEPT: "ContractNegotiationEventMessage",
        Message.AGREE: "ContractAgreementMessage",
        Message.VERIFY: "ContractAgreementVerificationMessage",
        Message.FINALIZE: "ContractNegotiationEventMessage",
        Message.TERMINATE: "ContractNegotiationTerminationMessage",
    }
)

TERMINAL: Final = frozenset({State.FINALIZED, State.TERMINATED})

# What an intent is called while it waits to go out (EDC's "-ING" states), for the management API.
PENDING_NAMES: Final = MappingProxyType(
    {
        Message.REQUEST: "REQUESTING",
        Message.OFFER: "OFFERING",
        Message.ACCEPT: "ACCEPTING",
        Message.AGREE: "AGREEING",
        Message.VERIFY: "VERIFYING",
        Message.FINALIZE: "FINALIZING",
        Message.TERMINATE: "TERMINATING",
    }
)


def _table(
    moves: dict[State, dict[Message, State]],
) -> MappingProxyType[State, MappingProxyType[Message, State]]:
    """``moves`` plus termination from every non-terminal state, read-only."""
    full: dict[State, MappingProxyType[Message, State]] = {}
    for state in State:
        row = dict(moves.get(state, {}))
        if state not in TERMINAL:
            row[Message.TERMINATE] = State.TERMINATED
        full[state] = MappingProxyType(row)
    return MappingProxyType(full)


TRANSITIONS: Final = MappingProxyType(
    {
        "consumer": _table(
            {
                State.INITIAL: {Message.REQUEST: State.REQUESTED},
                State.OFFERED: {
                    Message.REQUEST: State.REQUESTED,  # counter-request
                    Message.ACCEPT: State.ACCEPTED,
                },
                State.AGREED: {Message.VERIFY: State.VERIFIED},
            }
        ),
        "provider": _table(
            {
                State.INITIAL: {Message.OFFER: State.OFFERED},
                State.REQUESTED: {
                    Message.OFFER: State.OFFERED,  # counter-offer
                    Message.AGREE: State.AGREED,
                },
                State.ACCEPTED: {Message.AGREE: State.AGREED},
                State.VERIFIED: {Message.FINALIZE: State.FINALIZED},
            }
        ),
    }
)


class InvalidTransition(Exception):
    """``sender`` may not send ``message`` in ``state``; nothing changed."""

    def __init__(self, sender: Role, state: State, message: Message) -> None:
        self.sender = sender
        self.state = state
        self.message = message
        super().__init__(
            f"the {sender} cannot send {DSP_TYPES[message]}"
            + (f" ({message.value})" if message in (Message.ACCEPT, Message.FINALIZE) else "")
            + f" in state {state.value}"
        )


def advance(sender: Role, state: State, message: Message) -> State:
    """The state after ``sender`` sent ``message`` in ``state`` (:class:`InvalidTransition`)."""
    try:
        return TRANSITIONS[sender][state][message]
    except KeyError:
        raise InvalidTransition(sender, state, message) from None


def allowed(sender: Role, state: State) -> frozenset[Message]:
    """What ``sender`` may send in ``state``."""
    return frozenset(TRANSITIONS[sender][state])


def other(role: Role) -> Role:
    return "consumer" if role == "provider" else "provider"

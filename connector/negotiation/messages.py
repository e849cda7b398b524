"""Negotiation messages: what an inbound DSP message says (read from its expanded JSON-LD form),
and the compact 2025-1 body of a message we send (built only from stored state, so a message
sent again after a crash is byte for byte the same one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.contexts import DSPACE
from connector.dsp.errors import DSP_CONTEXT
from connector.dsp.messages import Message as DspMessage
from connector.errors import BadRequest
from connector.negotiation.states import Message
from connector.store.records import NegotiationRecord
from policies import Policy, PolicyError, PolicyKind, policy_from_expanded

PURPOSE_KEY = "https://w3id.org/etds/policy#declaredPurpose"
"""Extra property of a ContractRequestMessage: the purpose the consumer declares (a DPV IRI)."""

EVENT_TYPES = {DSPACE + "ACCEPTED": Message.ACCEPT, DSPACE + "FINALIZED": Message.FINALIZE}
MAX_REASONS = 20
MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class Inbound:
    """One negotiation message as received: its kind, pids and content."""

    kind: Message
    dsp_type: str
    provider_pid: str | None
    consumer_pid: str | None
    callback_address: str | None = None
    offer: Policy | None = None
    agreement: Policy | None = None
    agreement_timestamp: str | None = None
    purpose: str | None = None
    code: str | None = None
    reasons: tuple[str, ...] = ()


MAX_PID_LENGTH = 256  # what the process tables keep


def _pid(message: DspMessage, name: str) -> str | None:
    value = message.literal(name)
    if value is not None and (
        not isinstance(value, str) or not value or len(value) > MAX_PID_LENGTH
    ):
        raise BadRequest(
            f"{message.type}: '{name}' must be an identifier of 1 to {MAX_PID_LENGTH} characters"
        )
    return value


def _policy(message: DspMessage, name: str, kind: PolicyKind) -> tuple[Policy, dict[str, Any]]:
    """The one ``name`` policy of ``message``: an ``odrl:<kind>`` with an @id, a target and a
    permission or a prohibition (DSP 2025-1, contract-schema.json and §3's text)."""
    nodes = message.values(DSPACE + name)
    if len(nodes) != 1 or not isinstance(nodes[0], dict):
        raise BadRequest(f"{message.type}: '{name}' must be one {name} object")
    node = nodes[0]
    extra = {key: value for key, value in node.items() if key.startswith(DSPACE)}
    policy_node = {key: value for key, value in node.items() if not key.startswith(DSPACE)}
    try:
        policy = policy_from_expanded(policy_node)
    except PolicyError as exc:
        raise BadRequest(
            f"{message.type}: the {name} is not a readable ODRL policy: {exc}"
        ) from None
    if policy.kind != kind:
        raise BadRequest(f"{message.type}: the {name} must be an odrl:{kind.value}")
    if not policy.uid:
        raise BadRequest(f"{message.type}: the {name} needs an @id")
    if not policy.target:
        raise BadRequest(f"{message.type}: the {name} needs a target (the dataset's id)")
    if not policy.permissions and not policy.prohibitions:
        # DSP 2025-1 contract-schema.json: an offer or agreement has one or the other.
        raise BadRequest(f"{message.type}: the {name} needs a permission or a prohibition")
    return policy, extra


def _reasons(message: DspMessage) -> tuple[str, ...]:
    reasons = []
    for value in message.values(DSPACE + "reason")[:MAX_REASONS]:
        text = value.get("@value") if isinstance(value, dict) else None
        if text is None and isinstance(value, dict):
            text = value.get("@id")
        if text is not None:
            reasons.append(str(text)[:MAX_REASON_LENGTH])
    return tuple(reasons)


def read_inbound(message: DspMessage) -> Inbound:
    """What ``message`` (an expanded negotiation message of a known type) says; BadRequest when
    a field is missing or malformed."""
    provider_pid = _pid(message, "providerPid")
    consumer_pid = _pid(message, "consumerPid")
    if message.type == "ContractRequestMessage":
        offer, _ = _policy(message, "offer", PolicyKind.OFFER)
        callback = message.literal("callbackAddress")
        if consumer_pid is None:
            raise BadRequest("ContractRequestMessage: 'consumerPid' is required")
        if (callback is None) == (provider_pid is None):
            raise BadRequest(
                "ContractRequestMessage: exactly one of 'callbackAddress' (initial request) and "
                "'providerPid' (counter-request) is required"
            )
        purposes = message.values(PURPOSE_KEY)
        purpose = purposes[0].get("@id") if purposes and isinstance(purposes[0], dict) else None
        return Inbound(
            Message.REQUEST,
            message.type,
            provider_pid,
            consumer_pid,
            callback_address=str(callback) if callback is not None else None,
            offer=offer,
            purpose=purpose,
        )
    if message.type == "ContractOfferMessage":
        offer, _ = _policy(message, "offer", PolicyKind.OFFER)
        callback = message.literal("callbackAddress")
        if provider_pid is None:
            raise BadRequest("ContractOfferMessage: 'providerPid' is required")
        if (callback is None) == (consumer_pid is None):
            raise BadRequest(
                "ContractOfferMessage: exactly one of 'callbackAddress' (initial offer) and "
                "'consumerPid' (counter-offer) is required"
            )
        return Inbound(
            Message.OFFER,
            message.type,
            provider_pid,
            consumer_pid,
            callback_address=str(callback) if callback is not None else None,
            offer=offer,
        )
    if provider_pid is None or consumer_pid is None:
        raise BadRequest(f"{message.type}: 'providerPid' and 'consumerPid' are required")
    if message.type == "ContractAgreementMessage":
        agreement, extra = _policy(message, "agreement", PolicyKind.AGREEMENT)
        stamps = extra.get(DSPACE + "timestamp", [])
        stamp = stamps[0].get("@value") if stamps and isinstance(stamps[0], dict) else None
        return Inbound(
            Message.AGREE,
            message.type,
            provider_pid,
            consumer_pid,
            agreement=agreement,
            agreement_timestamp=str(stamp) if stamp is not None else None,
        )
    if message.type == "ContractAgreementVerificationMessage":
        return Inbound(Message.VERIFY, message.type, provider_pid, consumer_pid)
    if message.type == "ContractNegotiationEventMessage":
        events = message.values(DSPACE + "eventType")
        event = events[0].get("@id") if len(events) == 1 and isinstance(events[0], dict) else None
        if event not in EVENT_TYPES:
            raise BadRequest(
                "ContractNegotiationEventMessage: 'eventType' must be ACCEPTED or FINALIZED"
            )
        return Inbound(EVENT_TYPES[event], message.type, provider_pid, consumer_pid)
    if message.type == "ContractNegotiationTerminationMessage":
        code = message.literal("code")
        return Inbound(
            Message.TERMINATE,
            message.type,
            provider_pid,
            consumer_pid,
            code=str(code)[:64] if code is not None else None,
            reasons=_reasons(message),
        )
    raise BadRequest(f"{message.type} is not a contract negotiation message")


def outbound_body(
    kind: Message,
    *,
    provider_pid: str | None,
    consumer_pid: str | None,
    offer: dict[str, Any] | None = None,
    agreement: dict[str, Any] | None = None,
    callback_address: str | None = None,
    purpose: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The compact DSP body of a message of ``kind`` (fields as the 2025-1 schemas want)."""
    body: dict[str, Any] = {"@context": DSP_CONTEXT}
    if kind == Message.REQUEST:
        body["@type"] = "ContractRequestMessage"
        if provider_pid is not None:
            body["providerPid"] = provider_pid
        body["consumerPid"] = consumer_pid
        body["offer"] = offer
        if provider_pid is None:
            body["callbackAddress"] = callback_address
        if purpose is not None:
            body[PURPOSE_KEY] = {"@id": purpose}
        return body
    if kind == Message.OFFER:
        body["@type"] = "ContractOfferMessage"
        body["providerPid"] = provider_pid
        if consumer_pid is not None:
            body["consumerPid"] = consumer_pid
        else:
            body["callbackAddress"] = callback_address
        body["offer"] = offer
        return body
    body["providerPid"] = provider_pid
    body["consumerPid"] = consumer_pid
    if kind == Message.AGREE:
        body["@type"] = "ContractAgreementMessage"
        body["agreement"] = agreement
    elif kind == Message.VERIFY:
        body["@type"] = "ContractAgreementVerificationMessage"
    elif kind in (Message.ACCEPT, Message.FINALIZE):
        body["@type"] = "ContractNegotiationEventMessage"
        body["eventType"] = "ACCEPTED" if kind == Message.ACCEPT else "FINALIZED"
    else:
        body["@type"] = "ContractNegotiationTerminationMessage"
        body["code"] = "terminated"
        if reason:
            body["reason"] = [reason]
    return body


def message_body(record: NegotiationRecord, kind: Message, callback: str) -> dict[str, Any]:
    """The body of ``kind`` for ``record``, built only from stored fields: a message sent again
    (after a crash, by another replica) is the same message."""
    return outbound_body(
        kind,
        provider_pid=record.provider_pid,
        consumer_pid=record.consumer_pid,
        offer=record.offer,
        agreement=record.agreement,
        callback_address=callback,
        purpose=record.purpose,
        reason=record.error_detail if kind == Message.TERMINATE else None,
    )


def negotiation_body(
    provider_pid: str | None, consumer_pid: str | None, state: str
) -> dict[str, Any]:
    """A ``ContractNegotiation`` (the answer to a GET or an initial message)."""
    return {
        "@context": DSP_CONTEXT,
        "@type": "ContractNegotiation",
        "providerPid": provider_pid,
        "consumerPid": consumer_pid,
        "state": state,
    }

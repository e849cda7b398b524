"""Negotiation messages: what read_inbound reads from every DSP message type (and refuses), and
the bodies we send, checked against the official DSP 2025-1 JSON schemas."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from dsp_schemas import errors
from negotiation_support import (
    CONSUMER,
    CONSUMER_DSP,
    OFFICIAL_STATISTICS,
    PROVIDER,
    PROVIDER_DSP,
    RESEARCH_ONLY,
    agreement_body,
    agreement_message,
    dsp,
    event,
    inbound,
    offer_body,
    offer_message,
    request,
    termination,
    verification,
)

from connector.errors import BadRequest
from connector.negotiation.messages import (
    MAX_REASON_LENGTH,
    MAX_REASONS,
    PURPOSE_KEY,
    negotiation_body,
    outbound_body,
)
from connector.negotiation.states import Message as Kind
from connector.negotiation.states import State
from policies import (
    ETDS,
    ODRL,
    USE,
    Constraint,
    Duty,
    Literal,
    LogicalConstraint,
    LogicalOperator,
    Permission,
    PolicyKind,
    Prohibition,
)

P = "urn:uuid:provider-pid"
C = "urn:uuid:consumer-pid"
OFFER = offer_body()

RICH = replace(
    RESEARCH_ONLY,
    profiles=("https://w3id.org/etds/policy",),
    permissions=(
        Permission(
            action=USE,
            constraints=(
                LogicalConstraint(
                    LogicalOperator.OR,
                    (
                        Constraint(ETDS + "organisationType", ODRL + "eq", (Literal("research"),)),
                        Constraint(ETDS + "membership", ODRL + "eq", (Literal("active"),)),
                    ),
                ),
                Constraint(ETDS + "aggregationThreshold", ODRL + "gteq", (Literal(10),)),
            ),
            duties=(Duty(action=ODRL + "attribute"),),
        ),
    ),
    prohibitions=(Prohibition(action=ODRL + "distribute"),),
)
"""A policy using every part of the model a message may carry (logical and numeric
constraints, a duty, a prohibition, a profile)."""


# Reading: every message type -----------------------------------------------------------------


def test_initial_request_is_read_with_offer_callback_and_purpose() -> None:
    message, body = inbound(request(C, OFFER, purpose=OFFICIAL_STATISTICS))
    assert message.kind == Kind.REQUEST
    assert message.dsp_type == "ContractRequestMessage"
    assert (message.provider_pid, message.consumer_pid) == (None, C)
    assert message.callback_address == CONSUMER_DSP
    assert message.purpose == OFFICIAL_STATISTICS
    assert message.offer is not None
    assert message.offer.uid == OFFER["@id"]
    assert message.offer.target == "visits"
    assert message.offer.kind == PolicyKind.OFFER
    assert message.offer.permissions == RESEARCH_ONLY.permissions
    assert body["offer"] == OFFER


def test_counter_request_has_the_provider_pid_and_no_callback() -> None:
    message, _ = inbound(request(C, OFFER, provider_pid=P))
    assert (message.kind, message.provider_pid, message.consumer_pid) == (Kind.REQUEST, P, C)
    assert message.callback_address is None
    assert message.purpose is None


def test_initial_and_counter_offers_are_read() -> None:
    initial, _ = inbound(offer_message(P, OFFER))
    assert (initial.kind, initial.provider_pid, initial.consumer_pid) == (Kind.OFFER, P, None)
    assert initial.callback_address == PROVIDER_DSP
    assert initial.offer is not None
    assert initial.offer.uid == OFFER["@id"]
    counter, _ = inbound(offer_message(P, OFFER, consumer_pid=C))
    assert (counter.provider_pid, counter.consumer_pid, counter.callback_address) == (P, C, None)


def test_agreement_is_read_with_parties_and_timestamp() -> None:
    message, _ = inbound(agreement_message(P, C, agreement_body()))
    assert (message.kind, message.provider_pid, message.consumer_pid) == (Kind.AGREE, P, C)
    agreement = message.agreement
    assert agreement is not None
    assert agreement.kind == PolicyKind.AGREEMENT
    assert (agreement.assigner, agreement.assignee, agreement.target) == (
        PROVIDER,
        CONSUMER,
        "visits",
    )
    assert message.agreement_timestamp == "2026-05-04T08:30:15Z"


def test_agreement_without_timestamp_reads_as_none() -> None:
    # Refusing it is the consumer's decision (decisions), not the reader's.
    message, _ = inbound(agreement_message(P, C, agreement_body(timestamp=None)))
    assert message.agreement is not None
    assert message.agreement_timestamp is None


def test_verification_and_events_are_read() -> None:
    verified, _ = inbound(verification(P, C))
    assert (verified.kind, verified.provider_pid, verified.consumer_pid) == (Kind.VERIFY, P, C)
    accepted, _ = inbound(event(P, C, "ACCEPTED"))
    assert accepted.kind == Kind.ACCEPT
    assert accepted.dsp_type == "ContractNegotiationEventMessage"
    finalized, _ = inbound(event(P, C, "FINALIZED"))
    assert finalized.kind == Kind.FINALIZE


def test_termination_keeps_code_and_reasons_within_bounds() -> None:
    reasons = [f"reason {n}" for n in range(MAX_REASONS + 5)]
    reasons[0] = "x" * (MAX_REASON_LENGTH + 50)
    message, _ = inbound(termination(P, C, *reasons, code="c" * 100))
    assert message.kind == Kind.TERMINATE
    assert message.code == "c" * 64
    assert len(message.reasons) == MAX_REASONS
    assert message.reasons[0] == "x" * MAX_REASON_LENGTH
    assert message.reasons[1:3] == ("reason 1", "reason 2")


def test_termination_reasons_may_be_tagged_values_or_iris() -> None:
    document = dsp(
        "ContractNegotiationTerminationMessage",
        providerPid=P,
        consumerPid=C,
        reason=[{"@value": "licence", "@language": "en"}, {"@id": "urn:reason:price"}],
    )
    message, _ = inbound(document)
    assert message.reasons == ("licence", "urn:reason:price")
    assert message.code is None


def test_a_termination_without_reasons_has_none() -> None:
    message, _ = inbound(termination(P, C))
    assert message.reasons == ()


# Reading: malformed messages -----------------------------------------------------------------

MALFORMED: dict[str, tuple[dict[str, Any], str]] = {
    "request without consumerPid": (
        dsp("ContractRequestMessage", offer=OFFER, callbackAddress=CONSUMER_DSP),
        "'consumerPid' is required",
    ),
    "request with callback and providerPid": (
        dsp(
            "ContractRequestMessage",
            providerPid=P,
            consumerPid=C,
            offer=OFFER,
            callbackAddress=CONSUMER_DSP,
        ),
        "exactly one of 'callbackAddress'",
    ),
    "request with neither callback nor providerPid": (
        dsp("ContractRequestMessage", consumerPid=C, offer=OFFER),
        "exactly one of 'callbackAddress'",
    ),
    "request without offer": (
        dsp("ContractRequestMessage", consumerPid=C, callbackAddress=CONSUMER_DSP),
        "'offer' must be one offer object",
    ),
    "request with two offers": (
        request(C, [OFFER, offer_body(uid="urn:uuid:offer-2")]),  # type: ignore[arg-type]
        "'offer' must be one offer object",
    ),
    "request whose offer has no @id": (
        request(C, {k: v for k, v in OFFER.items() if k != "@id"}),
        "the offer needs an @id",
    ),
    "request whose offer is not ODRL": (
        request(C, {**OFFER, "permission": [{"constraint": []}]}),
        "not a readable ODRL policy",
    ),
    "empty consumerPid": (
        dsp("ContractRequestMessage", consumerPid="", offer=OFFER, callbackAddress=CONSUMER_DSP),
        "identifier of 1 to 256 characters",
    ),
    "consumerPid too long": (
        request("urn:" + "x" * 260, OFFER),
        "identifier of 1 to 256 characters",
    ),
    "numeric consumerPid": (
        dsp("ContractRequestMessage", consumerPid=5, offer=OFFER, callbackAddress=CONSUMER_DSP),
        "identifier of 1 to 256 characters",
    ),
    "two consumerPids": (
        dsp(
            "ContractRequestMessage",
            consumerPid=[C, "urn:uuid:other"],
            offer=OFFER,
            callbackAddress=CONSUMER_DSP,
        ),
        "'consumerPid' must have one value",
    ),
    "offer without providerPid": (
        dsp("ContractOfferMessage", offer=OFFER, callbackAddress=PROVIDER_DSP),
        "'providerPid' is required",
    ),
    "offer with callback and consumerPid": (
        dsp(
            "ContractOfferMessage",
            providerPid=P,
            consumerPid=C,
            offer=OFFER,
            callbackAddress=PROVIDER_DSP,
        ),
        "exactly one of 'callbackAddress'",
    ),
    "offer with neither callback nor consumerPid": (
        dsp("ContractOfferMessage", providerPid=P, offer=OFFER),
        "exactly one of 'callbackAddress'",
    ),
    "offer without offer": (
        dsp("ContractOfferMessage", providerPid=P, callbackAddress=PROVIDER_DSP),
        "'offer' must be one offer object",
    ),
    "agreement without consumerPid": (
        dsp("ContractAgreementMessage", providerPid=P, agreement=agreement_body()),
        "'providerPid' and 'consumerPid' are required",
    ),
    "agreement without agreement": (
        dsp("ContractAgreementMessage", providerPid=P, consumerPid=C),
        "'agreement' must be one agreement object",
    ),
    "agreement without @id": (
        agreement_message(P, C, {k: v for k, v in agreement_body().items() if k != "@id"}),
        "the agreement needs an @id",
    ),
    # DSP 2025-1 contract-schema.json: a message's offer is an Offer, an agreement an Agreement
    # (@type required); the text wants a target on both.
    "offer given as a bare IRI": (
        request(C, "urn:uuid:offer-1"),  # type: ignore[arg-type]
        "the offer must be an odrl:Offer",
    ),
    "request whose offer is an agreement": (
        request(C, {**OFFER, "@type": "Agreement"}),
        "the offer must be an odrl:Offer",
    ),
    "request whose offer has no @type": (
        request(C, {k: v for k, v in OFFER.items() if k != "@type"}),
        "the offer must be an odrl:Offer",
    ),
    "request whose offer has no target": (
        request(C, {k: v for k, v in OFFER.items() if k != "target"}),
        "the offer needs a target",
    ),
    "counter-request whose offer has no target": (
        request(C, {k: v for k, v in OFFER.items() if k != "target"}, provider_pid=P),
        "the offer needs a target",
    ),
    "initial offer whose offer has no target": (
        offer_message(P, {k: v for k, v in OFFER.items() if k != "target"}),
        "the offer needs a target",
    ),
    "counter-offer whose offer is a set": (
        offer_message(P, {**OFFER, "@type": "Set"}, consumer_pid=C),
        "the offer must be an odrl:Offer",
    ),
    "counter-offer whose offer has no target": (
        offer_message(P, {k: v for k, v in OFFER.items() if k != "target"}, consumer_pid=C),
        "the offer needs a target",
    ),
    "agreement typed as an offer": (
        agreement_message(P, C, {**agreement_body(), "@type": "Offer"}),
        "the agreement must be an odrl:Agreement",
    ),
    "agreement without @type": (
        agreement_message(P, C, {k: v for k, v in agreement_body().items() if k != "@type"}),
        "the agreement must be an odrl:Agreement",
    ),
    "agreement without target": (
        agreement_message(P, C, {k: v for k, v in agreement_body().items() if k != "target"}),
        "the agreement needs a target",
    ),
    "verification without providerPid": (
        dsp("ContractAgreementVerificationMessage", consumerPid=C),
        "'providerPid' and 'consumerPid' are required",
    ),
    "event of another type": (event(P, C, "TERMINATED"), "must be ACCEPTED or FINALIZED"),
    "event without type": (
        dsp("ContractNegotiationEventMessage", providerPid=P, consumerPid=C),
        "must be ACCEPTED or FINALIZED",
    ),
    "termination without consumerPid": (
        dsp("ContractNegotiationTerminationMessage", providerPid=P, reason=["no"]),
        "'providerPid' and 'consumerPid' are required",
    ),
    "not a negotiation message": (
        dsp("ContractNegotiation", providerPid=P, consumerPid=C, state="REQUESTED"),
        "is not a contract negotiation message",
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_message_is_a_bad_request(name: str) -> None:
    document, complaint = MALFORMED[name]
    with pytest.raises(BadRequest) as raised:
        inbound(document)
    assert complaint in str(raised.value)
    assert raised.value.status == 400


RULELESS = {
    "offer without rules": request(
        C, {"@id": "urn:uuid:offer-1", "@type": "Offer", "target": "visits"}
    ),
    "agreement without rules": agreement_message(
        P,
        C,
        {k: v for k, v in agreement_body().items() if k != "permission"},
    ),
}


@pytest.mark.parametrize("name", list(RULELESS))
def test_a_policy_without_rules_is_a_bad_request(name: str) -> None:
    # DSP 2025-1 (contract-schema.json): an offer or agreement has a permission or a
    # prohibition; one without is no contract anyone can agree to.
    with pytest.raises(BadRequest, match="permission or a prohibition"):
        inbound(RULELESS[name])


# Writing: every body against the official schemas ------------------------------------------

SCHEMA = "negotiation/{}-schema.json"
REQUEST_SCHEMA = SCHEMA.format("contract-request-message")
OFFER_SCHEMA = SCHEMA.format("contract-offer-message")
AGREEMENT_SCHEMA = SCHEMA.format("contract-agreement-message")
VERIFICATION_SCHEMA = SCHEMA.format("contract-agreement-verification-message")
EVENT_SCHEMA = SCHEMA.format("contract-negotiation-event-message")
TERMINATION_SCHEMA = SCHEMA.format("contract-negotiation-termination-message")


def _bodies() -> dict[str, tuple[str, dict[str, Any]]]:
    rich_offer = offer_body(RICH)
    rich_agreement = agreement_body(RICH)
    return {
        "initial request": (
            REQUEST_SCHEMA,
            outbound_body(
                Kind.REQUEST,
                provider_pid=None,
                consumer_pid=C,
                offer=rich_offer,
                callback_address=CONSUMER_DSP,
                purpose=OFFICIAL_STATISTICS,
            ),
        ),
        "counter-request": (
            REQUEST_SCHEMA,
            outbound_body(
                Kind.REQUEST,
                provider_pid=P,
                consumer_pid=C,
                offer=offer_body(),
                callback_address=CONSUMER_DSP,
            ),
        ),
        "initial offer": (
            OFFER_SCHEMA,
            outbound_body(
                Kind.OFFER,
                provider_pid=P,
                consumer_pid=None,
                offer=rich_offer,
                callback_address=PROVIDER_DSP,
            ),
        ),
        "counter-offer": (
            OFFER_SCHEMA,
            outbound_body(
                Kind.OFFER,
                provider_pid=P,
                consumer_pid=C,
                offer=offer_body(),
                callback_address=PROVIDER_DSP,
            ),
        ),
        "agreement": (
            AGREEMENT_SCHEMA,
            outbound_body(Kind.AGREE, provider_pid=P, consumer_pid=C, agreement=rich_agreement),
        ),
        "verification": (
            VERIFICATION_SCHEMA,
            outbound_body(Kind.VERIFY, provider_pid=P, consumer_pid=C),
        ),
        "accepted": (EVENT_SCHEMA, outbound_body(Kind.ACCEPT, provider_pid=P, consumer_pid=C)),
        "finalized": (
            EVENT_SCHEMA,
            outbound_body(Kind.FINALIZE, provider_pid=P, consumer_pid=C),
        ),
        "termination with a reason": (
            TERMINATION_SCHEMA,
            outbound_body(
                Kind.TERMINATE, provider_pid=P, consumer_pid=C, reason="the policy denies it"
            ),
        ),
        "termination without a reason": (
            TERMINATION_SCHEMA,
            outbound_body(Kind.TERMINATE, provider_pid=P, consumer_pid=C),
        ),
    }


@pytest.mark.parametrize("name", list(_bodies()))
def test_outbound_body_validates_against_the_dsp_schema(name: str) -> None:
    schema, body = _bodies()[name]
    assert errors(schema, body) == []


@pytest.mark.parametrize("name", list(_bodies()))
def test_outbound_body_reads_back_as_what_was_sent(name: str) -> None:
    _schema, body = _bodies()[name]
    message, _ = inbound(body)
    assert message.provider_pid == body.get("providerPid")
    assert message.consumer_pid == body.get("consumerPid")
    assert message.dsp_type == body["@type"]
    if "offer" in body:
        assert message.offer is not None
        assert message.offer.uid == body["offer"]["@id"]
    if "agreement" in body:
        assert message.agreement is not None
        assert message.agreement_timestamp == body["agreement"]["timestamp"]


def test_outbound_bodies_say_what_each_kind_means() -> None:
    bodies = {name: body for name, (_schema, body) in _bodies().items()}
    assert bodies["initial request"]["callbackAddress"] == CONSUMER_DSP
    assert "providerPid" not in bodies["initial request"]
    assert bodies["initial request"][PURPOSE_KEY] == {"@id": OFFICIAL_STATISTICS}
    assert "callbackAddress" not in bodies["counter-request"]
    assert bodies["initial offer"]["callbackAddress"] == PROVIDER_DSP
    assert "consumerPid" not in bodies["initial offer"]
    assert "callbackAddress" not in bodies["counter-offer"]
    assert bodies["accepted"]["eventType"] == "ACCEPTED"
    assert bodies["finalized"]["eventType"] == "FINALIZED"
    assert bodies["termination with a reason"]["reason"] == ["the policy denies it"]
    assert "reason" not in bodies["termination without a reason"]


@pytest.mark.parametrize("state", [s for s in State if s != State.INITIAL])
def test_negotiation_body_validates_against_the_dsp_schema(state: State) -> None:
    body = negotiation_body(P, C, state)
    assert errors(SCHEMA.format("contract-negotiation"), body) == []
    assert body["state"] == state.value

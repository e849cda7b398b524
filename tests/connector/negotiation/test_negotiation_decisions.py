"""Decisions: what each inbound message changes in a negotiation (already in its new state) and
the node's automatic answer, with the real evaluator and the provider's stored contract policy."""

from __future__ import annotations

from dataclasses import replace

import pytest
from negotiation_support import (
    CONSUMER,
    OPEN,
    PROVIDER,
    RESEARCH_ONLY,
    THIRD,
    Node,
    agreement_body,
    agreement_message,
    event,
    inbound,
    make_unreadable,
    negotiation,
    node,
    offer_body,
    offer_message,
    request,
    requester,
    seed_offer,
    termination,
    verification,
)

from connector.catalogue.offers import OfferRef
from connector.errors import BadRequest
from connector.negotiation.errors import NegotiationProtocolError
from connector.negotiation.intent import MAX_DETAIL
from connector.negotiation.terms import WITHDRAWN
from connector.store.database import Database
from connector.store.records import NegotiationRecord
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from policies import PolicyKind

P = "urn:uuid:negotiation-p"
C = "urn:uuid:negotiation-c"


@pytest.fixture
def provider(database: Database) -> Node:
    seed_offer(database)
    return node(database, PROVIDER)


@pytest.fixture
def consumer(database: Database) -> Node:
    return node(database, CONSUMER)


def _provider_record(**overrides: object) -> NegotiationRecord:
    return negotiation(contract_definition_id="cd-visits", **overrides)


def _consumer_record(**overrides: object) -> NegotiationRecord:
    fields: dict[str, object] = {
        "id": C,
        "role": "consumer",
        "counterparty_id": PROVIDER,
        "offered_by": "provider",
    }
    return negotiation(**(fields | overrides))


# Provider: counter-request -------------------------------------------------------------------


def test_counter_request_with_the_offered_terms_is_agreed_in_auto_mode(provider: Node) -> None:
    counter = offer_body(RESEARCH_ONLY, uid="urn:uuid:counter", target="visits")
    message, _ = inbound(request(C, counter, provider_pid=P))
    record = _provider_record(state="REQUESTED", offered_by="provider")
    decided = provider.decide(record, requester(), message)
    assert decided.offered_by == "consumer"
    assert decided.offer is not None
    assert decided.offer["@id"] == "urn:uuid:counter"
    assert decided.offer["target"] == "visits"
    assert (decided.intent, decided.pending) == ("AGREE", True)
    agreement = decided.agreement
    assert agreement is not None
    assert (agreement["assigner"], agreement["assignee"], agreement["target"]) == (
        PROVIDER,
        CONSUMER,
        "visits",
    )
    assert agreement["timestamp"] == "2026-05-04T08:30:15Z"
    assert agreement["permission"] == counter["permission"]


def test_counter_request_with_other_terms_is_terminated_in_auto_mode(provider: Node) -> None:
    message, _ = inbound(request(C, offer_body(OPEN, uid="urn:uuid:counter"), provider_pid=P))
    decided = provider.decide(_provider_record(), requester(), message)
    assert decided.intent == "TERMINATE"
    assert decided.error_detail is not None
    assert "not negotiated automatically" in decided.error_detail
    assert decided.agreement is None
    assert decided.offer is not None
    assert decided.offer["@id"] == "urn:uuid:counter"  # kept for the record


def test_counter_request_is_only_recorded_in_manual_mode(provider: Node) -> None:
    message, _ = inbound(request(C, offer_body(OPEN, uid="urn:uuid:counter"), provider_pid=P))
    decided = provider.decide(_provider_record(mode="manual"), requester(), message)
    assert (decided.intent, decided.pending, decided.agreement) == (None, False, None)
    assert decided.offer is not None
    assert decided.offer["@id"] == "urn:uuid:counter"
    assert decided.offered_by == "consumer"


def test_counter_request_after_the_offer_was_withdrawn_is_terminated(
    provider: Node, database: Database
) -> None:
    with database.transaction() as session:
        ContractDefinitionRepository(session).delete("cd-visits")
    message, _ = inbound(request(C, offer_body(), provider_pid=P))
    decided = provider.decide(_provider_record(), requester(), message)
    assert decided.intent == "TERMINATE"
    assert decided.agreement is None


def test_counter_request_for_an_offer_whose_contract_policy_cannot_be_read_is_terminated(
    provider: Node, database: Database
) -> None:
    make_unreadable(database, "cd-visits-contract")
    message, _ = inbound(request(C, offer_body(), provider_pid=P))
    decided = provider.decide(_provider_record(), requester(), message)
    assert (decided.intent, decided.error_detail, decided.agreement) == (
        "TERMINATE",
        WITHDRAWN,
        None,
    )


def test_counter_request_by_a_denied_consumer_is_terminated_with_the_reasons(
    provider: Node,
) -> None:
    message, _ = inbound(request(C, offer_body(), provider_pid=P))
    decided = provider.decide(_provider_record(), requester(org_type="company"), message)
    assert decided.intent == "TERMINATE"
    assert decided.error_detail is not None
    assert "organisationType" in decided.error_detail
    assert "company" in decided.error_detail


# Provider: ACCEPTED, verification ------------------------------------------------------------


def test_accepting_our_offer_is_agreed_in_auto_mode(provider: Node) -> None:
    offer = offer_body(uid="urn:uuid:our-offer")
    record = _provider_record(state="ACCEPTED", offer=offer, offered_by="provider")
    message, _ = inbound(event(P, C, "ACCEPTED"))
    decided = provider.decide(record, requester(), message)
    assert decided.intent == "AGREE"
    assert decided.agreement is not None
    assert decided.agreement["@type"] == "Agreement"
    assert decided.agreement["permission"] == offer["permission"]
    assert decided.agreement["@id"] != offer["@id"]  # an agreement has an id of its own


def test_accepting_our_offer_whose_contract_policy_cannot_be_read_is_terminated(
    provider: Node, database: Database
) -> None:
    make_unreadable(database, "cd-visits-contract")
    record = _provider_record(state="ACCEPTED", offer=offer_body(), offered_by="provider")
    message, _ = inbound(event(P, C, "ACCEPTED"))
    decided = provider.decide(record, requester(), message)
    assert (decided.intent, decided.pending) == ("TERMINATE", True)
    assert decided.error_detail == WITHDRAWN
    assert decided.agreement is None


def test_accepting_our_offer_in_manual_mode_waits_for_an_administrator(provider: Node) -> None:
    record = _provider_record(state="ACCEPTED", offered_by="provider", mode="manual")
    message, _ = inbound(event(P, C, "ACCEPTED"))
    decided = provider.decide(record, requester(), message)
    assert decided == record


def test_accepting_its_own_offer_is_a_protocol_error(provider: Node) -> None:
    record = _provider_record(state="ACCEPTED", offered_by="consumer")
    message, _ = inbound(event(P, C, "ACCEPTED"))
    with pytest.raises(NegotiationProtocolError, match="consumer's own"):
        provider.decide(record, requester(), message)


@pytest.mark.parametrize(("mode", "intent"), [("auto", "FINALIZE"), ("manual", None)])
def test_verification_is_finalized_in_auto_mode_only(
    provider: Node, mode: str, intent: str | None
) -> None:
    record = _provider_record(state="VERIFIED", mode=mode, agreement=agreement_body())
    message, _ = inbound(verification(P, C))
    decided = provider.decide(record, requester(), message)
    assert decided.intent == intent
    assert decided.pending is (intent is not None)


# Consumer: offers ------------------------------------------------------------------------------


def test_offer_with_the_requested_terms_is_accepted_in_auto_mode(consumer: Node) -> None:
    record = _consumer_record(state="OFFERED", offered_by="consumer")
    counter = offer_body(uid="urn:uuid:provider-offer", target="visits")
    message, _ = inbound(offer_message(P, counter, consumer_pid=C))
    decided = consumer.decide(record, requester(PROVIDER), message)
    assert decided.intent == "ACCEPT"
    assert decided.offered_by == "provider"
    assert decided.offer is not None
    assert decided.offer["@id"] == "urn:uuid:provider-offer"


def test_offer_with_other_terms_is_terminated_in_auto_mode(consumer: Node) -> None:
    record = _consumer_record(state="OFFERED", offered_by="consumer")
    message, _ = inbound(offer_message(P, offer_body(OPEN, uid="urn:uuid:o"), consumer_pid=C))
    decided = consumer.decide(record, requester(PROVIDER), message)
    assert decided.intent == "TERMINATE"
    assert decided.error_detail is not None
    assert "differs from the offer requested" in decided.error_detail


def test_offer_is_only_recorded_in_manual_mode(consumer: Node) -> None:
    record = _consumer_record(state="OFFERED", offered_by="consumer", mode="manual")
    message, _ = inbound(offer_message(P, offer_body(OPEN, uid="urn:uuid:o"), consumer_pid=C))
    decided = consumer.decide(record, requester(PROVIDER), message)
    assert (decided.intent, decided.pending) == (None, False)
    assert decided.offer is not None
    assert decided.offer["@id"] == "urn:uuid:o"
    assert decided.offer["target"] == "visits"


def test_offer_for_another_dataset_is_refused(consumer: Node) -> None:
    record = _consumer_record(state="OFFERED", offered_by="consumer")
    message, _ = inbound(offer_message(P, offer_body(target="other"), consumer_pid=C))
    with pytest.raises(BadRequest, match="another dataset"):
        consumer.decide(record, requester(PROVIDER), message)


# Consumer: agreements ----------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "intent"), [("auto", "VERIFY"), ("manual", None)])
def test_valid_agreement_is_kept_and_verified_in_auto_mode(
    consumer: Node, mode: str, intent: str | None
) -> None:
    record = _consumer_record(state="AGREED", mode=mode)
    message, _ = inbound(agreement_message(P, C, agreement_body()))
    decided = consumer.decide(record, requester(PROVIDER), message)
    assert decided.intent == intent
    assert decided.agreement is not None
    assert decided.agreement["@id"] == "urn:uuid:agreement-1"
    assert decided.agreement["timestamp"] == "2026-05-04T08:30:15Z"
    assert (decided.agreement["assigner"], decided.agreement["assignee"]) == (PROVIDER, CONSUMER)


PROBLEMS = {
    "target": ({"target": "other"}, "its target is not 'visits'"),
    "assigner": ({"assigner": THIRD}, f"its assigner is not the provider {PROVIDER!r}"),
    "assignee": ({"assignee": THIRD}, f"its assignee is not this participant {CONSUMER!r}"),
    "terms": ({"policy": OPEN}, "its terms are not those of the last offer"),
    "timestamp": ({"timestamp": None}, "it has no timestamp"),
}


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_agreement_problem_is_reported(consumer: Node, problem: str) -> None:
    changes, complaint = PROBLEMS[problem]
    message, _ = inbound(agreement_message(P, C, agreement_body(**changes)))  # type: ignore[arg-type]
    with pytest.raises(BadRequest) as raised:
        consumer.decide(_consumer_record(state="AGREED"), requester(PROVIDER), message)
    text = str(raised.value)
    assert text.startswith("the agreement cannot be accepted: ")
    assert complaint in text
    others = [other for name, (_c, other) in PROBLEMS.items() if name != problem]
    assert not any(other in text for other in others)


def test_every_agreement_problem_is_reported_at_once(consumer: Node) -> None:
    body = agreement_body(OPEN, target="other", assigner=THIRD, assignee=THIRD, timestamp=None)
    message, _ = inbound(agreement_message(P, C, body))
    with pytest.raises(BadRequest) as raised:
        consumer.decide(_consumer_record(state="AGREED"), requester(PROVIDER), message)
    for _changes, complaint in PROBLEMS.values():
        assert complaint in str(raised.value)


# Termination and messages without a decision -----------------------------------------------


def test_termination_records_who_ended_it_and_why(provider: Node) -> None:
    record = _provider_record(state="TERMINATED")
    message, _ = inbound(termination(P, C, "too expensive", "wrong region"))
    decided = provider.decide(record, requester(), message)
    assert decided.error_detail == f"{CONSUMER}: too expensive; wrong region"
    assert decided.intent is None


def test_termination_without_reasons_says_so_within_bounds(provider: Node) -> None:
    message, _ = inbound(termination(P, C))
    decided = provider.decide(_provider_record(state="TERMINATED"), requester(), message)
    assert decided.error_detail == f"{CONSUMER}: terminated by the counterparty"
    long, _ = inbound(termination(P, C, *(["y" * 900] * 5)))
    bounded = provider.decide(_provider_record(state="TERMINATED"), requester(), long)
    assert bounded.error_detail is not None
    assert len(bounded.error_detail) == MAX_DETAIL


def test_finalized_changes_nothing_for_the_consumer(consumer: Node) -> None:
    record = _consumer_record(state="FINALIZED", agreement=agreement_body())
    message, _ = inbound(event(P, C, "FINALIZED"))
    assert consumer.decide(record, requester(PROVIDER), message) == record


# provider_decides (the initial request's decision) -----------------------------------------


def test_provider_decides_for_the_negotiated_dataset_and_purpose(provider: Node) -> None:
    ref = OfferRef("cd-visits", "visits")
    record = _provider_record(offer=offer_body(uid=ref.id))
    offer = replace(RESEARCH_ONLY, kind=PolicyKind.OFFER, uid=ref.id)
    decided = provider.decisions.provider_decides(record, requester(), offer, RESEARCH_ONLY)
    assert decided.intent == "AGREE"
    assert decided.agreement is not None
    assert decided.agreement["target"] == "visits"
    denied = provider.decisions.provider_decides(
        record, requester(org_type="company"), offer, RESEARCH_ONLY
    )
    assert (denied.intent, denied.agreement) == ("TERMINATE", None)

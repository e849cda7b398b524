"""AdministratorActions: starting a negotiation as consumer, and deciding what either side sends
next (checked against the transition table, persisted as intent for the dispatcher)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from dsp_schemas import errors
from negotiation_support import (
    CONSUMER,
    CONSUMER_DSP,
    OFFICIAL_STATISTICS,
    OPEN,
    PROVIDER,
    PROVIDER_DSP,
    RESEARCH_ONLY,
    Node,
    agreement_body,
    make_unreadable,
    negotiation,
    node,
    offer_body,
    seed_offer,
)
from sqlalchemy import event

from connector.catalogue.offers import OfferRef
from connector.errors import BadRequest, Conflict, NotFound
from connector.negotiation.actions import SAVE_ATTEMPTS
from connector.negotiation.messages import message_body
from connector.negotiation.states import Message
from connector.store.database import Database
from connector.store.errors import StaleRecord
from connector.store.query import QuerySpec
from connector.store.records import NegotiationRecord
from connector.store.repositories.negotiations import NegotiationRepository
from policies import Policy, PolicyKind

OFFER_ID = "urn:uuid:offer-1"


@pytest.fixture
def consumer(database: Database) -> Node:
    return node(database, CONSUMER, public_url="https://consumer.test")


@pytest.fixture
def provider(database: Database) -> Node:
    seed_offer(database, mode="manual")
    return node(database, PROVIDER)


def _catalogue_offer(**changes: Any) -> Policy:
    """The provider's offer as an administrator copies it from the catalogue, with a target."""
    fields: dict[str, Any] = {
        "kind": PolicyKind.OFFER,
        "uid": OFFER_ID,
        "target": "visits",
        "assigner": PROVIDER,
    }
    return replace(RESEARCH_ONLY, **(fields | changes))


def _start(consumer: Node, **changes: Any) -> NegotiationRecord:
    arguments: dict[str, Any] = {
        "provider_id": PROVIDER,
        "address": PROVIDER_DSP + "/ ",
        "offer": _catalogue_offer(),
        "auto": True,
        "purpose": OFFICIAL_STATISTICS,
    }
    return consumer.actions.start(**(arguments | changes))


def _stored(target: Node, **changes: Any) -> NegotiationRecord:
    return target.store(negotiation(contract_definition_id="cd-visits", **changes))


def _consumer_side(consumer: Node, **changes: Any) -> NegotiationRecord:
    fields: dict[str, Any] = {
        "id": "urn:uuid:negotiation-c",
        "role": "consumer",
        "counterparty_id": PROVIDER,
        "counterparty_address": PROVIDER_DSP,
        "offered_by": "provider",
    }
    return consumer.store(negotiation(**(fields | changes)))


def _count(database: Database) -> int:
    with database.read() as session:
        return NegotiationRepository(session).count(QuerySpec())


# start -------------------------------------------------------------------------------------------


def test_start_persists_the_request_to_send(consumer: Node) -> None:
    started = _start(consumer)
    assert (started.role, started.state) == ("consumer", "INITIAL")
    assert (started.intent, started.pending) == ("REQUEST", True)
    assert started.next_attempt_at == consumer.clock.now
    assert started.consumer_pid == started.id
    assert started.provider_pid is None
    assert (started.counterparty_id, started.counterparty_address) == (PROVIDER, PROVIDER_DSP)
    assert started.asset_id == "visits"
    assert started.offered_by == "provider"
    assert (started.mode, started.purpose) == ("auto", OFFICIAL_STATISTICS)
    assert started.offer is not None
    assert started.offer["@id"] == OFFER_ID
    assert started.offer["target"] == "visits"
    assert "assigner" not in started.offer
    assert consumer.wakes == [consumer.clock.now]
    assert consumer.get(started.id) == started


def test_start_is_one_statement_that_commits_by_itself_on_postgresql(consumer: Node) -> None:
    sent: list[tuple[str, object]] = []

    def record(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(
            (
                statement.split(maxsplit=1)[0],
                connection.get_execution_options().get("isolation_level"),
            )
        )

    engine = consumer.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        started = _start(consumer)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert consumer.get(started.id) == started
    if consumer.database.backend == "postgresql":
        assert sent == [("INSERT", "AUTOCOMMIT")]
    else:
        assert [verb for verb, _ in sent] == ["BEGIN", "INSERT"]


def test_start_of_a_series_member_negotiates_on_the_series_asset(consumer: Node) -> None:
    started = _start(consumer, offer=_catalogue_offer(target="barometer~2026-05-04"), auto=False)
    assert started.asset_id == "barometer"
    assert started.mode == "manual"
    assert started.offer is not None
    assert started.offer["target"] == "barometer~2026-05-04"


def test_start_sends_an_offer_even_when_the_administrator_wrote_a_set(consumer: Node) -> None:
    # The EDC management form often says odrl:Set; the DSP schema wants an Offer in a request.
    started = _start(consumer, offer=_catalogue_offer(kind=PolicyKind.SET))
    assert started.offer is not None
    assert started.offer["@type"] == "Offer"
    body = message_body(started, Message.REQUEST, CONSUMER_DSP)
    assert errors("negotiation/contract-request-message-schema.json", body) == []


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"address": "http://provider.test/protocol/2025-1"}, "must use https"),
        ({"address": "https://127.0.0.1/protocol/2025-1"}, "loopback"),
        ({"address": "https://user:pw@provider.test/dsp"}, "credentials"),
        ({"offer": _catalogue_offer(uid=None)}, "needs its @id"),
        ({"offer": _catalogue_offer(target=None)}, "needs a target"),
    ],
)
def test_start_refuses_what_cannot_be_sent(
    consumer: Node, changes: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(BadRequest) as raised:
        _start(consumer, **changes)
    assert complaint in str(raised.value)
    assert _count(consumer.database) == 0
    assert consumer.wakes == []


# offer: a provider-initiated negotiation ----------------------------------------------------------


def _offer(provider: Node, **changes: Any) -> NegotiationRecord:
    arguments: dict[str, Any] = {
        "consumer_id": CONSUMER,
        "address": CONSUMER_DSP + "/ ",
        "definition_id": "cd-visits",
        "dataset": "visits",
    }
    return provider.actions.offer(**(arguments | changes))


def test_offer_persists_the_offer_to_send(provider: Node) -> None:
    offered = _offer(provider)
    assert offered.role == "provider"
    assert (offered.state, offered.intent, offered.pending) == ("INITIAL", "OFFER", True)
    assert (offered.provider_pid, offered.consumer_pid) == (offered.id, None)
    assert (offered.counterparty_id, offered.counterparty_address) == (CONSUMER, CONSUMER_DSP)
    assert (offered.asset_id, offered.contract_definition_id) == ("visits", "cd-visits")
    assert (offered.offered_by, offered.mode) == ("provider", "manual")  # the definition's
    assert offered.offer is not None
    assert offered.offer["target"] == "visits"
    assert offered.offer["@id"] == provider.published(OfferRef("cd-visits", "visits"))["@id"]
    assert provider.get(offered.id) == offered
    assert provider.wakes == [provider.clock.now]
    body = message_body(offered, Message.OFFER, PROVIDER_DSP)
    assert errors("negotiation/contract-offer-message-schema.json", body) == []


def test_offer_follows_the_definitions_mode(database: Database) -> None:
    seed_offer(database, asset_id="nights", definition_id="cd-nights", mode="auto")
    provider = node(database, PROVIDER)
    offered = _offer(provider, definition_id="cd-nights", dataset="nights")
    assert offered.mode == "auto"


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"address": "http://consumer.test/protocol/2025-1"}, "must use https"),
        ({"address": "https://10.0.0.8/protocol/2025-1"}, "private"),
        ({"definition_id": "cd-none"}, "makes no offer for 'visits'"),
        ({"dataset": "nights"}, "makes no offer for 'nights'"),
        ({"dataset": "visits~2024"}, "makes no offer for 'visits~2024'"),
    ],
)
def test_offer_refuses_what_cannot_be_sent(
    provider: Node, changes: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(BadRequest) as raised:
        _offer(provider, **changes)
    assert complaint in str(raised.value)
    assert _count(provider.database) == 0
    assert provider.wakes == []


def test_offer_refuses_a_contract_policy_it_cannot_read_and_names_it(provider: Node) -> None:
    make_unreadable(provider.database, "cd-visits-contract")
    with pytest.raises(BadRequest) as raised:
        _offer(provider)
    assert "makes no offer for 'visits'" in str(raised.value)
    assert "contract policy 'cd-visits-contract' cannot be read" in str(raised.value)
    assert _count(provider.database) == 0
    assert provider.wakes == []


def test_terminate_before_the_consumer_knows_of_the_offer_ends_it_here(provider: Node) -> None:
    offered = _offer(provider)
    stopped = provider.actions.act(offered.id, Message.TERMINATE)
    assert (stopped.state, stopped.pending) == ("TERMINATED", False)
    assert stopped.error_detail == "terminated before the offer was sent"


# act: what may be done when ----------------------------------------------------------------------


def test_an_action_out_of_turn_is_a_conflict_naming_what_is_allowed(consumer: Node) -> None:
    requested = _consumer_side(consumer, state="REQUESTED")
    with pytest.raises(Conflict) as raised:
        consumer.actions.act(requested.id, Message.ACCEPT)
    assert "allowed now: terminate" in str(raised.value)
    assert consumer.get(requested.id) == requested
    assert consumer.wakes == []


def test_an_action_while_a_message_waits_is_a_conflict(provider: Node) -> None:
    waiting = _stored(provider, state="REQUESTED", intent="AGREE", pending=True)
    with pytest.raises(Conflict, match="AGREE message is still waiting"):
        provider.actions.act(waiting.id, Message.OFFER, offer=OPEN)
    assert provider.get(waiting.id) == waiting


def test_terminate_replaces_a_waiting_message(provider: Node) -> None:
    waiting = _stored(provider, state="REQUESTED", intent="AGREE", pending=True)
    terminating = provider.actions.act(waiting.id, Message.TERMINATE, reason="price changed")
    assert terminating.state == "REQUESTED"  # until the consumer acknowledges
    assert (terminating.intent, terminating.pending) == ("TERMINATE", True)
    assert terminating.error_detail == "price changed"
    assert provider.wakes == [provider.clock.now]


def test_terminate_before_the_peer_knows_ends_it_here(consumer: Node) -> None:
    started = _start(consumer)
    consumer.clock.advance(3)
    stopped = consumer.actions.act(started.id, Message.TERMINATE)
    assert stopped.state == "TERMINATED"
    assert (stopped.intent, stopped.pending, stopped.next_attempt_at) == (None, False, None)
    assert stopped.error_detail == "terminated before the request was sent"
    assert stopped.updated_at == consumer.clock.now
    assert consumer.history(started.id) == []


@pytest.mark.parametrize("state", ["FINALIZED", "TERMINATED"])
def test_nothing_is_sent_once_terminal(provider: Node, state: str) -> None:
    ended = _stored(provider, state=state)
    with pytest.raises(Conflict, match=f"is {state}"):
        provider.actions.act(ended.id, Message.TERMINATE)
    assert provider.get(ended.id) == ended


def test_an_unknown_negotiation_is_not_found(provider: Node) -> None:
    with pytest.raises(NotFound):
        provider.actions.act("urn:uuid:nothing", Message.AGREE)


# act: what each action writes --------------------------------------------------------------------


def test_counter_offer_stores_our_offer_on_the_negotiated_dataset(provider: Node) -> None:
    requested = _stored(provider, state="REQUESTED", mode="manual")
    ours = replace(OPEN, kind=PolicyKind.SET, target="elsewhere", assignee=CONSUMER)
    offering = provider.actions.act(requested.id, Message.OFFER, offer=ours)
    assert (offering.intent, offering.pending, offering.state) == ("OFFER", True, "REQUESTED")
    assert offering.offered_by == "provider"
    offer = offering.offer
    assert offer is not None
    assert offer["@type"] == "Offer"
    assert offer["target"] == "visits"
    assert offer["@id"].startswith("urn:uuid:")
    assert "assignee" not in offer
    assert offer["permission"] == offer_body(OPEN)["permission"]
    body = message_body(offering, Message.OFFER, PROVIDER_DSP)
    assert errors("negotiation/contract-offer-message-schema.json", body) == []


def test_counter_request_stores_our_offer_with_its_id(consumer: Node) -> None:
    offered = _consumer_side(consumer, state="OFFERED")
    ours = replace(OPEN, kind=PolicyKind.OFFER, uid="urn:uuid:counter")
    requesting = consumer.actions.act(offered.id, Message.REQUEST, offer=ours)
    assert (requesting.intent, requesting.offered_by) == ("REQUEST", "consumer")
    assert requesting.offer is not None
    assert (requesting.offer["@id"], requesting.offer["target"]) == ("urn:uuid:counter", "visits")
    body = message_body(requesting, Message.REQUEST, CONSUMER_DSP)
    assert errors("negotiation/contract-request-message-schema.json", body) == []


def test_a_counter_offer_needs_an_offer(provider: Node) -> None:
    requested = _stored(provider, state="REQUESTED")
    with pytest.raises(BadRequest, match="ODRL offer"):
        provider.actions.act(requested.id, Message.OFFER)
    assert provider.get(requested.id) == requested


def test_agree_builds_the_agreement_from_the_last_offer(provider: Node) -> None:
    requested = _stored(provider, state="REQUESTED", offer=offer_body(uid=OFFER_ID))
    agreeing = provider.actions.act(requested.id, Message.AGREE)
    assert (agreeing.intent, agreeing.pending) == ("AGREE", True)
    agreement = agreeing.agreement
    assert agreement is not None
    assert (agreement["assigner"], agreement["assignee"], agreement["target"]) == (
        PROVIDER,
        CONSUMER,
        "visits",
    )
    assert agreement["timestamp"] == "2026-05-04T08:30:15Z"
    assert agreement["permission"] == offer_body()["permission"]
    assert agreement["@id"] != OFFER_ID
    body = message_body(agreeing, Message.AGREE, PROVIDER_DSP)
    assert errors("negotiation/contract-agreement-message-schema.json", body) == []


def test_accept_of_our_own_offer_is_a_conflict(consumer: Node) -> None:
    offered = _consumer_side(consumer, state="OFFERED", offered_by="consumer")
    with pytest.raises(Conflict, match="our own"):
        consumer.actions.act(offered.id, Message.ACCEPT)
    assert consumer.get(offered.id) == offered


def test_accept_of_the_providers_offer(consumer: Node) -> None:
    offered = _consumer_side(consumer, state="OFFERED")
    accepting = consumer.actions.act(offered.id, Message.ACCEPT)
    assert (accepting.intent, accepting.state) == ("ACCEPT", "OFFERED")


def test_verify_needs_an_agreement(consumer: Node) -> None:
    agreed = _consumer_side(consumer, state="AGREED")
    with pytest.raises(Conflict, match="no agreement"):
        consumer.actions.act(agreed.id, Message.VERIFY)
    with_agreement = consumer.save(replace(consumer.get(agreed.id), agreement=agreement_body()))
    verifying = consumer.actions.act(agreed.id, Message.VERIFY)
    assert verifying.intent == "VERIFY"
    assert verifying.agreement == with_agreement.agreement


def test_finalize_after_verification(provider: Node) -> None:
    verified = _stored(provider, state="VERIFIED", agreement=agreement_body())
    finalizing = provider.actions.act(verified.id, Message.FINALIZE)
    assert (finalizing.intent, finalizing.state) == ("FINALIZE", "VERIFIED")


def test_an_action_racing_an_inbound_message_is_retried(
    provider: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested = _stored(provider, state="REQUESTED")
    real_save = NegotiationRepository.save
    calls: list[int] = []

    def save_once_stale(
        self: NegotiationRepository, record: NegotiationRecord, expected_version: int
    ) -> NegotiationRecord:
        calls.append(expected_version)
        if len(calls) == 1:
            raise StaleRecord("contract negotiation", record.id, expected_version=expected_version)
        return real_save(self, record, expected_version)

    monkeypatch.setattr(NegotiationRepository, "save", save_once_stale)
    agreeing = provider.actions.act(requested.id, Message.AGREE)
    assert len(calls) == 2
    assert agreeing.intent == "AGREE"
    assert provider.wakes == [provider.clock.now]


def test_an_action_on_a_negotiation_that_keeps_changing_is_a_conflict(
    provider: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested = _stored(provider, state="REQUESTED")
    attempts: list[int] = []

    def always_stale(
        self: NegotiationRepository, record: NegotiationRecord, expected_version: int
    ) -> NegotiationRecord:
        attempts.append(expected_version)
        raise StaleRecord("contract negotiation", record.id, expected_version=expected_version)

    monkeypatch.setattr(NegotiationRepository, "save", always_stale)
    with pytest.raises(Conflict, match="changing"):
        provider.actions.act(requested.id, Message.AGREE)
    monkeypatch.undo()
    assert provider.get(requested.id) == requested
    assert provider.wakes == []
    assert len(attempts) == SAVE_ATTEMPTS

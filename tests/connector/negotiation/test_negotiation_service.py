"""NegotiationService: the DSP messages a node receives, applied in one transaction each, on
SQLite and PostgreSQL, with the provider's real catalogue, contract policy and evaluator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from negotiation_support import (
    CONSUMER,
    CONSUMER_DSP,
    EDC,
    OFFICIAL_STATISTICS,
    OPEN,
    PROVIDER,
    PROVIDER_DSP,
    T0,
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
from connector.catalogue.profiling import DataProfile
from connector.errors import BadRequest, Conflict, NotFound
from connector.negotiation.decisions import Requester
from connector.negotiation.errors import NegotiationProtocolError, UnknownNegotiation
from connector.negotiation.intent import settled
from connector.negotiation.messages import message_body
from connector.negotiation.service import SAVE_ATTEMPTS
from connector.negotiation.states import Message, Role
from connector.negotiation.terms import dataset_of
from connector.store.database import Database
from connector.store.errors import StaleRecord
from connector.store.query import QuerySpec
from connector.store.records import NegotiationRecord
from connector.store.repositories.catalogue import CatalogueRepository
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.negotiations import NegotiationRepository
from policies import ETDS, ODRL, USE, Constraint, Literal, Permission, Policy, PolicyKind

PROVIDER_ROLE: tuple[Role, ...] = ("provider",)
CONSUMER_ROLE: tuple[Role, ...] = ("consumer",)


@pytest.fixture
def offer(database: Database) -> OfferRef:
    return seed_offer(database)


@pytest.fixture
def provider(database: Database, offer: OfferRef) -> Node:
    return node(database, PROVIDER)


def _initial(
    provider: Node,
    offer: OfferRef,
    consumer_pid: str = "urn:uuid:c1",
    who: Requester | None = None,
    **changes: Any,
) -> NegotiationRecord:
    """The negotiation a consumer's initial request for ``offer`` (as published) creates."""
    document = {**provider.published(offer), "target": offer.asset_id, **changes}
    message, body = inbound(request(consumer_pid, document, purpose=OFFICIAL_STATISTICS))
    return provider.service.receive_initial_request(who or requester(), message, body)


def _send(
    target: Node,
    record: NegotiationRecord,
    document: dict[str, Any],
    *,
    who: Requester | None = None,
    path_pid: str | None = None,
) -> NegotiationRecord:
    """``document`` received by ``target`` on the path of ``record`` (its own pid)."""
    own = record.provider_pid if record.role == "provider" else record.consumer_pid
    message, body = inbound(document)
    return target.service.receive(
        (record.role,),
        requester=who or requester(CONSUMER if record.role == "provider" else PROVIDER),
        path_pid=path_pid or own or "",
        message=message,
        body=body,
    )


def _all(database: Database) -> list[NegotiationRecord]:
    with database.read() as session:
        return NegotiationRepository(session).query(QuerySpec(limit=100))


# Provider: the initial request ---------------------------------------------------------------


def test_initial_request_creates_a_requested_negotiation_with_the_published_offer(
    provider: Node, offer: OfferRef
) -> None:
    created = _initial(provider, offer)
    assert created.role == "provider"
    assert created.state == "REQUESTED"
    assert created.consumer_pid == "urn:uuid:c1"
    assert created.provider_pid is not None
    assert created.provider_pid.startswith("urn:uuid:")
    assert created.provider_pid != created.id
    assert (created.counterparty_id, created.counterparty_address) == (CONSUMER, CONSUMER_DSP)
    assert created.contract_definition_id == "cd-visits"
    assert created.asset_id == "visits"
    assert created.offer == {**provider.published(offer), "target": "visits"}
    assert created.offered_by == "consumer"
    assert created.purpose == OFFICIAL_STATISTICS
    assert created.created_at == provider.clock.now
    history = provider.history(created.id)
    assert [(m.direction, m.message_type) for m in history] == [("in", "ContractRequestMessage")]
    assert history[0].body["consumerPid"] == "urn:uuid:c1"


def test_auto_mode_agrees_when_the_contract_policy_allows(provider: Node, offer: OfferRef) -> None:
    created = _initial(provider, offer)
    assert (created.intent, created.pending) == ("AGREE", True)
    assert created.next_attempt_at == provider.clock.now
    agreement = created.agreement
    assert agreement is not None
    assert agreement["@type"] == "Agreement"
    assert agreement["@id"] not in (offer.id, created.id)
    assert (agreement["assigner"], agreement["assignee"], agreement["target"]) == (
        PROVIDER,
        CONSUMER,
        "visits",
    )
    assert agreement["timestamp"] == "2026-05-04T08:30:15Z"
    assert agreement["permission"] == provider.published(offer)["permission"]
    assert provider.get(created.id) == created


def test_auto_mode_terminates_with_the_reasons_when_the_policy_denies(
    provider: Node, offer: OfferRef
) -> None:
    created = _initial(provider, offer, who=requester(org_type="company"))
    assert created.state == "REQUESTED"
    assert (created.intent, created.pending) == ("TERMINATE", True)
    assert created.agreement is None
    assert created.error_detail is not None
    assert "organisationType" in created.error_detail
    assert "company" in created.error_detail


def test_manual_mode_waits_for_an_administrator(database: Database) -> None:
    ref = seed_offer(database, asset_id="survey", definition_id="cd-survey", mode="manual")
    provider = node(database, PROVIDER)
    created = _initial(provider, ref)
    assert created.mode == "manual"
    assert (created.state, created.intent, created.pending) == ("REQUESTED", None, False)
    assert created.agreement is None


def test_repeated_initial_request_returns_the_same_negotiation(
    provider: Node, offer: OfferRef
) -> None:
    first = _initial(provider, offer)
    provider.clock.advance(5)
    again = _initial(provider, offer)
    assert again == first
    assert len(_all(provider.database)) == 1
    assert len(provider.history(first.id)) == 1


def test_same_consumer_pid_from_another_participant_is_its_own_negotiation(
    provider: Node, offer: OfferRef
) -> None:
    first = _initial(provider, offer)
    other = _initial(provider, offer, who=requester(THIRD))
    assert other.id != first.id
    assert other.provider_pid != first.provider_pid
    assert (other.counterparty_id, other.consumer_pid) == (THIRD, first.consumer_pid)
    assert len(_all(provider.database)) == 2


REFUSED: dict[str, tuple[Callable[[OfferRef], dict[str, Any]], str]] = {
    "an offer id of another node": (lambda ref: {"@id": "urn:uuid:foreign"}, "unknown offer"),
    "an offer of ours for another asset": (
        lambda ref: {"@id": OfferRef(ref.definition_id, "missing").id, "target": "missing"},
        "no such offer for you",
    ),
    "an offer of ours under another definition": (
        lambda ref: {"@id": OfferRef("cd-other", ref.asset_id).id},
        "no such offer for you",
    ),
    "another target": (lambda ref: {"target": "other-dataset"}, "is for 'visits'"),
    "changed terms": (
        lambda ref: {"permission": offer_body(OPEN)["permission"]},
        "not the terms this node offers",
    ),
}


def test_initial_request_for_an_offer_hidden_from_the_requester_is_a_bad_request(
    provider: Node,
) -> None:
    public_only = Policy(
        kind=PolicyKind.SET,
        permissions=(
            Permission(
                action=USE,
                constraints=(
                    Constraint(
                        ETDS + "organisationType", ODRL + "eq", (Literal("regional_agency"),)
                    ),
                ),
            ),
        ),
    )
    hidden = seed_offer(
        provider.database, asset_id="census", definition_id="cd-census", access=public_only
    )
    shown = provider.published(hidden, org_type="regional_agency")  # a regional agency sees it
    message, body = inbound(request("urn:uuid:c1", {**shown, "target": "census"}))
    with pytest.raises(BadRequest, match="no such offer for you"):
        provider.service.receive_initial_request(requester(), message, body)
    assert _all(provider.database) == []
    created = provider.service.receive_initial_request(
        requester(org_type="regional_agency"), message, body
    )
    assert (created.contract_definition_id, created.offer) == (
        "cd-census",
        {**shown, "target": "census"},
    )


def test_initial_request_for_a_member_of_a_dataset_that_is_no_series_is_a_bad_request(
    provider: Node, offer: OfferRef
) -> None:
    member = replace(offer, member="2026-05-04")
    with pytest.raises(BadRequest, match="no such offer for you"):
        _initial(provider, offer, **{"@id": member.id, "target": dataset_of(member)})
    assert _all(provider.database) == []


def _make_series(database: Database, asset_id: str, members: tuple[str, ...]) -> None:
    """``asset_id`` profiled as a dataset series with ``members``."""
    profile = DataProfile(
        rows=10 * len(members), bytes=1000, files=len(members), format="parquet",
        media_type="application/vnd.apache.parquet", checksum="00" * 32, columns=(),
        spatial_column=None, spatial=(), temporal_column=None, temporal_start=None,
        temporal_end=None, last_modified=None, fingerprint="f", series_column="week",
        series=tuple((member, 10) for member in members),
    )  # fmt: skip
    with database.transaction() as session:
        catalogue = CatalogueRepository(session)
        catalogue.describe(asset_id, search_text="visits", themes=[], modified=T0)
        assert catalogue.save_profile(
            asset_id, profile=profile.to_json(), spatial=[], temporal=(None, None),
            fingerprint="f", profiled_at=T0, data_modified=None,
        )  # fmt: skip


def test_initial_request_for_a_member_of_a_series_is_checked_against_its_members(
    provider: Node, offer: OfferRef
) -> None:
    _make_series(provider.database, offer.asset_id, ("2026-05-04", "2026-05-11"))
    member = replace(offer, member="2026-05-11")
    created = _initial(provider, offer, **{"@id": member.id, "target": dataset_of(member)})
    assert created.offer is not None
    assert created.offer["target"] == f"{offer.asset_id}~2026-05-11"
    absent = replace(offer, member="2026-06-01")
    with pytest.raises(BadRequest, match="no such offer for you"):
        _initial(provider, offer, "urn:uuid:c2", **{"@id": absent.id, "target": dataset_of(absent)})
    assert len(_all(provider.database)) == 1


@pytest.mark.parametrize("case", list(REFUSED))
def test_initial_request_for_what_is_not_offered_is_a_bad_request(
    provider: Node, offer: OfferRef, case: str
) -> None:
    changes, complaint = REFUSED[case]
    with pytest.raises(BadRequest) as raised:
        _initial(provider, offer, **changes(offer))
    assert complaint in str(raised.value)
    assert not isinstance(raised.value, NegotiationProtocolError)
    assert _all(provider.database) == []


def test_initial_request_for_an_offer_whose_contract_policy_cannot_be_read_is_a_bad_request(
    provider: Node, offer: OfferRef
) -> None:
    published = provider.published(offer)  # as the consumer read it before
    make_unreadable(provider.database, f"{offer.definition_id}-contract")
    message, body = inbound(request("urn:uuid:c1", {**published, "target": offer.asset_id}))
    with pytest.raises(BadRequest, match="no such offer for you"):
        provider.service.receive_initial_request(requester(), message, body)
    assert _all(provider.database) == []


def test_an_offer_is_checked_against_the_contract_definition_s_current_selector(
    provider: Node, offer: OfferRef
) -> None:
    """The offer check's statement is kept per selector: a definition that now selects
    another asset no longer offers the one it selected (nor reuses the old statement)."""
    assert _initial(provider, offer).state == "REQUESTED"
    published = provider.published(offer)
    with provider.database.transaction() as session:
        definitions = ContractDefinitionRepository(session)
        current = definitions.get(offer.definition_id)
        definitions.update(
            replace(
                current,
                assets_selector=[
                    {"operandLeft": EDC + "id", "operator": "=", "operandRight": "another"}
                ],
            )
        )
    document = {**published, "target": offer.asset_id}  # the offer as it was published
    message, body = inbound(request("urn:uuid:c2", document, purpose=OFFICIAL_STATISTICS))
    with pytest.raises(BadRequest):
        provider.service.receive_initial_request(requester(), message, body)
    assert len(_all(provider.database)) == 1


@pytest.mark.parametrize(
    "callback", ["http://consumer.test/protocol/2025-1", "https://127.0.0.1/dsp", ""]
)
def test_initial_request_with_a_refused_callback_is_a_bad_request(
    provider: Node, offer: OfferRef, callback: str
) -> None:
    document = {**provider.published(offer), "target": "visits"}
    message, body = inbound(request("urn:uuid:c1", document, callback=callback or " "))
    with pytest.raises(BadRequest):
        provider.service.receive_initial_request(requester(), message, body)
    assert _all(provider.database) == []


# Inbound messages on an existing negotiation ---------------------------------------------------


def test_path_and_body_pids_must_match(provider: Node, offer: OfferRef) -> None:
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    document = termination(created.provider_pid, "urn:uuid:c1")
    with pytest.raises(BadRequest, match="in the path"):
        _send(provider, created, document, path_pid="urn:uuid:elsewhere")
    # The consumer's pid in the path of a provider's endpoint is none of our pids.
    with pytest.raises(UnknownNegotiation):
        _send(provider, created, document, path_pid="urn:uuid:c1")
    # Our pid in the path, but as the message's consumerPid (pids swapped).
    swapped = termination("urn:uuid:c1", created.provider_pid)
    with pytest.raises(BadRequest, match="in the message"):
        _send(provider, created, swapped)
    assert provider.get(created.id).state == "REQUESTED"


def test_another_participant_cannot_touch_the_negotiation(provider: Node, offer: OfferRef) -> None:
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    document = termination(created.provider_pid, "urn:uuid:c1")
    with pytest.raises(UnknownNegotiation):
        _send(provider, created, document, who=requester(THIRD))
    with pytest.raises(UnknownNegotiation):
        provider.service.for_peer(created.provider_pid, requester(THIRD))
    assert provider.service.for_peer(created.provider_pid, requester()) == created
    assert provider.get(created.id).state == "REQUESTED"
    assert len(provider.history(created.id)) == 1


def test_a_message_for_the_other_role_is_a_protocol_error(provider: Node, offer: OfferRef) -> None:
    # A known negotiation is never a 404 (DSP: invalid state transition → 400): the message
    # is what is wrong, e.g. a message only a provider receives sent to our consumer side.
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    message, body = inbound(termination(created.provider_pid, "urn:uuid:c1"))
    with pytest.raises(NegotiationProtocolError, match="not sent to the provider"):
        provider.service.receive(
            CONSUMER_ROLE,
            requester=requester(),
            path_pid=created.provider_pid,
            message=message,
            body=body,
        )
    assert provider.get(created.id) == created
    with pytest.raises(UnknownNegotiation):
        provider.service.for_peer(created.provider_pid, requester(), CONSUMER_ROLE)


def test_a_message_with_another_consumer_pid_is_refused(provider: Node, offer: OfferRef) -> None:
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    with pytest.raises(BadRequest, match="consumerPid"):
        _send(provider, created, termination(created.provider_pid, "urn:uuid:not-c1"))
    assert provider.get(created.id).state == "REQUESTED"


def test_invalid_transition_is_a_protocol_error_and_changes_nothing(database: Database) -> None:
    ref = seed_offer(database, mode="manual")
    provider = node(database, PROVIDER)
    created = _initial(provider, ref)
    assert created.provider_pid is not None
    with pytest.raises(NegotiationProtocolError) as raised:
        _send(provider, created, verification(created.provider_pid, "urn:uuid:c1"))
    assert raised.value.status == 400
    assert "REQUESTED" in str(raised.value)
    assert provider.get(created.id) == created
    assert len(provider.history(created.id)) == 1


def test_an_identical_repeated_message_is_applied_once(provider: Node, offer: OfferRef) -> None:
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    document = termination(created.provider_pid, "urn:uuid:c1", "changed our mind")
    first = _send(provider, created, document)
    assert first.state == "TERMINATED"
    assert (first.intent, first.pending) == (None, False)  # the pending AGREE is dropped
    assert first.error_detail == f"{CONSUMER}: changed our mind"
    again = _send(provider, created, document)
    assert again == first
    types = [m.message_type for m in provider.history(created.id)]
    assert types == ["ContractRequestMessage", "ContractNegotiationTerminationMessage"]
    # Another termination is not the same message: it is refused (TERMINATED is final).
    with pytest.raises(NegotiationProtocolError):
        _send(provider, created, termination(created.provider_pid, "urn:uuid:c1", "other"))


def test_an_identical_repeated_counter_request_is_a_protocol_error(database: Database) -> None:
    seed_offer(database, mode="manual")
    provider = node(database, PROVIDER)
    offered = provider.store(
        replace(
            _template(mode="manual"),
            state="OFFERED",
            offered_by="provider",
        )
    )
    assert offered.provider_pid is not None
    counter = request(
        "urn:uuid:c1",
        offer_body(OPEN, uid="urn:uuid:counter"),
        provider_pid=offered.provider_pid,
    )
    applied = _send(provider, offered, counter)
    assert applied.state == "REQUESTED"
    assert applied.offered_by == "consumer"
    with pytest.raises(NegotiationProtocolError):
        _send(provider, offered, counter)
    assert provider.get(offered.id) == applied
    assert len(provider.history(offered.id)) == 1


def _template(**changes: Any) -> NegotiationRecord:
    """A provider's negotiation with A, not yet stored."""
    return negotiation(
        consumer_pid="urn:uuid:c1",
        contract_definition_id="cd-visits",
        offer=offer_body(uid=OfferRef("cd-visits", "visits").id),
        **changes,
    )


def test_peer_message_acknowledges_our_pending_message(provider: Node, offer: OfferRef) -> None:
    created = _initial(provider, offer)
    assert (created.intent, created.state) == ("AGREE", "REQUESTED")
    assert created.provider_pid is not None
    assert [claimed.id for claimed in provider.claim()] == [created.id]
    provider.clock.advance(2)
    # The consumer verifies our agreement before our dispatcher recorded its acknowledgement.
    verified = _send(provider, created, verification(created.provider_pid, "urn:uuid:c1"))
    assert verified.state == "VERIFIED"
    assert (verified.intent, verified.pending) == ("FINALIZE", True)
    assert verified.attempts == 0
    assert verified.agreement == created.agreement
    assert verified.updated_at == provider.clock.now
    # Our agreement is in the history (as it was sent), before the verification that proved it
    # arrived: the audit trail does not depend on the dispatcher having recorded it.
    history = [(m.direction, m.message_type) for m in provider.history(created.id)]
    assert history == [
        ("in", "ContractRequestMessage"),
        ("out", "ContractAgreementMessage"),
        ("in", "ContractAgreementVerificationMessage"),
    ]
    sent = provider.history(created.id)[1].body
    assert sent == message_body(created, Message.AGREE, PROVIDER_DSP)


def test_consumer_learns_the_provider_pid_from_a_message_acknowledging_its_request(
    database: Database,
) -> None:
    consumer = node(database, CONSUMER, public_url="https://consumer.test")
    started = consumer.actions.start(
        provider_id=PROVIDER,
        address=PROVIDER_DSP,
        offer=_offer_policy(consumer),
        auto=True,
        purpose=None,
    )
    assert (started.state, started.intent, started.provider_pid) == ("INITIAL", "REQUEST", None)
    assert [claimed.id for claimed in consumer.claim()] == [started.id]
    agreed = _send(
        consumer,
        started,
        agreement_message("urn:uuid:provider-p", started.id, agreement_body()),
    )
    assert agreed.state == "AGREED"
    assert agreed.provider_pid == "urn:uuid:provider-p"
    assert (agreed.intent, agreed.pending) == ("VERIFY", True)


def test_a_counter_offer_before_our_request_was_acknowledged_answers_the_request(
    database: Database,
) -> None:
    # The table lets a provider's offer leave INITIAL (a provider-initiated negotiation), but a
    # consumer's INITIAL is its own unacknowledged request: the offer answers that request.
    consumer = node(database, CONSUMER, public_url="https://consumer.test")
    started = consumer.actions.start(
        provider_id=PROVIDER,
        address=PROVIDER_DSP,
        offer=_offer_policy(consumer),
        auto=False,
        purpose=None,
    )
    counter = offer_message(
        "urn:uuid:provider-p", offer_body(OPEN, uid="urn:uuid:counter"), consumer_pid=started.id
    )
    assert [claimed.id for claimed in consumer.claim()] == [started.id]
    offered = _send(consumer, started, counter)
    assert offered.state == "OFFERED"
    assert offered.provider_pid == "urn:uuid:provider-p"
    assert (offered.intent, offered.pending) == (None, False)  # the request is not sent again
    assert offered.offered_by == "provider"
    assert offered.offer is not None
    assert offered.offer["@id"] == "urn:uuid:counter"


def test_a_reply_to_our_unsent_message_is_a_protocol_error(provider: Node, offer: OfferRef) -> None:
    # Our agreement waits to go out (no dispatcher claimed it, no attempt went out): the
    # consumer cannot have seen it, so its verification proves nothing and is refused.
    created = _initial(provider, offer)
    assert (created.intent, created.pending, created.attempts) == ("AGREE", True, 0)
    assert created.provider_pid is not None
    with pytest.raises(NegotiationProtocolError):
        _send(provider, created, verification(created.provider_pid, "urn:uuid:c1"))
    assert provider.get(created.id) == created
    assert len(provider.history(created.id)) == 1


def test_a_reply_after_an_earlier_attempt_of_ours_acknowledges_it(
    provider: Node, offer: OfferRef
) -> None:
    # An earlier attempt went out (its answer was lost, a retry is due later): it may have
    # arrived, and the consumer's verification proves that it did.
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    retrying = provider.save(replace(created, attempts=1))
    verified = _send(provider, retrying, verification(created.provider_pid, "urn:uuid:c1"))
    assert (verified.state, verified.intent, verified.attempts) == ("VERIFIED", "FINALIZE", 0)


def test_a_waiting_termination_wins_over_the_automatic_answer(database: Database) -> None:
    # An administrator terminated while our request was on its way; the provider's agreement
    # arrives before the termination went out: the termination is still what we send.
    consumer = node(database, CONSUMER, public_url="https://consumer.test")
    requested = consumer.store(
        _consumer_negotiation(state="REQUESTED", offer=offer_body(), offered_by="provider")
    )
    terminating = consumer.actions.act(requested.id, Message.TERMINATE, reason="changed my mind")
    assert (terminating.intent, terminating.pending) == ("TERMINATE", True)
    agreed = _send(
        consumer,
        terminating,
        agreement_message("urn:uuid:provider-p", requested.id, agreement_body()),
    )
    assert agreed.state == "AGREED"
    assert (agreed.intent, agreed.pending) == ("TERMINATE", True)
    assert agreed.error_detail == "changed my mind"


def test_a_waiting_termination_wins_over_a_provider_decision(
    provider: Node, offer: OfferRef
) -> None:
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    agreed = provider.save(settled(replace(created, state="AGREED")))
    terminating = provider.actions.act(agreed.id, Message.TERMINATE, reason="withdrawn")
    verified = _send(provider, terminating, verification(created.provider_pid, "urn:uuid:c1"))
    assert verified.state == "VERIFIED"
    assert (verified.intent, verified.pending) == ("TERMINATE", True)


def _second_consumer_negotiation(**changes: Any) -> NegotiationRecord:
    """Another consumer negotiation, with another provider pid."""
    return _consumer_negotiation(
        id="urn:uuid:consumer-2",
        consumer_pid="urn:uuid:consumer-2",
        provider_pid="urn:uuid:provider-2",
        **changes,
    )


def test_an_agreement_with_another_negotiations_id_is_refused(database: Database) -> None:
    # DSP: agreement ids are unique. A provider reusing one (another negotiation's) would tie
    # this negotiation to terms it never agreed to.
    consumer = node(database, CONSUMER, public_url="https://consumer.test")
    agreement = agreement_body()
    verified = consumer.store(_consumer_negotiation(state="VERIFIED", agreement=agreement))
    _send(consumer, verified, event("urn:uuid:provider-p", verified.id, "FINALIZED"))
    other = consumer.store(_second_consumer_negotiation(state="REQUESTED"))
    with pytest.raises(NegotiationProtocolError, match="another negotiation's"):
        _send(consumer, other, agreement_message("urn:uuid:provider-2", other.id, agreement))
    assert consumer.get(other.id) == other
    [kept] = consumer.agreements()
    assert kept.negotiation_id == verified.id


def test_finalizing_with_an_agreement_id_taken_meanwhile_is_refused(database: Database) -> None:
    # Two negotiations verified agreements with one id (neither was stored yet): the second
    # to be finalized is refused, the first keeps its agreement.
    consumer = node(database, CONSUMER, public_url="https://consumer.test")
    agreement = agreement_body()
    first = consumer.store(_consumer_negotiation(state="VERIFIED", agreement=agreement))
    second = consumer.store(_second_consumer_negotiation(state="VERIFIED", agreement=agreement))
    _send(consumer, first, event("urn:uuid:provider-p", first.id, "FINALIZED"))
    with pytest.raises(NegotiationProtocolError, match="another negotiation's"):
        _send(consumer, second, event("urn:uuid:provider-2", second.id, "FINALIZED"))
    assert consumer.get(second.id) == second
    [kept] = consumer.agreements()
    assert kept.negotiation_id == first.id


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"uid": "urn:uuid:" + "a" * 300}, "1 to 256 characters"),
        ({"timestamp": "not-a-date"}, "is not an xsd:dateTime"),
        ({"timestamp": "2026-05-04"}, "is not an xsd:dateTime"),
    ],
    ids=["id too long", "timestamp not a date", "timestamp without time"],
)
def test_an_agreement_this_node_cannot_keep_is_refused(
    database: Database, changes: dict[str, Any], complaint: str
) -> None:
    consumer = node(database, CONSUMER, public_url="https://consumer.test")
    requested = consumer.store(_consumer_negotiation(state="REQUESTED"))
    document = agreement_message("urn:uuid:provider-p", requested.id, agreement_body(**changes))
    with pytest.raises(BadRequest, match=complaint):
        _send(consumer, requested, document)
    assert consumer.get(requested.id) == requested


def test_a_counter_request_for_another_dataset_is_refused(database: Database) -> None:
    provider = node(database, PROVIDER)
    offered = provider.store(negotiation(state="OFFERED", offered_by="provider", mode="manual"))
    counter = request(
        "urn:uuid:negotiation-c", offer_body(target="presence"), provider_pid=offered.id
    )
    with pytest.raises(BadRequest, match="another dataset"):
        _send(provider, offered, counter)
    assert provider.get(offered.id) == offered


def _offer_policy(consumer: Node) -> Any:
    return consumer.terms.parse(offer_body(uid="urn:uuid:offer-1"))


def test_a_message_our_pending_one_does_not_explain_is_a_protocol_error(
    provider: Node, offer: OfferRef
) -> None:
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    # Our pending AGREE would make VERIFY valid, but not FINALIZE (a provider's message).
    with pytest.raises(NegotiationProtocolError):
        _send(provider, created, event(created.provider_pid, "urn:uuid:c1", "FINALIZED"))
    assert provider.get(created.id) == created


def test_finalized_stores_the_agreement_once(database: Database) -> None:
    consumer = node(database, CONSUMER, public_url="https://consumer.test")
    agreement = agreement_body()
    verified = consumer.store(
        _consumer_negotiation(state="VERIFIED", agreement=agreement, purpose=OFFICIAL_STATISTICS)
    )
    finalized = _send(consumer, verified, event("urn:uuid:provider-p", verified.id, "FINALIZED"))
    assert finalized.state == "FINALIZED"
    assert finalized.agreement_id == agreement["@id"]
    stored = consumer.agreements()
    assert len(stored) == 1
    kept = stored[0]
    assert (kept.id, kept.provider_id, kept.consumer_id) == (agreement["@id"], PROVIDER, CONSUMER)
    assert (kept.asset_id, kept.negotiation_id, kept.purpose) == (
        "visits",
        verified.id,
        OFFICIAL_STATISTICS,
    )
    assert kept.policy == agreement
    assert kept.signed_at.isoformat() == "2026-05-04T08:30:15+00:00"
    # The provider sends FINALIZED again (it did not see our answer): nothing more is stored.
    again = _send(consumer, verified, event("urn:uuid:provider-p", verified.id, "FINALIZED"))
    assert again == finalized
    assert len(consumer.agreements()) == 1
    assert len(consumer.history(verified.id)) == 1


def _consumer_negotiation(**changes: Any) -> NegotiationRecord:
    return negotiation(
        **{
            "id": "urn:uuid:consumer-c",
            "role": "consumer",
            "counterparty_id": PROVIDER,
            "counterparty_address": PROVIDER_DSP,
            "provider_pid": "urn:uuid:provider-p",
            "consumer_pid": "urn:uuid:consumer-c",
            "offered_by": "provider",
            **changes,
        }
    )


# Consumer: an offer out of the blue ----------------------------------------------------------


def test_initial_offer_creates_an_offered_negotiation_for_an_administrator(
    database: Database,
) -> None:
    consumer = node(database, CONSUMER, public_url="https://consumer.test")
    document = offer_message("urn:uuid:p1", offer_body(target="barometer~2026-05-04"))
    message, body = inbound(document)
    created = consumer.service.receive_initial_offer(requester(PROVIDER), message, body)
    assert (created.role, created.state, created.mode) == ("consumer", "OFFERED", "manual")
    assert (created.provider_pid, created.consumer_pid) == ("urn:uuid:p1", created.id)
    assert created.asset_id == "barometer"
    assert (created.counterparty_id, created.counterparty_address) == (PROVIDER, PROVIDER_DSP)
    assert created.offered_by == "provider"
    assert created.offer is not None
    assert created.offer["target"] == "barometer~2026-05-04"
    assert (created.intent, created.pending) == (None, False)
    again = consumer.service.receive_initial_offer(requester(PROVIDER), message, body)
    assert again == created
    assert len(consumer.history(created.id)) == 1


# Lost races and unknown ids --------------------------------------------------------------------


def test_a_lost_save_race_is_retried_and_applied_once(
    provider: Node, offer: OfferRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    real_save = NegotiationRepository.save_recording  # an inbound message's save
    losses = {"left": 2}

    def losing_save(
        self: NegotiationRepository,
        record: NegotiationRecord,
        expected_version: int,
        **message: Any,
    ) -> NegotiationRecord:
        if losses["left"] > 0:
            losses["left"] -= 1
            # Someone else saved meanwhile: our version is no longer the stored one.
            raise StaleRecord("contract negotiation", record.id, expected_version=expected_version)
        return real_save(self, record, expected_version, **message)

    monkeypatch.setattr(NegotiationRepository, "save_recording", losing_save)
    saved = _send(provider, created, termination(created.provider_pid, "urn:uuid:c1", "stop"))
    assert losses["left"] == 0
    assert saved.state == "TERMINATED"
    assert saved.version == created.version + 1
    assert len(provider.history(created.id)) == 2


def test_a_negotiation_that_keeps_changing_is_a_conflict(
    provider: Node, offer: OfferRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    attempts: list[int] = []

    def always_stale(
        self: NegotiationRepository,
        record: NegotiationRecord,
        expected_version: int,
        **message: Any,
    ) -> NegotiationRecord:
        attempts.append(expected_version)
        raise StaleRecord("contract negotiation", record.id, expected_version=expected_version)

    monkeypatch.setattr(NegotiationRepository, "save_recording", always_stale)
    with pytest.raises(Conflict):
        _send(provider, created, termination(created.provider_pid, "urn:uuid:c1"))
    assert len(attempts) == SAVE_ATTEMPTS
    monkeypatch.undo()
    assert provider.get(created.id) == created
    assert len(provider.history(created.id)) == 1


def test_get_of_an_unknown_negotiation_is_not_found(provider: Node) -> None:
    with pytest.raises(NotFound):
        provider.service.get("urn:uuid:nothing")
    assert provider.service.participant_id == PROVIDER


def test_verification_of_our_acknowledged_agreement_is_finalized(
    provider: Node, offer: OfferRef
) -> None:
    # The dispatcher recorded the acknowledgement of our AGREE first (the usual order).
    created = _initial(provider, offer)
    assert created.provider_pid is not None
    agreed = provider.save(replace(settled(created), state="AGREED"))
    verified = _send(provider, agreed, verification(created.provider_pid, "urn:uuid:c1"))
    assert (verified.state, verified.intent) == ("VERIFIED", "FINALIZE")

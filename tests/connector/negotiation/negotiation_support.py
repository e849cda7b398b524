"""Builders for the negotiation unit tests: one node's negotiation services wired as
``connector.app`` wires them (real Terms, Decisions, NegotiationService, AdministratorActions, a
real Evaluator, PolicyAccess and CatalogueService) around a fixed clock, a provider's catalogue
seeded with one asset, its policies and contract definition, and the DSP messages a peer sends.

Participants are those of the test dataspace (``dataspace_support``): B provides, A consumes, C
is a third participant. Peer addresses are ``https://<name>.test``; they are on the security
settings' allow-list, so no name is ever resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dataspace_support import NODE_A, NODE_B, NODE_C

from catalog.contexts import dsp_processor
from catalog.jsonld import JsonLdProcessor
from connector.catalogue.access import PolicyAccess
from connector.catalogue.builder import Publication
from connector.catalogue.offers import OfferRef
from connector.catalogue.service import CatalogueService
from connector.dsp.messages import Message as DspMessage
from connector.negotiation.actions import AdministratorActions
from connector.negotiation.decisions import Decisions, Requester
from connector.negotiation.messages import Inbound, read_inbound
from connector.negotiation.service import NegotiationService
from connector.negotiation.terms import Terms
from connector.settings import SecuritySettings, load_settings
from connector.store.database import Database
from connector.store.query import QuerySpec
from connector.store.records import (
    AgreementRecord,
    AssetRecord,
    ContractDefinitionRecord,
    Mode,
    NegotiationMessageRecord,
    NegotiationRecord,
    PolicyDefinitionRecord,
)
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.assets import AssetRepository
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.negotiations import NegotiationRepository
from connector.store.repositories.policies import PolicyDefinitionRepository
from policies import (
    ETDS,
    ODRL,
    USE,
    Constraint,
    Evaluator,
    Literal,
    Permission,
    Policy,
    PolicyKind,
    to_dsp,
)

PROVIDER = NODE_B
CONSUMER = NODE_A
THIRD = NODE_C
PROVIDER_DSP = "https://provider.test/protocol/2025-1"
CONSUMER_DSP = "https://consumer.test/protocol/2025-1"
DSP_CONTEXT_URL = "https://w3id.org/dspace/2025/1/context.jsonld"
EDC = "https://w3id.org/edc/v0.0.1/ns/"
T0 = datetime(2026, 5, 4, 8, 30, 15, tzinfo=UTC)
SECURITY = SecuritySettings(
    callback_allow_hosts=["provider.test", "consumer.test"], allow_http_callbacks=False
)
OFFICIAL_STATISTICS = "https://w3id.org/dpv#ProvideOfficialStatistics"

OPEN = Policy(kind=PolicyKind.SET, permissions=(Permission(action=USE),))
"""Anyone may use."""

RESEARCH_ONLY = Policy(
    kind=PolicyKind.SET,
    permissions=(
        Permission(
            action=USE,
            constraints=(
                Constraint(ETDS + "organisationType", ODRL + "eq", (Literal("research"),)),
            ),
        ),
    ),
)
"""Only research organisations may use (the contract policy the tests negotiate)."""


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def claims(participant: str = CONSUMER, org_type: str = "research") -> dict[str, Any]:
    """Verified claims as the authority issues them."""
    return {
        "sub": participant,
        "client_id": participant,
        "membership": "active",
        "org_type": org_type,
        "country": "FR",
    }


def requester(participant: str = CONSUMER, org_type: str = "research") -> Requester:
    return Requester(participant, claims(participant, org_type))


# The provider's catalogue ---------------------------------------------------------------------


def seed_offer(
    database: Database,
    *,
    asset_id: str = "visits",
    definition_id: str = "cd-visits",
    contract: Policy = RESEARCH_ONLY,
    mode: Mode = "auto",
    access: Policy | None = None,
) -> OfferRef:
    """One asset offered under ``contract`` (negotiated in ``mode``) to everyone, or to whom
    the ``access`` policy lets see it; the offer."""
    with database.transaction() as session:
        AssetRepository(session).create(
            AssetRecord(
                id=asset_id,
                properties={EDC + "id": asset_id, EDC + "name": f"Asset {asset_id}"},
                data_address={"type": "LocalFile", "path": f"{asset_id}/", "format": "parquet"},
                created_at=T0,
                updated_at=T0,
            )
        )
        policies = PolicyDefinitionRepository(session)
        if not policies.exists("open"):
            policies.create(
                PolicyDefinitionRecord(id="open", policy=to_dsp(OPEN), created_at=T0, updated_at=T0)
            )
        access_id = "open" if access is None else f"{definition_id}-access"
        if access is not None:
            policies.create(
                PolicyDefinitionRecord(
                    id=access_id, policy=to_dsp(access), created_at=T0, updated_at=T0
                )
            )
        policies.create(
            PolicyDefinitionRecord(
                id=f"{definition_id}-contract",
                policy=to_dsp(contract),
                created_at=T0,
                updated_at=T0,
            )
        )
        ContractDefinitionRepository(session).create(
            ContractDefinitionRecord(
                id=definition_id,
                access_policy_id=access_id,
                contract_policy_id=f"{definition_id}-contract",
                assets_selector=[
                    {"operandLeft": EDC + "id", "operator": "=", "operandRight": asset_id}
                ],
                negotiation_mode=mode,
                created_at=T0,
                updated_at=T0,
            )
        )
    return OfferRef(definition_id, asset_id)


UNREADABLE_POLICY = {"@context": {"@vocab": "https://example.org/"}, "@type": "Whatever"}
"""A stored policy this version of the node cannot read (``PolicyError`` when parsed)."""


def make_unreadable(database: Database, policy_id: str) -> None:
    """Policy definition ``policy_id`` as an older version of the node may have stored it,
    bypassing today's validation: this version cannot read it."""
    with database.transaction() as session:
        policies = PolicyDefinitionRepository(session)
        policies.update(replace(policies.get(policy_id), policy=UNREADABLE_POLICY))


# One node's negotiation services ------------------------------------------------------------


@dataclass
class Node:
    """The negotiation services of one participant, as ``connector.app`` wires them."""

    participant_id: str
    database: Database
    clock: FixedClock
    processor: JsonLdProcessor
    terms: Terms
    decisions: Decisions
    service: NegotiationService
    actions: AdministratorActions
    catalogue: CatalogueService
    wakes: list[datetime] = field(default_factory=list)

    def published(
        self, ref: OfferRef, participant: str = CONSUMER, org_type: str = "research"
    ) -> dict[str, Any]:
        """The offer ``ref`` as ``participant``'s catalogue shows it (compact, no target)."""
        dataset = self.catalogue.dataset(claims(participant, org_type), ref.asset_id)
        return next(dict(offer) for offer in dataset.offers if offer["@id"] == ref.id)

    def decide(
        self, record: NegotiationRecord, sender: Requester, message: Inbound
    ) -> NegotiationRecord:
        """:meth:`Decisions.after`, reading a snapshot of the node's database (a decision writes
        nothing: the service stores the record it returns)."""
        with self.database.read() as connection:
            return self.decisions.after(connection, record, sender, message)

    def get(self, negotiation_id: str) -> NegotiationRecord:
        with self.database.read() as session:
            return NegotiationRepository(session).get(negotiation_id)

    def history(self, negotiation_id: str) -> list[NegotiationMessageRecord]:
        with self.database.read() as session:
            return NegotiationRepository(session).messages(negotiation_id)

    def store(self, record: NegotiationRecord) -> NegotiationRecord:
        """``record`` stored as it is (a negotiation in any state, for a test to start from)."""
        with self.database.transaction() as session:
            return NegotiationRepository(session).create(record)

    def save(self, record: NegotiationRecord) -> NegotiationRecord:
        """``record`` saved over its stored version."""
        with self.database.transaction() as session:
            return NegotiationRepository(session).save(record, record.version)

    def claim(self) -> list[NegotiationRecord]:
        """The due negotiations, claimed as a dispatcher claims them before sending (leased)."""
        with self.database.transaction() as session:
            return NegotiationRepository(session).claim_due(
                self.clock(), 100, "test-dispatcher", lease_seconds=30
            )

    def agreements(self) -> list[AgreementRecord]:
        with self.database.read() as session:
            return AgreementRepository(session).query(QuerySpec(limit=100))


def node(
    database: Database,
    participant_id: str = PROVIDER,
    *,
    clock: FixedClock | None = None,
    public_url: str = "https://provider.test",
) -> Node:
    """``participant_id``'s negotiation services on ``database`` (wired as in connector.app)."""
    clock = clock or FixedClock()
    processor = dsp_processor()
    evaluator = Evaluator()
    access = PolicyAccess(processor, evaluator)
    settings = load_settings(
        node={"participant_id": participant_id, "public_url": public_url, "name": "Test node"}
    )
    catalogue = CatalogueService(
        database,
        access,
        Publication.from_settings(settings, public_url + "/protocol/2025-1"),
        clock=clock,
    )
    terms = Terms(participant_id=participant_id, processor=processor, access=access, clock=clock)
    decisions = Decisions(terms, evaluator, catalogue, clock=clock)
    service = NegotiationService(
        database,
        terms,
        decisions,
        catalogue=catalogue,
        security=SECURITY,
        callback_address=public_url + "/protocol/2025-1",
        clock=clock,
    )
    wakes: list[datetime] = []
    actions = AdministratorActions(
        database,
        terms,
        catalogue,
        security=SECURITY,
        wake=lambda: wakes.append(clock()),
        clock=clock,
    )
    return Node(
        participant_id=participant_id,
        database=database,
        clock=clock,
        processor=processor,
        terms=terms,
        decisions=decisions,
        service=service,
        actions=actions,
        catalogue=catalogue,
        wakes=wakes,
    )


def negotiation(**overrides: Any) -> NegotiationRecord:
    """A provider's negotiation with A in REQUESTED on asset ``visits``: every field
    overridable."""
    fields: dict[str, Any] = {
        "id": "urn:uuid:negotiation-p",
        "role": "provider",
        "state": "REQUESTED",
        "counterparty_id": CONSUMER,
        "counterparty_address": CONSUMER_DSP,
        "protocol": "dataspace-protocol-http:2025-1",
        "asset_id": "visits",
        "provider_pid": "urn:uuid:negotiation-p",
        "consumer_pid": "urn:uuid:negotiation-c",
        "offer": offer_body(),
        "offered_by": "consumer",
        "mode": "auto",
        "created_at": T0,
        "updated_at": T0,
    }
    return NegotiationRecord(**(fields | overrides))


def offer_body(
    policy: Policy = RESEARCH_ONLY, *, uid: str = "urn:uuid:offer-1", target: str = "visits"
) -> dict[str, Any]:
    """An offer as stored and as sent inside a message (compact DSP, no context)."""
    return to_dsp(replace(policy, kind=PolicyKind.OFFER, uid=uid, target=target), context=False)


def agreement_body(
    policy: Policy = RESEARCH_ONLY,
    *,
    uid: str = "urn:uuid:agreement-1",
    target: str = "visits",
    assigner: str = PROVIDER,
    assignee: str = CONSUMER,
    timestamp: str | None = "2026-05-04T08:30:15Z",
) -> dict[str, Any]:
    """An agreement as a provider sends it (compact DSP, no context)."""
    body = to_dsp(
        replace(
            policy,
            kind=PolicyKind.AGREEMENT,
            uid=uid,
            target=target,
            assigner=assigner,
            assignee=assignee,
        ),
        context=False,
    )
    if timestamp is not None:
        body["timestamp"] = timestamp
    return body


# DSP messages a peer sends ------------------------------------------------------------------


def dsp(dsp_type: str, **fields: Any) -> dict[str, Any]:
    """A compact DSP 2025-1 message (fields with ``None`` left out)."""
    return {
        "@context": [DSP_CONTEXT_URL],
        "@type": dsp_type,
        **{name: value for name, value in fields.items() if value is not None},
    }


def dsp_message(
    document: Mapping[str, Any], processor: JsonLdProcessor | None = None
) -> DspMessage:
    """``document`` read as the DSP endpoints read it (expanded, one node of its ``@type``)."""
    expanded = (processor or dsp_processor()).expand(dict(document))
    assert len(expanded) == 1, expanded
    return DspMessage(type=str(document["@type"]), node=expanded[0], document=dict(document))


def inbound(document: dict[str, Any]) -> tuple[Inbound, dict[str, Any]]:
    """What ``document`` says, as :func:`read_inbound` reads it, and the body kept."""
    return read_inbound(dsp_message(document)), document


def request(
    consumer_pid: str,
    offer: dict[str, Any],
    *,
    provider_pid: str | None = None,
    callback: str | None = CONSUMER_DSP,
    purpose: str | None = None,
) -> dict[str, Any]:
    """A ContractRequestMessage: initial (``callback``) or a counter-request (``provider_pid``)."""
    body = dsp(
        "ContractRequestMessage",
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        offer=offer,
        callbackAddress=None if provider_pid is not None else callback,
    )
    if purpose is not None:
        body["https://w3id.org/etds/policy#declaredPurpose"] = {"@id": purpose}
    return body


def offer_message(
    provider_pid: str,
    offer: dict[str, Any],
    *,
    consumer_pid: str | None = None,
    callback: str | None = PROVIDER_DSP,
) -> dict[str, Any]:
    """A ContractOfferMessage: initial (``callback``) or a counter-offer (``consumer_pid``)."""
    return dsp(
        "ContractOfferMessage",
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        offer=offer,
        callbackAddress=None if consumer_pid is not None else callback,
    )


def agreement_message(
    provider_pid: str, consumer_pid: str, agreement: dict[str, Any]
) -> dict[str, Any]:
    return dsp(
        "ContractAgreementMessage",
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        agreement=agreement,
    )


def verification(provider_pid: str, consumer_pid: str) -> dict[str, Any]:
    return dsp(
        "ContractAgreementVerificationMessage", providerPid=provider_pid, consumerPid=consumer_pid
    )


def event(provider_pid: str, consumer_pid: str, event_type: str) -> dict[str, Any]:
    return dsp(
        "ContractNegotiationEventMessage",
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        eventType=event_type,
    )


def termination(
    provider_pid: str, consumer_pid: str, *reasons: str, code: str | None = None
) -> dict[str, Any]:
    return dsp(
        "ContractNegotiationTerminationMessage",
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        code=code,
        reason=list(reasons) or None,
    )

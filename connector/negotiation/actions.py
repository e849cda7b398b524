"""Administrators' actions on negotiations (through the management API).

A consumer's administrator starts a negotiation with a request
(:meth:`AdministratorActions.start`), a provider's with an offer to a participant it names
(:meth:`AdministratorActions.offer`); either side's administrator decides what to send next
when the node does not decide by itself (:meth:`AdministratorActions.act`: offer, agree,
finalize as provider; accept, counter-request, verify as consumer; terminate as either). An
action is checked against the transition table and only persists intent: the dispatcher sends
it. An action out of turn is a Conflict (409) that names what is allowed now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from connector.catalogue.builder import split_member
from connector.catalogue.offers import OfferRef
from connector.catalogue.service import CatalogueService
from connector.errors import BadRequest, Conflict, NotFound
from connector.http.outbound import check_outbound_form
from connector.negotiation.intent import SendPlace, intend, settled, storable_detail
from connector.negotiation.states import (
    TERMINAL,
    InvalidTransition,
    Message,
    Role,
    State,
    advance,
    allowed,
)
from connector.negotiation.terms import (
    PROTOCOL,
    Terms,
    dataset_id,
    dataset_of,
    new_pid,
    their_pid,
)
from connector.settings import SecuritySettings
from connector.store.database import Database
from connector.store.errors import NotFound as StoreNotFound
from connector.store.errors import StaleRecord
from connector.store.records import NegotiationRecord
from connector.store.repositories.negotiations import NegotiationRepository
from policies import Policy, PolicyKind

SAVE_ATTEMPTS = 5


class AdministratorActions:
    """What administrators of one participant may do to its negotiations."""

    def __init__(
        self,
        database: Database,
        terms: Terms,
        catalogue: CatalogueService,
        *,
        security: SecuritySettings,
        wake: Callable[[], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._database = database
        self._terms = terms
        self._catalogue = catalogue
        self._security = security
        self._wake = wake
        self._clock = clock

    def start(
        self,
        *,
        provider_id: str,
        address: str,
        offer: Policy,
        auto: bool,
        purpose: str | None,
        place: SendPlace | None = None,
    ) -> NegotiationRecord:
        """A new negotiation as consumer: the request waits to go out (INITIAL, REQUESTING),
        leased to ``place``'s dispatcher if given (:class:`SendPlace`), else the dispatcher
        is woken to claim it."""
        base = address.strip().rstrip("/")
        # The name: by the management endpoint, off the loop (check_outbound_url_async).
        check_outbound_form(base + "/negotiations/request", self._security)
        if not offer.uid:
            raise BadRequest("the offer needs its @id (as the provider's catalogue shows it)")
        if not offer.target:
            raise BadRequest("the offer needs a target (the dataset's id)")
        now = self._clock()
        asset_id, _ = split_member(offer.target)
        negotiation_id = new_pid()
        record = NegotiationRecord(
            id=negotiation_id,
            role="consumer",
            state=State.INITIAL,
            counterparty_id=provider_id,
            counterparty_address=base,
            protocol=PROTOCOL,
            asset_id=asset_id,
            consumer_pid=negotiation_id,
            # An offer in a ContractRequestMessage is an odrl:Offer (DSP schema), whatever
            # the administrator's copy said (the EDC management form often writes odrl:Set).
            offer=self._terms.compact(
                replace(offer, kind=PolicyKind.OFFER, assigner=None, assignee=None)
            ),
            offered_by="provider",
            mode="auto" if auto else "manual",
            purpose=purpose,
            created_at=now,
            updated_at=now,
        )
        record = intend(record, Message.REQUEST, now)
        lease = place.lease_for(record, now) if place is not None else None
        # One INSERT (what it would break is explained by reads after it): on PostgreSQL it
        # commits by itself, one round trip instead of three.
        with self._database.statements() as session:
            created = NegotiationRepository(session).create(record, lease=lease)
        if lease is not None and place is not None:
            place.taken(created, now)
        else:
            self._wake()
        return created

    def offer(
        self,
        *,
        consumer_id: str,
        address: str,
        definition_id: str,
        dataset: str,
    ) -> NegotiationRecord:
        """A new negotiation as provider: contract definition ``definition_id``'s offer for
        ``dataset`` (an asset, or a member of a series) waits to go out to participant
        ``consumer_id`` at ``address`` (INITIAL, OFFERING). The negotiation then follows the
        definition's ``negotiationMode``: in ``auto``, the consumer's acceptance is agreed when
        the contract policy allows it for the consumer's verified claims."""
        base = address.strip().rstrip("/")
        # The name: by the management endpoint, off the loop (check_outbound_url_async).
        check_outbound_form(base + "/negotiations/offers", self._security)
        asset_id, member = split_member(dataset)
        ref = OfferRef(definition_id, asset_id, member)
        target = dataset_of(ref)
        negotiation_id = new_pid()
        with self._database.transaction() as session:
            offered = self._catalogue.offer_of_administrator(session, ref)
            if isinstance(offered, str):
                raise BadRequest(
                    f"contract definition {definition_id!r} makes no offer for {dataset!r}: "
                    + offered
                )
            now = self._clock()
            record = NegotiationRecord(
                id=negotiation_id,
                role="provider",
                state=State.INITIAL,
                counterparty_id=consumer_id,
                counterparty_address=base,
                protocol=PROTOCOL,
                asset_id=asset_id,
                provider_pid=negotiation_id,
                contract_definition_id=offered.definition.id,
                offer={**offered.offer, "target": target},
                offered_by="provider",
                mode=offered.definition.negotiation_mode,
                created_at=now,
                updated_at=now,
            )
            created = NegotiationRepository(session).create(intend(record, Message.OFFER, now))
        self._wake()
        return created

    def act(
        self,
        negotiation_id: str,
        kind: Message,
        *,
        offer: Policy | None = None,
        reason: str | None = None,
    ) -> NegotiationRecord:
        """An administrator's decision on negotiation ``negotiation_id``: send ``kind``."""
        for _ in range(SAVE_ATTEMPTS):
            try:
                with self._database.transaction() as session:
                    saved = self._act(session, negotiation_id, kind, offer, reason)
                self._wake()
                return saved
            except StaleRecord:
                continue  # a message arrived meanwhile: decide on the new state
        raise Conflict("the negotiation is changing; try again")

    def _act(
        self,
        session: Connection,
        negotiation_id: str,
        kind: Message,
        offer: Policy | None,
        reason: str | None,
    ) -> NegotiationRecord:
        repository = NegotiationRepository(session)
        try:
            record = repository.get(negotiation_id)
        except StoreNotFound:
            raise NotFound(f"no contract negotiation {negotiation_id!r}") from None
        state = State(record.state)
        if state in TERMINAL:
            raise Conflict(f"the negotiation is {state.value}: nothing more can be sent")
        if record.pending and kind != Message.TERMINATE:
            raise Conflict(
                f"a {Message(record.intent or kind).value} message is still waiting to go out"
            )
        role: Role = record.role
        try:
            advance(role, state, kind)
        except InvalidTransition as exc:
            raise Conflict(f"{exc}; allowed now: {_names(allowed(role, state))}") from None
        now = self._clock()
        # A termination before the peer knows of the negotiation stops it here, unless our
        # first message may have arrived: then it waits for that message's answer (the
        # peer's pid) and goes out (the dispatcher stops it here if no answer ever comes).
        if (
            kind == Message.TERMINATE
            and their_pid(record) is None  # the peer has not acknowledged our first message
            and not repository.may_have_sent(record)
        ):
            stopped = replace(
                settled(record),
                state=State.TERMINATED,
                error_detail=storable_detail(
                    reason or f"terminated before the {_first_name(role)} was sent"
                ),
                updated_at=now,
            )
            return repository.save(stopped, record.version)
        updated = record
        if kind in (Message.OFFER, Message.REQUEST):
            updated = self._with_new_offer(updated, offer)
        if kind == Message.AGREE:
            updated = replace(
                updated, agreement=self._terms.agreement(updated, self._terms.offer(updated))
            )
        if kind == Message.ACCEPT and record.offered_by != "provider":
            raise Conflict("the last offer is our own: nothing to accept")
        if kind == Message.VERIFY and record.agreement is None:
            raise Conflict("there is no agreement to verify")
        updated = intend(replace(updated, updated_at=now), kind, now, reason)
        return repository.save(updated, record.version)

    def _with_new_offer(self, record: NegotiationRecord, offer: Policy | None) -> NegotiationRecord:
        """``record`` whose last offer is ``offer`` (ours: a counter-offer or -request)."""
        if offer is None:
            raise BadRequest("the body must be an ODRL offer")
        target = dataset_id(record)
        policy = replace(
            offer,
            kind=PolicyKind.OFFER,
            uid=offer.uid or new_pid(),
            target=target,
            assigner=None,
            assignee=None,
        )
        return replace(
            record, offer={**self._terms.compact(policy), "target": target}, offered_by=record.role
        )


def _first_name(role: Role) -> str:
    """What our first message is called: a consumer's request, a provider's offer."""
    return "request" if role == "consumer" else "offer"


def _names(messages: frozenset[Message]) -> str:
    return ", ".join(sorted(m.value.lower() for m in messages)) or "nothing"

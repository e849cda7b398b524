"""Contract negotiations, both roles: the DSP messages a node receives.

Every change happens in one database transaction that reads the negotiation, checks the move
against :mod:`connector.negotiation.states`, writes the new state (and, when the node has
something to say, the message to send as intent — :mod:`.intent`) and appends the message to the
negotiation's history. Nothing is sent from here: the dispatcher sends persisted intent after the
answer has left (:mod:`connector.negotiation.dispatcher`). What a message changes and how the
node answers by itself is :mod:`.decisions`; administrators' actions are :mod:`.actions`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from connector.catalogue.builder import split_member
from connector.catalogue.offers import OfferRef
from connector.catalogue.service import CatalogueService
from connector.errors import BadRequest, Conflict, NotFound
from connector.http.outbound import check_outbound_form
from connector.negotiation.agreements import check_agreement_id, store_agreement
from connector.negotiation.decisions import Decisions, Requester
from connector.negotiation.errors import NegotiationProtocolError, UnknownNegotiation
from connector.negotiation.intent import SendPlace, drop_stale_intent, settled
from connector.negotiation.messages import Inbound, message_body
from connector.negotiation.states import (
    DSP_TYPES,
    InvalidTransition,
    Message,
    Role,
    State,
    advance,
    other,
)
from connector.negotiation.terms import (
    PROTOCOL,
    Terms,
    dataset_of,
    new_pid,
    required,
    same_terms,
    their_pid,
)
from connector.settings import SecuritySettings
from connector.store.database import Database
from connector.store.errors import NotFound as StoreNotFound
from connector.store.errors import StaleRecord
from connector.store.records import NegotiationMessageRecord, NegotiationRecord
from connector.store.repositories.negotiations import NegotiationRepository
from policies import Policy

log = logging.getLogger("etds.negotiation")

SAVE_ATTEMPTS = 5

# What a request adds to the transaction that applies it (the use of its DPoP proof).
InTransaction = Callable[[Connection], None] | None
ROLES: tuple[Role, ...] = ("provider", "consumer")


class NegotiationService:
    """The negotiations of one node, as the DSP endpoints see them."""

    def __init__(
        self,
        database: Database,
        terms: Terms,
        decisions: Decisions,
        *,
        catalogue: CatalogueService,
        security: SecuritySettings,
        callback_address: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._database = database
        self._callback = callback_address
        self._terms = terms
        self._decisions = decisions
        self._catalogue = catalogue
        self._security = security
        self._clock = clock

    @property
    def participant_id(self) -> str:
        return self._terms.participant_id

    # Reading ---------------------------------------------------------------------------------

    def get(self, negotiation_id: str) -> NegotiationRecord:
        with self._database.read() as session:
            try:
                return NegotiationRepository(session).get(negotiation_id)
            except StoreNotFound:
                raise NotFound(f"no contract negotiation {negotiation_id!r}") from None

    def for_peer(
        self, pid: str, requester: Requester, roles: tuple[Role, ...] = ROLES
    ) -> NegotiationRecord:
        """Our negotiation (of one of ``roles``) with own pid ``pid``, if it is ``requester``'s."""
        with self._database.read() as session:
            found = NegotiationRepository(session).find_own(pid, requester.id, roles)
        if found is None:
            raise UnknownNegotiation(f"no contract negotiation {pid!r}")
        return found

    # Provider: the initial request -----------------------------------------------------------

    def receive_initial_request(
        self,
        requester: Requester,
        message: Inbound,
        body: dict[str, Any],
        *,
        in_transaction: InTransaction = None,
        place: SendPlace | None = None,
    ) -> NegotiationRecord:
        """A consumer's first ContractRequestMessage: a new negotiation in REQUESTED (or the
        existing one when the consumer repeats its request).

        One transaction: ``in_transaction`` (the request's own bookkeeping, e.g. the use of its
        DPoP proof), the repeat check, the offer as the catalogue shows it to the consumer, the
        decision (in ``auto`` mode) and the new negotiation, leased to ``place``'s dispatcher
        when the decision leaves a message due (:class:`SendPlace`).
        """
        consumer_pid = message.consumer_pid or ""
        offer = required(message.offer, "offer")
        with self._database.transaction() as connection:
            if in_transaction is not None:
                in_transaction(connection)
            repository = NegotiationRepository(connection)
            existing = repository.find_by_consumer_pid_for_counterparty(
                "provider", requester.id, consumer_pid
            )
            if existing is not None:  # the same request again
                return existing
            record = self._requested(connection, requester, message, offer)
            now = self._clock()
            lease = place.lease_for(record, now) if place is not None else None
            created = repository.create(record, lease=lease)
            if lease is not None and place is not None:
                place.taken(created, now)
            repository.append_message(created.id, "in", message.dsp_type, body, record.created_at)
        log.info(
            "contract negotiation requested",
            extra={"negotiation": created.id, "consumer": requester.id, "offer": offer.uid},
        )
        return created

    def _requested(
        self, connection: Connection, requester: Requester, message: Inbound, offer: Policy
    ) -> NegotiationRecord:
        """The negotiation a new request starts (decided when the definition says ``auto``);
        :class:`BadRequest` when the request cannot start one."""
        callback = (message.callback_address or "").strip()
        check_outbound_form(callback, self._security)  # its name: by the endpoint, off the loop
        try:
            ref = OfferRef.parse(offer.uid or "")
        except ValueError:
            raise BadRequest(f"unknown offer {offer.uid!r}: not an offer of this node") from None
        dataset_id = dataset_of(ref)
        if offer.target is not None and offer.target != dataset_id:
            raise BadRequest(f"offer {offer.uid!r} is for {dataset_id!r}, not {offer.target!r}")
        offered = self._catalogue.offer(connection, requester.claims, ref)
        if offered is None:
            raise BadRequest(f"unknown offer {offer.uid!r}: no such offer for you")
        ours = self._terms.policy(offered.contract_policy)
        if not same_terms(offer, ours):
            raise BadRequest(
                f"the terms of offer {offer.uid!r} are not the terms this node offers; "
                "send the offer as the catalogue shows it"
            )
        definition = offered.definition
        now = self._clock()
        record = NegotiationRecord(
            id=new_pid(),
            role="provider",
            state=State.REQUESTED,
            counterparty_id=requester.id,
            counterparty_address=callback.rstrip("/"),
            protocol=PROTOCOL,
            asset_id=ref.asset_id,
            provider_pid=new_pid(),
            consumer_pid=message.consumer_pid or "",
            contract_definition_id=definition.id,
            offer={**offered.offer, "target": dataset_id},
            offered_by="consumer",
            mode=definition.negotiation_mode,
            purpose=message.purpose,
            created_at=now,
            updated_at=now,
        )
        if record.mode == "auto":
            record = self._decisions.provider_decides(record, requester, ours, ours)
        return record

    # Consumer: an offer out of the blue ------------------------------------------------------

    def receive_initial_offer(
        self,
        requester: Requester,
        message: Inbound,
        body: dict[str, Any],
        *,
        in_transaction: InTransaction = None,
    ) -> NegotiationRecord:
        """A provider's first ContractOfferMessage: a new negotiation in OFFERED that waits for
        an administrator (an unsolicited offer is never accepted automatically).
        ``in_transaction`` runs in the transaction that stores it (not when the offer is a
        repeat, which changes nothing)."""
        provider_pid = message.provider_pid or ""
        offer = required(message.offer, "offer")
        if not offer.target:  # read_inbound refuses such an offer already
            raise BadRequest("ContractOfferMessage: the offer needs a target")
        callback = (message.callback_address or "").strip()
        check_outbound_form(callback, self._security)  # its name: by the endpoint, off the loop
        with self._database.read() as session:
            existing = NegotiationRepository(session).find_by_their_pid(
                "consumer", requester.id, provider_pid
            )
        if existing is not None:
            return existing
        now = self._clock()
        asset_id, _member = split_member(offer.target)
        consumer_pid = new_pid()
        record = NegotiationRecord(
            id=consumer_pid,
            role="consumer",
            state=State.OFFERED,
            counterparty_id=requester.id,
            counterparty_address=callback.rstrip("/"),
            protocol=PROTOCOL,
            asset_id=asset_id,
            provider_pid=provider_pid,
            consumer_pid=consumer_pid,
            offer=self._terms.compact(offer),
            offered_by="provider",
            mode="manual",
            created_at=now,
            updated_at=now,
        )
        with self._database.transaction() as session:
            if in_transaction is not None:
                in_transaction(session)
            repository = NegotiationRepository(session)
            again = repository.find_by_their_pid("consumer", requester.id, provider_pid)
            if again is not None:
                return again
            created = repository.create(record)
            repository.append_message(created.id, "in", message.dsp_type, body, now)
        return created

    # Inbound messages on an existing negotiation ---------------------------------------------

    def receive(
        self,
        roles: tuple[Role, ...],
        *,
        requester: Requester,
        path_pid: str,
        message: Inbound,
        body: dict[str, Any],
        in_transaction: InTransaction = None,
        place: SendPlace | None = None,
    ) -> NegotiationRecord:
        """Apply ``message`` (sent by the counterparty) to our negotiation ``path_pid``, which
        must be one of ``roles`` (the endpoint's) and ``requester``'s; ``in_transaction`` runs
        first in each attempt of the transaction that applies it. A message it leaves due at
        once is leased to ``place``'s dispatcher (:class:`SendPlace`)."""
        if path_pid not in (message.provider_pid, message.consumer_pid):
            raise BadRequest(
                f"the process id in the path ({path_pid!r}) and the pids of the message differ"
            )
        for _ in range(SAVE_ATTEMPTS):
            try:
                with self._database.transaction() as session:
                    if place is not None:
                        place.reset()
                    if in_transaction is not None:
                        in_transaction(session)
                    saved, applied = self._receive(
                        session, roles, requester=requester, path_pid=path_pid,
                        message=message, body=body, place=place,
                    )  # fmt: skip
            except StaleRecord:
                continue  # a dispatcher or another request changed it meanwhile: read again
            if applied:  # logged once committed, outside the write lock
                log.info(
                    "contract negotiation message received",
                    extra={
                        "negotiation": saved.id,
                        "dsp_message": message.dsp_type,
                        "state": saved.state,
                    },
                )
            return saved
        raise Conflict("the negotiation is changing; send the message again")

    def _receive(
        self,
        session: Connection,
        roles: tuple[Role, ...],
        *,
        requester: Requester,
        path_pid: str,
        message: Inbound,
        body: dict[str, Any],
        place: SendPlace | None = None,
    ) -> tuple[NegotiationRecord, bool]:
        """The negotiation after ``message``, and whether it changed (False: a repeat)."""
        repository = NegotiationRepository(session)
        record = repository.find_own(path_pid, requester.id, ROLES)
        if record is None:
            raise UnknownNegotiation(f"no contract negotiation {path_pid!r}")
        role: Role = record.role
        if role not in roles:  # a known negotiation: the message is wrong, not the pid
            raise NegotiationProtocolError(
                f"{message.dsp_type} is not sent to the {role} of a negotiation"
            )
        own_pid, peer_pid = (
            (message.provider_pid, message.consumer_pid)
            if role == "provider"
            else (message.consumer_pid, message.provider_pid)
        )
        if own_pid != path_pid:
            raise BadRequest(
                f"the process id in the path ({path_pid!r}) and in the message ({own_pid!r}) differ"
            )
        now = self._clock()
        if _repeated(repository.last_message(record.id), message, body):
            return record, False  # the same message again (the peer retried): already applied
        sender = other(role)
        try:
            if record.state == State.INITIAL:
                # INITIAL is local: the peer has not acknowledged our first message, so what
                # it sends can only answer that message (below). The table's moves from
                # INITIAL are a first message's own, never the peer's reply.
                raise InvalidTransition(sender, State.INITIAL, message.kind)
            next_state = advance(sender, State(record.state), message.kind)
        except InvalidTransition as exc:
            # The peer may answer our message before our dispatcher has recorded its
            # acknowledgement: a message that is only valid after ours proves ours arrived.
            acknowledged = _acknowledged_by(record, sender, message.kind)
            if acknowledged is None or not repository.may_have_sent(record):
                raise NegotiationProtocolError(str(exc)) from None
            state, next_state = acknowledged
            # Ours arrived (the dispatcher may have died before recording it): the history
            # gets it here, as it was sent, before the peer's answer.
            ours = Message(record.intent or "")
            repository.append_message(
                record.id, "out", DSP_TYPES[ours], message_body(record, ours, self._callback), now
            )
            record = replace(
                settled(record),
                state=state,
                attempts=0,
                provider_pid=record.provider_pid or (peer_pid if role == "consumer" else None),
                consumer_pid=record.consumer_pid or (peer_pid if role == "provider" else None),
            )
        stored_their = their_pid(record)
        if stored_their is not None and peer_pid != stored_their:
            raise BadRequest(
                f"this negotiation's {'consumerPid' if role == 'provider' else 'providerPid'} "
                f"is not {peer_pid!r}"
            )
        updated = drop_stale_intent(replace(record, state=next_state, updated_at=now))
        updated = self._decisions.after(session, updated, requester, message)
        if message.kind == Message.AGREE and updated.agreement is not None:
            check_agreement_id(session, str(updated.agreement["@id"]), updated.id)
        held: tuple[str, ...] = ()
        if updated.state == State.FINALIZED and record.state != State.FINALIZED:
            updated, stored = store_agreement(
                session, updated, participant_id=self.participant_id, now=now
            )
            held = ("agreement_id",) if stored else ()
        at = self._clock()  # not before the decision taken above
        lease = place.lease_for(updated, at) if place is not None else None
        saved = repository.save_recording(
            updated,
            record.version,
            lease=lease,
            held=held,
            direction="in",
            message_type=message.dsp_type,
            body=body,
            at=now,
        )
        if lease is not None and place is not None:
            place.taken(saved, at)
        return saved, True


def _repeated(last: NegotiationMessageRecord | None, message: Inbound, body: Any) -> bool:
    """Whether ``message`` is the last message recorded (``last``), received again with nothing
    since.

    A counter-request is the exception: the same counter-request twice is refused as a
    protocol error (the TCK's CN:03-04 expects a 4xx for a second counter-request).
    """
    if last is None or last.direction != "in" or message.kind == Message.REQUEST:
        return False
    return last.message_type == message.dsp_type and last.body == body


def _acknowledged_by(
    record: NegotiationRecord, sender: Role, kind: Message
) -> tuple[State, State] | None:
    """(state after our pending message, state after the peer's) when the peer's message is
    valid only once ours was received; else None."""
    if not record.pending or record.intent is None:
        return None
    try:
        ours = advance(record.role, State(record.state), Message(record.intent))
        return ours, advance(sender, ours, kind)
    except InvalidTransition:
        return None

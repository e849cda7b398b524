"""Contract negotiations, both roles: inbound DSP messages, administrators' actions, decisions.

Every change happens in one database transaction that reads the negotiation, checks the move
against :mod:`connector.negotiation.states`, writes the new state (and, when the node has
something to say, the message to send as ``intent`` with ``pending``) and appends the message to
the negotiation's history. Nothing is sent from here: the dispatcher sends persisted intent after
the answer has left (:mod:`connector.negotiation.dispatcher`).

Decisions in ``auto`` mode:

* provider — a request (or the consumer's acceptance of our offer) is agreed when the contract
  policy allows it for the consumer's verified claims and declared purpose, in the
  ``negotiation`` scope; otherwise the negotiation is terminated with the decision's reasons.
  A counter-request is agreed only when its terms are the offer's terms. A verification is
  finalized.
* consumer (``autoAccept``) — an offer with the terms requested is accepted, another is
  terminated; a valid agreement is verified.

In ``manual`` mode nothing is sent until an administrator acts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from catalog.jsonld import JsonLdProcessor
from connector.catalogue.access import PolicyAccess
from connector.catalogue.builder import MEMBER_SEPARATOR, split_member
from connector.catalogue.offers import OfferRef
from connector.catalogue.service import CatalogueService
from connector.errors import BadRequest, Conflict, ConnectorError, NotFound
from connector.http.outbound import check_outbound_url
from connector.negotiation.messages import Inbound
from connector.negotiation.states import (
    PENDING_NAMES,
    TERMINAL,
    InvalidTransition,
    Message,
    Role,
    State,
    advance,
    allowed,
    other,
)
from connector.settings import SecuritySettings
from connector.store.database import Database
from connector.store.errors import NotFound as StoreNotFound
from connector.store.errors import StaleRecord
from connector.store.records import AgreementRecord, NegotiationRecord
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.negotiations import NegotiationRepository
from connector.store.repositories.policies import PolicyDefinitionRepository
from policies import (
    EvaluationContext,
    Evaluator,
    Policy,
    PolicyError,
    PolicyKind,
    Scope,
    dsp_context,
    parse_policy,
    to_dsp,
)

log = logging.getLogger("etds.negotiation")

PROTOCOL = "dataspace-protocol-http:2025-1"
SAVE_ATTEMPTS = 5


class NegotiationProtocolError(BadRequest):
    """A message that is not valid in the negotiation's state (DSP: 400, state unchanged)."""

    slug = "invalid-transition"


class UnknownNegotiation(NotFound):
    """No negotiation of the caller has this pid (also when it is someone else's)."""


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def same_terms(a: Policy, b: Policy) -> bool:
    """Whether two policies say the same thing (ids, target and parties aside)."""

    def terms(policy: Policy) -> Policy:
        return replace(
            policy, kind=PolicyKind.SET, uid=None, target=None, assigner=None, assignee=None
        )

    return terms(a) == terms(b)


def dataset_of(ref: OfferRef) -> str:
    return ref.asset_id if ref.member is None else ref.asset_id + MEMBER_SEPARATOR + ref.member


def display_state(record: NegotiationRecord) -> str:
    """The state as the management API shows it: the "-ING" name while a message waits."""
    if record.intent is not None and record.pending:
        return PENDING_NAMES[Message(record.intent)]
    return record.state


@dataclass(frozen=True)
class Requester:
    """Who sent a message: the verified participant id and claims of its access token."""

    id: str
    claims: Mapping[str, Any]


class NegotiationService:
    """The negotiations of one node."""

    def __init__(
        self,
        database: Database,
        *,
        participant_id: str,
        processor: JsonLdProcessor,
        evaluator: Evaluator,
        access: PolicyAccess,
        catalogue: CatalogueService,
        security: SecuritySettings,
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self.participant_id = participant_id
        self._processor = processor
        self._evaluator = evaluator
        self._access = access
        self._catalogue = catalogue
        self._security = security
        self.wake = wake
        self._clock = clock

    # Reading ---------------------------------------------------------------------------------

    def get(self, negotiation_id: str) -> NegotiationRecord:
        with self._database.read() as session:
            try:
                return NegotiationRepository(session).get(negotiation_id)
            except StoreNotFound:
                raise NotFound(f"no contract negotiation {negotiation_id!r}") from None

    def for_peer(self, role: Role, pid: str, requester: Requester) -> NegotiationRecord:
        """Our negotiation of ``role`` with own pid ``pid``, if it is ``requester``'s."""
        with self._database.read() as session:
            found = NegotiationRepository(session).find_by_pid(role, pid, requester.id)
        if found is None:
            raise UnknownNegotiation(f"no contract negotiation {pid!r}")
        return found

    # Provider: the initial request -----------------------------------------------------------

    def receive_initial_request(
        self, requester: Requester, message: Inbound, body: dict[str, Any]
    ) -> NegotiationRecord:
        """A consumer's first ContractRequestMessage: a new negotiation in REQUESTED (or the
        existing one when the consumer repeats its request)."""
        consumer_pid = message.consumer_pid or ""
        offer = _required(message.offer, "offer")
        with self._database.read() as session:
            existing = NegotiationRepository(session).find_by_consumer_pid_for_counterparty(
                "provider", requester.id, consumer_pid
            )
        if existing is not None:
            return existing
        callback = (message.callback_address or "").strip()
        check_outbound_url(callback, self._security)
        try:
            ref = OfferRef.parse(offer.uid or "")
        except ValueError:
            raise BadRequest(f"unknown offer {offer.uid!r}: not an offer of this node") from None
        dataset_id = dataset_of(ref)
        if offer.target is not None and offer.target != dataset_id:
            raise BadRequest(f"offer {offer.uid!r} is for {dataset_id!r}, not {offer.target!r}")
        try:
            dataset = self._catalogue.dataset(requester.claims, dataset_id)
        except ConnectorError:
            raise BadRequest(f"unknown offer {offer.uid!r}: no such offer for you") from None
        published = next((o for o in dataset.offers if o.get("@id") == offer.uid), None)
        if published is None:
            raise BadRequest(f"unknown offer {offer.uid!r}: no such offer for you")
        try:
            with self._database.read() as session:
                definition = ContractDefinitionRepository(session).get(ref.definition_id)
                contract = PolicyDefinitionRepository(session).get(definition.contract_policy_id)
        except StoreNotFound:  # withdrawn since the catalogue was read
            raise BadRequest(f"offer {offer.uid!r} is no longer offered") from None
        ours = self._access.policy(contract)
        if not same_terms(offer, ours):
            raise BadRequest(
                f"the terms of offer {offer.uid!r} are not the terms this node offers; "
                "send the offer as the catalogue shows it"
            )
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
            consumer_pid=consumer_pid,
            contract_definition_id=definition.id,
            offer={**published, "target": dataset_id},
            offered_by="consumer",
            mode=definition.negotiation_mode,
            purpose=message.purpose,
            created_at=now,
            updated_at=now,
        )
        if record.mode == "auto":
            record = self._provider_decides(record, requester, ours)
        with self._database.transaction() as session:
            repository = NegotiationRepository(session)
            again = repository.find_by_consumer_pid_for_counterparty(
                "provider", requester.id, consumer_pid
            )
            if again is not None:  # the same request, twice at once
                return again
            created = repository.create(record)
            repository.append_message(created.id, "in", message.dsp_type, body, now)
        log.info(
            "contract negotiation requested",
            extra={"negotiation": created.id, "consumer": requester.id, "offer": offer.uid},
        )
        return created

    # Consumer: an offer out of the blue ------------------------------------------------------

    def receive_initial_offer(
        self, requester: Requester, message: Inbound, body: dict[str, Any]
    ) -> NegotiationRecord:
        """A provider's first ContractOfferMessage: a new negotiation in OFFERED that waits for
        an administrator (an unsolicited offer is never accepted automatically)."""
        provider_pid = message.provider_pid or ""
        offer = _required(message.offer, "offer")
        if not offer.target:
            raise BadRequest("ContractOfferMessage: the offer needs a target")
        callback = (message.callback_address or "").strip()
        check_outbound_url(callback, self._security)
        with self._database.read() as session:
            existing = NegotiationRepository(session).find_by_their_pid(
                "consumer", requester.id, provider_pid
            )
        if existing is not None:
            return existing
        now = self._clock()
        asset_id, _member = split_member(offer.target)
        record = NegotiationRecord(
            id=new_pid(),
            role="consumer",
            state=State.OFFERED,
            counterparty_id=requester.id,
            counterparty_address=callback.rstrip("/"),
            protocol=PROTOCOL,
            asset_id=asset_id,
            provider_pid=provider_pid,
            consumer_pid=new_pid(),
            offer=self._compact(offer),
            offered_by="provider",
            mode="manual",
            created_at=now,
            updated_at=now,
        )
        with self._database.transaction() as session:
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
        role: Role,
        *,
        requester: Requester,
        path_pid: str,
        message: Inbound,
        body: dict[str, Any],
    ) -> NegotiationRecord:
        """Apply ``message`` (sent by the counterparty) to our negotiation ``path_pid``."""
        own_pid, their_pid = (
            (message.provider_pid, message.consumer_pid)
            if role == "provider"
            else (message.consumer_pid, message.provider_pid)
        )
        if own_pid != path_pid:
            raise BadRequest(
                f"the process id in the path ({path_pid!r}) and in the message ({own_pid!r}) differ"
            )
        for _ in range(SAVE_ATTEMPTS):
            try:
                with self._database.transaction() as session:
                    return self._receive(
                        session,
                        role,
                        requester=requester,
                        path_pid=path_pid,
                        their_pid=their_pid,
                        message=message,
                        body=body,
                    )
            except StaleRecord:
                continue  # a dispatcher or another request changed it meanwhile: read again
        raise Conflict("the negotiation is changing; send the message again")

    def _receive(
        self,
        session: Session,
        role: Role,
        *,
        requester: Requester,
        path_pid: str,
        their_pid: str | None,
        message: Inbound,
        body: dict[str, Any],
    ) -> NegotiationRecord:
        repository = NegotiationRepository(session)
        record = repository.find_by_pid(role, path_pid, requester.id)
        if record is None:
            raise UnknownNegotiation(f"no contract negotiation {path_pid!r}")
        now = self._clock()
        history = repository.messages(record.id)
        last_in = next((m for m in reversed(history) if m.direction == "in"), None)
        if (
            history
            and history[-1].direction == "in"
            and last_in is not None
            and last_in.message_type == message.dsp_type
            and last_in.body == body
            and message.kind != Message.REQUEST
        ):
            return record  # the same message again (the peer retried): already applied
        sender = other(role)
        state = State(record.state)
        try:
            next_state = advance(sender, state, message.kind)
        except InvalidTransition as exc:
            # The peer may answer our message before our dispatcher has recorded its
            # acknowledgement: a message that is only valid after ours proves ours arrived.
            acknowledged = self._acknowledged_by(record, sender, message.kind)
            if acknowledged is None:
                raise NegotiationProtocolError(str(exc)) from None
            state, next_state = acknowledged
            record = replace(
                record,
                state=state,
                intent=None,
                pending=False,
                attempts=0,
                next_attempt_at=None,
                provider_pid=record.provider_pid or (their_pid if role == "consumer" else None),
            )
        stored_their = record.consumer_pid if role == "provider" else record.provider_pid
        if stored_their is not None and their_pid != stored_their:
            raise BadRequest(
                f"this negotiation's {'consumerPid' if role == 'provider' else 'providerPid'} "
                f"is not {their_pid!r}"
            )
        state = next_state
        updated = replace(record, state=state, updated_at=now)
        if updated.intent is not None and Message(updated.intent) not in allowed(role, state):
            updated = replace(updated, intent=None, pending=False, next_attempt_at=None)
        updated = self._apply(role, updated, requester, message)
        saved = repository.save(updated, record.version)
        repository.append_message(saved.id, "in", message.dsp_type, body, now)
        if saved.state == State.FINALIZED and record.state != State.FINALIZED:
            saved = self.store_agreement(session, saved)
        log.info(
            "contract negotiation message received",
            extra={"negotiation": saved.id, "dsp_message": message.dsp_type, "state": saved.state},
        )
        return saved

    @staticmethod
    def _acknowledged_by(
        record: NegotiationRecord, sender: Role, kind: Message
    ) -> tuple[State, State] | None:
        """(state after our pending message, state after the peer's) when the peer's message
        is valid only once ours was received; else None."""
        if not record.pending or record.intent is None:
            return None
        try:
            ours = advance(record.role, State(record.state), Message(record.intent))
            return ours, advance(sender, ours, kind)
        except InvalidTransition:
            return None

    def _apply(
        self, role: Role, record: NegotiationRecord, requester: Requester, message: Inbound
    ) -> NegotiationRecord:
        """``record`` (already in its new state) after what ``message`` says, with the node's
        automatic answer as intent when the negotiation is in ``auto`` mode."""
        if message.kind == Message.TERMINATE:
            detail = "; ".join(message.reasons) or "terminated by the counterparty"
            return replace(record, error_detail=f"{requester.id}: {detail}"[:2000])
        handlers = {
            ("provider", Message.REQUEST): self._on_counter_request,
            ("provider", Message.ACCEPT): self._on_accepted,
            ("provider", Message.VERIFY): self._on_verified,
            ("consumer", Message.OFFER): self._on_offer,
            ("consumer", Message.AGREE): self._on_agreement,
        }
        handler = handlers.get((role, message.kind))
        return record if handler is None else handler(record, requester, message)

    def _on_counter_request(
        self, record: NegotiationRecord, requester: Requester, message: Inbound
    ) -> NegotiationRecord:
        offer = _required(message.offer, "offer")
        record = replace(
            record,
            offer={**self._compact(offer), "target": self._dataset_id(record)},
            offered_by="consumer",
        )
        if record.mode != "auto":
            return record
        ours = self._contract_policy(record)
        if ours is None or not same_terms(offer, ours):
            return self._intend(
                record,
                Message.TERMINATE,
                "counter-offers are not negotiated automatically; "
                "request the offer as the catalogue shows it",
            )
        return self._provider_decides(record, requester, ours)

    def _on_accepted(
        self, record: NegotiationRecord, requester: Requester, _message: Inbound
    ) -> NegotiationRecord:
        if record.offered_by != "provider":
            raise NegotiationProtocolError("the last offer is the consumer's own")
        if record.mode != "auto":
            return record
        return self._provider_decides(record, requester, self._offer_policy(record))

    def _on_verified(
        self, record: NegotiationRecord, _requester: Requester, _message: Inbound
    ) -> NegotiationRecord:
        return self._intend(record, Message.FINALIZE) if record.mode == "auto" else record

    def _on_offer(
        self, record: NegotiationRecord, _requester: Requester, message: Inbound
    ) -> NegotiationRecord:
        offer = _required(message.offer, "offer")
        dataset_id = self._dataset_id(record)
        if offer.target is not None and offer.target != dataset_id:
            raise BadRequest("the offer is for another dataset than this negotiation's")
        requested = self._offer_policy(record)
        record = replace(
            record,
            offer={**self._compact(offer), "target": dataset_id},
            offered_by="provider",
        )
        if record.mode != "auto":
            return record
        if same_terms(offer, requested):
            return self._intend(record, Message.ACCEPT)
        return self._intend(
            record,
            Message.TERMINATE,
            "the counter-offer differs from the offer requested (automatic acceptance)",
        )

    def _on_agreement(
        self, record: NegotiationRecord, _requester: Requester, message: Inbound
    ) -> NegotiationRecord:
        agreement = _required(message.agreement, "agreement")
        dataset_id = self._dataset_id(record)
        problems = []
        if agreement.target != dataset_id:
            problems.append(f"its target is not {dataset_id!r}")
        if agreement.assigner != record.counterparty_id:
            problems.append(f"its assigner is not the provider {record.counterparty_id!r}")
        if agreement.assignee != self.participant_id:
            problems.append(f"its assignee is not this participant {self.participant_id!r}")
        if not same_terms(agreement, self._offer_policy(record)):
            problems.append("its terms are not those of the last offer")
        if not message.agreement_timestamp:
            problems.append("it has no timestamp")
        if problems:
            raise BadRequest("the agreement cannot be accepted: " + "; ".join(problems))
        document = {**self._compact(agreement), "timestamp": message.agreement_timestamp}
        record = replace(record, agreement=document)
        return self._intend(record, Message.VERIFY) if record.mode == "auto" else record

    # Decisions ---------------------------------------------------------------------------------

    def _provider_decides(
        self, record: NegotiationRecord, requester: Requester, offer: Policy
    ) -> NegotiationRecord:
        """Agree to ``offer`` if the contract policy allows it, else terminate with reasons."""
        ours = self._contract_policy(record)
        if ours is None:
            return self._intend(record, Message.TERMINATE, "the offer is withdrawn")
        context = EvaluationContext(
            scope=Scope.NEGOTIATION,
            claims=requester.claims,
            now=self._clock(),
            purpose=record.purpose,
            target=self._dataset_id(record),
        )
        try:
            decision = self._evaluator.evaluate(ours, context)
        except PolicyError as exc:
            log.warning("contract policy unreadable", extra={"error": str(exc)})
            return self._intend(record, Message.TERMINATE, "the contract policy cannot be read")
        if not decision.allowed:
            return self._intend(record, Message.TERMINATE, decision.summary())
        return self._intend(
            replace(record, agreement=self._agreement(record, offer)), Message.AGREE
        )

    def _agreement(self, record: NegotiationRecord, offer: Policy) -> dict[str, Any]:
        agreement = replace(
            offer,
            kind=PolicyKind.AGREEMENT,
            uid=new_pid(),
            target=self._dataset_id(record),
            assigner=self.participant_id,
            assignee=record.counterparty_id,
        )
        document = to_dsp(agreement, context=False)
        document["timestamp"] = self._clock().isoformat().replace("+00:00", "Z")
        return document

    def _intend(
        self, record: NegotiationRecord, kind: Message, reason: str | None = None
    ) -> NegotiationRecord:
        role: Role = record.role
        advance(role, State(record.state), kind)  # InvalidTransition if we may not send it
        return replace(
            record,
            intent=kind.value,
            pending=True,
            next_attempt_at=self._clock(),
            attempts=0,
            error_detail=reason[:2000] if reason else record.error_detail,
        )

    def _contract_policy(self, record: NegotiationRecord) -> Policy | None:
        """The current contract policy of the negotiation's contract definition (None when the
        definition or its policy is gone: the offer is withdrawn)."""
        if record.contract_definition_id is None:
            return None
        with self._database.read() as session:
            try:
                definition = ContractDefinitionRepository(session).get(
                    record.contract_definition_id
                )
                contract = PolicyDefinitionRepository(session).get(definition.contract_policy_id)
            except StoreNotFound:
                return None
        return self._access.policy(contract)

    def _offer_policy(self, record: NegotiationRecord) -> Policy:
        if record.offer is None:
            raise NegotiationProtocolError("this negotiation has no offer")
        return self._parse(record.offer)

    def _parse(self, document: dict[str, Any]) -> Policy:
        """A stored offer or agreement (DSP compact form, embedded: no context of its own)."""
        return parse_policy(document, processor=self._processor, context=dsp_context())

    def _compact(self, policy: Policy) -> dict[str, Any]:
        return to_dsp(policy, context=False)

    @staticmethod
    def _dataset_id(record: NegotiationRecord) -> str:
        target = (record.offer or {}).get("target")
        return str(target) if target else record.asset_id

    def store_agreement(self, session: Session, record: NegotiationRecord) -> NegotiationRecord:
        """Keep the agreement of a FINALIZED negotiation (immutable from now on)."""
        document = record.agreement
        if document is None:
            return record
        provider, consumer = (
            (self.participant_id, record.counterparty_id)
            if record.role == "provider"
            else (record.counterparty_id, self.participant_id)
        )
        stamp = str(document.get("timestamp") or "")
        try:
            signed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            signed = self._clock()
        if signed.tzinfo is None:
            signed = signed.replace(tzinfo=UTC)
        agreements = AgreementRepository(session)
        agreement_id = str(document["@id"])
        try:
            agreements.get(agreement_id)
        except StoreNotFound:
            agreements.create(
                AgreementRecord(
                    id=agreement_id,
                    asset_id=record.asset_id,
                    provider_id=provider,
                    consumer_id=consumer,
                    policy=document,
                    signed_at=signed,
                    negotiation_id=record.id,
                    purpose=record.purpose,
                    created_at=self._clock(),
                )
            )
        return NegotiationRepository(session).save(
            replace(record, agreement_id=agreement_id), record.version
        )

    # Administrators ------------------------------------------------------------------------------

    def start(
        self,
        *,
        provider_id: str,
        address: str,
        offer: Policy,
        auto: bool,
        purpose: str | None,
    ) -> NegotiationRecord:
        """A new negotiation as consumer: the request waits to go out (INITIAL, REQUESTING)."""
        base = address.strip().rstrip("/")
        check_outbound_url(base + "/negotiations/request", self._security)
        if not offer.uid:
            raise BadRequest("the offer needs its @id (as the provider's catalogue shows it)")
        if not offer.target:
            raise BadRequest("the offer needs a target (the dataset's id)")
        now = self._clock()
        asset_id, _ = split_member(offer.target)
        compact = {**self._compact(replace(offer, assigner=None, assignee=None))}
        record = NegotiationRecord(
            id=new_pid(),
            role="consumer",
            state=State.INITIAL,
            counterparty_id=provider_id,
            counterparty_address=base,
            protocol=PROTOCOL,
            asset_id=asset_id,
            consumer_pid=new_pid(),
            offer=compact,
            offered_by="provider",
            mode="auto" if auto else "manual",
            purpose=purpose,
            intent=Message.REQUEST.value,
            pending=True,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        record = replace(record, consumer_pid=record.id)
        with self._database.transaction() as session:
            created = NegotiationRepository(session).create(record)
        self.wake()
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
                self.wake()
                return saved
            except StaleRecord:
                continue
        raise Conflict("the negotiation is changing; try again")

    def _act(
        self,
        session: Session,
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
        if kind == Message.TERMINATE and (
            (role == "consumer" and record.provider_pid is None)
            or (role == "provider" and record.consumer_pid is None)
        ):
            # the peer never heard of it: terminate locally
            updated = replace(
                record,
                state=State.TERMINATED,
                intent=None,
                pending=False,
                error_detail=reason or "terminated before the request was sent",
                updated_at=self._clock(),
            )
            return repository.save(updated, record.version)
        updated = record
        if kind in (Message.OFFER, Message.REQUEST):
            if offer is None:
                raise BadRequest("the body must be an ODRL offer")
            policy = replace(
                offer,
                kind=PolicyKind.OFFER,
                uid=offer.uid or new_pid(),
                target=self._dataset_id(record),
                assigner=None,
                assignee=None,
            )
            updated = replace(
                updated,
                offer={**self._compact(policy), "target": self._dataset_id(record)},
                offered_by=role,
            )
        if kind == Message.AGREE:
            updated = replace(
                updated, agreement=self._agreement(updated, self._offer_policy(updated))
            )
        if kind == Message.ACCEPT and record.offered_by != "provider":
            raise Conflict("the last offer is our own: nothing to accept")
        if kind == Message.VERIFY and record.agreement is None:
            raise Conflict("there is no agreement to verify")
        updated = self._intend(replace(updated, updated_at=self._clock()), kind, reason)
        return repository.save(updated, record.version)


def _required(value: Policy | None, name: str) -> Policy:
    if value is None:
        raise BadRequest(f"the message has no {name}")
    return value


def _names(messages: frozenset[Message]) -> str:
    return ", ".join(sorted(m.value.lower() for m in messages)) or "nothing"

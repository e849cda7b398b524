"""What a received message changes in a negotiation, and the node's automatic answer.

Every inbound message that reaches a new state passes through :meth:`Decisions.after`: it keeps
what the message carries (an offer, an agreement, a reason) and, in ``auto`` mode, sets the
answer as intent:

* provider — a request (or the consumer's acceptance of our offer) is agreed when the contract
  policy allows it for the consumer's verified claims and declared purpose, in the
  ``negotiation`` scope; otherwise the negotiation is terminated with the decision's reasons.
  A counter-request is agreed only when its terms are the offer's terms. An acceptance or a
  counter-request is agreed only while the catalogue still makes the offer to the consumer,
  read in the message's transaction (a request was checked so when it arrived; an offer our
  administrator made first was checked without the consumer's claims, which its acceptance
  brings): the definition and its policies still there (its contract policy one this node
  can read), still selecting the dataset, its access policy admitting the consumer. A
  verification is finalized.
* consumer (``autoAccept``) — an offer with the terms requested is accepted, another is
  terminated; a valid agreement is verified.

In ``manual`` mode nothing is intended: an administrator acts (:mod:`.actions`). Nor is anything
intended over a termination that waits to go out: it is sent as decided.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from connector.catalogue.service import CatalogueService
from connector.errors import BadRequest
from connector.negotiation.errors import NegotiationProtocolError
from connector.negotiation.intent import intend, storable_detail
from connector.negotiation.messages import Inbound
from connector.negotiation.states import Message, Role
from connector.negotiation.terms import (
    NOT_ADMITTED,
    WITHDRAWN,
    Terms,
    dataset_id,
    offer_ref,
    required,
    same_terms,
)
from connector.store.records import NegotiationRecord
from policies import EvaluationContext, Evaluator, Policy, PolicyError, Scope

log = logging.getLogger("etds.negotiation")

_DATE_TIME = re.compile(
    r"-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)


@dataclass(frozen=True)
class Requester:
    """Who sent a message: the verified participant id and claims of its access token."""

    id: str
    claims: Mapping[str, Any]


Handler = Callable[[Connection, NegotiationRecord, Requester, Inbound], NegotiationRecord]


class Decisions:
    """The reactions of one participant's negotiations to inbound messages."""

    def __init__(
        self,
        terms: Terms,
        evaluator: Evaluator,
        catalogue: CatalogueService,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._terms = terms
        self._catalogue = catalogue
        self._evaluator = evaluator
        self._clock = clock
        self._handlers: dict[tuple[Role, Message], Handler] = {
            ("provider", Message.REQUEST): self._on_counter_request,
            ("provider", Message.ACCEPT): self._on_accepted,
            ("provider", Message.VERIFY): self._on_verified,
            ("consumer", Message.OFFER): self._on_offer,
            ("consumer", Message.AGREE): self._on_agreement,
        }

    def after(
        self,
        connection: Connection,
        record: NegotiationRecord,
        requester: Requester,
        message: Inbound,
    ) -> NegotiationRecord:
        """``record`` (already in its new state) after what ``message`` says, with the node's
        automatic answer as intent when the negotiation is in ``auto`` mode; what the answer
        depends on is read through ``connection`` (the transaction that stores it)."""
        if message.kind == Message.TERMINATE:
            detail = "; ".join(message.reasons) or "terminated by the counterparty"
            return replace(record, error_detail=storable_detail(f"{requester.id}: {detail}"))
        role: Role = record.role
        handler = self._handlers.get((role, message.kind))
        return record if handler is None else handler(connection, record, requester, message)

    def provider_decides(
        self, record: NegotiationRecord, requester: Requester, offer: Policy, ours: Policy
    ) -> NegotiationRecord:
        """Agree to ``offer`` if ``ours`` (the contract policy, as just read) allows it, else
        terminate with reasons."""
        context = EvaluationContext(
            scope=Scope.NEGOTIATION,
            claims=requester.claims,
            now=self._clock(),
            purpose=record.purpose,
            target=dataset_id(record),
        )
        try:
            decision = self._evaluator.evaluate(ours, context)
        except PolicyError as exc:
            log.warning("contract policy unreadable", extra={"error": str(exc)})
            return self._intend(record, Message.TERMINATE, "the contract policy cannot be read")
        if not decision.allowed:
            return self._intend(record, Message.TERMINATE, decision.summary())
        agreement = self._terms.agreement(record, offer)
        return self._intend(replace(record, agreement=agreement), Message.AGREE)

    def _intend(
        self, record: NegotiationRecord, kind: Message, reason: str | None = None
    ) -> NegotiationRecord:
        if record.pending and record.intent == Message.TERMINATE.value:
            # A termination waiting to go out (an administrator's, or ours after a refusal)
            # wins: the automatic answer is never sent.
            return record
        return intend(record, kind, self._clock(), reason)

    # Provider ------------------------------------------------------------------------------

    def _admission(
        self, connection: Connection, record: NegotiationRecord, claims: Mapping[str, Any]
    ) -> Policy | str:
        """The contract policy of the offer a provider's negotiation is about when the
        catalogue still makes that offer to ``claims`` (read through ``connection``), else why
        not: :data:`WITHDRAWN` (its definition or a policy is gone, its contract policy cannot
        be read, or it no longer selects the dataset) or :data:`NOT_ADMITTED` (its access
        policy denies them)."""
        ref = offer_ref(record)
        if ref is None:
            return WITHDRAWN
        offered = self._catalogue.offer(connection, claims, ref)
        if offered is not None:
            return self._terms.policy(offered.contract_policy)
        if isinstance(self._catalogue.offer_of_administrator(connection, ref), str):
            return WITHDRAWN
        return NOT_ADMITTED

    def _on_counter_request(
        self,
        connection: Connection,
        record: NegotiationRecord,
        requester: Requester,
        message: Inbound,
    ) -> NegotiationRecord:
        offer = required(message.offer, "offer")
        if offer.target != dataset_id(record):
            raise BadRequest("the counter-request is for another dataset than this negotiation's")
        record = replace(
            record,
            offer={**self._terms.compact(offer), "target": dataset_id(record)},
            offered_by="consumer",
        )
        if record.mode != "auto":
            return record
        ours = self._admission(connection, record, requester.claims)
        if isinstance(ours, str):
            return self._intend(record, Message.TERMINATE, ours)
        if not same_terms(offer, ours):
            return self._intend(
                record,
                Message.TERMINATE,
                "counter-offers are not negotiated automatically; "
                "request the offer as the catalogue shows it",
            )
        return self.provider_decides(record, requester, ours, ours)

    def _on_accepted(
        self,
        connection: Connection,
        record: NegotiationRecord,
        requester: Requester,
        _message: Inbound,
    ) -> NegotiationRecord:
        if record.offered_by != "provider":
            raise NegotiationProtocolError("the last offer is the consumer's own")
        if record.mode != "auto":
            return record
        ours = self._admission(connection, record, requester.claims)
        if isinstance(ours, str):
            return self._intend(record, Message.TERMINATE, ours)
        return self.provider_decides(record, requester, self._terms.offer(record), ours)

    def _on_verified(
        self,
        _connection: Connection,
        record: NegotiationRecord,
        _requester: Requester,
        _message: Inbound,
    ) -> NegotiationRecord:
        return self._intend(record, Message.FINALIZE) if record.mode == "auto" else record

    # Consumer ------------------------------------------------------------------------------

    def _on_offer(
        self,
        _connection: Connection,
        record: NegotiationRecord,
        _requester: Requester,
        message: Inbound,
    ) -> NegotiationRecord:
        offer = required(message.offer, "offer")
        target = dataset_id(record)
        if offer.target != target:
            raise BadRequest("the offer is for another dataset than this negotiation's")
        requested = self._terms.offer(record)
        record = replace(
            record, offer={**self._terms.compact(offer), "target": target}, offered_by="provider"
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
        self,
        _connection: Connection,
        record: NegotiationRecord,
        _requester: Requester,
        message: Inbound,
    ) -> NegotiationRecord:
        agreement = required(message.agreement, "agreement")
        target = dataset_id(record)
        problems = []
        if agreement.target != target:
            problems.append(f"its target is not {target!r}")
        if agreement.assigner != record.counterparty_id:
            problems.append(f"its assigner is not the provider {record.counterparty_id!r}")
        if agreement.assignee != self._terms.participant_id:
            problems.append(f"its assignee is not this participant {self._terms.participant_id!r}")
        if not same_terms(agreement, self._terms.offer(record)):
            problems.append("its terms are not those of the last offer")
        if not message.agreement_timestamp:
            problems.append("it has no timestamp")
        elif not _is_date_time(message.agreement_timestamp):
            stamp = message.agreement_timestamp[:40]
            problems.append(f"its timestamp {stamp!r} is not an xsd:dateTime")
        if problems:
            raise BadRequest("the agreement cannot be accepted: " + "; ".join(problems))
        document = {**self._terms.compact(agreement), "timestamp": message.agreement_timestamp}
        record = replace(record, agreement=document)
        return self._intend(record, Message.VERIFY) if record.mode == "auto" else record


def _is_date_time(text: str) -> bool:
    """Whether ``text`` is an xsd:dateTime (the lexical form the agreement schema's
    ``timestamp`` pattern allows: years of four digits or more, ``24:00:00``, an optional zone)."""
    return _DATE_TIME.fullmatch(text) is not None

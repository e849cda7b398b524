"""Agreements of finalized negotiations, kept immutably (with the negotiation's history) for
audit and for the transfers they allow."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Connection

from connector.negotiation.errors import NegotiationProtocolError
from connector.store.errors import AlreadyExists, NotFound
from connector.store.models import ID_LENGTH
from connector.store.records import AgreementRecord, NegotiationRecord
from connector.store.repositories.agreements import AgreementRepository

SIGNED_YEARS = range(2, 9999)
"""Years a kept signing time may fall in, in UTC: an xsd:dateTime of year 1 or 9999 with a
zone may lie outside what Python's datetime holds once in UTC, and a time read back from
PostgreSQL in a session zone east or west of UTC could too."""


def signed_at(stamp: object, default: datetime) -> datetime:
    """The agreement's ``timestamp`` as an aware datetime (``default`` when unreadable, or
    outside :data:`SIGNED_YEARS` in UTC: the document keeps the timestamp as the peer wrote it)."""
    try:
        signed = datetime.fromisoformat(str(stamp or "").replace("Z", "+00:00"))
        if signed.tzinfo is None:
            signed = signed.replace(tzinfo=UTC)
        in_utc = signed.astimezone(UTC)
    except (ValueError, OverflowError):
        return default
    return signed if in_utc.year in SIGNED_YEARS else default


def store_agreement(
    session: Connection, record: NegotiationRecord, *, participant_id: str, now: datetime
) -> tuple[NegotiationRecord, bool]:
    """Keep the agreement of ``record``, which is becoming FINALIZED (in the transaction that
    will save it), unless it is kept already; returns ``record`` with the agreement's id, to
    be saved by the caller, and whether this transaction stored the agreement (it then holds
    it: the save need not, ``held``)."""
    document = record.agreement
    if document is None:
        return record, False
    provider, consumer = (
        (participant_id, record.counterparty_id)
        if record.role == "provider"
        else (record.counterparty_id, participant_id)
    )
    agreement_id = str(document["@id"])
    repository = AgreementRepository(session)
    try:
        repository.create(
            AgreementRecord(
                id=agreement_id,
                asset_id=record.asset_id,
                provider_id=provider,
                consumer_id=consumer,
                policy=document,
                signed_at=signed_at(document.get("timestamp"), now),
                negotiation_id=record.id,
                purpose=record.purpose,
                created_at=now,
            )
        )
    except AlreadyExists:
        if repository.get(agreement_id).negotiation_id != record.id:
            raise NegotiationProtocolError(
                f"agreement {agreement_id!r} is another negotiation's: agreement ids are unique"
            ) from None
        return replace(record, agreement_id=agreement_id), False
    return replace(record, agreement_id=agreement_id), True


def check_agreement_id(session: Connection, agreement_id: str, negotiation_id: str) -> None:
    """Refuse (:class:`NegotiationProtocolError`) a peer's agreement whose ``@id`` this node
    cannot keep for negotiation ``negotiation_id``: too long, or another agreement's (DSP:
    agreements have unique ids; one reused would tie this negotiation to other terms)."""
    if not 0 < len(agreement_id) <= ID_LENGTH:
        raise NegotiationProtocolError(f"the agreement's @id must have 1 to {ID_LENGTH} characters")
    try:
        existing = AgreementRepository(session).get(agreement_id)
    except NotFound:
        return
    if existing.negotiation_id != negotiation_id:
        raise NegotiationProtocolError(
            f"agreement {agreement_id!r} is another negotiation's: agreement ids are unique"
        )

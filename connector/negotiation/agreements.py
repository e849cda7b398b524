"""Agreements of finalized negotiations, kept immutably (with the negotiation's history) for
audit and for the transfers they allow."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Connection

from connector.store.errors import AlreadyExists
from connector.store.records import AgreementRecord, NegotiationRecord
from connector.store.repositories.agreements import AgreementRepository


def signed_at(stamp: object, default: datetime) -> datetime:
    """The agreement's ``timestamp`` as an aware datetime (``default`` when unreadable)."""
    try:
        signed = datetime.fromisoformat(str(stamp or "").replace("Z", "+00:00"))
    except ValueError:
        return default
    return signed if signed.tzinfo is not None else signed.replace(tzinfo=UTC)


def store_agreement(
    session: Connection, record: NegotiationRecord, *, participant_id: str, now: datetime
) -> NegotiationRecord:
    """Keep the agreement of ``record``, which is becoming FINALIZED (in the transaction that
    will save it), unless it is kept already; returns ``record`` with the agreement's id, to
    be saved by the caller."""
    document = record.agreement
    if document is None:
        return record
    provider, consumer = (
        (participant_id, record.counterparty_id)
        if record.role == "provider"
        else (record.counterparty_id, participant_id)
    )
    agreement_id = str(document["@id"])
    with contextlib.suppress(AlreadyExists):  # kept by an earlier attempt
        AgreementRepository(session).create(
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
    return replace(record, agreement_id=agreement_id)

"""store_agreement: an agreement kept once, and whether this transaction stored it (its save
then needs no hold on it)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from negotiation_support import PROVIDER, T0, agreement_body, negotiation

from connector.negotiation.agreements import signed_at, store_agreement
from connector.negotiation.errors import NegotiationProtocolError
from connector.store.database import Database
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.negotiations import NegotiationRepository


def test_an_agreement_is_stored_once_and_says_who_stored_it(database: Database) -> None:
    agreed = negotiation(state="VERIFIED", agreement=agreement_body())
    with database.transaction() as session:
        NegotiationRepository(session).create(agreed)
        kept, stored = store_agreement(session, agreed, participant_id=PROVIDER, now=T0)
        again, stored_again = store_agreement(session, agreed, participant_id=PROVIDER, now=T0)
        without = replace(agreed, agreement=None)
        nothing = store_agreement(session, without, participant_id=PROVIDER, now=T0)
    assert (kept.agreement_id, stored) == ("urn:uuid:agreement-1", True)
    assert (again.agreement_id, stored_again) == ("urn:uuid:agreement-1", False)
    assert nothing == (without, False)
    with database.read() as session:
        assert AgreementRepository(session).get("urn:uuid:agreement-1").negotiation_id == agreed.id


def test_an_agreement_id_of_another_negotiation_is_refused(database: Database) -> None:
    first = negotiation(state="VERIFIED", agreement=agreement_body())
    second = negotiation(
        id="urn:uuid:other", provider_pid="urn:uuid:other-p", consumer_pid="urn:uuid:other-c",
        state="VERIFIED", agreement=agreement_body(),
    )  # fmt: skip
    with database.transaction() as session:
        NegotiationRepository(session).create(first)
        NegotiationRepository(session).create(second)
        store_agreement(session, first, participant_id=PROVIDER, now=T0)
        with pytest.raises(NegotiationProtocolError, match="another negotiation's"):
            store_agreement(session, second, participant_id=PROVIDER, now=T0)


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC
        "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
        "9999-12-31T23:59:59Z",  # read back in a session zone east of UTC: year 10000
        "0001-01-01T00:00:00Z",
        "24:00",
        None,
    ],
)
def test_a_signing_time_the_node_cannot_keep_is_the_time_it_is_stored(
    database: Database, stamp: str | None
) -> None:
    """Found by probing: a peer's agreement stamped at the edge of the calendar was accepted,
    then its FINALIZED event (storing it) and every read of the agreements were a 500."""
    assert signed_at(stamp, T0) == T0
    agreed = negotiation(state="VERIFIED", agreement={**agreement_body(), "timestamp": stamp})
    with database.transaction() as session:
        NegotiationRepository(session).create(agreed)
        store_agreement(session, agreed, participant_id=PROVIDER, now=T0)
    with database.read() as session:
        kept = AgreementRepository(session).get("urn:uuid:agreement-1")
    assert kept.signed_at == T0
    assert kept.policy["timestamp"] == stamp  # the document as the peer wrote it


def test_a_signing_time_with_its_zone_is_kept() -> None:
    assert signed_at("2026-12-08T03:00:00+01:00", T0).isoformat() == "2026-12-08T03:00:00+01:00"

"""AgreementRepository contract: immutable records, lookups by asset and consumer."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from store_records import CONSUMER, agreement, at, transfer

from connector.store.database import Database
from connector.store.errors import AlreadyExists, InvalidQuery, NotFound
from connector.store.query import Criterion, QuerySpec
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.transfers import TransferRepository


def test_create_get_and_duplicate(database: Database) -> None:
    record = agreement("ag", negotiation_id="n-1", signed_at=at(3))
    with database.transaction() as session:
        assert AgreementRepository(session).create(record) == record
        with pytest.raises(AlreadyExists):
            AgreementRepository(session).create(agreement("ag", asset_id="other"))
    with database.read() as session:
        assert AgreementRepository(session).get("ag") == record
        with pytest.raises(NotFound, match="contract agreement 'nope'"):
            AgreementRepository(session).get("nope")


def test_agreements_offer_no_way_to_change_them() -> None:
    assert not any(hasattr(AgreementRepository, name) for name in ("update", "save", "delete"))


def test_a_referenced_agreement_cannot_be_deleted_behind_the_repository(
    database: Database,
) -> None:
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("ag"))
        TransferRepository(session).create(transfer("t", agreement_id="ag"))
    with pytest.raises(IntegrityError), database.transaction() as session:
        session.execute(text("DELETE FROM contract_agreements WHERE id = 'ag'"))


def test_lookups_by_asset_and_consumer(database: Database) -> None:
    with database.transaction() as session:
        repository = AgreementRepository(session)
        repository.create(agreement("ag3", asset_id="a", signed_at=at(3)))
        repository.create(agreement("ag1", asset_id="a", signed_at=at(1)))
        repository.create(agreement("ag2", asset_id="b", signed_at=at(2)))
        repository.create(agreement("ag4", asset_id="a", consumer_id="did:web:other.example"))
    with database.read() as session:
        repository = AgreementRepository(session)
        assert [a.id for a in repository.for_asset("a")] == ["ag4", "ag1", "ag3"]
        assert repository.for_asset("none") == []
        assert repository.count_for_consumer(CONSUMER) == 3
        assert repository.count_for_consumer(CONSUMER, asset_id="a") == 2
        assert repository.count_for_consumer("did:web:nobody") == 0
        spec = QuerySpec(
            filters=(Criterion("assetId", "=", "a"), Criterion("signedAt", ">", at(0))),
            sort_field="contractSigningDate",
            sort_order="DESC",
        )
        assert [a.id for a in repository.query(spec)] == ["ag3", "ag1"]
        assert repository.count(spec) == 2
        missing = QuerySpec(filters=(Criterion("negotiationId", "!=", "x"),))
        assert repository.count(missing) == 4


def _signed(database: Database, *filters: Criterion) -> list[str]:
    with database.read() as session:
        found = AgreementRepository(session).query(QuerySpec(filters=filters))
    return sorted(record.id for record in found)


def test_contract_signing_date_filters_in_the_whole_seconds_responses_show(
    database: Database,
) -> None:
    """``contractSigningDate`` is shown as whole epoch seconds (EDC): an integer operand is
    such a second, and compares as the shown value would (T0 has a fraction of a second)."""
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("early", signed_at=at(0)))
        AgreementRepository(session).create(agreement("late", signed_at=at(10)))
    shown = int(at(0).timestamp())  # what a response shows for "early"
    assert at(0).microsecond != 0

    def ids(op: str, right: object) -> list[str]:
        return _signed(database, Criterion("contractSigningDate", op, right))

    assert ids("<", shown) == []
    assert ids("<", shown + 1) == ["early"]
    assert ids("<=", shown) == ["early"]
    assert ids(">", shown) == ["late"]
    assert ids(">", shown - 1) == ["early", "late"]
    assert ids(">=", shown) == ["early", "late"]
    assert ids("=", shown) == ["early"]
    assert ids("!=", shown) == ["late"]
    assert ids("in", [shown, shown + 10]) == ["early", "late"]
    assert ids("not in", [shown + 10]) == ["early"]
    # An ISO-8601 operand is an exact instant; signedAt keeps epoch milliseconds.
    assert ids(">", at(0).isoformat()) == ["late"]
    assert ids("=", at(0).isoformat()) == ["early"]
    in_millis = Criterion("signedAt", ">", int(at(5).timestamp() * 1000))
    assert _signed(database, in_millis) == ["late"]


@pytest.mark.parametrize(
    ("right", "message"),
    [
        (1.5, "whole epoch seconds"),
        (True, "whole epoch seconds"),
        (2**62, "out of range"),
        ("yesterday", "ISO-8601"),
    ],
)
def test_contract_signing_date_refuses_what_no_response_shows(
    database: Database, right: object, message: str
) -> None:
    with pytest.raises(InvalidQuery, match=message):
        _signed(database, Criterion("contractSigningDate", ">", right))
    with pytest.raises(InvalidQuery, match="does not apply"):
        _signed(database, Criterion("contractSigningDate", "like", "2026%"))

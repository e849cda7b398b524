"""AgreementRepository contract: immutable records, lookups by asset and consumer."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from store_records import CONSUMER, agreement, at, transfer

from connector.store.database import Database
from connector.store.errors import AlreadyExists, NotFound
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

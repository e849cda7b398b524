"""TransferRepository contract: agreement reference, pids, optimistic saves, odrl:count support."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_records import CONSUMER, agreement, at, transfer

from connector.store.database import Database
from connector.store.errors import AlreadyExists, NotFound, StaleRecord
from connector.store.query import Criterion, QuerySpec
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.transfers import TransferRepository


@pytest.fixture
def with_agreements(database: Database) -> Database:
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("agreement-1"))
        AgreementRepository(session).create(agreement("other"))
    return database


def test_create_get_and_lookups(with_agreements: Database) -> None:
    record = transfer("t", data_address={"endpoint": "https://consumer.example/push"})
    with with_agreements.transaction() as session:
        created = TransferRepository(session).create(record)
    assert created == replace(record, version=1)
    with with_agreements.read() as session:
        repository = TransferRepository(session)
        assert repository.find_by_pid("provider", "urn:uuid:t-p") == created
        assert repository.find_by_pid("consumer", "urn:uuid:t-c") is None
        assert (
            repository.find_by_consumer_pid_for_counterparty("provider", CONSUMER, "urn:uuid:t-c")
            == created
        )


def test_an_unknown_agreement_is_refused(with_agreements: Database) -> None:
    with with_agreements.transaction() as session, pytest.raises(NotFound, match="'missing'"):
        TransferRepository(session).create(transfer("t", agreement_id="missing"))


def test_duplicates(with_agreements: Database) -> None:
    with with_agreements.transaction() as session:
        repository = TransferRepository(session)
        repository.create(transfer("t"))
        with pytest.raises(AlreadyExists, match="id 't'"):
            repository.create(transfer("t", provider_pid="x", consumer_pid="y"))
        with pytest.raises(AlreadyExists, match="consumerPid"):
            repository.create(transfer("u", provider_pid="x", consumer_pid="urn:uuid:t-c"))


def test_save_is_optimistic_and_keeps_the_agreement(with_agreements: Database) -> None:
    with with_agreements.transaction() as session:
        created = TransferRepository(session).create(transfer("t"))
    with with_agreements.transaction() as session:
        repository = TransferRepository(session)
        saved = repository.save(
            replace(created, state="STARTED", agreement_id="other", updated_at=at(1)),
            expected_version=1,
        )
        assert (saved.state, saved.agreement_id, saved.version) == ("STARTED", "agreement-1", 2)
        with pytest.raises(StaleRecord):
            repository.save(replace(created, state="COMPLETED"), expected_version=1)


def test_count_for_agreement(with_agreements: Database) -> None:
    with with_agreements.transaction() as session:
        repository = TransferRepository(session)
        for n, state in enumerate(["STARTED", "COMPLETED", "TERMINATED"]):
            repository.create(transfer(f"t{n}", state=state))
        repository.create(transfer("elsewhere", agreement_id="other"))
    with with_agreements.read() as session:
        repository = TransferRepository(session)
        assert repository.count_for_agreement("agreement-1") == 3
        assert repository.count_for_agreement("agreement-1", states={"STARTED", "COMPLETED"}) == 2
        assert repository.count_for_agreement("none") == 0
        by_agreement = QuerySpec(
            filters=(
                Criterion("agreementId", "=", "agreement-1"),
                Criterion("format", "like", "Http%"),
            )
        )
        assert repository.count(by_agreement) == 3


def test_claim_due(with_agreements: Database) -> None:
    with with_agreements.transaction() as session:
        repository = TransferRepository(session)
        repository.create(transfer("t", pending=True, next_attempt_at=at(0)))
        assert [r.id for r in repository.claim_due(at(1), 10, "w", 5)] == ["t"]
        assert repository.claim_due(at(2), 10, "other", 5) == []


def test_a_repeated_transfer_naming_a_missing_agreement_is_a_repeat(database: Database) -> None:
    with database.transaction() as session:
        repository = TransferRepository(session)
        with pytest.raises(NotFound, match="contract agreement 'nope'"):
            repository.create(transfer("t", agreement_id="nope"))
        AgreementRepository(session).create(agreement("a-1"))
        repository.create(transfer("t", agreement_id="a-1"))
        with pytest.raises(AlreadyExists, match="id 't'"):
            repository.create(transfer("t", agreement_id="nope"))

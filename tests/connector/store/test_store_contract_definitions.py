"""ContractDefinitionRepository contract: policy references, modes, queries, SET NULL on delete."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_records import at, contract_definition, negotiation, policy

from connector.store.database import Database
from connector.store.errors import InvalidQuery, InvalidRecord, NotFound
from connector.store.query import Criterion, QuerySpec
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.negotiations import NegotiationRepository
from connector.store.repositories.policies import PolicyDefinitionRepository


@pytest.fixture
def with_policies(database: Database) -> Database:
    with database.transaction() as session:
        for name in ("open", "members", "research"):
            PolicyDefinitionRepository(session).create(policy(name))
    return database


def test_create_and_get(with_policies: Database) -> None:
    record = contract_definition(
        "cd",
        access_policy_id="members",
        contract_policy_id="research",
        negotiation_mode="manual",
        transfer_mode="auto",
    )
    with with_policies.transaction() as session:
        created = ContractDefinitionRepository(session).create(record)
    assert created == replace(record, version=1)


def test_an_unknown_policy_is_named_in_not_found(with_policies: Database) -> None:
    with with_policies.transaction() as session, pytest.raises(NotFound) as raised:
        ContractDefinitionRepository(session).create(
            contract_definition("cd", access_policy_id="open", contract_policy_id="nope")
        )
    assert raised.value.kind == "policy definition"
    assert raised.value.id == "nope"
    with with_policies.transaction() as session, pytest.raises(NotFound, match="'gone'"):
        ContractDefinitionRepository(session).update(
            contract_definition("cd", access_policy_id="gone", contract_policy_id="open")
        )


def test_modes_must_be_auto_or_manual(with_policies: Database) -> None:
    with (
        with_policies.transaction() as session,
        pytest.raises(InvalidRecord, match="transfer_mode"),
    ):
        ContractDefinitionRepository(session).create(
            contract_definition("cd", policy_id="open", transfer_mode="sometimes")
        )


def test_update_can_switch_policies(with_policies: Database) -> None:
    with with_policies.transaction() as session:
        repository = ContractDefinitionRepository(session)
        repository.create(contract_definition("cd", policy_id="open"))
        updated = repository.update(
            contract_definition("cd", access_policy_id="members", contract_policy_id="research",
                                updated_at=at(1)),
            expected_version=1,
        )  # fmt: skip
    assert (updated.access_policy_id, updated.contract_policy_id, updated.version) == (
        "members",
        "research",
        2,
    )


def test_referencing_policy_and_queries(with_policies: Database) -> None:
    with with_policies.transaction() as session:
        repository = ContractDefinitionRepository(session)
        repository.create(contract_definition("cd1", policy_id="open"))
        repository.create(
            contract_definition("cd2", access_policy_id="members", contract_policy_id="open")
        )
        repository.create(
            contract_definition("cd3", policy_id="research", negotiation_mode="manual")
        )
    with with_policies.read() as session:
        repository = ContractDefinitionRepository(session)
        assert [d.id for d in repository.referencing_policy("open")] == ["cd1", "cd2"]
        assert repository.referencing_policy("unused") == []
        by_access = QuerySpec(filters=(Criterion("accessPolicyId", "=", "members"),))
        assert [d.id for d in repository.query(by_access)] == ["cd2"]
        manual = QuerySpec(filters=(Criterion("negotiationMode", "=", "manual"),))
        assert [d.id for d in repository.query(manual)] == ["cd3"]
        with pytest.raises(InvalidQuery, match="unknown contract definition field"):
            repository.query(QuerySpec(filters=(Criterion("http://x.example/p", "=", "v"),)))


def test_deleting_a_definition_keeps_its_negotiations(with_policies: Database) -> None:
    with with_policies.transaction() as session:
        ContractDefinitionRepository(session).create(contract_definition("cd", policy_id="open"))
        NegotiationRepository(session).create(negotiation("n", contract_definition_id="cd"))
    with with_policies.transaction() as session:
        ContractDefinitionRepository(session).delete("cd")
    with with_policies.read() as session:
        assert NegotiationRepository(session).get("n").contract_definition_id is None

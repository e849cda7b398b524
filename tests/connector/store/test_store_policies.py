"""PolicyDefinitionRepository contract: CRUD, optimistic locking, restricted deletion."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from store_records import at, contract_definition, policy

from connector.store.database import Database
from connector.store.errors import AlreadyExists, NotFound, StaleRecord, StillReferenced
from connector.store.query import Criterion, QuerySpec
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.policies import PolicyDefinitionRepository


def test_crud_round_trip(database: Database) -> None:
    document = {"@type": "Set", "permission": [{"action": "use", "constraint": []}]}
    with database.transaction() as session:
        created = PolicyDefinitionRepository(session).create(policy("p", policy=document))
    assert created.version == 1
    assert created.policy == document
    with database.transaction() as session:
        repository = PolicyDefinitionRepository(session)
        with pytest.raises(AlreadyExists, match="policy definition with id 'p'"):
            repository.create(policy("p"))
        updated = repository.update(
            replace(created, private_properties={"note": "x"}, updated_at=at(5)),
            expected_version=1,
        )
        assert updated.version == 2
        with pytest.raises(StaleRecord):
            repository.update(created, expected_version=1)
    with database.transaction() as session:
        PolicyDefinitionRepository(session).delete("p")
    with database.read() as session, pytest.raises(NotFound):
        PolicyDefinitionRepository(session).get("p")


def test_a_policy_used_by_a_contract_definition_cannot_be_deleted(database: Database) -> None:
    with database.transaction() as session:
        PolicyDefinitionRepository(session).create(policy("access"))
        PolicyDefinitionRepository(session).create(policy("contract"))
        ContractDefinitionRepository(session).create(
            contract_definition("cd", access_policy_id="access", contract_policy_id="contract")
        )
    for used in ("access", "contract"):
        with database.transaction() as session, pytest.raises(StillReferenced) as raised:
            PolicyDefinitionRepository(session).delete(used)
        assert "contract definition 'cd'" in str(raised.value)
    with database.transaction() as session:
        ContractDefinitionRepository(session).delete("cd")
        PolicyDefinitionRepository(session).delete("access")


def test_the_foreign_key_restricts_even_without_the_repository_check(database: Database) -> None:
    with database.transaction() as session:
        PolicyDefinitionRepository(session).create(policy("p"))
        ContractDefinitionRepository(session).create(contract_definition("cd", policy_id="p"))
    with pytest.raises(IntegrityError), database.transaction() as session:
        session.execute(text("DELETE FROM policy_definitions WHERE id = 'p'"))


def test_query_by_id_and_dates(database: Database) -> None:
    with database.transaction() as session:
        for n in range(3):
            PolicyDefinitionRepository(session).create(policy(f"p{n}", created_at=at(n * 10)))
    with database.read() as session:
        repository = PolicyDefinitionRepository(session)
        spec = QuerySpec(filters=(Criterion("createdAt", ">", at(5)),), sort_order="DESC")
        assert [p.id for p in repository.query(spec)] == ["p2", "p1"]
        assert repository.count(QuerySpec(filters=(Criterion("id", "like", "p%"),))) == 3

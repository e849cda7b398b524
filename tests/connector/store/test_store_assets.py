"""AssetRepository contract, on SQLite and PostgreSQL: CRUD, optimistic locking, references."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from store_records import EDC, T0, agreement, asset, at

from connector.store.database import Database
from connector.store.errors import (
    AlreadyExists,
    InvalidQuery,
    InvalidRecord,
    NotFound,
    StaleRecord,
    StillReferenced,
)
from connector.store.query import QuerySpec
from connector.store.repositories._versioned import FEW_IDS
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.assets import AssetRepository


def test_create_then_get_returns_the_stored_record_at_version_1(database: Database) -> None:
    record = asset("a", properties={EDC + "name": "Barometer", "http://x.example/n": [1, 2]})
    with database.transaction() as session:
        created = AssetRepository(session).create(replace(record, version=7))
    assert created == replace(record, version=1)
    with database.read() as session:
        assert AssetRepository(session).get("a") == created


def test_get_unknown_raises_not_found_naming_the_asset(database: Database) -> None:
    with database.read() as session, pytest.raises(NotFound) as raised:
        AssetRepository(session).get("missing")
    assert raised.value.status == 404
    assert "asset 'missing'" in str(raised.value)


def test_duplicate_id_raises_already_exists_and_keeps_the_transaction_usable(
    database: Database,
) -> None:
    with database.transaction() as session:
        repository = AssetRepository(session)
        repository.create(asset("a"))
        with pytest.raises(AlreadyExists) as raised:
            repository.create(asset("a", properties={EDC + "name": "other"}))
        repository.create(asset("b"))
    assert raised.value.status == 409
    with database.read() as session:
        stored = AssetRepository(session).get_many(["a", "b"])
    assert sorted(stored) == ["a", "b"]
    assert stored["a"].properties[EDC + "name"] == "Asset a"


def _create_then_fail(database: Database, asset_id: str) -> None:
    with database.transaction() as session:
        AssetRepository(session).create(asset(asset_id))
        raise RuntimeError("abort")


def test_a_failed_transaction_stores_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError, match="abort"):
        _create_then_fail(database, "a")
    with database.read() as session, pytest.raises(NotFound):
        AssetRepository(session).get("a")


def test_update_replaces_fields_keeps_created_at_and_bumps_version(database: Database) -> None:
    with database.transaction() as session:
        AssetRepository(session).create(asset("a"))
    changed = asset(
        "a",
        properties={EDC + "name": "renamed"},
        private_properties={"secret": "x"},
        data_address={"type": "LocalFile", "path": "b/"},
        created_at=at(999),
        updated_at=at(60),
    )
    with database.transaction() as session:
        updated = AssetRepository(session).update(changed)
    assert updated == replace(changed, created_at=T0, version=2)
    with database.read() as session:
        assert AssetRepository(session).get("a") == updated


def test_update_with_a_stale_version_raises_and_changes_nothing(database: Database) -> None:
    with database.transaction() as session:
        AssetRepository(session).create(asset("a"))
    with database.transaction() as session:
        AssetRepository(session).update(asset("a", updated_at=at(1)), expected_version=1)
    with database.transaction() as session, pytest.raises(StaleRecord) as raised:
        AssetRepository(session).update(
            asset("a", properties={EDC + "name": "lost update"}), expected_version=1
        )
    assert raised.value.status == 409
    with database.read() as session:
        stored = AssetRepository(session).get("a")
    assert stored.version == 2
    assert stored.properties[EDC + "name"] == "Asset a"


def test_update_or_delete_unknown_raises_not_found(database: Database) -> None:
    with database.transaction() as session:
        repository = AssetRepository(session)
        with pytest.raises(NotFound):
            repository.update(asset("ghost"))
        with pytest.raises(NotFound):
            repository.delete("ghost")


def test_delete_removes_the_asset(database: Database) -> None:
    with database.transaction() as session:
        AssetRepository(session).create(asset("a"))
    with database.transaction() as session:
        AssetRepository(session).delete("a", expected_version=1)
    with database.read() as session:
        assert AssetRepository(session).get_many(["a"]) == {}


def test_delete_with_a_stale_version_is_refused(database: Database) -> None:
    with database.transaction() as session:
        repository = AssetRepository(session)
        repository.create(asset("a"))
        repository.update(asset("a"))
        with pytest.raises(StaleRecord):
            repository.delete("a", expected_version=1)
        assert repository.get("a").version == 2


def test_delete_of_an_asset_under_agreement_raises_still_referenced(database: Database) -> None:
    with database.transaction() as session:
        AssetRepository(session).create(asset("a"))
        AgreementRepository(session).create(agreement("ag-1", asset_id="a"))
    with database.transaction() as session, pytest.raises(StillReferenced) as raised:
        AssetRepository(session).delete("a")
    assert "contract agreement 'ag-1'" in str(raised.value)
    with database.read() as session:
        assert AssetRepository(session).get("a").id == "a"


def test_get_many_reads_only_existing_ids(database: Database) -> None:
    with database.transaction() as session:
        for name in ("a", "b", "c"):
            AssetRepository(session).create(asset(name))
    with database.read() as session:
        repository = AssetRepository(session)
        assert sorted(repository.get_many(["c", "a", "zzz", "a"])) == ["a", "c"]
        # One bind per id up to FEW_IDS, an expanded IN list beyond: the same answer.
        for count in range(1, FEW_IDS + 3):
            wanted = ["b", *(f"missing-{n}" for n in range(count - 1))]
            assert {k: v.id for k, v in repository.get_many(wanted).items()} == {"b": "b"}
        assert sorted(repository.get_many(["a", "b", "c", "x", "y", "z"])) == ["a", "b", "c"]
        assert repository.get_many([]) == {}
        with pytest.raises(InvalidQuery):
            repository.get_many([str(n) for n in range(1001)])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"id": ""}, "id must not be empty"),
        ({"id": "x" * 257}, "id is longer than 256"),
        ({"created_at": T0.replace(tzinfo=None)}, "created_at must be a timezone-aware"),
        ({"properties": "not an object"}, "properties must be a JSON object"),
    ],
)
def test_invalid_records_are_refused_before_sql(
    database: Database, override: dict[str, Any], message: str
) -> None:
    with database.transaction() as session, pytest.raises(InvalidRecord, match=message):
        AssetRepository(session).create(replace(asset("a"), **override))


def test_count_and_query_ignore_nothing_but_paging(database: Database) -> None:
    with database.transaction() as session:
        for n in range(5):
            AssetRepository(session).create(asset(f"a{n}", created_at=at(n)))
    with database.read() as session:
        repository = AssetRepository(session)
        spec = QuerySpec(limit=2, offset=1, sort_field="createdAt", sort_order="DESC")
        assert [a.id for a in repository.query(spec)] == ["a3", "a2"]
        assert repository.count(spec) == 5

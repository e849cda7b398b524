"""ParticipantRepository: the authority's registry, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from store_records import T0, at

from connector.store.database import Database
from connector.store.errors import AlreadyExists, InvalidRecord, NotFound
from connector.store.query import Criterion, QuerySpec
from connector.store.repositories.participants import (
    ParticipantRecord,
    ParticipantRepository,
    RevokedParticipant,
)

JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "kid": "k1",
}


def participant(id: str = "urn:p:a", **overrides: Any) -> ParticipantRecord:
    fields: dict[str, Any] = {
        "id": id,
        "name": "Agence A",
        "jwks": {"keys": [JWK]},
        "org_type": "regional_agency",
        "country": "FR",
        "nuts": ["FRJ"],
        "membership": "active",
        "scopes": ["dsp"],
        "created_at": T0,
        "updated_at": T0,
    }
    return ParticipantRecord(**(fields | overrides))


def test_create_get_and_list(database: Database) -> None:
    with database.transaction() as session:
        repository = ParticipantRepository(session)
        created = repository.create(participant())
        repository.create(participant("urn:p:b", org_type=None, country=None, nuts=[]))
        with pytest.raises(AlreadyExists):
            repository.create(participant())
    assert created.version == 1
    assert created.status == "active"
    with database.read() as session:
        repository = ParticipantRepository(session)
        assert repository.get("urn:p:a") == created
        assert repository.find("urn:p:nobody") is None
        assert [p.id for p in repository.all()] == ["urn:p:a", "urn:p:b"]
        assert repository.all("suspended") == []
        spec = QuerySpec(filters=(Criterion("status", "=", "active"),), sort_field="name")
        assert repository.count(spec) == 2


@pytest.mark.parametrize("id", ["urn:x:\ud800", "urn:x:\x00"], ids=["lone surrogate", "NUL"])
def test_an_id_no_database_stores_names_no_row(database: Database, id: str) -> None:
    # As an id read from an unchecked source may be (the authority looks a client up by the
    # subject of an assertion before checking its signature): not found, not a driver error.
    with database.read() as session:
        repository = ParticipantRepository(session)
        assert repository.find(id) is None
        assert repository.exists(id) is False


def test_status_changes(database: Database) -> None:
    with database.transaction() as session:
        ParticipantRepository(session).create(participant())
    with database.transaction() as session:
        repository = ParticipantRepository(session)
        suspended = repository.set_status("urn:p:a", "suspended", now=at(10))
        assert (suspended.status, suspended.version, suspended.updated_at) == (
            "suspended",
            2,
            at(10),
        )
        assert repository.set_status("urn:p:a", "suspended", now=at(20)).version == 2  # idempotent
        assert repository.set_status("urn:p:a", "active", now=at(30)).status == "active"
        assert repository.set_status("urn:p:a", "revoked", now=at(40)).status == "revoked"
        with pytest.raises(RevokedParticipant):
            repository.set_status("urn:p:a", "active", now=at(50))
        with pytest.raises(RevokedParticipant):
            repository.set_keys("urn:p:a", {"keys": [JWK]}, now=at(50))
        with pytest.raises(NotFound):
            repository.set_status("urn:p:nobody", "suspended", now=at(50))
        with pytest.raises(InvalidRecord, match="status"):
            repository.set_status("urn:p:a", "paused", now=at(50))  # type: ignore[arg-type]


def test_keys_are_replaced(database: Database) -> None:
    other = {**JWK, "kid": "k2"}
    with database.transaction() as session:
        repository = ParticipantRepository(session)
        repository.create(participant())
        updated = repository.set_keys("urn:p:a", {"keys": [JWK, other]}, now=at(5))
    assert [key["kid"] for key in updated.jwks["keys"]] == ["k1", "k2"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jwks": {"keys": []}}, "jwks"),
        ({"jwks": {"keys": [{"kty": "EC"}]}}, "kid"),
        ({"jwks": {"keys": [{**JWK, "d": "secret"}]}}, "public JWK"),
        ({"jwks": {"keys": [JWK], "extra": 1}}, "jwks"),
        ({"nuts": "FRJ"}, "nuts"),
        ({"scopes": [""]}, "scopes"),
        ({"audiences": [1]}, "audiences"),
        ({"status": "paused"}, "status"),
        ({"country": "FRA"}, "country"),
        ({"id": "x" * 513}, "id"),
    ],
)
def test_invalid_records_are_refused(
    database: Database, changes: dict[str, Any], message: str
) -> None:
    with database.transaction() as session, pytest.raises(InvalidRecord, match=message):
        ParticipantRepository(session).create(replace(participant(), **changes))

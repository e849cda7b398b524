"""Registrations are checked before they reach the registry; signing keys rotate on schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connector.identity import keys
from connector.identity.authority.registry import (
    InvalidRegistration,
    Registration,
    key_set,
    participant_record,
)
from connector.identity.authority.signing import NoActiveKey, ScheduledKey, SigningKeys

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def registration(**changes: Any) -> Registration:
    fields: dict[str, Any] = {
        "id": "did:web:agence.example",
        "name": "  Agence régionale  ",
        "keys": [keys.ephemeral_key().public_jwk()],
        "org_type": "regional_agency",
        "country": "FR",
        "nuts": ["FRJ", "FRJ13", "FRJ"],
    }
    return Registration(**(fields | changes))


def test_a_registration_becomes_a_record() -> None:
    record = participant_record(registration(), now=NOW)
    assert record.name == "Agence régionale"
    assert record.nuts == ["FRJ", "FRJ13"]
    assert record.scopes == ["dsp"]
    assert record.membership == "active"
    assert record.status == "active"
    assert record.jwks["keys"][0]["kid"] == keys.thumbprint(record.jwks["keys"][0])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "has space"}, "id"),
        ({"name": " "}, "name"),
        ({"org_type": "Regional Agency"}, "org_type"),
        ({"country": "France"}, "country"),
        ({"nuts": ["frj"]}, "nuts"),
        ({"membership": "not active"}, "membership"),
        ({"scopes": ['a"b']}, "scopes"),
        ({"scopes": ["management:read"]}, "audiences"),
        ({"scopes": ["management:read"], "audiences": ["ftp://x"]}, "audiences"),
        ({"keys": []}, "keys"),
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "keys"),
    ],
)
def test_invalid_registrations(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRegistration, match=f"^{field}:"):
        participant_record(registration(**changes), now=NOW)


def test_the_same_key_twice_is_refused() -> None:
    jwk = keys.ephemeral_key().public_jwk()
    with pytest.raises(InvalidRegistration, match="twice"):
        key_set([jwk, {k: v for k, v in jwk.items() if k != "kid"}])


def test_signing_key_schedule() -> None:
    first, second, third = (keys.ephemeral_key() for _ in range(3))
    schedule = SigningKeys(
        [
            ScheduledKey(first, retire_at=NOW + timedelta(hours=1)),
            ScheduledKey(second, activate_at=NOW - timedelta(days=1)),
            ScheduledKey(third, activate_at=NOW + timedelta(minutes=10)),
        ]
    )
    assert schedule.signing_key(NOW).kid == second.kid
    assert schedule.signing_key(NOW + timedelta(minutes=10)).kid == third.kid
    published = [k["kid"] for k in schedule.jwks(NOW)["keys"]]
    assert published == [first.kid, second.kid, third.kid]
    later = [k["kid"] for k in schedule.jwks(NOW + timedelta(hours=1))["keys"]]
    assert later == [second.kid, third.kid]
    assert schedule.algorithms() == ["ES256"]


def test_a_schedule_without_an_active_key() -> None:
    key = keys.ephemeral_key()
    schedule = SigningKeys([ScheduledKey(key, activate_at=NOW + timedelta(days=1))])
    with pytest.raises(NoActiveKey):
        schedule.signing_key(NOW)
    with pytest.raises(ValueError, match="twice"):
        SigningKeys([ScheduledKey(key), ScheduledKey(key)])
    with pytest.raises(ValueError, match="at least one"):
        SigningKeys([])

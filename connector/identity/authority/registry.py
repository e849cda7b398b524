"""Registering participants: what an operator types, checked before it reaches the registry.

A registration names the participant (its id is also its OAuth client id), its public keys
(JWKs; their ``kid`` becomes the RFC 7638 thumbprint), the attributes its tokens will carry
(``org_type``, ``country``, ``nuts``, ``membership``), the scopes it may be granted, and — for
administrator clients — the management audiences it may ask tokens for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from connector.identity.keys import InvalidKey, import_public_jwk, public_jwk
from connector.store.database import Database
from connector.store.repositories.participants import (
    MAX_KEYS,
    ParticipantRecord,
    ParticipantRepository,
    ParticipantStatus,
)

PROTOCOL_SCOPE = "dsp"
MANAGEMENT_READ = "management:read"
MANAGEMENT_WRITE = "management:write"
MANAGEMENT_SCOPES = frozenset({MANAGEMENT_READ, MANAGEMENT_WRITE})
ORG_TYPES = (
    "national_agency",
    "regional_agency",
    "departmental_agency",
    "destination_agency",
    "research",
    "company",
)
"""The organisation types of the tourism dataspace (others may be registered, lower-case)."""

_PARTICIPANT_ID = re.compile(r"^[\x21-\x7e]{1,512}$")
_ORG_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_NUTS = re.compile(r"^[A-Z]{2}[0-9A-Z]{0,3}$")
_MEMBERSHIP = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,128}$")  # RFC 6749 §3.3 scope-token


class InvalidRegistration(ValueError):
    """A registration the authority refuses; the message names the field."""


@dataclass(frozen=True, kw_only=True)
class Registration:
    """What ``etds authority register`` collects."""

    id: str
    name: str
    keys: Sequence[Mapping[str, Any]]
    org_type: str | None = None
    country: str | None = None
    nuts: Sequence[str] = ()
    membership: str | None = "active"
    scopes: Sequence[str] = field(default_factory=lambda: [PROTOCOL_SCOPE])
    audiences: Sequence[str] = ()


def _matches(name: str, pattern: re.Pattern[str], value: str | None, hint: str) -> None:
    if value is not None and not pattern.match(value):
        raise InvalidRegistration(f"{name}: {value!r} is not {hint}")


def key_set(keys: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A JWK Set of the public ``keys`` (each checked; ``kid`` = thumbprint)."""
    if not 1 <= len(keys) <= MAX_KEYS:
        raise InvalidRegistration(f"keys: give 1 to {MAX_KEYS} public keys")
    try:
        normalised = [public_jwk(import_public_jwk(key)) for key in keys]
    except InvalidKey as error:
        raise InvalidRegistration(f"keys: {error}") from None
    kids = [key["kid"] for key in normalised]
    if len(set(kids)) != len(kids):
        raise InvalidRegistration("keys: the same key is given twice")
    return {"keys": normalised}


def _check_audiences(audiences: Sequence[str]) -> None:
    for audience in audiences:
        parts = urlsplit(audience)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
            raise InvalidRegistration(f"audiences: {audience!r} is not an http(s) URL")


def participant_record(registration: Registration, *, now: datetime) -> ParticipantRecord:
    """The registry record of a checked ``registration``."""
    r = registration
    _matches("id", _PARTICIPANT_ID, r.id, "an id of printable ASCII without spaces")
    if not r.name.strip() or len(r.name) > 256:
        raise InvalidRegistration("name: give 1 to 256 characters")
    _matches("org_type", _ORG_TYPE, r.org_type, f"lower-case, e.g. {', '.join(ORG_TYPES)}")
    _matches("country", _COUNTRY, r.country, "an ISO 3166-1 alpha-2 code such as FR")
    _matches("membership", _MEMBERSHIP, r.membership, "a word such as active")
    for code in r.nuts:
        _matches("nuts", _NUTS, code, "a NUTS code such as FRJ or FRJ13")
    for scope in r.scopes:
        _matches("scopes", _SCOPE, scope, "a scope token")
    _check_audiences(r.audiences)
    if MANAGEMENT_SCOPES.intersection(r.scopes) and not r.audiences:
        raise InvalidRegistration(
            "audiences: a client with management scopes needs the management URL(s) it may "
            "ask tokens for (e.g. https://node.example/management)"
        )
    return ParticipantRecord(
        id=r.id,
        name=r.name.strip(),
        jwks=key_set(r.keys),
        org_type=r.org_type,
        country=r.country,
        nuts=sorted(set(r.nuts)),
        membership=r.membership,
        scopes=sorted(set(r.scopes)),
        audiences=sorted(set(r.audiences)),
        created_at=now,
        updated_at=now,
    )


def register(database: Database, registration: Registration, *, now: datetime) -> ParticipantRecord:
    """Store a new participant (:class:`~connector.store.errors.AlreadyExists` if the id is
    taken)."""
    record = participant_record(registration, now=now)
    with database.transaction() as session:
        return ParticipantRepository(session).create(record)


def set_status(
    database: Database, id: str, status: ParticipantStatus, *, now: datetime
) -> ParticipantRecord:
    """Suspend, reinstate or revoke participant ``id``."""
    with database.transaction() as session:
        return ParticipantRepository(session).set_status(id, status, now=now)


def set_keys(
    database: Database, id: str, keys: Sequence[Mapping[str, Any]], *, now: datetime
) -> ParticipantRecord:
    """Replace the public keys of participant ``id`` (e.g. old + new during its key rotation)."""
    jwks = key_set(keys)
    with database.transaction() as session:
        return ParticipantRepository(session).set_keys(id, jwks, now=now)


def participants(
    database: Database, status: ParticipantStatus | None = None
) -> list[ParticipantRecord]:
    """Every registered participant (with ``status`` only, if given)."""
    with database.read() as session:
        return ParticipantRepository(session).all(status)

"""The dataspace authority's participant registry: who may ask for tokens, with which attributes.

A participant's id is its OAuth ``client_id`` and the ``sub`` of its tokens. The registry holds
public keys only (a JWK Set). Status changes are one locked read-modify-write:
``active ⇄ suspended``, and ``revoked`` from either, for good. Queryable by ``id``, ``name``,
``status``, ``createdAt``, ``updatedAt``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Table, select

from connector import errors
from connector.store.errors import InvalidRecord, NotFound, StoreError
from connector.store.models import Participant
from connector.store.query import Field, FieldMap, Kind
from connector.store.repositories._support import check_time, record_from
from connector.store.repositories._versioned import VersionedRepository

ParticipantStatus = Literal["active", "suspended", "revoked"]
STATUSES: tuple[ParticipantStatus, ...] = get_args(ParticipantStatus)
MAX_KEYS = 8
MAX_LIST_ITEMS = 64
MAX_ITEM_LENGTH = 512
KIND = "participant"

_TABLE: Table = Participant.__table__  # type: ignore[assignment]

PARTICIPANT_FIELDS = FieldMap.build(
    KIND,
    {
        "id": Field(_TABLE.c.id, Kind.STRING),
        "name": Field(_TABLE.c.name, Kind.STRING),
        "status": Field(_TABLE.c.status, Kind.STRING),
        "createdAt": Field(_TABLE.c.created_at, Kind.DATETIME),
        "updatedAt": Field(_TABLE.c.updated_at, Kind.DATETIME),
    },
    id_column=_TABLE.c.id,
)


@dataclass(frozen=True, kw_only=True)
class ParticipantRecord:
    """A registered participant (or administrator client) of the dataspace.

    ``jwks`` is ``{"keys": [public JWK, ...]}``; ``scopes`` the scopes it may be granted;
    ``audiences`` the non-participant resources (management URLs) it may ask tokens for.
    """

    id: str
    name: str
    status: ParticipantStatus = "active"
    jwks: dict[str, Any]
    org_type: str | None = None
    country: str | None = None
    nuts: list[str] = field(default_factory=list)
    membership: str | None = None
    scopes: list[str] = field(default_factory=list)
    audiences: list[str] = field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 0


class RevokedParticipant(StoreError, errors.Conflict):
    """A revoked participant cannot change status (nor get keys) again; register a new id."""

    def __init__(self, id: str) -> None:
        super().__init__(f"{KIND} {id!r} is revoked for good; register it under a new id")
        self.id = id


def _check_strings(name: str, values: Any) -> None:
    if not isinstance(values, list) or len(values) > MAX_LIST_ITEMS:
        raise InvalidRecord(KIND, f"{name} must be a list of at most {MAX_LIST_ITEMS} strings")
    for value in values:
        if not isinstance(value, str) or not value or len(value) > MAX_ITEM_LENGTH:
            raise InvalidRecord(KIND, f"{name} holds an empty, long or non-string value")


def _check_jwks(jwks: Any) -> None:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS or set(jwks) != {"keys"}:
        raise InvalidRecord(KIND, f'jwks must be {{"keys": [1 to {MAX_KEYS} public JWKs]}}')
    for key in keys:
        if not isinstance(key, dict) or not isinstance(key.get("kid"), str) or "d" in key:
            raise InvalidRecord(KIND, "each key of jwks must be a public JWK with a kid")


class ParticipantRepository(VersionedRepository[ParticipantRecord]):
    """Participants of the dataspace, as the authority registers them."""

    def __init__(self, session: Connection) -> None:
        super().__init__(
            session,
            kind=KIND,
            table=_TABLE,
            record_type=ParticipantRecord,
            fields=PARTICIPANT_FIELDS,
        )

    def _check_record(self, record: ParticipantRecord) -> None:
        if record.status not in STATUSES:
            raise InvalidRecord(KIND, f"status must be one of {', '.join(STATUSES)}")
        _check_jwks(record.jwks)
        for name in ("nuts", "scopes", "audiences"):
            _check_strings(name, getattr(record, name))

    def find(self, id: str) -> ParticipantRecord | None:
        """The participant ``id``, or None."""
        return self._row(id)

    def all(self, status: ParticipantStatus | None = None) -> list[ParticipantRecord]:
        """Every participant (with ``status`` only, if given), ordered by id."""
        statement = select(_TABLE).order_by(_TABLE.c.id)
        if status is not None:
            statement = statement.where(_TABLE.c.status == status)
        rows = self._session.execute(statement)
        return [record_from(ParticipantRecord, row._mapping) for row in rows]

    def _locked(self, id: str) -> ParticipantRecord:
        if not self._lock(id):
            raise NotFound(KIND, id)
        return self.get(id)

    def set_status(self, id: str, status: ParticipantStatus, *, now: datetime) -> ParticipantRecord:
        """Move participant ``id`` to ``status`` (idempotent); :class:`RevokedParticipant` when
        it is revoked and ``status`` is not."""
        check_time(KIND, "now", now)
        if status not in STATUSES:
            raise InvalidRecord(KIND, f"status must be one of {', '.join(STATUSES)}")
        current = self._locked(id)
        if current.status == status:
            return current
        if current.status == "revoked":
            raise RevokedParticipant(id)
        return self.update(replace(current, status=status, updated_at=now))

    def set_keys(self, id: str, jwks: dict[str, Any], *, now: datetime) -> ParticipantRecord:
        """Replace the public keys of participant ``id`` (not of a revoked one)."""
        check_time(KIND, "now", now)
        current = self._locked(id)
        if current.status == "revoked":
            raise RevokedParticipant(id)
        return self.update(replace(current, jwks=jwks, updated_at=now))

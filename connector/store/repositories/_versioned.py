"""CRUD with optimistic locking, shared by assets, policy definitions and contract definitions.

Every method works inside the caller's transaction (the session it was built with) and never
commits. Creation writes ``version = 1``; each update adds one, and with ``expected_version`` it
only applies when the stored version is still that one (else :class:`StaleRecord`). Conflicts
are decided by the database (unique and foreign keys), inside a SAVEPOINT so the caller's
transaction survives them, and then explained with a clear error.

Deletion first locks the row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite ``BEGIN
IMMEDIATE`` already excludes every other writer), then looks for records that refer to it. A
transaction adding a reference concurrently holds at least ``FOR KEY SHARE`` on the row (a foreign
key check takes it; so does :meth:`AgreementRepository.create
<connector.store.repositories.agreements.AgreementRepository.create>` for the references that
have no foreign key), so the two are serialised and the check sees every committed reference.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import BindParameter, Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from connector.store import operands
from connector.store import query as q
from connector.store.errors import AlreadyExists, InvalidQuery, NotFound, StaleRecord
from connector.store.prepared import Prepared
from connector.store.repositories._support import (
    by_ids,
    count_records,
    prepared_by_id,
    query_records,
    record_from,
    try_insert,
    validate,
    values_of,
)

MAX_GET_MANY = 1000
FEW_IDS = 4
"""Up to this many ids, :meth:`VersionedRepository.get_many` runs a :class:`Prepared` statement
of one bind per id (a contract definition's two policies on every offer check); beyond, one
``IN`` list SQLAlchemy expands."""


@functools.lru_cache(maxsize=64)
def _by_few_ids(table: Table, count: int) -> Prepared:
    """``SELECT * FROM table WHERE id IN (:id_0, …)`` for ``count`` ids."""
    ids: list[BindParameter[str]] = [bindparam(f"id_{n}") for n in range(count)]
    return Prepared(select(table).where(table.c.id.in_(ids)))


_FIXED_ON_UPDATE = frozenset({"id", "created_at", "version"})


class VersionedRecord(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=VersionedRecord)


class VersionedRepository(Generic[V]):
    """Create, read, update (optimistically), delete and query one kind of versioned record."""

    def __init__(
        self,
        session: Connection,
        *,
        kind: str,
        table: Table,
        record_type: type[V],
        fields: q.FieldMap,
    ) -> None:
        self._session = session
        self.kind = kind
        self._table = table
        self._record_type = record_type
        self._fields = fields

    # Hooks for subclasses -------------------------------------------------------------------

    def _check_record(self, record: V) -> None:
        """Refuse ``record`` (InvalidRecord, or NotFound for a record it refers to)."""

    def _check_not_referenced(self, id: str) -> None:
        """Raise StillReferenced when another record depends on record ``id``."""

    # Reads ----------------------------------------------------------------------------------

    def _row(self, id: str) -> V | None:
        if names_no_row(id):
            return None
        row = prepared_by_id(self._table).first(self._session, {"id": id})
        return None if row is None else record_from(self._record_type, row)

    def exists(self, id: str) -> bool:
        """Whether a record ``id`` exists."""
        if names_no_row(id):
            return False
        found = self._session.execute(select(self._table.c.id).where(self._table.c.id == id))
        return found.first() is not None

    def _lock(self, id: str) -> bool:
        """Whether record ``id`` exists, locking its row until the transaction ends
        (``FOR UPDATE``, which SQLite ignores: ``BEGIN IMMEDIATE`` serialises writers there)."""
        statement = select(self._table.c.id).where(self._table.c.id == id).with_for_update()
        return self._session.execute(statement).first() is not None

    def get(self, id: str) -> V:
        """The record ``id``; :class:`NotFound` if there is none."""
        record = self._row(id)
        if record is None:
            raise NotFound(self.kind, id)
        return record

    def get_many(self, ids: Collection[str]) -> dict[str, V]:
        """The records among ``ids`` that exist, by id, read with one statement (≤ 1000 ids)."""
        wanted = set(ids)
        if not wanted:
            return {}
        if len(wanted) > MAX_GET_MANY:
            raise InvalidQuery(f"at most {MAX_GET_MANY} ids per request")
        if len(wanted) <= FEW_IDS:
            found = _by_few_ids(self._table, len(wanted)).rows(
                self._session, {f"id_{n}": id for n, id in enumerate(sorted(wanted))}
            )
            records = [record_from(self._record_type, row) for row in found]
        else:
            rows = self._session.execute(by_ids(self._table), {"ids": sorted(wanted)})
            records = [record_from(self._record_type, row._mapping) for row in rows]
        return {record.id: record for record in records}

    def query(self, spec: q.QuerySpec) -> list[V]:
        """One page of records matching ``spec``."""
        return query_records(self._session, self._record_type, self._table, self._fields, spec)

    def count(self, spec: q.QuerySpec) -> int:
        """How many records match the filters of ``spec`` (paging and sorting ignored)."""
        return count_records(self._session, self._table, self._fields, spec)

    # Writes ---------------------------------------------------------------------------------

    def create(self, record: V) -> V:
        """Store a new record (version 1); :class:`AlreadyExists` if the id is taken."""
        values = {**values_of(record), "version": 1}
        validate(self.kind, self._table, values)
        self._check_record(record)
        error = try_insert(self._session, insert(self._table).values(values))
        if error is not None:
            if self.exists(record.id):
                raise AlreadyExists(self.kind, record.id) from None
            self._check_record(record)
            raise error
        return self.get(record.id)

    def update(self, record: V, *, expected_version: int | None = None) -> V:
        """Replace the stored record ``record.id`` (all fields but id and created_at).

        :class:`NotFound` if it does not exist; :class:`StaleRecord` if ``expected_version`` is
        given and the stored version differs.
        """
        values = {k: v for k, v in values_of(record).items() if k not in _FIXED_ON_UPDATE}
        validate(self.kind, self._table, values)
        self._check_record(record)
        table = self._table
        where = [table.c.id == record.id]
        if expected_version is not None:
            where.append(table.c.version == expected_version)
        statement = (
            update(table).where(*where).values(**values, version=table.c.version + 1)
        ).returning(table.c.id)
        try:
            with self._session.begin_nested():
                changed = self._session.execute(statement).first()
        except IntegrityError:
            self._check_record(record)
            raise
        if changed is None:
            if not self.exists(record.id):
                raise NotFound(self.kind, record.id)
            raise StaleRecord(self.kind, record.id, expected_version=expected_version)
        return self.get(record.id)

    def delete(self, id: str, *, expected_version: int | None = None) -> None:
        """Delete record ``id``: :class:`NotFound`, :class:`StillReferenced` or
        :class:`StaleRecord` (with ``expected_version``) when it cannot be."""
        if not self._lock(id):
            raise NotFound(self.kind, id)
        self._check_not_referenced(id)
        table = self._table
        where = [table.c.id == id]
        if expected_version is not None:
            where.append(table.c.version == expected_version)
        try:
            with self._session.begin_nested():
                deleted = self._session.execute(
                    delete(table).where(*where).returning(table.c.id)
                ).first()
        except IntegrityError:
            self._check_not_referenced(id)  # a reference appeared concurrently: explain it
            raise
        if deleted is None:
            if not self.exists(id):
                raise NotFound(self.kind, id)
            raise StaleRecord(self.kind, id, expected_version=expected_version)


def names_no_row(id: str) -> bool:
    """Whether ``id`` can name no stored row: text neither database stores (a NUL, a lone
    surrogate), as an id read from an unchecked source may be (e.g. an unsigned assertion's
    subject). Looking it up would fail in the driver."""
    try:
        operands.text(id, "id")
    except InvalidQuery:
        return True
    return False

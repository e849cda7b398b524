"""Contract agreements: immutable once stored (there is no update and no delete).

Queryable by ``id``, ``assetId``, ``providerId``, ``consumerId``, ``negotiationId``, ``signedAt``,
``contractSigningDate`` (the same instant, whose numbers are epoch seconds, as EDC shows it, where
``signedAt``'s are epoch milliseconds) and ``createdAt``.

An agreement names its asset without a foreign key (a consumer's agreements are about the
provider's assets, which have no local row). When the asset is local, creation holds its row
``FOR KEY SHARE`` until the transaction ends, as a foreign key check would: an asset deletion,
which locks the row ``FOR UPDATE`` before looking for agreements, then either waits and sees the
new agreement, or has already deleted the asset and the agreement is stored like one about a
remote asset. (SQLite needs no lock: ``BEGIN IMMEDIATE`` admits one writer at a time.)
"""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import Connection, Table, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from connector.store import query as q
from connector.store.errors import AlreadyExists, NotFound
from connector.store.models import Asset, ContractAgreement
from connector.store.prepared import Prepared
from connector.store.records import AgreementRecord
from connector.store.repositories._support import (
    backend,
    count_records,
    prepared_by_id,
    query_records,
    record_from,
    validate,
    values_of,
)
from connector.store.repositories._versioned import names_no_row

KIND = "contract agreement"
_TABLE: Table = ContractAgreement.__table__  # type: ignore[assignment]
_ASSETS: Table = Asset.__table__  # type: ignore[assignment]

AGREEMENT_FIELDS = q.FieldMap.build(
    KIND,
    {
        "id": q.Field(_TABLE.c.id, q.Kind.STRING),
        "assetId": q.Field(_TABLE.c.asset_id, q.Kind.STRING),
        "providerId": q.Field(_TABLE.c.provider_id, q.Kind.STRING),
        "consumerId": q.Field(_TABLE.c.consumer_id, q.Kind.STRING),
        "negotiationId": q.Field(_TABLE.c.negotiation_id, q.Kind.STRING, nullable=True),
        "signedAt": q.Field(_TABLE.c.signed_at, q.Kind.DATETIME),
        "contractSigningDate": q.Field(_TABLE.c.signed_at, q.Kind.EPOCH_SECONDS),
        "createdAt": q.Field(_TABLE.c.created_at, q.Kind.DATETIME),
    },
    id_column=_TABLE.c.id,
)

# Built once (a statement built per call costs its cache key every time), run with the values
# of every field of a record.
_VALUES = {
    field.name: bindparam(field.name, type_=_TABLE.c[field.name].type)
    for field in fields(AgreementRecord)
}
_INSERT = Prepared(insert(_TABLE).values(_VALUES).returning(_TABLE.c.id))
# PostgreSQL: the local asset of that id, if there is one, held FOR KEY SHARE (it cannot be
# deleted until the transaction ends: on SQLite the write transaction keeps every other writer
# out), and the agreement inserted unless its id is taken (ON CONFLICT DO NOTHING: no row back,
# where an error would abort the transaction), in one statement. The count refers to the CTE,
# so that PostgreSQL runs it (a CTE nothing refers to is not run); it is never negative.
_HELD_ASSET = (
    select(_ASSETS.c.id)
    .where(_ASSETS.c.id == bindparam("asset_id"))
    .with_for_update(read=True, key_share=True)
    .cte("held_asset")
)
_INSERT_UNLESS_TAKEN = Prepared(
    postgresql.insert(_TABLE)
    .from_select(
        list(_VALUES),
        select(*_VALUES.values()).where(
            select(func.count()).select_from(_HELD_ASSET).scalar_subquery() >= 0
        ),
    )
    .on_conflict_do_nothing(index_elements=[_TABLE.c.id])
    .returning(_TABLE.c.id)
)


class AgreementRepository:
    """Create and read contract agreements."""

    def __init__(self, session: Connection) -> None:
        self._session = session

    def create(self, record: AgreementRecord) -> AgreementRecord:
        """Store a new agreement; :class:`AlreadyExists` if the id is taken."""
        values = values_of(record)
        validate(KIND, _TABLE, values)
        if backend(self._session) == "postgresql":
            # The local asset held and the agreement inserted in one statement (above); the
            # table has no other constraint than its id that a valid record could break.
            if _INSERT_UNLESS_TAKEN.first(self._session, values) is None:
                raise AlreadyExists(KIND, record.id)
        else:  # SQLite undoes just the failed statement; the transaction stays usable
            try:
                _INSERT.first(self._session, values)
            except IntegrityError:
                raise AlreadyExists(KIND, record.id) from None
        return record

    def get(self, id: str) -> AgreementRecord:
        """The agreement ``id``; :class:`NotFound` if there is none."""
        if names_no_row(id):  # a peer's or a URL's text that no database stores
            raise NotFound(KIND, id)
        row = prepared_by_id(_TABLE).first(self._session, {"id": id})
        if row is None:
            raise NotFound(KIND, id)
        return record_from(AgreementRecord, row)

    def query(self, spec: q.QuerySpec) -> list[AgreementRecord]:
        """One page of agreements matching ``spec``."""
        return query_records(self._session, AgreementRecord, _TABLE, AGREEMENT_FIELDS, spec)

    def count(self, spec: q.QuerySpec) -> int:
        """How many agreements match the filters of ``spec``."""
        return count_records(self._session, _TABLE, AGREEMENT_FIELDS, spec)

    def for_asset(self, asset_id: str) -> list[AgreementRecord]:
        """Every agreement about ``asset_id``, oldest signature first."""
        statement = (
            select(_TABLE)
            .where(_TABLE.c.asset_id == asset_id)
            .order_by(_TABLE.c.signed_at, _TABLE.c.id)
        )
        return [
            record_from(AgreementRecord, row._mapping) for row in self._session.execute(statement)
        ]

    def count_for_consumer(self, consumer_id: str, *, asset_id: str | None = None) -> int:
        """How many agreements ``consumer_id`` holds (for ``asset_id`` only, when given)."""
        statement = (
            select(func.count()).select_from(_TABLE).where(_TABLE.c.consumer_id == consumer_id)
        )
        if asset_id is not None:
            statement = statement.where(_TABLE.c.asset_id == asset_id)
        return int(self._session.execute(statement).scalar_one())

"""Assets: what the node offers. Queryable by ``id``, ``createdAt``, ``updatedAt`` and any
property IRI (``https://w3id.org/edc/v0.0.1/ns/name``, ``http://purl.org/dc/terms/title``...)."""

from __future__ import annotations

from sqlalchemy import Connection, Table, select

from connector.store.errors import StillReferenced
from connector.store.models import Asset, ContractAgreement
from connector.store.query import Field, FieldMap, Kind
from connector.store.records import AssetRecord
from connector.store.repositories._versioned import VersionedRepository

_TABLE: Table = Asset.__table__  # type: ignore[assignment]
_AGREEMENTS: Table = ContractAgreement.__table__  # type: ignore[assignment]

ASSET_FIELDS = FieldMap.build(
    "asset",
    {
        "id": Field(_TABLE.c.id, Kind.STRING),
        "createdAt": Field(_TABLE.c.created_at, Kind.DATETIME),
        "updatedAt": Field(_TABLE.c.updated_at, Kind.DATETIME),
    },
    id_column=_TABLE.c.id,
    json_properties=_TABLE.c.properties,
)


class AssetRepository(VersionedRepository[AssetRecord]):
    """Assets; deleting one that a contract agreement refers to is refused."""

    def __init__(self, session: Connection) -> None:
        super().__init__(
            session, kind="asset", table=_TABLE, record_type=AssetRecord, fields=ASSET_FIELDS
        )

    def _check_not_referenced(self, id: str) -> None:
        # Agreements name assets by id without a foreign key (a consumer's agreements are about
        # the provider's assets), so the check is a query. It runs with the asset row locked
        # (see VersionedRepository.delete), which an agreement being created holds FOR KEY SHARE,
        # so it cannot miss one committed concurrently. It is conservative: an agreement a
        # consumer holds for a remote asset with the same id also blocks the deletion.
        agreement = self._session.execute(
            select(_AGREEMENTS.c.id).where(_AGREEMENTS.c.asset_id == id).limit(1)
        ).scalar()
        if agreement is not None:
            raise StillReferenced(self.kind, id, f"contract agreement {agreement!r}")

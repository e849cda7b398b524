"""The catalogues fetched from peers: one row per peer, replaced at each fetch."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Table, select, true

from connector.store.models import RemoteCatalogue
from connector.store.records import RemoteCatalogueRecord
from connector.store.repositories._support import record_from, values_of
from connector.store.repositories._upsert import upsert_if

_TABLE: Table = RemoteCatalogue.__table__  # type: ignore[assignment]


class RemoteCatalogueRepository:
    def __init__(self, session: Connection) -> None:
        self._session = session

    def save(self, record: RemoteCatalogueRecord) -> None:
        """Store ``record``, replacing the peer's previous catalogue."""
        values = values_of(record)
        update = {k: v for k, v in values.items() if k != "participant_id"}
        upsert_if(
            self._session, _TABLE, values, key=["participant_id"], update=update, condition=true()
        )

    def get(self, participant_id: str) -> RemoteCatalogueRecord | None:
        row = self._session.execute(
            select(_TABLE).where(_TABLE.c.participant_id == participant_id)
        ).first()
        return record_from(RemoteCatalogueRecord, row._mapping) if row is not None else None

    def all(self) -> list[RemoteCatalogueRecord]:
        rows = self._session.execute(select(_TABLE).order_by(_TABLE.c.participant_id))
        return [record_from(RemoteCatalogueRecord, row._mapping) for row in rows]

    def delete(self, participant_id: str) -> bool:
        result = cast(
            CursorResult[Any],
            self._session.execute(_TABLE.delete().where(_TABLE.c.participant_id == participant_id)),
        )
        return bool(result.rowcount)

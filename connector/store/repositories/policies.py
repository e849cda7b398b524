"""Policy definitions: ODRL policies under a local id. Queryable by ``id``, ``createdAt``,
``updatedAt``. A policy a contract definition uses cannot be deleted (foreign key ON DELETE
RESTRICT, checked first for a clear error)."""

from __future__ import annotations

from sqlalchemy import Connection, Table, or_, select

from connector.store.errors import StillReferenced
from connector.store.models import ContractDefinition, PolicyDefinition
from connector.store.query import Field, FieldMap, Kind
from connector.store.records import PolicyDefinitionRecord
from connector.store.repositories._versioned import VersionedRepository

_TABLE: Table = PolicyDefinition.__table__  # type: ignore[assignment]
_DEFINITIONS: Table = ContractDefinition.__table__  # type: ignore[assignment]

POLICY_FIELDS = FieldMap.build(
    "policy definition",
    {
        "id": Field(_TABLE.c.id, Kind.STRING),
        "createdAt": Field(_TABLE.c.created_at, Kind.DATETIME),
        "updatedAt": Field(_TABLE.c.updated_at, Kind.DATETIME),
    },
    id_column=_TABLE.c.id,
)


class PolicyDefinitionRepository(VersionedRepository[PolicyDefinitionRecord]):
    """Policy definitions."""

    def __init__(self, session: Connection) -> None:
        super().__init__(
            session,
            kind="policy definition",
            table=_TABLE,
            record_type=PolicyDefinitionRecord,
            fields=POLICY_FIELDS,
        )

    def _check_not_referenced(self, id: str) -> None:
        user = self._session.execute(
            select(_DEFINITIONS.c.id)
            .where(
                or_(_DEFINITIONS.c.access_policy_id == id, _DEFINITIONS.c.contract_policy_id == id)
            )
            .order_by(_DEFINITIONS.c.id)
            .limit(1)
        ).scalar()
        if user is not None:
            raise StillReferenced(self.kind, id, f"contract definition {user!r}")

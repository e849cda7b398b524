"""Contract definitions: which assets are offered under which access and contract policies.

Queryable by ``id``, ``createdAt``, ``updatedAt``, ``accessPolicyId``, ``contractPolicyId``,
``negotiationMode``, ``transferMode``. Both policies must exist (:class:`NotFound` names the
missing one). Deleting a definition keeps past negotiations (their reference becomes NULL).
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, or_, select

from connector.store.errors import InvalidRecord, NotFound
from connector.store.models import ContractDefinition, PolicyDefinition
from connector.store.query import Field, FieldMap, Kind
from connector.store.records import ContractDefinitionRecord
from connector.store.repositories._support import record_from
from connector.store.repositories._versioned import VersionedRepository

_TABLE: Table = ContractDefinition.__table__  # type: ignore[assignment]
_POLICIES: Table = PolicyDefinition.__table__  # type: ignore[assignment]
_MODES = ("auto", "manual")

CONTRACT_DEFINITION_FIELDS = FieldMap.build(
    "contract definition",
    {
        "id": Field(_TABLE.c.id, Kind.STRING),
        "createdAt": Field(_TABLE.c.created_at, Kind.DATETIME),
        "updatedAt": Field(_TABLE.c.updated_at, Kind.DATETIME),
        "accessPolicyId": Field(_TABLE.c.access_policy_id, Kind.STRING),
        "contractPolicyId": Field(_TABLE.c.contract_policy_id, Kind.STRING),
        "negotiationMode": Field(_TABLE.c.negotiation_mode, Kind.STRING),
        "transferMode": Field(_TABLE.c.transfer_mode, Kind.STRING),
    },
    id_column=_TABLE.c.id,
)


class ContractDefinitionRepository(VersionedRepository[ContractDefinitionRecord]):
    """Contract definitions."""

    def __init__(self, session: Connection) -> None:
        super().__init__(
            session,
            kind="contract definition",
            table=_TABLE,
            record_type=ContractDefinitionRecord,
            fields=CONTRACT_DEFINITION_FIELDS,
        )

    def _check_record(self, record: ContractDefinitionRecord) -> None:
        for name, mode in (
            ("negotiation_mode", record.negotiation_mode),
            ("transfer_mode", record.transfer_mode),
        ):
            if mode not in _MODES:
                raise InvalidRecord(self.kind, f"{name} must be 'auto' or 'manual', not {mode!r}")
        wanted = {record.access_policy_id, record.contract_policy_id}
        found = set(
            self._session.execute(select(_POLICIES.c.id).where(_POLICIES.c.id.in_(wanted)))
            .scalars()
            .all()
        )
        for policy_id in (record.access_policy_id, record.contract_policy_id):
            if policy_id not in found:
                raise NotFound("policy definition", policy_id)

    def referencing_policy(self, policy_id: str) -> list[ContractDefinitionRecord]:
        """The contract definitions that use ``policy_id`` as access or contract policy."""
        rows = self._session.execute(
            select(_TABLE)
            .where(
                or_(
                    _TABLE.c.access_policy_id == policy_id, _TABLE.c.contract_policy_id == policy_id
                )
            )
            .order_by(_TABLE.c.id)
        )
        return [record_from(ContractDefinitionRecord, row._mapping) for row in rows]

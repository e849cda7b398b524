"""Transfer processes (both roles, one table). Same discipline as negotiations (see
:mod:`._process`); every transfer belongs to a stored contract agreement.

Queryable by the common process names plus ``agreementId`` and ``format``.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, Table, func, select

from connector.store import query as q
from connector.store.models import TransferProcess
from connector.store.records import TransferRecord
from connector.store.repositories._process import ProcessRepository, process_fields

KIND = "transfer process"
_TABLE: Table = TransferProcess.__table__  # type: ignore[assignment]

TRANSFER_FIELDS = q.FieldMap.build(
    KIND,
    {
        **process_fields(_TABLE),
        "agreementId": q.Field(_TABLE.c.agreement_id, q.Kind.STRING),
        "format": q.Field(_TABLE.c.format, q.Kind.STRING, nullable=True),
    },
    id_column=_TABLE.c.id,
)


class TransferRepository(ProcessRepository[TransferRecord]):
    """Transfer processes; ``agreement_id`` is fixed at creation."""

    def __init__(self, session: Connection) -> None:
        super().__init__(
            session,
            kind=KIND,
            table=_TABLE,
            record_type=TransferRecord,
            fields=TRANSFER_FIELDS,
            fixed_on_save=("agreement_id",),
        )

    def count_for_agreement(
        self, agreement_id: str, *, states: Collection[str] | None = None
    ) -> int:
        """How many transfers were made under ``agreement_id`` (only in ``states``, when given):
        what an ``odrl:count`` constraint is checked against."""
        statement = (
            select(func.count()).select_from(_TABLE).where(_TABLE.c.agreement_id == agreement_id)
        )
        if states is not None:
            statement = statement.where(_TABLE.c.state.in_(list(states)))
        return int(self._session.execute(statement).scalar_one())

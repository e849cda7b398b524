"""Contract negotiations (both roles, one table) and their append-only message history.

Queryable by the common process names (see :func:`process_fields`) plus ``contractDefinitionId``,
``agreementId`` and ``offeredBy``, and by the names of the management API's responses and EDC's:
``counterPartyId``, ``counterPartyAddress``, ``contractAgreementId`` (and ``contractAgreement.id``)
and ``type`` (the role as responses show it, ``PROVIDER`` or ``CONSUMER``). ``state`` is the state
as responses show it (:data:`PENDING_NAMES`): the "-ING" name of the message that waits to go
out, else the stored state. See :mod:`._process` for pids, intent and claiming.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    case,
    exists,
    func,
    insert,
    select,
)

from connector.store import query as q
from connector.store.errors import InvalidRecord, NotFound
from connector.store.models import ContractNegotiation, NegotiationMessage
from connector.store.prepared import Prepared
from connector.store.records import NegotiationMessageRecord, NegotiationRecord
from connector.store.repositories._process import (
    ProcessLease,
    ProcessRepository,
    process_fields,
    saving_cte,
)
from connector.store.repositories._support import record_from, validate

KIND = "contract negotiation"
_TABLE: Table = ContractNegotiation.__table__  # type: ignore[assignment]
_MESSAGES: Table = NegotiationMessage.__table__  # type: ignore[assignment]

# Built once (see _support.by_id): they run on every message.
_MESSAGE_COLUMNS = ("negotiation_id", "direction", "message_type", "body", "at")
# INSERT … SELECT … WHERE EXISTS: a message of a missing negotiation inserts nothing (no row
# back) instead of failing on the foreign key, which on PostgreSQL would abort the transaction
# or need a SAVEPOINT around every insert.
_INSERT_MESSAGE = Prepared(
    insert(_MESSAGES)
    .from_select(
        list(_MESSAGE_COLUMNS),
        select(*(bindparam(name, type_=_MESSAGES.c[name].type) for name in _MESSAGE_COLUMNS)).where(
            exists().where(_TABLE.c.id == bindparam("negotiation_id"))
        ),
    )
    .returning(_MESSAGES.c.id)
)
_LAST_MESSAGE = Prepared(
    select(_MESSAGES)
    .where(_MESSAGES.c.negotiation_id == bindparam("negotiation_id"))
    .order_by(_MESSAGES.c.id.desc())
    .limit(1)
)
_MESSAGE_BODIES = Prepared(
    select(_MESSAGES.c.body).where(
        _MESSAGES.c.negotiation_id == bindparam("negotiation_id"),
        _MESSAGES.c.direction == bindparam("direction"),
        _MESSAGES.c.message_type == bindparam("message_type"),
    )
)


@functools.lru_cache(maxsize=64)
def _save_recording(columns: tuple[str, ...], *, leased: bool) -> Prepared:
    """``WITH saved AS (UPDATE … <columns> …) INSERT INTO negotiation_messages … SELECT … FROM
    saved RETURNING id``: the message is recorded only if the save applied (PostgreSQL)."""
    saved = saving_cte(_TABLE, columns, leased=leased)
    message = select(
        *(bindparam(name, type_=_MESSAGES.c[name].type) for name in _MESSAGE_COLUMNS)
    ).select_from(saved)
    return Prepared(
        insert(_MESSAGES)
        .from_select(list(_MESSAGE_COLUMNS), message)
        .add_cte(saved)
        .returning(_MESSAGES.c.id)
    )


# The state the management API shows while an intent waits to go out (EDC's "-ING" states), by
# intent: connector.negotiation.states.PENDING_NAMES, which a test keeps equal to this (the store
# does not depend on the negotiation package).
PENDING_NAMES = {
    "REQUEST": "REQUESTING",
    "OFFER": "OFFERING",
    "ACCEPT": "ACCEPTING",
    "AGREE": "AGREEING",
    "VERIFY": "VERIFYING",
    "FINALIZE": "FINALIZING",
    "TERMINATE": "TERMINATING",
}


def _shown_state(table: Table) -> ColumnElement[str]:
    """The state as the management API shows it (``display_state`` in SQL): the "-ING" name of
    a pending intent, else the stored state."""
    c = table.c
    waiting = [(c.pending & (c.intent == intent), name) for intent, name in PENDING_NAMES.items()]
    return case(*waiting, else_=c.state)


NEGOTIATION_FIELDS = q.FieldMap.build(
    KIND,
    {
        **process_fields(_TABLE),
        "state": q.Field(_shown_state(_TABLE), q.Kind.STRING),
        "contractDefinitionId": q.Field(_TABLE.c.contract_definition_id, q.Kind.STRING, True),
        "agreementId": q.Field(_TABLE.c.agreement_id, q.Kind.STRING, nullable=True),
        "offeredBy": q.Field(_TABLE.c.offered_by, q.Kind.STRING, nullable=True),
        # The names of the management API's responses (and EDC's).
        "type": q.Field(func.upper(_TABLE.c.role), q.Kind.STRING),
        "counterPartyId": q.Field(_TABLE.c.counterparty_id, q.Kind.STRING),
        "counterPartyAddress": q.Field(_TABLE.c.counterparty_address, q.Kind.STRING),
        "contractAgreementId": q.Field(_TABLE.c.agreement_id, q.Kind.STRING, nullable=True),
        "contractAgreement.id": q.Field(_TABLE.c.agreement_id, q.Kind.STRING, nullable=True),
    },
    id_column=_TABLE.c.id,
)


class NegotiationRepository(ProcessRepository[NegotiationRecord]):
    """Contract negotiations."""

    def __init__(self, session: Connection) -> None:
        super().__init__(
            session,
            kind=KIND,
            table=_TABLE,
            record_type=NegotiationRecord,
            fields=NEGOTIATION_FIELDS,
        )

    def _check_record(self, record: NegotiationRecord) -> None:
        super()._check_record(record)
        if record.offered_by not in (None, "provider", "consumer"):
            raise InvalidRecord(KIND, "offered_by must be provider, consumer or None")
        if record.mode not in ("auto", "manual"):
            raise InvalidRecord(KIND, "mode must be auto or manual")

    def append_message(
        self,
        negotiation_id: str,
        direction: str,
        message_type: str,
        body: dict[str, Any],
        at: datetime,
    ) -> NegotiationMessageRecord:
        """Record a DSP message received (``in``) or sent (``out``) by negotiation
        ``negotiation_id`` (:class:`NotFound` if there is no such negotiation)."""
        if direction not in ("in", "out"):
            raise InvalidRecord("negotiation message", "direction must be 'in' or 'out'")
        values = {
            "negotiation_id": negotiation_id,
            "direction": direction,
            "message_type": message_type,
            "body": body,
            "at": at,
        }
        validate("negotiation message", _MESSAGES, values)
        row = _INSERT_MESSAGE.first(self._session, values)
        if row is None:
            raise NotFound(KIND, negotiation_id)
        new_id = row["id"]
        return NegotiationMessageRecord(id=int(new_id), **values)  # type: ignore[arg-type]

    def save_recording(
        self,
        record: NegotiationRecord,
        expected_version: int,
        *,
        direction: str,
        message_type: str,
        body: dict[str, Any],
        at: datetime,
        lease: ProcessLease | None = None,
        held: Collection[str] = (),
    ) -> NegotiationRecord:
        """:meth:`save` ``record`` at ``expected_version`` (``lease``, ``held``: as there) and
        :meth:`append_message` to it, in a transaction: the saved record, or
        :class:`StaleRecord`/:class:`NotFound` with nothing recorded. In one statement where
        :meth:`save_recording_at_once` can (a round trip fewer on PostgreSQL)."""
        saved = self.save_recording_at_once(
            record,
            expected_version,
            direction=direction,
            message_type=message_type,
            body=body,
            at=at,
            lease=lease,
            held=held,
        )
        if saved is None:
            if self._autocommit():
                # Two statements that would commit one by one (and save() may need a SAVEPOINT)
                raise RuntimeError(
                    "save_recording outside a transaction can only be one statement: "
                    "use save_recording_at_once in Database.statements()"
                )
            saved = self.save(record, expected_version, lease=lease, held=held)
            self.append_message(saved.id, direction, message_type, body, at)
        return saved

    def save_recording_at_once(
        self,
        record: NegotiationRecord,
        expected_version: int,
        *,
        direction: str,
        message_type: str,
        body: dict[str, Any],
        at: datetime,
        lease: ProcessLease | None = None,
        held: Collection[str] = (),
    ) -> NegotiationRecord | None:
        """:meth:`save_recording` in one statement (``WITH saved AS (UPDATE …) INSERT …``), or
        None, with nothing written, where it cannot be one: SQLite (whose statements cost no
        round trips), a row this repository does not know at ``expected_version`` (read, or
        vouched for with :meth:`assume`), a reference to hold other than ``held``, a unique
        value to write inside a transaction (a taken one would abort it: :meth:`save` says
        which in a SAVEPOINT).

        In :meth:`Database.statements` (autocommit on PostgreSQL) it is the whole unit of work:
        one round trip where a transaction takes four. A unique value taken there is an
        :class:`IntegrityError`, unexplained, and nothing is written: the caller may save again
        in a transaction, which says what was taken."""
        if direction not in ("in", "out"):
            raise InvalidRecord("negotiation message", "direction must be 'in' or 'out'")
        changed = self._changes_in_one_statement(record, expected_version, lease=lease, held=held)
        if changed is None:
            return None
        message = {
            "negotiation_id": record.id,
            "direction": direction,
            "message_type": message_type,
            "body": body,
            "at": at,
        }
        validate("negotiation message", _MESSAGES, message)
        parameters = self.saving_parameters(record.id, expected_version, changed, lease)
        statement = _save_recording(tuple(changed), leased=lease is not None)
        row = statement.first(self._session, {**parameters, **message})
        return self._saved_in_one_statement(record, expected_version, changed, row)

    def messages(self, negotiation_id: str) -> list[NegotiationMessageRecord]:
        """The messages of ``negotiation_id`` in the order they were recorded."""
        rows = self._session.execute(
            select(_MESSAGES)
            .where(_MESSAGES.c.negotiation_id == negotiation_id)
            .order_by(_MESSAGES.c.id)
        )
        return [record_from(NegotiationMessageRecord, row._mapping) for row in rows]

    def last_message(self, negotiation_id: str) -> NegotiationMessageRecord | None:
        """The message of ``negotiation_id`` recorded last, if any."""
        row = _LAST_MESSAGE.first(self._session, {"negotiation_id": negotiation_id})
        return None if row is None else record_from(NegotiationMessageRecord, row)

    def has_message(
        self, negotiation_id: str, direction: str, message_type: str, body: dict[str, Any]
    ) -> bool:
        """Whether ``negotiation_id`` recorded this very message (type and body) already."""
        parameters = {"negotiation_id": negotiation_id, "direction": direction}
        rows = _MESSAGE_BODIES.rows(self._session, {**parameters, "message_type": message_type})
        return any(row["body"] == body for row in rows)

"""Persistence shared by contract negotiations and transfer processes (the DSP "processes").

A process row is the state of one protocol exchange from our side (``role``). Its outbound work is
persisted as intent (``pending`` with ``next_attempt_at``) before anything is sent; dispatchers on
any replica take due rows with :meth:`ProcessRepository.claim_due`, which leases them:

* one statement, ``WITH due AS (SELECT … LIMIT n) UPDATE … SET lease_holder, lease_expires_at
  WHERE id IN (SELECT id FROM due) RETURNING …``; rows under an unexpired lease are not due;
* PostgreSQL: the CTE selects ``FOR UPDATE SKIP LOCKED``, so it picks rows no other claimer is
  looking at (and, locking rows, it is always materialised: picked once). Two claimers never get
  the same row;
* SQLite: the caller's ``db.transaction()`` (``BEGIN IMMEDIATE``) already excludes every other
  writer.

A claimer can leave out the processes of some counterparties (those it already has enough
messages on their way to), and hand back leases it took in the same transaction
(:meth:`ProcessRepository.release`): nobody else ever sees them.

A lease only keeps other dispatchers away for ``lease_seconds``; it is cleared by the next
:meth:`save`, whoever makes it. Correctness does not rest on the lease but on the version: a save
applies only at the version the saver read, so of two writers racing on one process (a dispatcher
and an inbound message, or a dispatcher whose lease ran out and its successor) exactly one wins
and the other gets :class:`StaleRecord` and re-reads. A repository remembers the rows it read or
wrote in its transaction, and the ones a caller vouches for with :meth:`~ProcessRepository.assume`
(such as a claimed row): a save at that version writes only the columns that changed.

Writes that fail are explained (:class:`AlreadyExists`, :class:`NotFound`) by queries in the same
transaction. On PostgreSQL, where a failed statement aborts the transaction, the writes of every
message avoid failing rather than run in a SAVEPOINT (two more round trips each): a create is
``INSERT … ON CONFLICT DO NOTHING RETURNING`` (no row: a key or pid is taken), and the records a
write refers to are held ``FOR KEY SHARE`` (by the insert itself, in a CTE each, which inserts
nothing when one is missing; before a save, :meth:`ProcessRepository._hold_references`), so its
foreign keys cannot fail. Only a save that changes a unique column in a transaction runs in a
SAVEPOINT.

Pids: the pid *we* issued (provider_pid as provider, consumer_pid as consumer) identifies the
process alone; the counterparty's pid is unique per counterparty (idempotent repeated requests).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Integer,
    PrimaryKeyConstraint,
    Select,
    Table,
    UniqueConstraint,
    Update,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from connector.store import query as q
from connector.store.errors import (
    AlreadyExists,
    InvalidQuery,
    InvalidRecord,
    NotFound,
    StaleRecord,
)
from connector.store.prepared import Prepared
from connector.store.repositories._support import (
    backend,
    check_time,
    count_records,
    prepared_by_id,
    query_records,
    record_from,
    validate,
    values_of,
)

ROLES = ("provider", "consumer")
MAX_CLAIM = 1000
_FIXED_ON_SAVE = frozenset(
    {"id", "role", "counterparty_id", "protocol", "asset_id", "created_at", "version"}
)


class ProcessRecord(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def id(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def counterparty_id(self) -> str: ...

    @property
    def provider_pid(self) -> str | None: ...

    @property
    def consumer_pid(self) -> str | None: ...

    @property
    def version(self) -> int: ...

    @property
    def attempts(self) -> int: ...


P = TypeVar("P", bound=ProcessRecord)


@dataclass(frozen=True)
class ProcessLease:
    """A lease a write gives the process it stores (instead of clearing any): ``holder`` alone
    may send its message until ``expires_at``, as if it had claimed it
    (:meth:`ProcessRepository.claim_due`) in the same transaction."""

    holder: str
    expires_at: datetime


def process_fields(table: Table) -> dict[str, q.Field]:
    """Queryable names common to both process tables."""
    c = table.c
    return {
        "id": q.Field(c.id, q.Kind.STRING),
        "role": q.Field(c.role, q.Kind.STRING),
        "state": q.Field(c.state, q.Kind.STRING),
        "providerPid": q.Field(c.provider_pid, q.Kind.STRING, nullable=True),
        "consumerPid": q.Field(c.consumer_pid, q.Kind.STRING, nullable=True),
        "counterpartyId": q.Field(c.counterparty_id, q.Kind.STRING),
        "counterpartyAddress": q.Field(c.counterparty_address, q.Kind.STRING),
        "protocol": q.Field(c.protocol, q.Kind.STRING),
        "assetId": q.Field(c.asset_id, q.Kind.STRING),
        "pending": q.Field(c.pending, q.Kind.BOOLEAN),
        "nextAttemptAt": q.Field(c.next_attempt_at, q.Kind.DATETIME, nullable=True),
        "attempts": q.Field(c.attempts, q.Kind.INTEGER),
        "createdAt": q.Field(c.created_at, q.Kind.DATETIME),
        "updatedAt": q.Field(c.updated_at, q.Kind.DATETIME),
    }


@dataclass(frozen=True)
class _Statements:
    """The statements of a process table that run on every message, built once (see
    :func:`~connector.store.repositories._support.by_id`)."""

    own: Mapping[frozenset[str], Prepared]
    """By the roles asked for: the process whose own pid is ``:pid``, with ``:counterparty``."""
    by_consumer_pid: Prepared
    """``:role``, ``:counterparty``, ``:consumer_pid``."""
    claim: Mapping[str, Update]
    """By backend: lease ``:limit`` due rows at ``:now`` to ``:holder`` until ``:expires``,
    except those of the counterparties ``:skip``."""
    claim_any: Mapping[str, Prepared]
    """By backend: the same, skipping no counterparty (no ``:skip``)."""
    release: Update
    """Clear the lease of ``:holder`` on the rows ``:ids``."""


def _own_pid(table: Table, role: str) -> ColumnElement[bool]:
    c = table.c
    own = c.provider_pid if role == "provider" else c.consumer_pid
    return and_(c.role == role, own == bindparam("pid"))


@functools.cache
def _unique(table: Table) -> frozenset[str]:
    """The columns of ``table`` a write can violate a key or unique constraint on."""
    names: set[str] = set()
    for constraint in table.constraints:
        if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint):
            names.update(column.name for column in constraint.columns)
    for index in table.indexes:
        if index.unique:
            names.update(column.name for column in index.columns)
    return frozenset(names)


_REFERENCED_KINDS = {
    "contract_definitions": "contract definition",
    "contract_agreements": "contract agreement",
}


@functools.cache
def _references(table: Table) -> dict[str, tuple[str, Select[Any]]]:
    """``table``'s foreign key columns: the kind of record each refers to, and the statement
    that holds that record ``FOR KEY SHARE`` (``:id``), as PostgreSQL's check of the key does."""
    held = {}
    for key in table.foreign_keys:
        target = key.column
        kind = _REFERENCED_KINDS.get(target.table.name, target.table.name)
        statement = (
            select(target)
            .where(target == bindparam("id"))
            .with_for_update(read=True, key_share=True)
        )
        held[key.parent.name] = (kind, statement)
    return held


def _new_values(table: Table, columns: tuple[str, ...]) -> dict[str, Any]:
    return {name: bindparam(name, type_=table.c[name].type) for name in columns}


@functools.lru_cache(maxsize=64)
def _insert_unless_taken(
    table: Table, columns: tuple[str, ...], references: tuple[str, ...] = ()
) -> Prepared:
    """PostgreSQL's ``INSERT … ON CONFLICT DO NOTHING RETURNING *`` of ``columns``: no row when
    a key or unique value is taken, instead of an error that would abort the transaction. With
    ``references`` (columns among them that refer to another table), the records they refer to
    are held ``FOR KEY SHARE`` by the same statement (a CTE each), and nothing is inserted, no
    row either, when one is missing: its foreign key cannot fail."""
    values = _new_values(table, columns)
    held = []
    for name in references:
        key = next(key for key in table.foreign_keys if key.parent.name == name)
        held.append(
            select(key.column)
            .where(key.column == values[name])
            .with_for_update(read=True, key_share=True)
            .cte(f"held_{name}")
        )
    if not held:
        statement = postgresql.insert(table).values(values)
    else:
        statement = postgresql.insert(table).from_select(
            list(columns),
            select(*values.values()).where(*(select(cte).exists() for cte in held)),
        )
    return Prepared(statement.on_conflict_do_nothing().returning(*table.c))


@functools.cache
def _statements(table: Table) -> _Statements:
    c = table.c
    counterparty = c.counterparty_id == bindparam("counterparty")
    own = {
        frozenset(roles): Prepared(
            select(table).where(or_(*(_own_pid(table, role) for role in roles)), counterparty)
        )
        for roles in (("provider",), ("consumer",), ROLES)
    }
    due_any = (
        select(c.id)
        .where(
            c.pending,
            c.next_attempt_at <= bindparam("now"),
            or_(c.lease_expires_at.is_(None), c.lease_expires_at <= bindparam("now")),
        )
        .order_by(c.next_attempt_at, c.id)
        .limit(bindparam("limit", type_=Integer))
    )
    due = due_any.where(c.counterparty_id.not_in(bindparam("skip", expanding=True)))

    def leasing(picking: Select[Any], backend_name: str) -> Update:
        # One statement leases the due rows and returns them. A CTE, because PostgreSQL always
        # materialises one that locks rows: the rows picked are locked once, never re-picked.
        if backend_name == "postgresql":
            picking = picking.with_for_update(skip_locked=True)
        picked = picking.cte("due")
        return (
            update(table)
            .where(c.id.in_(select(picked.c.id)))
            .values(lease_holder=bindparam("holder"), lease_expires_at=bindparam("expires"))
            .returning(*table.c)
        )

    backends = ("sqlite", "postgresql")
    return _Statements(
        own=own,
        by_consumer_pid=Prepared(
            select(table).where(
                c.role == bindparam("role"),
                counterparty,
                c.consumer_pid == bindparam("consumer_pid"),
            )
        ),
        claim={name: leasing(due, name) for name in backends},
        claim_any={name: Prepared(leasing(due_any, name)) for name in backends},
        release=update(table)
        .where(c.id.in_(bindparam("ids", expanding=True)), c.lease_holder == bindparam("holder"))
        .values(lease_holder=None, lease_expires_at=None),
    )


@functools.lru_cache(maxsize=64)
def _insert_statement(table: Table, columns: tuple[str, ...]) -> Prepared:
    """``INSERT INTO table (columns) … RETURNING *``."""
    return Prepared(insert(table).values(_new_values(table, columns)).returning(*table.c))


SAVE_PREFIX = "save_"


@functools.lru_cache(maxsize=256)
def _save_statement(
    table: Table, columns: tuple[str, ...], *, whole: bool, leased: bool = False
) -> Prepared:
    """``UPDATE table SET <columns>, version + 1, no lease WHERE id AND version RETURNING …``
    with bind parameters ``save_<column>``, ``save_id`` and ``save_version`` (built once per
    set of columns: a save changes one of a handful of sets). ``leased``: the lease is set to
    ``save_lease_holder`` until ``save_lease_expires_at`` instead of cleared."""
    c = table.c
    lease: dict[str, Any] = (
        {
            "lease_holder": bindparam(SAVE_PREFIX + "lease_holder", type_=c.lease_holder.type),
            "lease_expires_at": bindparam(
                SAVE_PREFIX + "lease_expires_at", type_=c.lease_expires_at.type
            ),
        }
        if leased
        else {"lease_holder": None, "lease_expires_at": None}
    )
    return Prepared(
        update(table)
        .where(c.id == bindparam("save_id"), c.version == bindparam("save_version"))
        .values(
            {
                **{name: bindparam(SAVE_PREFIX + name, type_=c[name].type) for name in columns},
                "version": c.version + 1,
                **lease,
            }
        )
        .returning(*(table.c if whole else (c.version,)))
    )


def saving_cte(table: Table, columns: tuple[str, ...], *, leased: bool) -> CTE:
    """:func:`_save_statement`'s ``UPDATE`` as a ``WITH saved AS (…)``, for a statement that
    writes something else only if the save applied (PostgreSQL: one statement, atomic on its
    own); bind parameters: :meth:`ProcessRepository.saving_parameters`."""
    statement = _save_statement(table, columns, whole=False, leased=leased).statement
    assert isinstance(statement, Update)
    return statement.cte("saved")


class ProcessRepository(Generic[P]):
    """Create, look up, save (optimistically), query and claim processes of one table."""

    def __init__(
        self,
        session: Connection,
        *,
        kind: str,
        table: Table,
        record_type: type[P],
        fields: q.FieldMap,
        fixed_on_save: Iterable[str] = (),
    ) -> None:
        self._session = session
        self.kind = kind
        self._table = table
        self._record_type = record_type
        self._fields = fields
        self._fixed_on_save = _FIXED_ON_SAVE | frozenset(fixed_on_save)
        # The rows this repository (one transaction) read or wrote, by id: a save at the
        # version seen here writes only the columns that changed.
        self._known: dict[str, P] = {}

    def _seen(self, record: P) -> P:
        self._known[record.id] = record
        return record

    def _check_record(self, record: P) -> None:
        """Refuse ``record`` before any SQL (no query): :class:`InvalidRecord`."""
        if record.role not in ROLES:
            raise InvalidRecord(
                self.kind, f"role must be 'provider' or 'consumer', not {record.role!r}"
            )
        if record.attempts < 0:
            raise InvalidRecord(self.kind, "attempts must not be negative")

    def _check_references(self, values: Mapping[str, Any]) -> None:
        """:class:`NotFound` for a record ``values`` refer to that does not exist; on
        PostgreSQL the ones that exist are held ``FOR KEY SHARE`` until the transaction ends.
        On SQLite only asked after the database refused a write (the foreign keys guard the
        references); on PostgreSQL before every write that sets a reference
        (:meth:`_hold_references`)."""
        for name, (kind, statement) in _references(self._table).items():
            value = values.get(name)
            if value is None:
                continue
            if self._session.execute(statement, {"id": value}).first() is None:
                raise NotFound(kind, value)

    # Reads ----------------------------------------------------------------------------------

    def _one(self, *where: ColumnElement[bool]) -> P | None:
        row = self._session.execute(select(self._table).where(*where)).first()
        return None if row is None else self._seen(record_from(self._record_type, row._mapping))

    def _first(self, statement: Prepared, parameters: Mapping[str, Any]) -> P | None:
        row = statement.first(self._session, parameters)
        return None if row is None else self._seen(record_from(self._record_type, row))

    def assume(self, record: P) -> P:
        """Take ``record`` (read in an earlier transaction, e.g. claimed) as the stored row
        without reading it: a :meth:`save` at its version writes only what changed, and fails
        with :class:`StaleRecord` if the row has moved on since."""
        return self._seen(record)

    def get(self, id: str) -> P:
        """The process ``id`` (our local id); :class:`NotFound` if there is none."""
        found = self._first(prepared_by_id(self._table), {"id": id})
        if found is None:
            raise NotFound(self.kind, id)
        return found

    def find_by_pid(self, role: str, pid: str, counterparty_id: str | None = None) -> P | None:
        """The process of ``role`` whose own pid (providerPid as provider, consumerPid as
        consumer) is ``pid``, optionally only when it is with ``counterparty_id``."""
        c = self._table.c
        own = c.provider_pid if role == "provider" else c.consumer_pid
        where = [c.role == role, own == pid]
        if counterparty_id is not None:
            where.append(c.counterparty_id == counterparty_id)
        return self._one(*where)

    def find_own(self, pid: str, counterparty_id: str, roles: Iterable[str] = ROLES) -> P | None:
        """The process of one of ``roles`` with ``counterparty_id`` whose own pid is ``pid``
        (what a ``/{pid}/…`` path of either role refers to; our pids are unique)."""
        statement = _statements(self._table).own.get(frozenset(roles))
        if statement is None:
            return None
        return self._first(statement, {"pid": pid, "counterparty": counterparty_id})

    def find_by_consumer_pid_for_counterparty(
        self, role: str, counterparty_id: str, consumer_pid: str
    ) -> P | None:
        """The process of ``role`` with ``counterparty_id`` under their ``consumer_pid`` (to
        answer a repeated initial request idempotently)."""
        return self._first(
            _statements(self._table).by_consumer_pid,
            {"role": role, "counterparty": counterparty_id, "consumer_pid": consumer_pid},
        )

    def find_by_their_pid(self, role: str, counterparty_id: str, pid: str) -> P | None:
        """The process of ``role`` with ``counterparty_id`` under the pid *they* issued
        (consumerPid when we are the provider, providerPid when we are the consumer)."""
        c = self._table.c
        theirs = c.consumer_pid if role == "provider" else c.provider_pid
        return self._one(c.role == role, c.counterparty_id == counterparty_id, theirs == pid)

    def query(self, spec: q.QuerySpec) -> list[P]:
        """One page of processes matching ``spec``."""
        return query_records(self._session, self._record_type, self._table, self._fields, spec)

    def count(self, spec: q.QuerySpec) -> int:
        """How many processes match the filters of ``spec``."""
        return count_records(self._session, self._table, self._fields, spec)

    # Writes ---------------------------------------------------------------------------------

    def _explain_conflict(self, record: P, *, creating: bool) -> None:
        """Raise the error that explains a constraint violation by ``record`` (if one does): a
        taken id or pid first, then a missing reference."""
        self._explain_taken(record, creating=creating)
        self._check_references(values_of(record))

    def _explain_taken(self, record: P, *, creating: bool) -> None:
        """:class:`AlreadyExists` if ``record``'s id (when ``creating``) or a pid is taken."""
        c = self._table.c
        if creating and self._one(c.id == record.id) is not None:
            raise AlreadyExists(self.kind, record.id)
        others = c.id != record.id
        own_name, own_pid, own_column, their_name, their_pid, their_column = (
            ("providerPid", record.provider_pid, c.provider_pid,
             "consumerPid", record.consumer_pid, c.consumer_pid)
            if record.role == "provider"
            else ("consumerPid", record.consumer_pid, c.consumer_pid,
                  "providerPid", record.provider_pid, c.provider_pid)
        )  # fmt: skip
        if own_pid is not None and self._one(others, c.role == record.role, own_column == own_pid):
            raise AlreadyExists(self.kind, own_pid, what=own_name)
        if their_pid is not None and self._one(
            others,
            c.role == record.role,
            c.counterparty_id == record.counterparty_id,
            their_column == their_pid,
        ):
            raise AlreadyExists(
                self.kind, their_pid, what=f"{their_name} of {record.counterparty_id!r}"
            )

    def _written(
        self, statement: Prepared, parameters: Mapping[str, Any], *, explained: bool = True
    ) -> dict[str, Any] | None:
        """Run an INSERT or UPDATE ``… RETURNING``; its row (None when nothing matched), or
        :class:`IntegrityError`. ``explained``: the caller will query to explain an error, so on
        PostgreSQL the statement runs in a SAVEPOINT that keeps the transaction usable (SQLite
        undoes just the failed statement by itself). Without it, an error leaves a PostgreSQL
        transaction that can only roll back: the caller must raise."""
        if not explained or backend(self._session) != "postgresql":
            return statement.first(self._session, parameters)
        with self._session.begin_nested():
            return statement.first(self._session, parameters)

    def _hold_references(self, values: Mapping[str, Any]) -> None:
        """On PostgreSQL, before writing ``values``: hold the records they refer to ``FOR KEY
        SHARE`` until the transaction ends (:class:`NotFound` for one that does not exist). The
        write's foreign key checks then cannot fail, so it needs no SAVEPOINT (two more round
        trips) to explain a failure. SQLite's write transaction keeps every other writer out."""
        if backend(self._session) == "postgresql":
            self._check_references(values)

    def _hold_references_for_save(
        self, record: P, values: Mapping[str, Any], expected_version: int
    ) -> None:
        """:meth:`_hold_references` for a save at ``expected_version``: a process that is gone
        or has moved on is :class:`NotFound` or :class:`StaleRecord` first, as the save itself
        would say (and does on SQLite), before a missing reference."""
        try:
            self._hold_references(values)
        except NotFound:
            current = self._one(self._table.c.id == record.id)
            if current is None:
                raise NotFound(self.kind, record.id) from None
            if current.version != expected_version:
                raise StaleRecord(self.kind, record.id, expected_version=expected_version) from None
            raise

    def create(self, record: P, *, lease: ProcessLease | None = None) -> P:
        """Store a new process (version 1), leased to ``lease.holder`` if given.
        :class:`AlreadyExists` when the id or a pid is taken; :class:`NotFound` when it refers
        to a missing record."""
        values = {**values_of(record), "version": 1}
        if lease is not None:
            values.update(lease_holder=lease.holder, lease_expires_at=lease.expires_at)
        validate(self.kind, self._table, values)
        self._check_record(record)
        if backend(self._session) == "postgresql":
            # The records it refers to held FOR KEY SHARE by the insert itself (one round trip;
            # see _hold_references), which gives no row when one is missing or a value is taken.
            references = tuple(
                name for name in _references(self._table) if values.get(name) is not None
            )
            statement = _insert_unless_taken(self._table, tuple(values), references)
            row = statement.first(self._session, values)
            if row is None:  # a key or unique value is taken, or a reference missing: say which
                self._explain_conflict(record, creating=True)
                # The clashing row went away in between (not explained above).
                raise AlreadyExists(
                    self.kind,
                    record.id,
                    message=f"{self.kind} {record.id!r}: its id or a pid is already taken",
                )
            return self._seen(record_from(self._record_type, row))
        try:
            row = self._written(_insert_statement(self._table, tuple(values)), values)
        except IntegrityError:
            self._explain_conflict(record, creating=True)
            raise
        assert row is not None  # an INSERT without conflict returns its row
        return self._seen(record_from(self._record_type, row))

    def _save_values(self, record: P) -> dict[str, Any]:
        """The mutable fields of ``record`` a save writes, checked (as :meth:`save` does)."""
        values = {k: v for k, v in values_of(record).items() if k not in self._fixed_on_save}
        validate(self.kind, self._table, values)
        self._check_record(record)
        return values

    def _autocommit(self) -> bool:
        """Whether each statement commits on its own (``Database.statements()`` on PostgreSQL)."""
        return self._session.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

    def _check_lease(self, lease: ProcessLease | None) -> None:
        if lease is not None:
            validate(self.kind, self._table, {"lease_holder": lease.holder})
            check_time(self.kind, "lease expiry", lease.expires_at)

    def _changes_in_one_statement(
        self,
        record: P,
        expected_version: int,
        *,
        lease: ProcessLease | None,
        held: Collection[str],
    ) -> dict[str, Any] | None:
        """What a save of ``record`` at ``expected_version`` changes, when it can go in one
        statement with another write (:func:`saving_cte`): on PostgreSQL, for a row this
        repository knows at that version (read, or vouched for with :meth:`assume`), changing
        no reference other than ``held`` (records this transaction holds already: the others
        are held first, :meth:`_hold_references`, a statement of its own) and, in a
        transaction, no unique value (a taken one would abort it: :meth:`save` writes it in a
        SAVEPOINT, to say which). Else None: save as usual."""
        if backend(self._session) != "postgresql":
            return None
        known = self._known.get(record.id)
        if known is None or known.version != expected_version:
            return None
        values = self._save_values(record)
        self._check_lease(lease)
        changed = {k: v for k, v in values.items() if getattr(known, k) != v}
        if not (_references(self._table).keys() - set(held)).isdisjoint(changed):
            return None
        if not self._autocommit() and not _unique(self._table).isdisjoint(changed):
            return None
        return changed

    def _saved_in_one_statement(
        self, record: P, expected_version: int, changed: Mapping[str, Any], row: object | None
    ) -> P:
        """The record a statement built on :func:`saving_cte` saved (``row``: what it gave
        back, None when the save did not apply), as :meth:`save` returns it; else
        :class:`NotFound` or :class:`StaleRecord`, as :meth:`save` raises them."""
        if row is None:
            self._known.pop(record.id, None)
            if self._one(self._table.c.id == record.id) is None:
                raise NotFound(self.kind, record.id)
            raise StaleRecord(self.kind, record.id, expected_version=expected_version)
        known = self._known[record.id]
        return self._seen(replace(known, **changed, version=expected_version + 1))

    @staticmethod
    def saving_parameters(
        record_id: str,
        expected_version: int,
        changed: Mapping[str, Any],
        lease: ProcessLease | None = None,
    ) -> dict[str, Any]:
        """The bind parameters of :func:`saving_cte` (and :meth:`save`) for ``changed``."""
        parameters = {SAVE_PREFIX + k: v for k, v in changed.items()}
        parameters.update(save_id=record_id, save_version=expected_version)
        if lease is not None:
            parameters[SAVE_PREFIX + "lease_holder"] = lease.holder
            parameters[SAVE_PREFIX + "lease_expires_at"] = lease.expires_at
        return parameters

    def save(
        self,
        record: P,
        expected_version: int,
        *,
        lease: ProcessLease | None = None,
        held: Collection[str] = (),
    ) -> P:
        """Write the mutable fields of ``record`` if the stored version is ``expected_version``
        (else :class:`StaleRecord`); bumps the version and clears any lease (or sets ``lease``:
        the process is then leased to its holder, as a claim would). ``held``: reference
        columns whose records this transaction holds already (it created them), which need no
        hold before the write (:meth:`_hold_references`)."""
        values = self._save_values(record)
        self._check_lease(lease)
        known = self._known.get(record.id)
        if known is not None and known.version == expected_version:
            # The row is exactly ``known`` if the update applies: write what differs, and the
            # saved record is ``known`` with those changes.
            values = {k: v for k, v in values.items() if getattr(known, k) != v}
            returning = [self._table.c.version]
            # Only a change of a key, unique or referencing column can fail; the records
            # referred to are held first, so only a key or unique value can be taken.
            to_hold = {k: v for k, v in values.items() if k not in held}
            self._hold_references_for_save(record, to_hold, expected_version)
            explained = not _unique(self._table).isdisjoint(values)
        else:
            returning = list(self._table.c)
            explained = True
        statement = _save_statement(
            self._table, tuple(values), whole=len(returning) > 1, leased=lease is not None
        )
        parameters = self.saving_parameters(record.id, expected_version, values, lease)
        try:
            row = self._written(statement, parameters, explained=explained)
        except IntegrityError:
            if explained or backend(self._session) != "postgresql":
                self._explain_conflict(record, creating=False)
            raise
        if row is None:
            self._known.pop(record.id, None)
            if self._one(self._table.c.id == record.id) is None:
                raise NotFound(self.kind, record.id)
            raise StaleRecord(self.kind, record.id, expected_version=expected_version)
        if known is not None and len(returning) == 1:
            return self._seen(replace(known, **values, version=row["version"]))
        return self._seen(record_from(self._record_type, row))

    def claim_due(
        self,
        now: datetime,
        limit: int,
        holder: str,
        lease_seconds: float,
        *,
        skip_counterparties: Iterable[str] = (),
    ) -> list[P]:
        """Lease to ``holder`` up to ``limit`` pending processes due at ``now`` (oldest due
        first) that no one else holds an unexpired lease on, and return them; processes with
        the counterparties ``skip_counterparties`` are left alone.

        Run it in ``db.transaction()``: the lease is what the commit publishes.
        """
        if not 1 <= limit <= MAX_CLAIM:
            raise InvalidQuery(f"claim limit must be between 1 and {MAX_CLAIM}")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        check_time(self.kind, "now", now)
        validate(self.kind, self._table, {"lease_holder": holder})
        statements = _statements(self._table)
        parameters: dict[str, Any] = {
            "now": now,
            "limit": limit,
            "holder": holder,
            "expires": now + timedelta(seconds=lease_seconds),
        }
        skip = sorted(set(skip_counterparties))
        if skip:
            statement = statements.claim[backend(self._session)]
            found = self._session.execute(statement, {**parameters, "skip": skip})
            rows = [dict(row._mapping) for row in found]
        else:
            rows = statements.claim_any[backend(self._session)].rows(self._session, parameters)
        rows.sort(key=lambda row: (row["next_attempt_at"], row["id"]))  # RETURNING has no order
        return [self._seen(record_from(self._record_type, row)) for row in rows]

    def may_have_sent(self, record: P) -> bool:
        """Whether the message ``record`` intends may have reached the peer: an earlier attempt
        went out, or a dispatcher holds a lease on it (it claimed it, or the write that stored
        the intent leased it: a ``ProcessLease``) and nothing saved the process since (it may be
        on its way, or have arrived before that dispatcher died). A message that only waits in
        the queue cannot have.

        Also True when the process has moved on since ``record`` was read (PostgreSQL reads
        each statement afresh: the dispatcher may have recorded the answer, clearing its lease,
        in between): a save at ``record``'s version then fails as stale, and the caller reads
        the process again. The row stays locked until the caller's transaction ends, so that no
        dispatcher claims the message in between (a claim skips locked rows; on SQLite the
        write transaction already keeps every other writer out)."""
        if record.attempts > 0:
            return True
        c = self._table.c
        statement = (
            select(c.lease_holder.is_not(None) | (c.version != bindparam("version")))
            .where(c.id == bindparam("id"))
            .with_for_update()
        )
        parameters = {"id": record.id, "version": record.version}
        return bool(self._session.execute(statement, parameters).scalar())

    def release(self, claimed: Iterable[P], holder: str) -> None:
        """Hand back ``holder``'s leases on ``claimed`` (taken by :meth:`claim_due` in this
        transaction, or earlier): they are due again for any claimer."""
        ids = [record.id for record in claimed]
        if not ids:
            return
        self._session.execute(_statements(self._table).release, {"ids": ids, "holder": holder})
        for record_id in ids:
            self._known.pop(record_id, None)

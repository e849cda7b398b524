"""Helpers every repository uses: record ⇄ row mapping, validation, conflict-safe inserts, and
the ``query``/``count`` pair over a :class:`~connector.store.query.FieldMap`.

Record field names equal column names, so a row maps to a record by name; columns a record does not
carry (lease columns) are simply not read. Validation runs before any SQL: SQLite would store an
over-long string or a naive datetime without complaint, PostgreSQL would refuse it with an opaque
error; the store refuses both the same way, with an :class:`InvalidRecord` naming the field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Executable,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError

from connector.store import query as q
from connector.store.errors import InvalidRecord
from connector.store.prepared import Prepared
from connector.store.types import UTCDateTime


class Record(Protocol):
    """Any frozen record dataclass of :mod:`connector.store.records`."""

    __dataclass_fields__: ClassVar[dict[str, Any]]


R = TypeVar("R", bound=Record)


def backend(session: Connection) -> str:
    """``"sqlite"`` or ``"postgresql"``: the dialect of the connection."""
    return session.dialect.name


@functools.cache
def by_id(table: Table) -> Select[Any]:
    """``SELECT * FROM table WHERE id = :id``, built once per table: run with ``{"id": …}``.

    Hot statements are built once with bind parameters: SQLAlchemy then finds their compiled
    form by a memoised cache key, instead of building and hashing a new statement on every call
    (about 40 µs each). Statements are immutable; the cache holds one per table.
    """
    return select(table).where(table.c.id == bindparam("id"))


@functools.cache
def prepared_by_id(table: Table) -> Prepared:
    """:func:`by_id` as a :class:`~connector.store.prepared.Prepared` statement (the reads of
    every message)."""
    return Prepared(by_id(table))


@functools.cache
def by_ids(table: Table) -> Select[Any]:
    """``SELECT * FROM table WHERE id IN (:ids)``, built once per table (see :func:`by_id`): run
    with ``{"ids": [...]}``."""
    return select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _field_names(record_type: type[Record]) -> tuple[str, ...]:
    """The fields of ``record_type`` (``dataclasses.fields`` builds its tuple on every call)."""
    return tuple(f.name for f in fields(record_type))


def values_of(record: Record) -> dict[str, Any]:
    """The record's fields as a column → value dict (shallow)."""
    return {name: getattr(record, name) for name in _field_names(type(record))}


def record_from(record_type: type[R], row: Mapping[Any, Any]) -> R:
    """The ``record_type`` built from the same-named columns of ``row``."""
    return record_type(**{name: row[name] for name in _field_names(record_type)})


def _string_check(column: Column[Any]) -> Callable[[Any], str | None]:
    length = getattr(column.type, "length", None)
    primary_key = column.primary_key

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        if primary_key and not value:
            return "must not be empty"
        return f"is longer than {length} characters" if length and len(value) > length else None

    return check


_TYPE_CHECKS: tuple[tuple[type[Any], Callable[[Any], bool], str], ...] = (
    (JSON, lambda v: isinstance(v, dict | list), "must be a JSON object or array"),
    (Boolean, lambda v: isinstance(v, bool), "must be true or false"),
    (Integer, lambda v: isinstance(v, int) and not isinstance(v, bool), "must be an integer"),
    (UTCDateTime, lambda v: isinstance(v, datetime), "must be a timezone-aware datetime"),
)


def _type_check(column: Column[Any]) -> Callable[[Any], str | None]:
    """What is wrong with storing a non-NULL value in ``column``, or None (a datetime must be
    timezone-aware whatever the column)."""
    if isinstance(column.type, String):
        of_type = _string_check(column)
    else:
        of_type = _no_problem
        for column_type, accepts, message in _TYPE_CHECKS:
            if isinstance(column.type, column_type):
                of_type = functools.partial(_accepted, accepts, message)
                break

    def check(value: Any) -> str | None:
        if isinstance(value, datetime):
            aware = value.tzinfo is not None and value.utcoffset() is not None
            return None if aware else "must be a timezone-aware datetime"
        return of_type(value)

    return check


def _no_problem(_value: Any) -> None:
    return None


def _accepted(accepts: Callable[[Any], bool], message: str, value: Any) -> str | None:
    return None if accepts(value) else message


@functools.cache
def _checks(table: Table) -> dict[str, tuple[bool, Callable[[Any], str | None]]]:
    """Per column of ``table``: whether it is nullable, and its check of a non-NULL value.
    Built once per table (tables are defined once, at import)."""
    return {column.key: (bool(column.nullable), _type_check(column)) for column in table.c}


def validate(kind: str, table: Table, values: Mapping[str, Any]) -> None:
    """Refuse values the column types of ``table`` cannot hold on every database."""
    checks = _checks(table)
    for name, value in values.items():
        found = checks.get(name)
        if found is None:
            continue
        nullable, check = found
        if value is None:
            if not nullable:
                raise InvalidRecord(kind, f"{name} is required")
            continue
        problem = check(value)
        if problem is not None:
            raise InvalidRecord(kind, f"{name} {problem}")


def check_time(kind: str, name: str, value: datetime) -> None:
    """Refuse a naive ``value`` for the parameter ``name`` (e.g. ``now``)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecord(kind, f"{name} must be a timezone-aware datetime")


def try_insert(session: Connection, statement: Executable) -> IntegrityError | None:
    """Run ``statement`` in a SAVEPOINT; on a constraint violation undo just that and return the
    error (the caller's transaction stays usable, which PostgreSQL otherwise would not allow)."""
    try:
        with session.begin_nested():
            session.execute(statement)
    except IntegrityError as error:
        return error
    return None


def query_records(
    session: Connection, record_type: type[R], table: Table, fields: q.FieldMap, spec: q.QuerySpec
) -> list[R]:
    """One page of ``table``'s rows matching ``spec`` (filtered, sorted, paged), as records."""
    statement = q.apply(select(table), spec, fields, backend(session))
    return [record_from(record_type, row._mapping) for row in session.execute(statement)]


def count_records(session: Connection, table: Table, fields: q.FieldMap, spec: q.QuerySpec) -> int:
    """How many rows of ``table`` match the filters of ``spec`` (paging and sorting ignored)."""
    where = q.conditions(spec.filters, fields, backend(session))
    statement = select(func.count()).select_from(table).where(*where)
    return int(session.execute(statement).scalar_one())

"""Queries over a repository: ``QuerySpec`` (EDC's paging, sorting and filter criteria) → SQL.

Each repository declares a :class:`FieldMap`: the names a query may use (``id``, ``createdAt``,
``state``...), each bound to a column of a known :class:`Kind`, and optionally a JSON column whose
keys are queryable by full IRI (an asset's ``properties``). Anything else is an
:class:`~connector.store.errors.InvalidQuery`, as is an operator that does not fit the field or an
operand of the wrong type: nothing reaches the database unchecked.

Operators (case-insensitive): ``= != in "not in" like ilike < <= > >= contains``. ``like`` and
``ilike`` take SQL wildcards (``%``, ``_``) and no escape character; ``like`` is case-sensitive on
both databases (SQLite's own LIKE is not, so it becomes GLOB there). ``ilike`` lowercases the
value and the pattern with one Unicode-aware rule on both databases: each character becomes its
one-character Unicode lowercase (``É``→``é``, ``Ω``→``ω``, ``Д``→``д``; ``ß`` stays ``ß``), with
``lower()`` on PostgreSQL (under a UTF-8 ``LC_CTYPE``) and the registered function
``etds_lower`` on SQLite, whose own ``lower()`` knows ASCII only (see
:mod:`connector.store.patterns`). ``contains`` tests JSON array membership. Datetime operands
may be aware datetimes, ISO-8601 strings with an offset, or epoch milliseconds (EDC's
``createdAt``); a field that responses show in whole epoch seconds (EDC's
``contractSigningDate``, :attr:`Kind.EPOCH_SECONDS`) takes epoch seconds instead. A whole epoch
number is compared as responses show it: the whole millisecond (second) it names
(:mod:`.shown_time`). Sorting always ends with the id, so pages are deterministic; NULLs sort
last. Sorting on a JSON property orders numbers first, then strings, then everything else.

Operands must be values both databases can bind (see :mod:`connector.store.operands`): integers
within a signed 64-bit integer, finite floats, strings without NUL, datetimes within years 1 to
9999. Integers are bound as 64-bit (``BIGINT``) whatever the column, so an in-range operand never
overflows a 32-bit column's parameter on PostgreSQL.

A JSON property that is missing, or holds a value of another type than the operand, matches no
comparison at all, not even ``!=`` (see :mod:`connector.store.jsonfilter`). A nullable column
matches ``!=`` and ``not in`` when it is NULL ("not equal to x" includes "no value").
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from sqlalchemy import BigInteger, ColumnElement, Float, Select, literal, or_

from connector.store import jsonfilter, operands, patterns, shown_time
from connector.store.errors import InvalidQuery

EDC_NAMESPACE = "https://w3id.org/edc/v0.0.1/ns/"
MAX_LIMIT = 1000
OPERATORS = frozenset(
    {"=", "!=", "in", "not in", "like", "ilike", "<", "<=", ">", ">=", "contains"}
)
_ORDERING = frozenset({"<", "<=", ">", ">="})
_LIST_OPERATORS = frozenset({"in", "not in"})
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
MAX_LIST_OPERANDS = 1000


@dataclass(frozen=True)
class Criterion:
    """``left op right``, e.g. ``Criterion("http://purl.org/dc/terms/title", "like", "Camp%")``."""

    left: str
    op: str
    right: Any

    def __post_init__(self) -> None:
        op = self.op.strip().lower() if isinstance(self.op, str) else self.op
        if op not in OPERATORS:
            raise InvalidQuery(
                f"unsupported operator {self.op!r}; supported: {', '.join(sorted(OPERATORS))}"
            )
        object.__setattr__(self, "op", op)


@dataclass(frozen=True)
class QuerySpec:
    """One page of a query: ``filters`` are ANDed; ``limit`` is 1..1000, ``offset`` ≥ 0."""

    offset: int = 0
    limit: int = 50
    sort_field: str | None = None
    sort_order: Literal["ASC", "DESC"] = "ASC"
    filters: tuple[Criterion, ...] = field(default=())

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}, not {self.limit!r}")
        if isinstance(self.offset, bool) or self.offset < 0:
            raise InvalidQuery(f"offset must be 0 or more, not {self.offset!r}")
        if self.sort_order not in ("ASC", "DESC"):
            raise InvalidQuery(f"sort order must be ASC or DESC, not {self.sort_order!r}")
        object.__setattr__(self, "filters", tuple(self.filters))


class Kind(Enum):
    """What a queryable column holds; decides the operators and operand types it accepts."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    EPOCH_SECONDS = "datetime (shown in epoch seconds)"
    """A datetime that responses show in whole epoch seconds: see :mod:`.shown_time`."""


_SHOWN_UNITS = {Kind.DATETIME: shown_time.MILLISECOND, Kind.EPOCH_SECONDS: shown_time.SECOND}
"""How responses show each datetime kind (epoch milliseconds, as EDC's ``createdAt``)."""

_OPERATORS_BY_KIND = {
    Kind.STRING: OPERATORS - {"contains"},
    Kind.INTEGER: {"=", "!=", "in", "not in", *_ORDERING},
    Kind.DATETIME: {"=", "!=", "in", "not in", *_ORDERING},
    Kind.EPOCH_SECONDS: {"=", "!=", "in", "not in", *_ORDERING},
    Kind.BOOLEAN: {"=", "!="},
}


@dataclass(frozen=True)
class Field:
    column: Any
    kind: Kind
    nullable: bool = False


@dataclass(frozen=True)
class FieldMap:
    """The queryable names of one repository (``what`` names its records in messages)."""

    what: str
    fields: Mapping[str, Field]
    id_column: Any
    json_properties: Any | None = None

    @classmethod
    def build(
        cls, what: str, fields: Mapping[str, Field], id_column: Any, json_properties: Any = None
    ) -> FieldMap:
        """Each name is also accepted in its EDC-namespace form (``…/edc/v0.0.1/ns/state``)."""
        everything = {**{EDC_NAMESPACE + name: f for name, f in fields.items()}, **fields}
        return cls(what, everything, id_column, json_properties)

    def describe(self) -> str:
        names = sorted(name for name in self.fields if not name.startswith(EDC_NAMESPACE))
        extra = " or a property IRI" if self.json_properties is not None else ""
        return ", ".join(names) + extra


def _unknown(fields: FieldMap, name: str) -> InvalidQuery:
    return InvalidQuery(f"unknown {fields.what} field {name!r}; use {fields.describe()}")


def _property_key(fields: FieldMap, name: str) -> str:
    if fields.json_properties is None or not _IRI.match(name) or not jsonfilter.is_safe_key(name):
        raise _unknown(fields, name)
    return name


def _operand(kind: Kind, value: Any, name: str) -> Any:
    if kind is Kind.DATETIME:
        return operands.timestamp(value, name)
    if kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidQuery(f"{name!r} needs true or false, not {value!r}")
    if kind is Kind.INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return operands.integer(value, name)
        raise InvalidQuery(f"{name!r} needs an integer, not {value!r}")
    if isinstance(value, str):
        return operands.text(value, name)
    raise InvalidQuery(f"{name!r} needs a string, not {value!r}")


def _operands(criterion: Criterion) -> list[Any]:
    right = criterion.right
    if not isinstance(right, list | tuple) or not right:
        raise InvalidQuery(f"operator {criterion.op!r} needs a non-empty list of values")
    if len(right) > MAX_LIST_OPERANDS:
        raise InvalidQuery(f"operator {criterion.op!r} takes at most {MAX_LIST_OPERANDS} values")
    return list(right)


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda expr, value: expr.in_(value),
    "not in": lambda expr, value: expr.not_in(value),
}


def _bound(value: Any) -> Any:
    """A number as a 64-bit integer or double parameter, whatever the other side's type (the
    driver would otherwise bind an int against an INTEGER column as a 32-bit parameter)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return literal(value, BigInteger if isinstance(value, int) else Float)


def _compare(expr: Any, op: str, value: Any, backend: str) -> ColumnElement[bool]:
    """``expr op value`` in SQL (``contains`` is handled by the callers)."""
    if op == "like":
        return patterns.like(expr, value, backend)
    if op == "ilike":
        return patterns.ilike(expr, value, backend)
    if op not in _COMPARISONS:
        raise InvalidQuery(f"unsupported operator {op!r}")
    bound = [_bound(item) for item in value] if op in _LIST_OPERATORS else _bound(value)
    return _COMPARISONS[op](expr, bound)  # type: ignore[no-any-return]


def _column_condition(field_: Field, criterion: Criterion, backend: str) -> ColumnElement[bool]:
    name, op = criterion.left, criterion.op
    if op not in _OPERATORS_BY_KIND[field_.kind]:
        raise InvalidQuery(f"operator {op!r} does not apply to {field_.kind.value} field {name!r}")
    if field_.kind in _SHOWN_UNITS:  # compared as responses show them (whole units)
        right = _operands(criterion) if op in _LIST_OPERATORS else criterion.right
        return shown_time.condition(field_.column, op, right, name, unit=_SHOWN_UNITS[field_.kind])
    if op in _LIST_OPERATORS:
        value: Any = [_operand(field_.kind, item, name) for item in _operands(criterion)]
    else:
        value = _operand(field_.kind, criterion.right, name)
    return _compare(field_.column, op, value, backend)


def _property_condition(
    fields: FieldMap, key: str, criterion: Criterion, backend: str
) -> ColumnElement[bool]:
    op, column = criterion.op, fields.json_properties
    if op == "contains":
        if jsonfilter.scalar_type_of(criterion.right) is None:
            raise InvalidQuery(f"'contains' on {key!r} needs a string, number or boolean")
        member = operands.scalar(criterion.right, key)
        return jsonfilter.array_contains(column, key, member, backend)
    values = _operands(criterion) if op in _LIST_OPERATORS else [criterion.right]
    values = [operands.scalar(value, key) for value in values]
    kinds = {jsonfilter.scalar_type_of(item) for item in values}
    if None in kinds or len(kinds) != 1:
        raise InvalidQuery(
            f"operator {op!r} on property {key!r} needs string, number or boolean values "
            "of one type"
        )
    kind = kinds.pop()
    assert kind is not None
    if op in ("like", "ilike") and kind != "string":
        raise InvalidQuery(f"operator {op!r} needs a string pattern")
    if kind == "boolean" and op not in ("=", "!=", "in", "not in"):
        raise InvalidQuery(f"operator {op!r} does not apply to a boolean")
    expr = jsonfilter.scalar(column, key, kind, backend)
    right = values if op in _LIST_OPERATORS else values[0]
    return _compare(expr, op, right, backend)


def conditions(
    filters: Sequence[Criterion], fields: FieldMap, backend: str
) -> list[ColumnElement[bool]]:
    """The WHERE conditions (to AND) for ``filters``; raises InvalidQuery on any misuse."""
    found: list[ColumnElement[bool]] = []
    for criterion in filters:
        if not isinstance(criterion.left, str) or not criterion.left:
            raise InvalidQuery("every criterion needs a field name")
        field_ = fields.fields.get(criterion.left)
        if field_ is not None:
            if criterion.op == "contains":
                raise InvalidQuery(f"'contains' does not apply to field {criterion.left!r}")
            condition = _column_condition(field_, criterion, backend)
            if criterion.op in ("!=", "not in") and field_.nullable:
                condition = or_(condition, field_.column.is_(None))
            found.append(condition)
        else:
            key = _property_key(fields, criterion.left)
            found.append(_property_condition(fields, key, criterion, backend))
    return found


def ordering(spec: QuerySpec, fields: FieldMap, backend: str) -> list[ColumnElement[Any]]:
    """ORDER BY terms: the sort field (NULLs last) then the id, in the requested direction."""
    descending = spec.sort_order == "DESC"

    def direct(expr: Any) -> ColumnElement[Any]:
        return expr.desc() if descending else expr.asc()  # type: ignore[no-any-return]

    terms: list[ColumnElement[Any]] = []
    if spec.sort_field is not None:
        field_ = fields.fields.get(spec.sort_field)
        if field_ is not None:
            term = direct(field_.column)
            terms.append(term.nulls_last() if field_.nullable else term)
        else:
            key = _property_key(fields, spec.sort_field)
            for kind in ("number", "string"):
                scalar = jsonfilter.scalar(fields.json_properties, key, kind, backend)
                terms.append(direct(scalar).nulls_last())
    terms.append(direct(fields.id_column))
    return terms


def apply(statement: Select[Any], spec: QuerySpec, fields: FieldMap, backend: str) -> Select[Any]:
    """``statement`` filtered, sorted and paged as ``spec`` asks."""
    return (
        statement.where(*conditions(spec.filters, fields, backend))
        .order_by(*ordering(spec, fields, backend))
        .offset(spec.offset)
        .limit(spec.limit)
    )

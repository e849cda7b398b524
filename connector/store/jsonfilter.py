"""SQL expressions over one key of a JSON object column that mean the same on SQLite and PostgreSQL.

The two databases disagree on JSON typing: PostgreSQL's ``->>`` turns the number ``10`` into the
text ``'10'``, SQLite's ``json_extract`` returns an integer that never equals a text; a cast of a
non-numeric text to a number is an error on PostgreSQL and ``0`` on SQLite. So every scalar here
is typed: :func:`scalar` yields the value only when the JSON value has the requested type (string,
number, boolean) and ``NULL`` otherwise; a comparison with a value of another type, or with a
missing key, is simply false on both databases.

:func:`array_contains` is JSON array membership (``@>`` on PostgreSQL, ``json_each`` on SQLite),
true only when the value is an array that holds an element equal in value and type.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from sqlalchemy import Boolean, ColumnElement, Float, String, and_, case, exists, func, select
from sqlalchemy import type_coerce as coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

ScalarType = Literal["string", "number", "boolean"]

# Keys are addressed by a JSON path on SQLite: refuse anything that could escape the quoted key,
# and lone surrogates, which neither driver can encode as UTF-8.
_SAFE_KEY = re.compile(r'^[^"\\\x00-\x1f\x7f\ud800-\udfff]{1,512}$')

_SQLITE_TYPES: dict[ScalarType, tuple[str, ...]] = {
    "string": ("text",),
    "number": ("integer", "real"),
    "boolean": ("true", "false"),
}
_SQL_TYPES: dict[ScalarType, TypeEngine[Any]] = {
    "string": String(),
    "number": Float(),
    "boolean": Boolean(),
}


def is_safe_key(key: str) -> bool:
    """Whether ``key`` can be used as a JSON object key in a filter."""
    return bool(_SAFE_KEY.match(key))


def scalar_type_of(value: Any) -> ScalarType | None:
    """The JSON scalar type of a Python operand (``bool`` before ``int``), or ``None``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _sqlite_path(key: str) -> str:
    return f'$."{key}"'


def scalar(column: Any, key: str, kind: ScalarType, backend: str) -> ColumnElement[Any]:
    """``column[key]`` as a SQL value when it is a JSON ``kind``, else ``NULL``."""
    sql_type = _SQL_TYPES[kind]
    if backend == "postgresql":
        element = coerce(column, JSONB)[key]
        text = coerce(column, JSONB)[key].astext
        value = text if kind == "string" else text.cast(sql_type)
        return coerce(case((func.jsonb_typeof(element) == kind, value)), sql_type)
    path = _sqlite_path(key)
    json_type = func.json_type(column, path)
    return coerce(
        case((json_type.in_(_SQLITE_TYPES[kind]), func.json_extract(column, path))), sql_type
    )


def array_contains(column: Any, key: str, value: Any, backend: str) -> ColumnElement[bool]:
    """Whether ``column[key]`` is a JSON array with an element equal to the scalar ``value``."""
    kind = scalar_type_of(value)
    if kind is None:
        raise TypeError("array_contains needs a string, number or boolean")
    if backend == "postgresql":
        element = coerce(column, JSONB)[key]
        return and_(
            func.jsonb_typeof(element) == "array",
            element.contains(coerce([value], JSONB)),
        )
    path = _sqlite_path(key)
    items = func.json_each(column, path).table_valued("value", "type")
    sql_value: ColumnElement[Any] = coerce(value, _SQL_TYPES[kind])
    return and_(
        func.json_type(column, path) == "array",
        exists(
            select(1)
            .select_from(items)
            .where(items.c.type.in_(_SQLITE_TYPES[kind]), items.c.value == sql_value)
        ),
    )

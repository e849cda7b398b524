"""``INSERT … ON CONFLICT DO UPDATE … WHERE``: one atomic statement on SQLite and PostgreSQL.

Both databases decide "insert, or update the existing row only if a condition holds" inside one
statement, under the row's lock, so concurrent callers (threads, processes, replicas) are
serialised by the database itself. The caller learns which case won: a row comes back
(``RETURNING``) when it was inserted or the conditional update applied, none when the condition
refused it. (``RETURNING`` rather than the row count: with SQLAlchemy 2.1 and psycopg 3
a Core INSERT reports a row count of -1.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, literal_column
from sqlalchemy.dialects import postgresql, sqlite

from connector.store.repositories._support import backend


def upsert_statement(
    backend_name: str,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Mapping[str, Any],
    condition: ColumnElement[bool],
) -> Any:
    """The statement of :func:`upsert_if` for ``backend_name`` (``"sqlite"`` or
    ``"postgresql"``); with bind parameters as values, it can be built once and run many
    times. It returns a row when it wrote one."""
    dialect = postgresql if backend_name == "postgresql" else sqlite
    return (
        dialect.insert(table)
        .values(dict(values))
        .on_conflict_do_update(index_elements=list(key), set_=dict(update), where=condition)
        .returning(literal_column("1"))
    )


def upsert_if(
    session: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Mapping[str, Any],
    condition: ColumnElement[bool],
) -> bool:
    """Insert ``values``, or on a ``key`` conflict apply ``update`` when ``condition`` holds on
    the existing row; True when a row was written."""
    statement = upsert_statement(
        backend(session), table, values, key=key, update=update, condition=condition
    )
    return session.execute(statement).first() is not None

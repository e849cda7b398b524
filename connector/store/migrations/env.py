"""Alembic environment: runs the revisions on the connection :mod:`connector.store.migrate` passes.

Alembic executes this file for every command. The connection (already inside a transaction)
comes from ``config.attributes["connection"]``; without one, ``sqlalchemy.url`` is opened through
:class:`connector.store.database.Database` so SQLite gets the same pragmas as at run time.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from connector.store.database import Database
from connector.store.models import metadata


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url: use connector.store.migrate")
    database = Database.from_url(url)
    try:
        with database.schema_transaction() as opened:
            _run_on(opened)
    finally:
        database.dispose()


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()

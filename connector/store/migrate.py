"""Schema migrations (Alembic), configured in code: no ``alembic.ini`` is needed at run time.

``upgrade(db)`` brings a database to the newest schema; replicas starting together are safe (on
PostgreSQL a transaction-scoped advisory lock serialises them, on SQLite ``BEGIN IMMEDIATE``
does), and a database already at the head is left untouched. Each upgrade runs in one
transaction: on both databases DDL is transactional, so a failed migration leaves nothing behind.
On SQLite foreign keys are checked when it commits, not while it runs
(:meth:`~connector.store.database.Database.schema_transaction`): SQLite changes a table by
rebuilding it, and dropping the old one would otherwise cascade to the rows that refer to it.

Revision files live in ``connector/store/migrations/versions`` and are reviewed by hand. To draft a
new one from the models, run ``alembic.command.revision(alembic_config(url=...),
message, autogenerate=True)`` against a database at the current head, then edit the result
(SQLite needs ``op.batch_alter_table`` for ALTERs; ``env.py`` renders batch mode for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

from connector.store.database import Database

MIGRATIONS_PATH = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: any constant unique to this application ("etds" in ASCII).
_MIGRATION_LOCK_KEY = 0x65746473


def alembic_config(*, connection: Connection | None = None, url: str | URL | None = None) -> Config:
    """An Alembic configuration for our migrations, bound to ``connection`` or to ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_PATH).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    if url is not None:
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


@contextmanager
def _opened(target: Database | str | URL) -> Iterator[Database]:
    if isinstance(target, Database):
        yield target
        return
    database = Database.from_url(target)
    try:
        yield database
    finally:
        database.dispose()


def upgrade(target: Database | str | URL, revision: str = "head") -> None:
    """Migrate ``target`` (a Database or a URL) up to ``revision``, in one transaction."""
    with _opened(target) as database, database.schema_transaction() as connection:
        if connection.dialect.name == "postgresql":
            # A migration waits for other replicas' migrations and for the locks its DDL needs,
            # however long (the connection may carry a lock_timeout: run_on_loop).
            connection.execute(text("SET LOCAL lock_timeout = 0"))
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        command.upgrade(alembic_config(connection=connection), revision)


def downgrade(target: Database | str | URL, revision: str) -> None:
    """Migrate ``target`` down to ``revision`` (``"base"`` drops every table we created)."""
    with _opened(target) as database, database.schema_transaction() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL lock_timeout = 0"))
        command.downgrade(alembic_config(connection=connection), revision)


def current_revision(target: Database | str | URL) -> str | None:
    """The revision ``target`` is at, or ``None`` for a database never migrated."""
    with _opened(target) as database, database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration revisions found under {MIGRATIONS_PATH}")
    return head

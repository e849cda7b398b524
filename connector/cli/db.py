"""``etds db``: database schema migrations."""

from __future__ import annotations

from pathlib import Path

import click

from connector.cli.common import config_option, settings_or_exit


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@config_option
def db_upgrade(config_file: Path | None) -> None:
    """Migrate the database to the newest schema."""
    from connector.store.database import Database
    from connector.store.migrate import current_revision, upgrade

    settings = settings_or_exit(config_file)
    database = Database.from_url(settings.database.url.get_secret_value())
    try:
        upgrade(database)
        click.echo(f"database schema at revision {current_revision(database)}")
    finally:
        database.dispose()


@db.command("current")
@config_option
def db_current(config_file: Path | None) -> None:
    """Print the database's schema revision (and the newest one this version knows)."""
    from connector.store.database import Database
    from connector.store.migrate import current_revision, head_revision

    settings = settings_or_exit(config_file)
    database = Database.from_url(settings.database.url.get_secret_value())
    try:
        click.echo(f"current: {current_revision(database) or '(empty database)'}")
        click.echo(f"newest:  {head_revision()}")
    finally:
        database.dispose()

"""A PostgreSQL connection lost while it sits in a database's pool, as after a server restart."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from connector.store.database import Database


def end_pooled_connection(database: Database) -> int:
    """Have the server end the connection ``database``'s pool holds (the one a read just used)
    and wait until its backend has exited; that backend's pid."""
    with database.read() as session:
        backend = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
    killer = create_engine(database.url.render_as_string(hide_password=False), poolclass=NullPool)
    try:
        with killer.connect() as other:
            # Waits (up to 10 s) until the backend has exited.
            terminate = text("SELECT pg_terminate_backend(:pid, 10000)")
            assert other.execute(terminate, {"pid": backend}).scalar()
    finally:
        killer.dispose()
    return backend

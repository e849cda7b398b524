"""Persistence: SQLite (embedded default, WAL) or PostgreSQL (production), behind repositories.

* :mod:`.database` — ``Database.from_url(url)``; ``db.transaction()`` / ``db.read()`` sessions.
* :mod:`.migrate` — ``upgrade(db)``, ``current_revision(db)``, ``head_revision()`` (Alembic).
* :mod:`.repositories` — one repository per record kind, each built on a session.
* :mod:`.records` — the frozen records repositories take and return.
* :mod:`.query` — ``QuerySpec`` / ``Criterion`` (EDC-style paging, sorting, filters).
* :mod:`.errors` — ``NotFound``, ``AlreadyExists``, ``StillReferenced``, ``StaleRecord``,
  ``InvalidQuery``, ``InvalidRecord``.
"""

"""Single-use token identifiers: DPoP proof ``jti``s, client-assertion ``jti``s, ...

``remember`` is the replay check: one atomic statement inserts ``(kind, jti)``, or takes over an
entry whose ``expires_at`` has passed; it reports whether this caller was the first. Correct under
concurrency from threads, processes and replicas, because the database decides (see
:mod:`._upsert`). ``kind`` keeps the namespaces of different token types apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Connection, CursorResult, Table, bindparam, delete

from connector.store.models import UsedToken
from connector.store.prepared import Prepared
from connector.store.repositories._support import backend, check_time, validate
from connector.store.repositories._upsert import upsert_statement

_TABLE: Table = UsedToken.__table__  # type: ignore[assignment]
KIND = "used token"


def _remember(backend_name: str) -> Any:
    """Insert ``(:kind, :jti)`` until ``:expires_at``, or take over an entry that expired at
    or before ``:now``; a row comes back when this caller was first."""
    expires_at: BindParameter[datetime] = bindparam("expires_at")
    return upsert_statement(
        backend_name,
        _TABLE,
        {"kind": bindparam("kind"), "jti": bindparam("jti"), "expires_at": expires_at},
        key=("kind", "jti"),
        update={"expires_at": expires_at},
        condition=_TABLE.c.expires_at <= bindparam("now"),
    )


# Built once (see _support.by_id): one runs for every DPoP proof a node receives.
_REMEMBER = {name: Prepared(_remember(name)) for name in ("sqlite", "postgresql")}


class ReplayRepository:
    """Remember token ids until they expire."""

    def __init__(self, session: Connection) -> None:
        self._session = session

    def remember(self, kind: str, jti: str, expires_at: datetime, *, now: datetime) -> bool:
        """True the first time ``(kind, jti)`` is seen (or when its previous entry expired at or
        before ``now``); False for a replay. Keeps the entry until ``expires_at``."""
        values = {"kind": kind, "jti": jti, "expires_at": expires_at}
        validate(KIND, _TABLE, values)
        check_time(KIND, "now", now)
        statement = _REMEMBER[backend(self._session)]
        return statement.first(self._session, {**values, "now": now}) is not None

    def purge_expired(self, now: datetime) -> int:
        """Delete the entries that expired at or before ``now``; returns how many."""
        check_time(KIND, "now", now)
        result = cast(
            CursorResult[Any],
            self._session.execute(delete(_TABLE).where(_TABLE.c.expires_at <= now)),
        )
        return result.rowcount

"""Single-use token identifiers: DPoP proof ``jti``s, client-assertion ``jti``s, ...

``remember`` is the replay check: one atomic statement inserts ``(kind, jti)``, or takes over an
entry whose ``expires_at`` has passed; it reports whether this caller was the first. Correct under
concurrency from threads, processes and replicas, because the database decides (see
:mod:`._upsert`). ``kind`` keeps the namespaces of different token types apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete
from sqlalchemy.orm import Session

from connector.store.models import UsedToken
from connector.store.repositories._support import check_time, validate
from connector.store.repositories._upsert import upsert_if

_TABLE: Table = UsedToken.__table__  # type: ignore[assignment]
KIND = "used token"


class ReplayRepository:
    """Remember token ids until they expire."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def remember(self, kind: str, jti: str, expires_at: datetime, *, now: datetime) -> bool:
        """True the first time ``(kind, jti)`` is seen (or when its previous entry expired at or
        before ``now``); False for a replay. Keeps the entry until ``expires_at``."""
        values = {"kind": kind, "jti": jti, "expires_at": expires_at}
        validate(KIND, _TABLE, values)
        check_time(KIND, "now", now)
        return upsert_if(
            self._session,
            _TABLE,
            values,
            key=("kind", "jti"),
            update={"expires_at": expires_at},
            condition=_TABLE.c.expires_at <= now,
        )

    def purge_expired(self, now: datetime) -> int:
        """Delete the entries that expired at or before ``now``; returns how many."""
        check_time(KIND, "now", now)
        result = cast(
            CursorResult[Any],
            self._session.execute(delete(_TABLE).where(_TABLE.c.expires_at <= now)),
        )
        return result.rowcount

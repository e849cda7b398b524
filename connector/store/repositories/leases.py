"""Named leases: at most one holder at a time, for a limited time (e.g. one replica runs a job).

``acquire`` is one atomic statement: insert the lease, or take it over when it has expired, or
extend it when the caller already holds it (see :mod:`._upsert`). Two holders can never both get
it, whatever the concurrency. Times are explicit (``now``) so callers and tests control them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Table, delete, or_, select, update

from connector.store.models import Lease
from connector.store.records import LeaseRecord
from connector.store.repositories._support import check_time, record_from, validate
from connector.store.repositories._upsert import upsert_if

_TABLE: Table = Lease.__table__  # type: ignore[assignment]
KIND = "lease"


def _expiry(now: datetime, ttl_seconds: float) -> datetime:
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    return now + timedelta(seconds=ttl_seconds)


class LeaseRepository:
    """Acquire, renew, release and inspect named leases."""

    def __init__(self, session: Connection) -> None:
        self._session = session

    def acquire(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        """Take lease ``name`` for ``holder`` until ``now + ttl_seconds``: True when it was free,
        expired, or already ``holder``'s (then extended); False when someone else holds it."""
        values = {"name": name, "holder": holder, "expires_at": _expiry(now, ttl_seconds)}
        check_time(KIND, "now", now)
        validate(KIND, _TABLE, values)
        return upsert_if(
            self._session,
            _TABLE,
            values,
            key=("name",),
            update={"holder": holder, "expires_at": values["expires_at"]},
            condition=or_(_TABLE.c.expires_at <= now, _TABLE.c.holder == holder),
        )

    def renew(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        """Extend ``holder``'s unexpired lease ``name`` to ``now + ttl_seconds``; False when
        ``holder`` does not hold it (any more)."""
        check_time(KIND, "now", now)
        expires_at = _expiry(now, ttl_seconds)
        result = cast(
            CursorResult[Any],
            self._session.execute(
                update(_TABLE)
                .where(_TABLE.c.name == name, _TABLE.c.holder == holder, _TABLE.c.expires_at > now)
                .values(expires_at=expires_at)
            ),
        )
        return result.rowcount == 1

    def release(self, name: str, holder: str) -> bool:
        """Give lease ``name`` up if ``holder`` has it; True when it was released."""
        result = cast(
            CursorResult[Any],
            self._session.execute(
                delete(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == holder)
            ),
        )
        return result.rowcount == 1

    def get(self, name: str) -> LeaseRecord | None:
        """The stored lease ``name`` (possibly expired), or None."""
        row = self._session.execute(select(_TABLE).where(_TABLE.c.name == name)).first()
        return None if row is None else record_from(LeaseRecord, row._mapping)

    def holder_of(self, name: str, now: datetime) -> str | None:
        """Who holds lease ``name`` at ``now`` (None when free or expired)."""
        check_time(KIND, "now", now)
        lease = self.get(name)
        if lease is None or lease.expires_at <= now:
            return None
        return lease.holder

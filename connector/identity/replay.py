"""Single use of DPoP proofs and client assertions, decided by the database.

Each ``jti`` is remembered with one atomic insert (:class:`~connector.store.repositories.replay.
ReplayRepository`), so two replicas receiving the same proof at the same moment cannot both
accept it. The stored key is a SHA-256 of ``namespace`` (the key thumbprint or the client id)
and the ``jti``: bounded in length whatever the peer sent, and one client cannot use up another's
identifiers.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from anyio import to_thread

from connector.identity.jose import b64url
from connector.store.database import Database
from connector.store.repositories.replay import ReplayRepository

DPOP = "dpop"
CLIENT_ASSERTION = "client-assertion"


def _at(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def replay_key(namespace: str, jti: str) -> str:
    """The stored identifier of ``jti`` within ``namespace``."""
    digest = hashlib.sha256(namespace.encode("utf-8") + b"\x00" + jti.encode("utf-8")).digest()
    return b64url(digest)


class ReplayGuard:
    """Remembers token identifiers in ``database`` until they expire."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def first_use(
        self, kind: str, namespace: str, jti: str, *, expires_at: float, now: float
    ) -> bool:
        """True the first time ``jti`` is seen in ``(kind, namespace)`` before ``expires_at``."""
        with self._database.transaction() as session:
            return ReplayRepository(session).remember(
                kind, replay_key(namespace, jti), _at(expires_at), now=_at(now)
            )

    async def first_use_async(
        self, kind: str, namespace: str, jti: str, *, expires_at: float, now: float
    ) -> bool:
        """:meth:`first_use` from async code (the database call runs in a worker thread)."""
        return await to_thread.run_sync(
            lambda: self.first_use(kind, namespace, jti, expires_at=expires_at, now=now)
        )

    def purge(self, *, now: float) -> int:
        """Forget the identifiers that expired (housekeeping); returns how many."""
        with self._database.transaction() as session:
            return ReplayRepository(session).purge_expired(_at(now))

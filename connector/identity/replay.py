"""Single use of DPoP proofs and client assertions, decided by the database.

Each ``jti`` is remembered with one atomic insert (:class:`~connector.store.repositories.replay.
ReplayRepository`), so two replicas receiving the same proof at the same moment cannot both
accept it. The insert runs in a transaction of its own (:meth:`ReplayGuard.first_use`) or in the
transaction of the change the request makes (:meth:`ReplayGuard.remember_in`), so that the
request's effect and the proof's use commit together. The stored key is a SHA-256 of
``namespace`` (the key thumbprint or the client id) and the ``jti``: bounded in length whatever
the peer sent, and one client cannot use up another's identifiers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

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


@dataclass(frozen=True)
class SingleUse:
    """An identifier that may be used once: ``jti`` in ``(kind, namespace)``, seen at ``now``,
    remembered until ``expires_at`` (epoch seconds)."""

    kind: str
    namespace: str
    jti: str
    expires_at: float
    now: float


class ReplayGuard:
    """Remembers token identifiers in ``database`` until they expire."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def first_use(
        self, kind: str, namespace: str, jti: str, *, expires_at: float, now: float
    ) -> bool:
        """True the first time ``jti`` is seen in ``(kind, namespace)`` before ``expires_at``."""
        use = SingleUse(kind, namespace, jti, expires_at, now)
        with self._database.transaction() as connection:
            return self.remember_in(connection, use)

    def remember_in(self, connection: Connection, use: SingleUse) -> bool:
        """:meth:`first_use` of ``use`` in the caller's transaction on ``connection``: remembered
        only if that transaction commits."""
        return ReplayRepository(connection).remember(
            use.kind, replay_key(use.namespace, use.jti), _at(use.expires_at), now=_at(use.now)
        )

    def purge(self, *, now: float) -> int:
        """Forget the identifiers that expired (housekeeping); returns how many."""
        with self._database.transaction() as session:
            return ReplayRepository(session).purge_expired(_at(now))

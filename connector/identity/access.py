"""The check of one inbound request: its access token, its DPoP proof, and the proof's single use.

``Authorization: DPoP <token>`` with exactly one ``DPoP`` header: the token must be bound
(``cnf.jkt``), the proof must be for this request (method and URL — the URL as peers call it: the
configured public URL plus the path, whatever a reverse proxy rewrote), for this token (``ath``),
signed by the bound key, fresh, and never seen before (an atomic insert, per key).

A request that changes something can have the proof's use remembered in the transaction of that
change instead (:meth:`AccessCheck.deferred`, :class:`PendingUse`): one transaction per message
instead of two. The proof is used up whatever happens: when that transaction did not commit it,
it is remembered on its own as the request ends, before the answer leaves, and a replayed proof
is refused there too.

``Authorization: Bearer <token>`` is accepted only when the node is configured to accept bearer
tokens, and never for a token bound to a key (RFC 9449 §7.2: a bound token is useless without
its proof).

Every failure is an :class:`~connector.errors.Unauthorized` with the same generic detail for the
caller; the real reason goes in ``log_detail``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from anyio import CancelScope, to_thread
from sqlalchemy import Connection
from starlette.requests import Request

from connector.errors import Unauthorized
from connector.identity import replay
from connector.identity.algorithms import DEFAULT_ALGORITHMS
from connector.identity.dpop import DpopFailure, replay_expiry, verify_proof
from connector.identity.settings import Use
from connector.identity.verifier import TokenRejected, TokenVerifier, VerifiedToken

PUBLIC_DETAIL = "a valid access token (and DPoP proof) is required"


def refused(reason: str) -> Unauthorized:
    """The error every authentication failure raises: generic detail, ``reason`` for the log."""
    return Unauthorized(PUBLIC_DETAIL, log_detail=f"authentication failed: {reason}")


@dataclass(frozen=True)
class Credentials:
    """What a request presented: the scheme (lower case), the token and the DPoP headers."""

    scheme: str
    token: str
    proofs: Sequence[str]


def credentials(authorization: Sequence[str], dpop: Sequence[str]) -> Credentials:
    """Parse the ``Authorization`` headers (exactly one, ``DPoP`` or ``Bearer``)."""
    if len(authorization) != 1:
        raise refused("send exactly one Authorization header")
    scheme, _, token = authorization[0].strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in ("dpop", "bearer") or not token or " " in token:
        raise refused("the Authorization header is not 'DPoP <token>' or 'Bearer <token>'")
    return Credentials(scheme.lower(), token, tuple(dpop))


def request_url(request: Request, public_url: str) -> str:
    """The URL a peer called: our public URL + the path exactly as it called it (``raw_path``:
    percent-encoded as sent, with a trailing slash, which routing ignores); query and fragment
    are not part of a DPoP ``htu``."""
    raw: bytes | None = request.scope.get("raw_path")
    # latin-1 maps each byte to one character: a byte no URL has still compares unequal.
    path = raw.decode("latin-1") if raw else str(request.scope.get("path", "/"))
    root = str(request.scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return public_url.rstrip("/") + path


REPLAYED = "the DPoP proof was used before (replay)"


class PendingUse:
    """The single use of a request's DPoP proof, not remembered yet (None: the request had no
    proof, a bearer token).

    The request's handler remembers the use in the transaction of its change with
    :meth:`remember_in` (in each attempt of that transaction) and calls :meth:`committed` once
    that transaction has committed. Whatever the handler did, :meth:`remember_alone` runs as the
    request ends: it stores the use on its own unless that commit did, and refuses a replay.
    """

    def __init__(self, guard: replay.ReplayGuard, use: replay.SingleUse | None) -> None:
        self._guard = guard
        self._use = use
        self._in_transaction = False
        self._done = use is None

    @property
    def done(self) -> bool:
        """Whether the use is settled: remembered, refused, or nothing to remember."""
        return self._done

    def remember_in(self, connection: Connection) -> None:
        """Remember the use in the transaction on ``connection``; :func:`refused` on a replay
        (the caller's transaction then rolls back)."""
        if self._use is None:
            return
        if not self._guard.remember_in(connection, self._use):
            self._done = True  # settled: the other use is stored already
            raise refused(REPLAYED)
        self._in_transaction = True

    def committed(self) -> None:
        """The transaction :meth:`remember_in` last ran in has committed (no effect when it did
        not run)."""
        self._done = self._done or self._in_transaction

    async def remember_alone(self) -> None:
        """Remember the use in a transaction of its own, unless it is settled already;
        :func:`refused` on a replay. Shielded: a request given up on still uses its proof up."""
        use = self._use
        if self._done or use is None:
            return
        with CancelScope(shield=True):
            first = await to_thread.run_sync(
                lambda: self._guard.first_use(
                    use.kind, use.namespace, use.jti, expires_at=use.expires_at, now=use.now
                )
            )
        self._done = True
        if not first:
            raise refused(REPLAYED)


class AccessCheck:
    """Authenticates requests with ``verifier``, remembering proofs with ``replay_guard``."""

    def __init__(
        self,
        verifier: TokenVerifier,
        replay_guard: replay.ReplayGuard,
        *,
        public_url: str,
        accept_bearer: bool,
        dpop_max_age: float,
        leeway: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._replay = replay_guard
        self._public_url = public_url
        self._accept_bearer = accept_bearer
        self._dpop_max_age = dpop_max_age
        self._leeway = leeway
        self._clock = clock

    async def request(self, request: Request, *, audience: str, use: Use) -> VerifiedToken:
        """The verified token of ``request`` for ``audience``; :func:`refused` otherwise."""
        verified, pending = await self.deferred(request, audience=audience, use=use)
        await pending.remember_alone()
        return verified

    async def deferred(
        self, request: Request, *, audience: str, use: Use
    ) -> tuple[VerifiedToken, PendingUse]:
        """:meth:`request`, leaving the proof's use to be remembered by the request's handler
        (see :class:`PendingUse`)."""
        presented = credentials(
            request.headers.getlist("authorization"), request.headers.getlist("dpop")
        )
        verified, single_use = await self._verify(
            presented,
            method=request.method,
            url=request_url(request, self._public_url),
            audience=audience,
            use=use,
        )
        return verified, PendingUse(self._replay, single_use)

    async def check(
        self, presented: Credentials, *, method: str, url: str, audience: str, use: Use
    ) -> VerifiedToken:
        """The same check on already extracted credentials (``url`` as peers call it)."""
        verified, single_use = await self._verify(
            presented, method=method, url=url, audience=audience, use=use
        )
        await PendingUse(self._replay, single_use).remember_alone()
        return verified

    async def _verify(
        self, presented: Credentials, *, method: str, url: str, audience: str, use: Use
    ) -> tuple[VerifiedToken, replay.SingleUse | None]:
        """The token and the proof, verified; the proof's use, not remembered yet."""
        try:
            verified = await self._verifier.verify(presented.token, audience=audience, use=use)
        except TokenRejected as rejection:
            raise refused(str(rejection)) from None
        jkt = verified.jkt
        if presented.scheme == "bearer":
            if jkt is not None:
                raise refused("a DPoP-bound token was presented as a bearer token")
            if not self._accept_bearer:
                raise refused("bearer tokens are not accepted; use DPoP")
            return verified, None
        if jkt is None:
            raise refused("the DPoP scheme was used with a token not bound to a key")
        return verified, self._check_proof(presented, jkt, method=method, url=url)

    def _check_proof(
        self, presented: Credentials, jkt: str, *, method: str, url: str
    ) -> replay.SingleUse:
        if len(presented.proofs) != 1:
            raise refused("exactly one DPoP proof is required")
        now = self._clock()
        try:
            proof = verify_proof(
                presented.proofs[0],
                method=method,
                url=url,
                now=now,
                max_age=self._dpop_max_age,
                leeway=self._leeway,
                access_token=presented.token,
                algorithms=DEFAULT_ALGORITHMS,
            )
        except DpopFailure as failure:
            raise refused(str(failure)) from None
        if proof.jkt != jkt:
            raise refused("the DPoP proof is signed by another key than the token's")
        expires = replay_expiry(proof, max_age=self._dpop_max_age, leeway=self._leeway)
        return replay.SingleUse(replay.DPOP, jkt, proof.jti, expires, now)

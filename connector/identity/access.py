"""The check of one inbound request: its access token, its DPoP proof, and the proof's single use.

``Authorization: DPoP <token>`` with exactly one ``DPoP`` header: the token must be bound
(``cnf.jkt``), the proof must be for this request (method and URL — the URL as peers call it: the
configured public URL plus the path, whatever a reverse proxy rewrote), for this token (``ath``),
signed by the bound key, fresh, and never seen before (an atomic insert, per key).

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
    """The URL a peer called: our public URL + the path the application routes (query and
    fragment are not part of a DPoP ``htu``)."""
    path = str(request.scope.get("path", "/"))
    root = str(request.scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return public_url.rstrip("/") + path


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
        presented = credentials(
            request.headers.getlist("authorization"), request.headers.getlist("dpop")
        )
        return await self.check(
            presented,
            method=request.method,
            url=request_url(request, self._public_url),
            audience=audience,
            use=use,
        )

    async def check(
        self, presented: Credentials, *, method: str, url: str, audience: str, use: Use
    ) -> VerifiedToken:
        """The same check on already extracted credentials (``url`` as peers call it)."""
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
            return verified
        if jkt is None:
            raise refused("the DPoP scheme was used with a token not bound to a key")
        await self._check_proof(presented, jkt, method=method, url=url)
        return verified

    async def _check_proof(
        self, presented: Credentials, jkt: str, *, method: str, url: str
    ) -> None:
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
        first = await self._replay.first_use_async(
            replay.DPOP, jkt, proof.jti, expires_at=expires, now=now
        )
        if not first:
            raise refused("the DPoP proof was used before (replay)")

"""Access-token verification (RFC 9068 profile, RFC 8725 rules), issuer by issuer.

In order, each failure ending the check with its reason:

1. the token is a compact JWS of bounded size without ``jku``/``x5u``/``crit``/... headers;
2. its ``iss`` (read before verification only to choose the issuer) is exactly one of the
   configured trusted issuers, trusted for this use (protocol or management);
3. ``alg`` is in that issuer's allow-list (asymmetric only), ``typ`` among its accepted types
   (``at+jwt``);
4. the key is that issuer's key ``kid`` (its JWKS, cached, refetched once on an unknown kid);
5. the signature verifies; then, on the verified claims: ``iss`` again, ``aud`` is exactly our
   audience, ``exp`` required and not passed, ``iat`` required, not in the future and not older
   than the maximum age, ``nbf`` (if any) passed, ``jti`` and ``sub`` present, ``cnf`` well formed;
6. the mapped claims are usable; a protocol token carries the issuer's protocol scope and no
   management scope.

All times allow ``leeway`` seconds of clock skew.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import Key

from catalog.jsonld import copy_json
from connector.identity.claims import ClaimError, map_claims
from connector.identity.jose import JoseFailure, unverified_claims, unverified_header, verify
from connector.identity.jwks import JwksCache, KeysUnavailable, UnknownKey
from connector.identity.settings import TrustedIssuer, Use

MANAGEMENT_SCOPES = frozenset({"management:read", "management:write"})
MAX_JTI_LENGTH = 256
SIGNATURE_CACHE_SIZE = 1024
"""Tokens whose signature verified, remembered (a peer presents the same token with every request
until it expires); the claims are still checked on every request."""


class TokenRejected(Exception):
    """The token is not acceptable; the message says why (for the log, never for the peer)."""


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every check: its issuer, raw verified claims and mapped claims."""

    issuer: TrustedIssuer
    claims: Mapping[str, Any]
    mapped: Mapping[str, Any]

    @property
    def jkt(self) -> str | None:
        """The thumbprint of the key the token is bound to (``cnf.jkt``), if any."""
        cnf = self.claims.get("cnf")
        return cnf.get("jkt") if isinstance(cnf, Mapping) else None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(str(self.mapped.get("scope", "")).split())


def _media_type(typ: Any) -> str | None:
    if not isinstance(typ, str):
        return None
    lowered = typ.lower()
    return lowered.removeprefix("application/")


def _int_claim(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TokenRejected(f"{name} is not an integer")
    return value


class TokenVerifier:
    """Verifies access tokens of the ``issuers`` with keys from ``keys``."""

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        keys: JwksCache,
        *,
        leeway: float,
        max_age: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = {trusted.issuer: trusted for trusted in issuers}
        self._keys = keys
        self._leeway = leeway
        self._max_age = max_age
        self._clock = clock
        # token → (the key that verified it, the algorithms allowed then, its claims)
        self._signatures: OrderedDict[str, tuple[Key, frozenset[str], dict[str, Any]]] = (
            OrderedDict()
        )

    def _issuer(self, token: str, use: Use) -> TrustedIssuer:
        try:
            iss = unverified_claims(token).get("iss")
        except JoseFailure as failure:
            raise TokenRejected(str(failure)) from None
        trusted = self._issuers.get(iss) if isinstance(iss, str) else None
        if trusted is None or use not in trusted.use:
            raise TokenRejected(f"issuer {iss!r} is not trusted for {use} tokens")
        return trusted

    async def verify(self, token: str, *, audience: str, use: Use) -> VerifiedToken:
        """The verified token; :class:`TokenRejected` with the reason otherwise."""
        try:
            header = unverified_header(token)
        except JoseFailure as failure:
            raise TokenRejected(str(failure)) from None
        trusted = self._issuer(token, use)
        if header["alg"] not in trusted.algorithms:
            raise TokenRejected(f"algorithm {header['alg']!r} is not allowed for this issuer")
        accepted = {_media_type(typ) for typ in trusted.token_types}
        if _media_type(header.get("typ")) not in accepted:
            raise TokenRejected(f"typ {header.get('typ')!r} is not an access token type")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("kid is not a string")
        try:
            key = await self._keys.key(trusted, kid)
            claims = self._signed_claims(token, key, trusted.algorithms)
        except (UnknownKey, KeysUnavailable, JoseFailure) as failure:
            raise TokenRejected(str(failure)) from None
        self._check_claims(claims, trusted, audience)
        try:
            mapped = map_claims(claims, trusted.claims)
        except ClaimError as error:
            raise TokenRejected(str(error)) from None
        verified = VerifiedToken(issuer=trusted, claims=claims, mapped=mapped)
        if use == "protocol":
            if MANAGEMENT_SCOPES & verified.scopes:
                raise TokenRejected("a management token is not a protocol token")
            if trusted.protocol_scope and trusted.protocol_scope not in verified.scopes:
                raise TokenRejected(f"the token lacks the scope {trusted.protocol_scope!r}")
        return verified

    def _signed_claims(self, token: str, key: Key, algorithms: Collection[str]) -> dict[str, Any]:
        """The claims of ``token`` after its signature verified with ``key``. A token verified
        before with this very key (the issuer's current JWKS entry: a rotated key verifies
        again) under the same algorithms is not verified twice."""
        allowed = frozenset(algorithms)
        seen = self._signatures.get(token)
        if seen is not None and seen[0] is key and seen[1] == allowed:
            with contextlib.suppress(KeyError):  # evicted meanwhile by another thread
                self._signatures.move_to_end(token)
            claims: dict[str, Any] = copy_json(seen[2])  # callers get their own to change
            return claims
        _, claims = verify(token, key, algorithms)
        self._signatures[token] = (key, allowed, copy_json(claims))
        if len(self._signatures) > SIGNATURE_CACHE_SIZE:
            with contextlib.suppress(KeyError):
                self._signatures.popitem(last=False)
        return claims

    def _check_claims(self, claims: dict[str, Any], trusted: TrustedIssuer, audience: str) -> None:
        now, leeway = self._clock(), self._leeway
        if claims.get("iss") != trusted.issuer:
            raise TokenRejected("iss changed between reading and verifying")
        if claims.get("aud") not in (audience, [audience]):
            raise TokenRejected(f"aud {claims.get('aud')!r} is not {audience!r}")
        exp, iat, nbf = (_int_claim(claims, name) for name in ("exp", "iat", "nbf"))
        if exp is None:
            raise TokenRejected("exp is missing")
        if now >= exp + leeway:
            raise TokenRejected("the token expired")
        if iat is None:
            raise TokenRejected("iat is missing")
        if iat > now + leeway:
            raise TokenRejected("iat is in the future")
        if now - iat > self._max_age + leeway:
            raise TokenRejected("the token is older than the maximum age")
        if nbf is not None and nbf > now + leeway:
            raise TokenRejected("the token is not valid yet (nbf)")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
            raise TokenRejected("jti is missing")
        cnf = claims.get("cnf")
        if cnf is not None and not (isinstance(cnf, dict) and isinstance(cnf.get("jkt"), str)):
            raise TokenRejected("cnf is not a {jkt} confirmation")

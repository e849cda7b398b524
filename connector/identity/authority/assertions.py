"""RFC 7523 ``private_key_jwt`` client authentication, stricter than authlib's default.

The assertion is verified against the participant's registered keys only, with the ES256 /
EdDSA allow-list; ``iss`` = ``sub`` = the client id; ``aud`` is the authority's issuer exactly;
``exp`` and ``iat`` are required and the lifetime is at most ``assertion_max_lifetime_seconds``;
``jti`` is single use (an atomic insert in the database). Every failure is the same
``invalid_client`` for the caller, with the reason in the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    InvalidClientError,
    OAuth2Error,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion  # type: ignore[import-untyped]
from joserfc.jwk import Key, KeySet

from connector.identity import replay
from connector.identity.algorithms import DEFAULT_ALGORITHMS
from connector.identity.authority.oauth import PRIVATE_KEY_JWT, RegisteredClient, refuse
from connector.identity.jose import JoseFailure, unverified_header, verify

if TYPE_CHECKING:
    from connector.identity.authority.server import AuthorityServer

MAX_JTI_LENGTH = 256


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client authentication with the checks listed in the module docstring."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, server: AuthorityServer) -> None:
        super().__init__(validate_jti=True, leeway=server.settings.leeway_seconds)
        self._server = server

    def get_audiences(self) -> list[str]:
        return [self._server.settings.issuer]

    def resolve_client_public_key(self, client: RegisteredClient) -> KeySet:
        return KeySet.import_key_set(client.record.jwks)  # type: ignore[arg-type]

    def process_assertion_claims(self, assertion: str, key_set: KeySet) -> dict[str, Any]:
        try:
            kid = unverified_header(assertion).get("kid")
            key = pick_key(key_set, kid)
            _, claims = verify(assertion, key, DEFAULT_ALGORITHMS)
        except (JoseFailure, LookupError) as failure:
            raise refuse(InvalidClientError, "client authentication failed", str(failure)) from None
        self.verify_claims(claims)
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> None:
        settings = self._server.settings
        now, leeway = self._server.clock(), settings.leeway_seconds

        def fail(reason: str) -> OAuth2Error:
            return refuse(InvalidClientError, "client authentication failed", reason)

        iss, sub, aud, jti = (claims.get(name) for name in ("iss", "sub", "aud", "jti"))
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(iss, str) or iss != sub:
            raise fail("client assertion: iss and sub must be the client id")
        if aud not in (settings.issuer, [settings.issuer]):
            raise fail(f"client assertion: aud {aud!r} is not exactly {settings.issuer!r}")
        if not isinstance(exp, int) or not isinstance(iat, int) or isinstance(exp | iat, bool):
            raise fail("client assertion: exp and iat are required integers")
        if exp <= now - leeway:
            raise fail("client assertion: expired")
        nbf = claims.get("nbf", iat)
        if iat > now + leeway or not isinstance(nbf, int) or nbf > now + leeway:
            raise fail("client assertion: issued in the future")
        if exp - iat > settings.assertion_max_lifetime_seconds:
            raise fail("client assertion: lifetime over the maximum")
        if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
            raise fail("client assertion: jti is required")
        if not self._server.replay.first_use(
            replay.CLIENT_ASSERTION, iss, jti, expires_at=exp + leeway, now=now
        ):
            raise fail("client assertion: jti already used (replay)")


def pick_key(key_set: KeySet, kid: Any) -> Key:
    if isinstance(kid, str):
        for key in key_set.keys:
            if key.kid == kid:
                return key
        raise LookupError("the assertion's kid is not a key of this client")
    if len(key_set.keys) == 1:
        return key_set.keys[0]
    raise LookupError("the assertion has no kid and the client has several keys")

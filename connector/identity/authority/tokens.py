"""RFC 9068 JWT access tokens, as the authority issues them.

Header ``{"typ": "at+jwt", "alg": ES256|EdDSA, "kid": …}``. Claims: ``iss`` (the authority),
``sub`` and ``client_id`` (the participant id), ``aud`` (the one resource asked for, RFC 8707),
``iat`` = ``nbf``, ``exp`` (≤ 5 minutes later), a random ``jti``, ``scope`` (space-separated),
the participant's attributes ``membership``, ``org_type``, ``country``, ``nuts`` (when
registered), and ``cnf.jkt`` (RFC 9449) when the request proved possession of a DPoP key.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connector.identity.jose import b64url, sign
from connector.identity.keys import SigningKey
from connector.store.repositories.participants import ParticipantRecord

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a media type, not a secret


@dataclass(frozen=True)
class IssuedToken:
    """A signed access token and what it says."""

    token: str
    claims: dict[str, Any]
    token_type: str
    expires_in: int

    def response(self) -> dict[str, Any]:
        """The token endpoint's JSON answer (RFC 6749 §5.1, RFC 9449 §5)."""
        return {
            "access_token": self.token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.claims["scope"],
        }


def access_token_claims(
    *,
    issuer: str,
    participant: ParticipantRecord,
    audience: str,
    scopes: Sequence[str],
    now: int,
    lifetime: int,
    jkt: str | None,
) -> dict[str, Any]:
    """The claims of a token for ``participant`` to present to ``audience``."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": participant.id,
        "client_id": participant.id,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": b64url(secrets.token_bytes(18)),
        "scope": " ".join(scopes),
    }
    attributes = {
        "membership": participant.membership,
        "org_type": participant.org_type,
        "country": participant.country,
        "nuts": list(participant.nuts) or None,
    }
    claims.update({name: value for name, value in attributes.items() if value is not None})
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}
    return claims


def issue_access_token(
    key: SigningKey,
    *,
    issuer: str,
    participant: ParticipantRecord,
    audience: str,
    scopes: Sequence[str],
    now: int,
    lifetime: int,
    jkt: str | None,
) -> IssuedToken:
    """Sign an access token with ``key`` (its ``kid`` in the header)."""
    claims = access_token_claims(
        issuer=issuer,
        participant=participant,
        audience=audience,
        scopes=scopes,
        now=now,
        lifetime=lifetime,
        jkt=jkt,
    )
    header = {"typ": ACCESS_TOKEN_TYP, "alg": key.alg, "kid": key.kid}
    return IssuedToken(
        token=sign(header, claims, key.key),
        claims=claims,
        token_type="DPoP" if jkt is not None else "Bearer",
        expires_in=lifetime,
    )

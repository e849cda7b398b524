"""DPoP proofs (RFC 9449): a fresh signed statement per request, binding a token to a key.

A proof is a JWT with ``typ: dpop+jwt`` whose header carries the client's public key (``jwk``)
and whose claims name the request (``htm`` method, ``htu`` URL without query and fragment), the
moment (``iat``), a single-use ``jti``, and — with an access token — ``ath``, the token's SHA-256.
The access token's ``cnf.jkt`` is the RFC 7638 thumbprint of that key: only its holder can use the
token.

:func:`verify_proof` checks everything a proof says about itself; whether its ``jti`` was seen
before is the caller's job (an atomic insert in the database, kept until the proof is too old to
be accepted anyway: :func:`replay_expiry`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import Key

from connector.identity.algorithms import DEFAULT_ALGORITHMS
from connector.identity.jose import (
    JoseFailure,
    b64url,
    sign,
    unverified_header,
    verify,
)
from connector.identity.keys import InvalidKey, SigningKey, import_public_jwk, thumbprint

DPOP_TYP = "dpop+jwt"
MAX_JTI_LENGTH = 128
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DpopFailure(Exception):
    """A DPoP proof that is missing, malformed or does not fit the request (why: the message)."""


@dataclass(frozen=True)
class DpopProof:
    """A verified proof: the key's thumbprint, its ``jti`` and ``iat``."""

    jkt: str
    jti: str
    iat: int


@lru_cache(maxsize=256)
def access_token_hash(access_token: str) -> str:
    """``ath``: base64url of the SHA-256 of the token (ASCII, per RFC 9449). Kept for the last
    256 tokens: a client presents the same token with every request until it expires."""
    return b64url(hashlib.sha256(access_token.encode("utf-8")).digest())


def normalise_htu(url: str) -> str:
    """``url`` as proofs compare it: lower-case scheme and host, no default port, no query, no
    fragment, percent-encodings normalised, ``/`` for an empty path (RFC 9449 §4.3 with RFC 3986
    §6.2.2-6.2.3)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
        raise DpopFailure("htu is not a URL") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise DpopFailure("htu has an invalid port") from None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{_PERCENT.sub(_percent, parts.path) or '/'}"


_PERCENT = re.compile("%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _percent(match: re.Match[str]) -> str:
    """One percent-encoding as RFC 3986 §6.2.2 normalises it: an unreserved character decoded,
    anything else with upper-case hex digits."""
    character = chr(int(match.group(1), 16))
    return character if character in _UNRESERVED else "%" + match.group(1).upper()


def create_proof(
    key: SigningKey,
    *,
    method: str,
    url: str,
    now: float,
    access_token: str | None = None,
    nonce: str | None = None,
) -> str:
    """A proof for ``method url`` at ``now``, signed with ``key``; with ``access_token``, its
    ``ath``; with ``nonce``, the server-provided nonce."""
    claims: dict[str, Any] = {
        "jti": b64url(secrets.token_bytes(18)),
        "htm": method.upper(),
        "htu": normalise_htu(url),
        "iat": int(now),
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    jwk = {k: v for k, v in key.public_jwk().items() if k not in ("kid", "use")}
    return sign({"typ": DPOP_TYP, "alg": key.alg, "jwk": jwk}, claims, key.key)


@lru_cache(maxsize=1024)
def _public_key(members: tuple[tuple[str, str], ...]) -> tuple[Key, str]:
    """The key of a proof's ``jwk`` header and its RFC 7638 thumbprint (cached: a client signs
    many proofs with one key)."""
    jwk = dict(members)
    return import_public_jwk(jwk), thumbprint(jwk)


def _claim(claims: dict[str, Any], name: str, kind: type) -> Any:
    value = claims.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DpopFailure(f"the proof's {name} is missing or not a {kind.__name__}")
    return value


def verify_proof(
    proof: str,
    *,
    method: str,
    url: str,
    now: float,
    max_age: float,
    leeway: float,
    access_token: str | None = None,
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS,
) -> DpopProof:
    """Check ``proof`` for the request ``method url`` at ``now``.

    ``iat`` must lie within ``[now - max_age - leeway, now + leeway]``. With ``access_token``,
    ``ath`` must be its hash; without, the proof must not carry one (a token request).
    """
    try:
        header = unverified_header(proof)
    except JoseFailure as failure:
        raise DpopFailure(f"malformed proof: {failure}") from None
    if header.get("typ") != DPOP_TYP:
        raise DpopFailure(f"the proof's typ is {header.get('typ')!r}, not {DPOP_TYP!r}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise DpopFailure("the proof's header has no jwk")
    try:
        key, jkt = _public_key(tuple(sorted((k, v) for k, v in jwk.items() if isinstance(v, str))))
        _, claims = verify(proof, key, algorithms)
    except (InvalidKey, JoseFailure) as failure:
        raise DpopFailure(f"the proof does not verify: {failure}") from None
    jti = _claim(claims, "jti", str)
    if not 8 <= len(jti) <= MAX_JTI_LENGTH:
        raise DpopFailure(f"the proof's jti must have 8 to {MAX_JTI_LENGTH} characters")
    if _claim(claims, "htm", str) != method.upper():
        raise DpopFailure(f"the proof is for method {claims['htm']!r}, not {method.upper()!r}")
    htu = _claim(claims, "htu", str)
    if htu != url and normalise_htu(htu) != normalise_htu(url):  # the same string: the same URL
        raise DpopFailure(f"the proof is for {htu!r}, not {normalise_htu(url)!r}")
    iat = _claim(claims, "iat", int)
    if iat > now + leeway:
        raise DpopFailure("the proof's iat is in the future")
    if iat < now - max_age - leeway:
        raise DpopFailure("the proof is too old")
    if access_token is None:
        if "ath" in claims:
            raise DpopFailure("the proof has an ath but no access token came with it")
    elif _claim(claims, "ath", str) != access_token_hash(access_token):
        raise DpopFailure("the proof's ath is not the hash of this access token")
    return DpopProof(jkt=jkt, jti=jti, iat=iat)


def replay_expiry(proof: DpopProof, *, max_age: float, leeway: float) -> float:
    """Until when a proof's ``jti`` must be remembered: after that it is refused as too old."""
    return proof.iat + max_age + 2 * leeway

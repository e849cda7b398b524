"""Compact JWS for identity tokens: the algorithm allow-list, signing and verification.

Only asymmetric algorithms exist in this module's registry: ``HS*`` and ``none`` are not merely
refused by a check, they are unknown to it (RFC 8725 §3.1, §3.2). Each verification names its own
allow-list on top (``ES256`` and ``EdDSA`` between our nodes; an external provider may add RSA).

``EdDSA`` is what RFC 9068 and RFC 9449 deployments use today; RFC 9864 deprecates the name in
favour of the fully specified ``Ed25519`` (both accepted here) and joserfc warns on every use of
the old name. The registry holds an ``EdDSA`` algorithm without that warning: choosing it is a
decision of the settings, not something to be reminded of on each request.

Headers that make a verifier fetch or trust something the signer chose (``jku``, ``x5u``), change
how the payload is read (``b64``, ``zip``) or demand extensions (``crit``) are refused outright.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwa import EdDSAAlgorithm, JWSAlgModel
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from catalog.jsonld import copy_json
from connector.http.jsonbody import holds_unstorable_text, may_hold_unstorable_text
from connector.identity.algorithms import ALGORITHMS, Algorithm

MAX_TOKEN_BYTES = 16 * 1024
REFUSED_HEADERS = frozenset({"crit", "jku", "x5u", "x5c", "b64", "zip", "enc"})


class JoseFailure(Exception):
    """A token that cannot be read or verified; the message says why (for logs only)."""


class _EdDSA(EdDSAAlgorithm):
    security_warning = None  # type: ignore[assignment]  # the base declares str, reads None


class _Registry(jws.JWSRegistry):
    """A registry holding the asymmetric algorithms of :data:`ALGORITHMS` and nothing else."""

    algorithms: dict[str, JWSAlgModel] = {  # noqa: RUF012 - replaces the base's table
        name: (_EdDSA() if name == "EdDSA" else jws.JWSRegistry.algorithms[name])
        for name in ALGORITHMS
    }
    recommended: list[str] = []  # noqa: RUF012 - never guess an algorithm


def registry(algorithms: Collection[str]) -> jws.JWSRegistry:
    """A registry allowing exactly ``algorithms`` (those of :data:`ALGORITHMS`; no others)."""
    allowed = [name for name in algorithms if name in ALGORITHMS]
    if not allowed:
        raise ValueError(f"no usable algorithm among {sorted(algorithms)}")
    return _Registry(algorithms=allowed)


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; :class:`JoseFailure` on anything else."""
    if not _B64URL.fullmatch(text):
        raise JoseFailure("invalid base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JoseFailure("invalid base64url") from None


_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = b64url_decode(segment)
        value = json.loads(raw)
    except (ValueError, JoseFailure):
        raise JoseFailure(f"the {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise JoseFailure(f"the {what} is not a JSON object")
    if may_hold_unstorable_text(raw) and holds_unstorable_text(value):
        raise JoseFailure(f"the {what} holds a NUL character or a lone UTF-16 surrogate")
    return value


def _segments(token: str) -> list[str]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        raise JoseFailure(f"not a JWT of at most {MAX_TOKEN_BYTES} bytes")
    segments = token.split(".")
    if len(segments) != 3:
        raise JoseFailure("not a compact JWS (three segments)")
    return segments


# Segments parsed before are kept (below) up to this length: ours and our peers' are far
# shorter (a DPoP proof's header with its key: about 300 characters), and the segments of tokens
# nobody has verified yet cannot fill the caches with up to MAX_TOKEN_BYTES each.
KEPT_SEGMENT_CHARS = 2048


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of ``token``, read without verifying anything (to pick the key)."""
    segment = _segments(token)[0]
    if len(segment) > KEPT_SEGMENT_CHARS:
        return _checked_header(segment)
    header: dict[str, Any] = copy_json(_kept_header(segment))
    return header


def _checked_header(segment: str) -> dict[str, Any]:
    header = _json_object(segment, "header")
    refused = REFUSED_HEADERS.intersection(header)
    if refused:
        raise JoseFailure(f"refused header parameter(s): {', '.join(sorted(refused))}")
    if not isinstance(header.get("alg"), str):
        raise JoseFailure("the header has no alg")
    return header


# A signer sends the same header with each token (a DPoP key's with each proof), and each
# verification reads it more than once. Callers get a copy; a failure is not kept.
_kept_header = functools.lru_cache(maxsize=1024)(_checked_header)


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of ``token`` read without verification (only to find the client to look up)."""
    segment = _segments(token)[1]
    if len(segment) > KEPT_SEGMENT_CHARS:
        return _json_object(segment, "payload")
    claims: dict[str, Any] = copy_json(_kept_payload(segment))
    return claims


@functools.lru_cache(maxsize=1024)
def _kept_payload(segment: str) -> dict[str, Any]:
    """The claims a token's second segment encodes: kept, since an access token comes with
    many requests (callers get a copy)."""
    return _json_object(segment, "payload")


def algorithm_for(key: Key) -> Algorithm:
    """The signing algorithm our tokens use with ``key`` (P-256 → ES256, Ed25519 → EdDSA)."""
    if isinstance(key, ECKey) and key.curve_name == "P-256":
        return "ES256"
    if isinstance(key, OKPKey) and key.curve_name == "Ed25519":
        return "EdDSA"
    raise ValueError("signing keys are EC P-256 or Ed25519")


def sign(header: Mapping[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    """A compact JWS of ``claims`` signed with ``key`` (``header["alg"]`` is required)."""
    try:
        return jws.serialize_compact(
            dict(header),
            json.dumps(dict(claims), separators=(",", ":"), ensure_ascii=False),
            key,
            registry=registry([str(header["alg"])]),
        )
    except JoseError as error:
        raise JoseFailure(error.description or type(error).__name__) from None


def verify(
    token: str, key: Key, algorithms: Collection[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, claims)`` of ``token`` after checking its signature with ``key`` and its
    algorithm against ``algorithms``; :class:`JoseFailure` otherwise."""
    header = unverified_header(token)
    if header["alg"] not in algorithms:
        raise JoseFailure(f"algorithm {header['alg']!r} is not allowed")
    if isinstance(key, RSAKey) and key.public_key.key_size < 2048:
        raise JoseFailure("RSA keys shorter than 2048 bits are refused")
    try:
        signed = jws.deserialize_compact(token, key, registry=registry(algorithms))
    except BadSignatureError:
        raise JoseFailure("the signature does not verify") from None
    except JoseError as error:
        raise JoseFailure(error.description or type(error).__name__) from None
    try:
        claims = json.loads(signed.payload)
    except ValueError:
        raise JoseFailure("the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise JoseFailure("the payload is not a JSON object")
    # could be neither stored nor logged as UTF-8
    if may_hold_unstorable_text(signed.payload) and holds_unstorable_text(claims):
        raise JoseFailure("the payload holds a NUL character or a lone UTF-16 surrogate")
    return header, claims

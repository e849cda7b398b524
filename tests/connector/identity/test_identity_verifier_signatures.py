"""The verifier remembers tokens whose signature verified: a peer presents one token with every
request until it expires. The claims are still checked every time, and a key the issuer rotated
verifies again."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from connector.identity import jose, keys, verifier
from connector.identity.jwks import JwksCache
from connector.identity.settings import TrustedIssuer
from connector.identity.verifier import TokenRejected, TokenVerifier

pytestmark = pytest.mark.anyio
ISSUER = "https://idp.example/realms/tourism"
AUDIENCE = "urn:etds:participant:b"
TRUSTED = TrustedIssuer(issuer=ISSUER, jwks_url=ISSUER + "/certs")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Idp:
    """An issuer publishing ``key`` in its key set."""

    def __init__(self) -> None:
        self.key = keys.ephemeral_key()
        self.kid = self.key.kid  # the kid the key set gives it

    def handler(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TRUSTED.jwks_url:
            return httpx.Response(200, json={"keys": [{**self.key.public_jwk(), "kid": self.kid}]})
        return httpx.Response(404)

    def token(self, now: float) -> str:
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "urn:etds:participant:a",
            "client_id": "urn:etds:participant:a",
            "scope": "dsp",
            "iat": int(now),
            "exp": int(now) + 300,
            "jti": secrets.token_urlsafe(12),
        }
        header = {"alg": self.key.alg, "kid": self.kid, "typ": "at+jwt"}
        return jose.sign(header, claims, self.key.key)


def make_verifier(idp: Idp, clock: Clock, *, keys_ttl: float = 3600) -> TokenVerifier:
    http = httpx.AsyncClient(transport=httpx.MockTransport(idp.handler))
    jwks = JwksCache(http, ttl=keys_ttl, min_refetch=0, max_bytes=65536, clock=clock)
    return TokenVerifier([TRUSTED], jwks, leeway=0, max_age=3600, clock=clock)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens whose signature the verifier checked."""
    checked: list[str] = []

    def counting(token: str, key: Any, algorithms: Any) -> Any:
        checked.append(token)
        return jose.verify(token, key, algorithms)

    monkeypatch.setattr(verifier, "verify", counting)
    return checked


async def test_a_token_presented_again_is_not_verified_twice(checks: list[str]) -> None:
    idp, clock = Idp(), Clock()
    verify = make_verifier(idp, clock).verify
    token = idp.token(clock.now)
    first = await verify(token, audience=AUDIENCE, use="protocol")
    second = await verify(token, audience=AUDIENCE, use="protocol")
    assert first.claims == second.claims
    assert first.claims["sub"] == "urn:etds:participant:a"
    assert checks == [token]
    other = idp.token(clock.now)
    await verify(other, audience=AUDIENCE, use="protocol")
    assert checks == [token, other]


async def test_the_claims_of_a_remembered_token_are_checked_every_time(
    checks: list[str],
) -> None:
    idp, clock = Idp(), Clock()
    verify = make_verifier(idp, clock).verify
    token = idp.token(clock.now)
    await verify(token, audience=AUDIENCE, use="protocol")
    with pytest.raises(TokenRejected, match="aud"):
        await verify(token, audience="urn:etds:participant:c", use="protocol")
    clock.now += 301
    with pytest.raises(TokenRejected, match="expired"):
        await verify(token, audience=AUDIENCE, use="protocol")
    assert checks == [token]


async def test_a_rotated_key_verifies_the_token_again(checks: list[str]) -> None:
    idp, clock = Idp(), Clock()
    verify = make_verifier(idp, clock, keys_ttl=60).verify
    token = idp.token(clock.now)
    await verify(token, audience=AUDIENCE, use="protocol")
    # The issuer replaces the key under the same kid; the key set is refetched after its ttl.
    idp.key = keys.ephemeral_key()
    clock.now += 61
    with pytest.raises(TokenRejected, match="signature"):
        await verify(token, audience=AUDIENCE, use="protocol")
    assert checks == [token, token]

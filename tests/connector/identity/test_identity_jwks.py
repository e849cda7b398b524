"""The key-set cache: one fetch, one refetch on an unknown kid, rate-limited, safe fetching."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connector.http.fetch import FetchError
from connector.identity import keys
from connector.identity.discovery import metadata_urls
from connector.identity.jwks import JwksCache, KeysUnavailable, UnknownKey
from connector.identity.settings import TrustedIssuer

pytestmark = pytest.mark.anyio
ISSUER = "https://idp.example/realms/tourism"


class FakeIdp:
    """An issuer answering metadata and key-set requests; counts them."""

    def __init__(self) -> None:
        self.keys = [keys.ephemeral_key()]
        self.requests: list[str] = []
        self.failing = False
        self.metadata: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": ISSUER + "/certs"}
        self.openid_only = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append(url)
        if self.failing:
            return httpx.Response(503)
        if url == ISSUER + "/certs":
            return httpx.Response(200, json={"keys": [k.public_jwk() for k in self.keys]})
        if url == metadata_urls(ISSUER)[-1 if self.openid_only else 0]:
            return httpx.Response(200, json=self.metadata)
        return httpx.Response(404)

    def key_fetches(self) -> int:
        return sum(url.endswith("/certs") for url in self.requests)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp() -> FakeIdp:
    return FakeIdp()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def cache_for(
    idp: FakeIdp | Callable[[httpx.Request], httpx.Response], clock: Clock, **options: Any
) -> JwksCache:
    handler = idp.handler if isinstance(idp, FakeIdp) else idp
    settings: dict[str, Any] = {"ttl": 300, "min_refetch": 30, "max_bytes": 65536} | options
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return JwksCache(client, clock=clock, **settings)


TRUSTED = TrustedIssuer(issuer=ISSUER)


async def test_keys_are_discovered_fetched_once_and_cached(idp: FakeIdp, clock: Clock) -> None:
    cache = cache_for(idp, clock)
    kid = idp.keys[0].kid
    assert (await cache.key(TRUSTED, kid)).kid == kid
    assert (await cache.key(TRUSTED, kid)).kid == kid
    assert (await cache.key(TRUSTED, None)).kid == kid  # the only key
    assert idp.requests == [metadata_urls(ISSUER)[0], ISSUER + "/certs"]
    clock.now += 301
    await cache.key(TRUSTED, kid)
    assert idp.key_fetches() == 2  # refreshed after the ttl


async def test_openid_discovery_is_the_fallback(idp: FakeIdp, clock: Clock) -> None:
    idp.openid_only = True
    cache = cache_for(idp, clock)
    assert (await cache.key(TRUSTED, idp.keys[0].kid)).kid == idp.keys[0].kid
    assert idp.requests[-1] == ISSUER + "/certs"
    assert metadata_urls(ISSUER) == [
        "https://idp.example/.well-known/oauth-authorization-server/realms/tourism",
        "https://idp.example/realms/tourism/.well-known/openid-configuration",
    ]


async def test_an_unknown_kid_refetches_once_then_is_rate_limited(
    idp: FakeIdp, clock: Clock
) -> None:
    cache = cache_for(idp, clock)
    await cache.key(TRUSTED, idp.keys[0].kid)
    clock.now += 31
    idp.keys.append(keys.ephemeral_key())  # the issuer rotates
    assert (await cache.key(TRUSTED, idp.keys[1].kid)).kid == idp.keys[1].kid
    assert idp.key_fetches() == 2
    for attempt in range(5):
        with pytest.raises(UnknownKey):
            await cache.key(TRUSTED, f"made-up-{attempt}")
    assert idp.key_fetches() == 2  # within min_refetch: no request for made-up kids
    clock.now += 31
    with pytest.raises(UnknownKey):
        await cache.key(TRUSTED, "made-up-again")
    assert idp.key_fetches() == 3


async def test_concurrent_lookups_share_one_fetch(idp: FakeIdp, clock: Clock) -> None:
    cache = cache_for(idp, clock)
    kid = idp.keys[0].kid
    found = await asyncio.gather(*(cache.key(TRUSTED, kid) for _ in range(20)))
    assert {key.kid for key in found} == {kid}
    assert idp.key_fetches() == 1


async def test_known_keys_stay_in_use_when_a_refresh_fails(idp: FakeIdp, clock: Clock) -> None:
    cache = cache_for(idp, clock)
    kid = idp.keys[0].kid
    await cache.key(TRUSTED, kid)
    idp.failing = True
    clock.now += 301
    assert (await cache.key(TRUSTED, kid)).kid == kid
    fresh = cache_for(idp, clock)
    with pytest.raises(KeysUnavailable):
        await fresh.key(TRUSTED, kid)


async def test_ambiguous_kid_less_tokens_are_refused(idp: FakeIdp, clock: Clock) -> None:
    idp.keys.append(keys.ephemeral_key())
    cache = cache_for(idp, clock, min_refetch=0)
    with pytest.raises(UnknownKey):
        await cache.key(TRUSTED, None)


async def test_metadata_of_another_issuer_is_refused(idp: FakeIdp, clock: Clock) -> None:
    idp.metadata["issuer"] = "https://attacker.example"
    with pytest.raises(KeysUnavailable):
        await cache_for(idp, clock).key(TRUSTED, idp.keys[0].kid)
    assert idp.key_fetches() == 0


async def test_plain_http_key_sets_of_an_https_issuer_are_refused(
    idp: FakeIdp, clock: Clock
) -> None:
    idp.metadata["jwks_uri"] = "http://idp.example/certs"
    with pytest.raises(KeysUnavailable):
        await cache_for(idp, clock).key(TRUSTED, idp.keys[0].kid)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(302, headers={"location": "https://elsewhere.example/certs"}),
        httpx.Response(200, content=b"{" + b" " * 70_000 + b"}"),
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, json=["not", "a", "set"]),
        httpx.Response(200, json={"keys": "none"}),
    ],
)
async def test_bad_key_set_answers(clock: Clock, answer: httpx.Response) -> None:
    cache = cache_for(lambda _request: answer, clock)
    trusted = TrustedIssuer(issuer=ISSUER, jwks_url=ISSUER + "/certs")
    with pytest.raises(KeysUnavailable):
        await cache.key(trusted, "kid")


async def test_unusable_keys_in_a_set_are_skipped(clock: Clock) -> None:
    good = keys.ephemeral_key()
    document = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "secret"},
            {**keys.ephemeral_key().public_jwk(), "use": "enc"},
            good.public_jwk(),
        ]
    }
    cache = cache_for(lambda _request: httpx.Response(200, json=document), clock)
    trusted = TrustedIssuer(issuer=ISSUER, jwks_url=ISSUER + "/certs")
    assert (await cache.key(trusted, None)).kid == good.kid
    with pytest.raises(UnknownKey):
        await cache.key(trusted, "secret")


async def test_transport_errors_are_fetch_errors() -> None:
    from connector.http.fetch import send

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(fail))
    with pytest.raises(FetchError, match="ConnectError"):
        await send(client, httpx.Request("GET", ISSUER))

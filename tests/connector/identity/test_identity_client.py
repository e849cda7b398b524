"""The outbound side: the token client's cache and errors; ``DataspaceAuth`` on requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from identity_support import (
    ISSUER,
    NODE_A,
    NODE_B,
    InProcessAuthority,
    copy_database,
    node_identity,
    protected_app,
)

from connector.identity import jose, keys
from connector.identity.auth import DataspaceAuth
from connector.identity.client import TokenClient, TokenRequestFailed
from connector.identity.dpop import verify_proof

pytestmark = pytest.mark.anyio


def bridge(app: FastAPI) -> httpx.MockTransport:
    """A synchronous transport that hands each request to the ASGI ``app``."""

    def handle(request: httpx.Request) -> httpx.Response:
        async def forward() -> httpx.Response:
            copy = httpx.Request(
                request.method, request.url, headers=request.headers, content=request.read()
            )
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
                answer = await client.send(copy)
                return httpx.Response(
                    answer.status_code, headers=answer.headers, content=await answer.aread()
                )

        return asyncio.run(forward())

    return httpx.MockTransport(handle)


@pytest.fixture
def protected(authority: InProcessAuthority, tmp_path: Path, sqlite_template: Path) -> FastAPI:
    database = copy_database(sqlite_template, tmp_path / "node-b.db")
    return protected_app(node_identity(authority, database))


async def test_tokens_are_cached_per_audience(authority: InProcessAuthority) -> None:
    tokens = authority.token_client(NODE_A)
    first = await tokens.token(NODE_B)
    assert await tokens.token(NODE_B) == first
    assert tokens.requests == 1
    assert first.token_type == "DPoP"
    assert jose.unverified_claims(first.value)["aud"] == NODE_B
    to_a = await tokens.token(NODE_A)
    assert jose.unverified_claims(to_a.value)["aud"] == NODE_A
    assert tokens.requests == 2


async def test_a_token_is_renewed_shortly_before_it_expires(authority: InProcessAuthority) -> None:
    tokens = authority.token_client(NODE_A, refresh_margin=30, clock=authority.clock)
    first = await tokens.token(NODE_B)
    authority.clock.offset = first.expires_at - authority.clock() - 31
    assert await tokens.token(NODE_B) == first
    authority.clock.offset += 2
    assert (await tokens.token(NODE_B)).value != first.value
    assert tokens.requests == 2


async def test_concurrent_callers_share_one_request(authority: InProcessAuthority) -> None:
    tokens = authority.token_client(NODE_A)
    results = await asyncio.gather(*(tokens.token(NODE_B) for _ in range(10)))
    assert len({token.value for token in results}) == 1
    assert tokens.requests == 1


async def test_a_refusal_is_reported_with_its_oauth_error(authority: InProcessAuthority) -> None:
    tokens = authority.token_client(NODE_A)
    with pytest.raises(TokenRequestFailed) as refused:
        await tokens.token("urn:etds:participant:nobody")
    assert refused.value.error == "invalid_target"
    unreachable = TokenClient(
        authority="http://127.0.0.1:9",
        client_id=NODE_A,
        client_key=keys.ephemeral_key(),
        dpop_key=keys.ephemeral_key(),
        async_client=httpx.AsyncClient(),
    )
    with pytest.raises(TokenRequestFailed, match="cannot reach the authority"):
        await unreachable.token(NODE_B)


def _token_answer(token_type: str = "DPoP") -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": "t", "token_type": token_type, "expires_in": 60, "scope": "dsp"}
    )


def _scripted_authority(
    answers: list[httpx.Response], seen: list[httpx.Request]
) -> httpx.AsyncClient:
    metadata = {"issuer": ISSUER, "token_endpoint": ISSUER + "/token"}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/.well-known/"):
            return httpx.Response(200, json=metadata)
        seen.append(request)
        return answers.pop(0)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def test_a_dpop_nonce_challenge_is_answered_once() -> None:
    seen: list[httpx.Request] = []
    challenge = httpx.Response(
        400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "nonce-1"}
    )
    tokens = TokenClient(
        authority=ISSUER,
        client_id=NODE_A,
        client_key=keys.ephemeral_key(),
        dpop_key=keys.ephemeral_key(),
        async_client=_scripted_authority([challenge, _token_answer()], seen),
    )
    assert (await tokens.token(NODE_B)).value == "t"
    assert [jose.unverified_claims(r.headers["DPoP"]).get("nonce") for r in seen] == [
        None,
        "nonce-1",
    ]


async def test_an_unbound_token_is_refused_when_dpop_was_asked() -> None:
    tokens = TokenClient(
        authority=ISSUER,
        client_id=NODE_A,
        client_key=keys.ephemeral_key(),
        dpop_key=keys.ephemeral_key(),
        async_client=_scripted_authority([_token_answer("Bearer")], []),
    )
    with pytest.raises(TokenRequestFailed, match="did not bind"):
        await tokens.token(NODE_B)


async def test_dataspace_auth_async(authority: InProcessAuthority, protected: FastAPI) -> None:
    tokens = authority.token_client(NODE_A)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(protected),
        base_url="http://node-b.test",
        auth=DataspaceAuth(tokens, audience=NODE_B),
    ) as client:
        for _ in range(3):
            answer = await client.post("/protocol/whoami", json={"ignored": True})
            assert answer.status_code == 200, answer.text
        assert answer.json()["id"] == NODE_A
        assert answer.json()["org_type"] == "regional_agency"
        assert answer.json()["issuer"] == ISSUER
    assert tokens.requests == 1


def test_dataspace_auth_sync(authority: InProcessAuthority, protected: FastAPI) -> None:
    tokens = TokenClient(
        authority=ISSUER,
        client_id=NODE_A,
        client_key=keys.load_signing_key(authority.client_keys[NODE_A]),
        dpop_key=keys.ephemeral_key("ed25519"),
        sync_client=httpx.Client(transport=bridge(authority.app)),
    )
    with httpx.Client(
        transport=bridge(protected),
        base_url="http://node-b.test",
        auth=DataspaceAuth(tokens, audience=NODE_B),
    ) as client:
        assert client.get("/protocol/whoami").json()["id"] == NODE_A
        assert client.get("/protocol/whoami?again=1").status_code == 200
    assert tokens.requests == 1


async def test_dataspace_auth_answers_nonce_and_invalid_token_challenges(
    authority: InProcessAuthority,
) -> None:
    tokens = authority.token_client(NODE_A)
    seen: list[httpx.Request] = []
    script = [
        httpx.Response(
            401,
            headers={"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "n-2"},
        ),
        httpx.Response(200),
        httpx.Response(401, headers={"WWW-Authenticate": 'DPoP error="invalid_token"'}),
        httpx.Response(200),
    ]

    def peer(request: httpx.Request) -> httpx.Response:
        # a copy: the auth flow changes the headers of the same request object when it retries
        seen.append(
            httpx.Request(
                request.method, request.url, headers=request.headers.copy(), content=request.read()
            )
        )
        return script.pop(0)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(peer), auth=DataspaceAuth(tokens, audience=NODE_B)
    ) as client:
        assert (await client.post("https://node-b.test/x", content=b"body")).status_code == 200
        assert (await client.get("https://node-b.test/y")).status_code == 200
    proofs = [
        verify_proof(
            r.headers["DPoP"],
            method=r.method,
            url=str(r.url),
            now=authority.clock(),
            max_age=60,
            leeway=5,
            access_token=r.headers["Authorization"].split()[1],
        )
        for r in seen
    ]
    assert len({proof.jti for proof in proofs}) == 4  # a fresh proof for every attempt
    assert jose.unverified_claims(seen[1].headers["DPoP"])["nonce"] == "n-2"
    assert seen[1].content == b"body"
    assert seen[2].headers["Authorization"] != seen[3].headers["Authorization"]
    assert tokens.requests == 2  # the invalid_token challenge got a new token

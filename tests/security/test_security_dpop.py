"""DPoP (RFC 9449) at node B: a stolen token is useless without its key, a proof is good for one
request only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from security_support import (
    B_URL,
    NODE_A,
    NODE_B,
    WHOAMI,
    Dataspace,
    Node,
    assert_refused,
    dpop_headers,
)

from connector.identity import keys
from connector.identity.client import AccessToken, TokenClient

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture
async def tokens(dataspace: Dataspace, http: httpx.AsyncClient) -> TokenClient:
    return dataspace.token_client(NODE_A, http)


@pytest.fixture
async def token(tokens: TokenClient) -> AccessToken:
    return await tokens.token(NODE_B)


async def call(node: Node, headers: dict[str, str], method: str = "GET") -> httpx.Response:
    async with node.client() as client:
        return await client.request(method, WHOAMI, headers=headers)


async def test_a_token_without_its_proof(node: Node, token: AccessToken, refusals: Any) -> None:
    answer = await call(node, {"Authorization": f"DPoP {token.value}"})
    assert_refused(answer, refusals, "exactly one DPoP proof is required")


async def test_a_bound_token_presented_as_a_bearer_token(
    node: Node, bearer_node: Node, token: AccessToken, refusals: Any
) -> None:
    for target in (node, bearer_node):
        answer = await call(target, {"Authorization": f"Bearer {token.value}"})
        assert_refused(answer, refusals, "DPoP-bound token was presented as a bearer token")


async def test_unbound_tokens(dataspace: Dataspace, node: Node, refusals: Any) -> None:
    unbound = dataspace.forge({})
    assert_refused(
        await call(node, {"Authorization": f"Bearer {unbound}"}),
        refusals,
        "bearer tokens are not accepted",
    )
    assert_refused(
        await call(node, dpop_headers(unbound, keys.ephemeral_key())),
        refusals,
        "not bound to a key",
    )


async def test_a_proof_for_another_method_or_url(
    node: Node, tokens: TokenClient, token: AccessToken, refusals: Any
) -> None:
    post_proof = dpop_headers(token.value, tokens.dpop_key, method="POST")
    assert_refused(await call(node, post_proof), refusals, "the proof is for method 'POST'")
    elsewhere = dpop_headers(token.value, tokens.dpop_key, url=B_URL + "/protocol/other")
    assert_refused(await call(node, elsewhere), refusals, "/protocol/other")
    other_host = dpop_headers(
        token.value, tokens.dpop_key, url="http://node-c.test/protocol/whoami"
    )
    assert_refused(await call(node, other_host), refusals, "node-c.test")


async def test_a_proof_signed_by_another_key(node: Node, token: AccessToken, refusals: Any) -> None:
    thief = keys.ephemeral_key()  # a stolen token, a valid proof with the thief's own key
    answer = await call(node, dpop_headers(token.value, thief))
    assert_refused(answer, refusals, "signed by another key than the token's")


async def test_a_replayed_proof(
    node: Node, tokens: TokenClient, token: AccessToken, refusals: Any
) -> None:
    headers = dpop_headers(token.value, tokens.dpop_key)
    assert (await call(node, headers)).status_code == 200
    assert_refused(await call(node, headers), refusals, "used before (replay)")
    assert (await call(node, dpop_headers(token.value, tokens.dpop_key))).status_code == 200


async def test_an_old_proof_and_a_proof_for_another_token(
    node: Node, tokens: TokenClient, token: AccessToken, refusals: Any
) -> None:
    old = dpop_headers(token.value, tokens.dpop_key, now=node.clock() - 600)
    assert_refused(await call(node, old), refusals, "too old")
    other_token = (await tokens.token(NODE_A)).value  # same key, token for another audience
    mixed = dpop_headers(other_token, tokens.dpop_key) | {"Authorization": f"DPoP {token.value}"}
    assert_refused(await call(node, mixed), refusals, "ath is not the hash of this access token")


async def test_two_proofs(
    node: Node, tokens: TokenClient, token: AccessToken, refusals: Any
) -> None:
    first = dpop_headers(token.value, tokens.dpop_key)
    second = dpop_headers(token.value, tokens.dpop_key)
    headers = httpx.Headers(
        [
            ("Authorization", first["Authorization"]),
            ("DPoP", first["DPoP"]),
            ("DPoP", second["DPoP"]),
        ]
    )
    async with node.client() as client:
        answer = await client.get(WHOAMI, headers=headers)
    assert_refused(answer, refusals, "exactly one DPoP proof is required")


async def test_the_proof_names_the_public_url_behind_a_reverse_proxy(
    node: Node, tokens: TokenClient, token: AccessToken
) -> None:
    """The node is reached at an internal address; proofs name its public URL."""
    headers = dpop_headers(token.value, tokens.dpop_key)  # for http://node-b.test/...
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(node.app), base_url="http://10.0.0.7:8181"
    ) as client:
        answer = await client.get("/protocol/whoami", headers=headers)
    assert answer.status_code == 200, answer.text

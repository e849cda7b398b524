"""The authority process refuses what it must: expired or replayed client assertions, clients it
does not know or has suspended — and a suspended participant's last token dies with its expiry."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from security_support import NODE_A, NODE_B, WHOAMI, Dataspace, Node, assert_refused, dpop_headers

from connector.identity import jose, keys
from connector.identity.authority import registry
from connector.identity.client import ASSERTION_TYPE, TokenRequestFailed
from connector.identity.dpop import create_proof

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def assertion(dataspace: Dataspace, client_id: str, **changes: Any) -> str:
    key = keys.load_signing_key(dataspace.key_files[client_id])
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": dataspace.issuer,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    } | changes
    return jose.sign({"alg": key.alg, "kid": key.kid}, claims, key.key)


async def ask(
    dataspace: Dataspace, http: httpx.AsyncClient, signed: str, *, dpop: bool = True
) -> httpx.Response:
    url = dataspace.issuer + "/token"
    headers = {}
    if dpop:
        headers["DPoP"] = create_proof(
            keys.ephemeral_key(), method="POST", url=url, now=time.time()
        )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        "resource": NODE_B,
    }
    return await http.post(url, data=form, headers=headers)


def refused(response: httpx.Response, error: str) -> None:
    assert not response.is_success, response.text
    assert response.json()["error"] == error


async def test_a_valid_request_gets_a_token(dataspace: Dataspace, http: httpx.AsyncClient) -> None:
    answer = await ask(dataspace, http, assertion(dataspace, NODE_A))
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"


async def test_an_expired_client_assertion(dataspace: Dataspace, http: httpx.AsyncClient) -> None:
    now = int(time.time())
    expired = assertion(dataspace, NODE_A, iat=now - 200, exp=now - 100)
    refused(await ask(dataspace, http, expired), "invalid_client")


async def test_a_replayed_client_assertion(dataspace: Dataspace, http: httpx.AsyncClient) -> None:
    signed = assertion(dataspace, NODE_A)
    assert (await ask(dataspace, http, signed)).status_code == 200
    replayed = await ask(dataspace, http, signed)
    refused(replayed, "invalid_client")
    assert replayed.json()["error_description"] == "client authentication failed"


async def test_assertions_not_for_this_authority(
    dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    refused(
        await ask(dataspace, http, assertion(dataspace, NODE_A, aud="https://other.example")),
        "invalid_client",
    )
    refused(
        await ask(dataspace, http, assertion(dataspace, NODE_A, aud=dataspace.issuer + "/token")),
        "invalid_client",
    )
    stranger = keys.ephemeral_key()
    now = int(time.time())
    forged = jose.sign(
        {"alg": "ES256", "kid": stranger.kid},
        {
            "iss": NODE_A,
            "sub": NODE_A,
            "aud": dataspace.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        },
        stranger.key,
    )
    refused(await ask(dataspace, http, forged), "invalid_client")


async def test_a_token_request_without_dpop(dataspace: Dataspace, http: httpx.AsyncClient) -> None:
    refused(
        await ask(dataspace, http, assertion(dataspace, NODE_A), dpop=False), "invalid_dpop_proof"
    )


async def test_a_suspended_participant(
    dataspace: Dataspace, node: Node, http: httpx.AsyncClient, refusals: Any
) -> None:
    suspended = f"urn:etds:participant:s-{secrets.token_hex(4)}"
    dataspace.register(suspended, org_type="company", country="FR")
    tokens = dataspace.token_client(suspended, http)
    token = await tokens.token(NODE_B)
    async with node.client() as client:
        assert (
            await client.get(WHOAMI, headers=dpop_headers(token.value, tokens.dpop_key))
        ).status_code == 200
        registry.set_status(dataspace.database, suspended, "suspended", now=datetime.now(UTC))
        with pytest.raises(TokenRequestFailed) as no_new_token:
            await tokens.token(NODE_A)
        assert no_new_token.value.error == "invalid_client"
        # its last token lives until it expires (at most five minutes), then never again
        still = await client.get(WHOAMI, headers=dpop_headers(token.value, tokens.dpop_key))
        assert still.status_code == 200
        node.clock.offset = token.expires_at - time.time() + 31
        expired = dpop_headers(token.value, tokens.dpop_key, now=node.clock())
        assert_refused(await client.get(WHOAMI, headers=expired), refusals, "the token expired")

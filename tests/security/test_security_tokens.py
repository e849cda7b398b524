"""Access tokens that node B must refuse — never a 2xx — each for its own reason.

Node B runs in-process and verifies with the real authority process's metadata and JWKS; good
tokens come from that authority, bad ones are real tokens changed, or tokens signed with the
authority's key whose only fault is the claim under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from security_support import (
    NODE_A,
    NODE_B,
    NODE_C,
    WHOAMI,
    Dataspace,
    Node,
    assert_refused,
    dpop_headers,
)

from connector.identity import jose, keys

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def bearer(node: Node, token: str) -> Any:
    async with node.client() as client:
        return await client.get(WHOAMI, headers={"Authorization": f"Bearer {token}"})


async def test_a_real_token_with_its_proof_is_accepted(
    dataspace: Dataspace, node: Node, http: httpx.AsyncClient
) -> None:
    """The control case: everything right."""
    tokens = dataspace.token_client(NODE_A, http)
    token = await tokens.token(NODE_B)
    async with node.client() as client:
        answer = await client.get(WHOAMI, headers=dpop_headers(token.value, tokens.dpop_key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == NODE_A
    assert answer.json()["nuts"] == ["FRJ"]


async def test_alg_none(dataspace: Dataspace, node: Node, refusals: Any) -> None:
    real = dataspace.forge({})
    header = {"alg": "none", "typ": "at+jwt", "kid": dataspace.authority_key.kid}
    unsigned = f"{b64(json.dumps(header).encode())}.{real.split('.')[1]}."
    assert_refused(await bearer(node, unsigned), refusals, "algorithm 'none' is not allowed")


@pytest.mark.parametrize("secret_form", ["pem", "jwk"])
async def test_hs256_signed_with_the_public_key(
    dataspace: Dataspace, node: Node, refusals: Any, secret_form: str
) -> None:
    public_key = dataspace.authority_key.key.public_key
    secret = (
        public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if secret_form == "pem"
        else json.dumps(dataspace.authority_key.public_jwk()).encode()
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": dataspace.authority_key.kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{dataspace.forge({}).split('.')[1]}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(mac)}"
    assert_refused(await bearer(node, token), refusals, "algorithm 'HS256' is not allowed")


@pytest.mark.parametrize(
    "case",
    [
        ({"aud": "urn:etds:participant:elsewhere"}, (), {}, "aud 'urn:etds:participant:elsewhere'"),
        ({"aud": [NODE_B, NODE_C]}, (), {}, "is not 'urn:etds:participant:b'"),
        ({"iss": "http://127.0.0.1:1"}, (), {}, "is not trusted"),
        ({"exp": 1_700_000_000, "iat": 1_699_999_900}, (), {}, "expired"),
        ({"nbf": 4_102_444_800}, (), {}, "not valid yet (nbf)"),
        ({"iat": 4_102_444_800}, (), {}, "iat is in the future"),
        ({}, ("exp",), {}, "exp is missing"),
        ({}, ("jti",), {}, "jti is missing"),
        ({}, ("iat",), {}, "iat is missing"),
        ({}, ("sub",), {}, "no subject"),
        ({}, (), {"typ": None}, "typ None is not an access token type"),
        ({}, (), {"typ": "JWT"}, "typ 'JWT' is not an access token type"),
        ({}, (), {"typ": "dpop+jwt"}, "is not an access token type"),
        ({"scope": "management:write"}, (), {}, "management token is not a protocol token"),
        ({"scope": ""}, (), {}, "lacks the scope 'dsp'"),
    ],
)
async def test_claims_that_are_wrong(
    dataspace: Dataspace,
    bearer_node: Node,
    refusals: Any,
    case: tuple[dict[str, Any], tuple[str, ...], dict[str, Any], str],
) -> None:
    """(changed claims, dropped claims, changed header, the reason logged)"""
    claims, drop, header, reason = case
    token = dataspace.forge(claims, drop=drop, **header)  # not bound: only the claim is wrong
    assert_refused(await bearer(bearer_node, token), refusals, reason)


async def test_a_token_for_another_connector(
    dataspace: Dataspace, node: Node, http: httpx.AsyncClient, refusals: Any
) -> None:
    tokens = dataspace.token_client(NODE_A, http)
    for_c = await tokens.token(NODE_C)
    async with node.client() as client:
        answer = await client.get(WHOAMI, headers=dpop_headers(for_c.value, tokens.dpop_key))
    assert_refused(answer, refusals, f"aud '{NODE_C}' is not '{NODE_B}'")


async def test_an_expired_real_token(
    dataspace: Dataspace, node: Node, http: httpx.AsyncClient, refusals: Any
) -> None:
    tokens = dataspace.token_client(NODE_A, http)
    token = await tokens.token(NODE_B)
    node.clock.offset = 300 + 30 + 1  # lifetime + leeway + 1 s
    async with node.client() as client:
        headers = dpop_headers(token.value, tokens.dpop_key, now=node.clock())
        answer = await client.get(WHOAMI, headers=headers)
    assert_refused(answer, refusals, "the token expired")


async def test_an_unknown_kid(dataspace: Dataspace, bearer_node: Node, refusals: Any) -> None:
    stranger = keys.ephemeral_key("ed25519")
    token = jose.sign(
        {"typ": "at+jwt", "alg": "EdDSA", "kid": "not-a-key-of-the-authority"},
        jose.unverified_claims(dataspace.forge({})),
        stranger.key,
    )
    reason = "has no key 'not-a-key-of-the-authority'"
    assert_refused(await bearer(bearer_node, token), refusals, reason)
    impostor = jose.sign(
        {"typ": "at+jwt", "alg": "EdDSA", "kid": dataspace.authority_key.kid},
        jose.unverified_claims(dataspace.forge({})),
        stranger.key,
    )
    assert_refused(await bearer(bearer_node, impostor), refusals, "the signature does not verify")


async def test_a_tampered_payload(
    dataspace: Dataspace, node: Node, http: httpx.AsyncClient, refusals: Any
) -> None:
    tokens = dataspace.token_client(NODE_C, http)
    token = (await tokens.token(NODE_B)).value
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims |= {"sub": NODE_A, "org_type": "national_agency"}  # C pretends to be A
    tampered = f"{head}.{b64(json.dumps(claims).encode())}.{signature}"
    async with node.client() as client:
        answer = await client.get(WHOAMI, headers=dpop_headers(tampered, tokens.dpop_key))
    assert_refused(answer, refusals, "the signature does not verify")


@pytest.mark.parametrize(
    "authorization",
    ["", "Basic YTpi", "DPoP", "DPoP a b", "Bearer"],
)
async def test_malformed_authorization_headers(
    node: Node, refusals: Any, authorization: str
) -> None:
    async with node.client() as client:
        answer = await client.get(WHOAMI, headers={"Authorization": authorization})
    assert_refused(answer, refusals, "Authorization header")


async def test_no_credentials_at_all(node: Node, refusals: Any) -> None:
    async with node.client() as client:
        answer = await client.get(WHOAMI)
    assert_refused(answer, refusals, "exactly one Authorization header")

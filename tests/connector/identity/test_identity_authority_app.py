"""The authority in-process: metadata, JWKS, and every rule of its token endpoint."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from identity_support import (
    ADMIN,
    ISSUER,
    MANAGEMENT_B,
    NODE_A,
    NODE_B,
    InProcessAuthority,
    make_authority,
)

from connector.identity import jose, keys
from connector.identity.authority import registry
from connector.identity.client import ASSERTION_TYPE
from connector.identity.dpop import create_proof

pytestmark = pytest.mark.anyio
TOKEN_URL = ISSUER + "/token"


def assertion(key_file: Path, client_id: str, now: float | None = None, **overrides: Any) -> str:
    key = keys.load_signing_key(key_file)
    now = int(time.time() if now is None else now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    } | overrides
    claims = {name: value for name, value in claims.items() if value is not None}
    return jose.sign({"alg": key.alg, "kid": key.kid}, claims, key.key)


async def request_token(
    authority: InProcessAuthority,
    client_id: str = NODE_A,
    *,
    resource: str | list[str] | None = NODE_B,
    scope: str | None = None,
    client_assertion: str | None = None,
    dpop: str | bool | None = True,
) -> httpx.Response:
    now = authority.clock()
    signed = client_assertion or assertion(authority.client_keys[client_id], client_id, now)
    form: dict[str, str | list[str]] = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    }
    if resource is not None:
        form["resource"] = resource
    if scope is not None:
        form["scope"] = scope
    headers = {}
    if dpop is True:
        headers["DPoP"] = create_proof(keys.ephemeral_key(), method="POST", url=TOKEN_URL, now=now)
    elif isinstance(dpop, str):
        headers["DPoP"] = dpop
    async with httpx.AsyncClient(transport=authority.transport, base_url=ISSUER) as client:
        return await client.post("/token", data=form, headers=headers)


def oauth_error(response: httpx.Response) -> str:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) <= {"error", "error_description", "error_uri"}
    return str(body["error"])


async def test_metadata_describes_the_token_endpoint(authority: InProcessAuthority) -> None:
    async with httpx.AsyncClient(transport=authority.transport, base_url=ISSUER) as client:
        metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == ISSUER
    assert metadata["token_endpoint"] == TOKEN_URL
    assert metadata["jwks_uri"] == ISSUER + "/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA"]
    assert "none" not in metadata["token_endpoint_auth_signing_alg_values_supported"]
    AuthorizationServerMetadata(metadata).validate_token_endpoint()


async def test_a_token_says_who_for_whom_and_is_bound_to_the_dpop_key(
    authority: InProcessAuthority,
) -> None:
    dpop_key = keys.ephemeral_key("ed25519")
    proof = create_proof(dpop_key, method="POST", url=TOKEN_URL, now=time.time())
    response = await request_token(authority, dpop=proof)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert body["scope"] == "dsp"
    assert 0 < body["expires_in"] <= 300
    async with httpx.AsyncClient(transport=authority.transport, base_url=ISSUER) as client:
        jwks = (await client.get("/.well-known/jwks.json")).json()
    header = jose.unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "EdDSA"
    key = keys.import_public_jwk(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    _, claims = jose.verify(body["access_token"], key, ["EdDSA"])
    assert claims["iss"] == ISSUER
    assert claims["sub"] == claims["client_id"] == NODE_A
    assert claims["aud"] == NODE_B
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["cnf"] == {"jkt": dpop_key.thumbprint}
    assert claims["membership"] == "active"
    assert claims["org_type"] == "regional_agency"
    assert claims["country"] == "FR"
    assert claims["nuts"] == ["FRJ", "FRJ13"]
    assert claims["scope"] == "dsp"
    assert len(claims["jti"]) >= 16


async def test_every_token_has_its_own_jti(authority: InProcessAuthority) -> None:
    first = (await request_token(authority)).json()["access_token"]
    second = (await request_token(authority)).json()["access_token"]
    assert jose.unverified_claims(first)["jti"] != jose.unverified_claims(second)["jti"]


async def test_dpop_is_required_unless_configured_otherwise(
    authority: InProcessAuthority, tmp_path: Path, sqlite_template: Path
) -> None:
    assert oauth_error(await request_token(authority, dpop=None)) == "invalid_dpop_proof"
    relaxed = make_authority(tmp_path / "relaxed", sqlite_template, require_dpop=False)
    try:
        relaxed.register(NODE_A)
        relaxed.register(NODE_B)
        body = (await request_token(relaxed, dpop=None)).json()
        assert body["token_type"] == "Bearer"
        assert "cnf" not in jose.unverified_claims(body["access_token"])
    finally:
        relaxed.database.dispose()


async def test_a_dpop_proof_is_checked_and_single_use(authority: InProcessAuthority) -> None:
    key = keys.ephemeral_key()
    proof = create_proof(key, method="POST", url=TOKEN_URL, now=time.time())
    assert (await request_token(authority, dpop=proof)).status_code == 200
    assert oauth_error(await request_token(authority, dpop=proof)) == "invalid_dpop_proof"
    elsewhere = create_proof(key, method="POST", url=ISSUER + "/other", now=time.time())
    assert oauth_error(await request_token(authority, dpop=elsewhere)) == "invalid_dpop_proof"
    old = create_proof(key, method="POST", url=TOKEN_URL, now=time.time() - 600)
    assert oauth_error(await request_token(authority, dpop=old)) == "invalid_dpop_proof"


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("audience is the token endpoint, not the issuer", {"aud": TOKEN_URL}),
        ("audience list with another value", {"aud": [ISSUER, "https://other.example"]}),
        ("expired", {"iat": int(time.time()) - 400, "exp": int(time.time()) - 100}),
        ("lifetime over five minutes", {"exp": int(time.time()) + 3600}),
        ("no exp", {"exp": None}),
        ("no iat", {"iat": None}),
        ("no jti", {"jti": None}),
        ("issued in the future", {"iat": int(time.time()) + 600, "exp": int(time.time()) + 700}),
        ("iss is not sub", {"iss": NODE_B}),
    ],
)
async def test_client_assertions_are_checked_strictly(
    authority: InProcessAuthority, case: str, overrides: dict[str, Any]
) -> None:
    signed = assertion(authority.client_keys[NODE_A], NODE_A, **overrides)
    response = await request_token(authority, client_assertion=signed)
    assert oauth_error(response) == "invalid_client", case
    assert response.json()["error_description"] == "client authentication failed"


async def test_a_client_assertion_is_single_use(authority: InProcessAuthority) -> None:
    signed = assertion(authority.client_keys[NODE_A], NODE_A)
    assert (await request_token(authority, client_assertion=signed)).status_code == 200
    assert oauth_error(await request_token(authority, client_assertion=signed)) == "invalid_client"


async def test_an_assertion_signed_by_another_key_or_client_fails(
    authority: InProcessAuthority,
) -> None:
    other_key = authority.client_keys[NODE_A]  # A's key, used to claim to be B
    assert (
        oauth_error(await request_token(authority, client_assertion=assertion(other_key, NODE_B)))
        == "invalid_client"
    )
    unknown = assertion(authority.client_keys[NODE_A], "urn:etds:participant:unknown")
    assert oauth_error(await request_token(authority, client_assertion=unknown)) == "invalid_client"


async def test_suspended_and_revoked_participants_get_no_token(
    authority: InProcessAuthority,
) -> None:
    now = datetime.now(UTC)
    registry.set_status(authority.database, NODE_A, "suspended", now=now)
    response = await request_token(authority)
    assert oauth_error(response) == "invalid_client"
    assert response.json()["error_description"] == "client authentication failed"
    registry.set_status(authority.database, NODE_A, "active", now=now)
    assert (await request_token(authority)).status_code == 200
    registry.set_status(authority.database, NODE_B, "revoked", now=now)
    assert oauth_error(await request_token(authority)) == "invalid_target"  # B is not a target


@pytest.mark.parametrize(
    ("resource", "error"),
    [
        (None, "invalid_target"),
        ("urn:etds:participant:unknown", "invalid_target"),
        ([NODE_B, NODE_A], "invalid_request"),
    ],
)
async def test_the_resource_must_be_one_active_participant(
    authority: InProcessAuthority, resource: str | list[str] | None, error: str
) -> None:
    assert oauth_error(await request_token(authority, resource=resource)) == error


async def test_scopes(authority: InProcessAuthority) -> None:
    assert oauth_error(await request_token(authority, scope="management:read")) == "invalid_scope"
    assert oauth_error(await request_token(authority, scope="dsp other")) == "invalid_scope"
    authority.register(
        ADMIN, scopes=["management:read", "management:write"], audiences=[MANAGEMENT_B]
    )
    to_b = await request_token(authority, ADMIN, scope="management:read")
    assert oauth_error(to_b) == "invalid_target"  # B's participant id is not its management URL
    ok = await request_token(authority, ADMIN, resource=MANAGEMENT_B, scope="management:read")
    assert ok.status_code == 200, ok.text
    claims = jose.unverified_claims(ok.json()["access_token"])
    assert claims["aud"] == MANAGEMENT_B
    assert claims["scope"] == "management:read"
    assert (
        oauth_error(await request_token(authority, ADMIN, resource=MANAGEMENT_B)) == "invalid_scope"
    )


async def test_protocol_and_management_scopes_are_never_mixed(
    authority: InProcessAuthority,
) -> None:
    authority.register(ADMIN, scopes=["dsp", "management:write"], audiences=[MANAGEMENT_B])
    mixed = await request_token(
        authority, ADMIN, resource=MANAGEMENT_B, scope="dsp management:write"
    )
    assert oauth_error(mixed) == "invalid_scope"


async def test_malformed_requests(authority: InProcessAuthority) -> None:
    async with httpx.AsyncClient(transport=authority.transport, base_url=ISSUER) as client:
        as_json = await client.post("/token", json={"grant_type": "client_credentials"})
        assert oauth_error(as_json) == "invalid_request"
        other_grant = await client.post("/token", data={"grant_type": "password"})
        assert oauth_error(other_grant) == "unsupported_grant_type"
        no_credentials = await client.post("/token", data={"grant_type": "client_credentials"})
        assert oauth_error(no_credentials) == "invalid_client"


async def test_key_rotation_publishes_old_and_new_and_signs_with_the_newest(
    tmp_path: Path, sqlite_template: Path
) -> None:
    now = datetime.now(UTC)

    def schedule(files: list[Path]) -> list[dict[str, Any]]:
        return [
            {"file": files[0], "retire_at": now + timedelta(hours=1)},
            {"file": files[1], "activate_at": now - timedelta(seconds=1)},
            {"file": files[2], "activate_at": now + timedelta(minutes=30)},
        ]

    authority = make_authority(
        tmp_path, sqlite_template, key_types=("ec", "ed25519", "ec"), signing_keys=schedule
    )
    try:
        authority.register(NODE_A)
        authority.register(NODE_B)
        kids = [
            keys.load_signing_key(authority.key_dir / f"authority-{n}.pem").kid for n in range(3)
        ]
        async with httpx.AsyncClient(transport=authority.transport, base_url=ISSUER) as client:
            published = [
                k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]
            ]
        assert published == kids
        token = (await request_token(authority)).json()["access_token"]
        assert jose.unverified_header(token)["kid"] == kids[1]
        authority.clock.offset = 45 * 60  # the third key is active now, and newer
        token = (await request_token(authority)).json()["access_token"]
        assert jose.unverified_header(token)["kid"] == kids[2]
        authority.clock.offset = 2 * 3600  # the first key has retired
        async with httpx.AsyncClient(transport=authority.transport, base_url=ISSUER) as client:
            published = [
                k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]
            ]
        assert published == kids[1:]
    finally:
        authority.database.dispose()


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": 'pass"word\\'},
        {"grant_type": "client_credentials", 'a"b': ["1", "2"]},
        {
            "grant_type": "client_credentials",
            "client_assertion_type": 'x"',
            "client_assertion": "é",
        },
        {"grant_type": "client_credentials", "scope": ["a", "b"]},
        {  # an unsigned assertion whose subject is no text (read before any signature check)
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9"
            ".eyJzdWIiOiJcdWQ4MDAifQ.AAAA",  # {"alg":"ES256","typ":"JWT"}.{"sub":"\ud800"}
        },
        {"grant_type": ["client_credentials", "client_credentials"]},
        {f"field{n}": "x" for n in range(40)},
    ],
)
async def test_hostile_forms_get_an_oauth_error_never_a_server_error(
    authority: InProcessAuthority, form: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(transport=authority.transport, base_url=ISSUER) as client:
        answer = await client.post("/token", data=form)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"] in {"invalid_request", "unsupported_grant_type", "invalid_client"}

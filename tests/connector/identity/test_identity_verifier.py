"""Inbound verification beyond the security suite: external providers and their claim layouts,
per-issuer uses, scopes, audiences, ``typ`` spellings; the claim mapping itself."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from identity_support import (
    ISSUER,
    NODE_A,
    NODE_B,
    InProcessAuthority,
    Router,
    copy_database,
    make_authority,
    node_identity,
    protected_app,
)

from connector.identity import jose, keys
from connector.identity.claims import ClaimError, map_claims
from connector.identity.settings import TrustedIssuer

pytestmark = pytest.mark.anyio
EXTERNAL = "http://localhost:8190"
EXTERNAL_LAYOUT = {
    "client_id": "azp",
    "org_type": "organisation_type",
    "country": "org.country",
    "nuts": "org.regions",
    "scope": "scp",
}


@pytest.fixture
def external(tmp_path: Path, sqlite_template: Path) -> Iterator[InProcessAuthority]:
    """A second authority, standing for an external provider."""
    created = make_authority(tmp_path, sqlite_template, issuer=EXTERNAL, key_types=("ec",))
    created.register(NODE_A, org_type="research")
    created.register(NODE_B)
    try:
        yield created
    finally:
        created.database.dispose()


def signed_by(authority: InProcessAuthority, claims: dict[str, Any], **header: Any) -> str:
    key = keys.load_signing_key(authority.key_dir / "authority-0.pem")
    now = int(time.time())
    base = {
        "iss": authority.settings.issuer,
        "aud": NODE_B,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(12),
    }
    head = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"} | header
    return jose.sign(head, base | claims, key.key)


def client(
    authority: InProcessAuthority,
    external: InProcessAuthority,
    tmp_path: Path,
    sqlite_template: Path,
    trusted: list[TrustedIssuer],
) -> httpx.AsyncClient:
    database = copy_database(sqlite_template, tmp_path / "node-b.db")
    router = Router({"127.0.0.1:8180": authority.transport, "localhost:8190": external.transport})
    identity = node_identity(
        authority, database, trusted=trusted, transport=router, accept_bearer_tokens=True
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(protected_app(identity)), base_url="http://node-b.test"
    )


async def whoami(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/protocol/whoami", headers={"Authorization": f"Bearer {token}"})


async def test_an_external_provider_with_its_own_claim_layout(
    authority: InProcessAuthority,
    external: InProcessAuthority,
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    trusted = [
        TrustedIssuer(issuer=ISSUER),
        TrustedIssuer(issuer=EXTERNAL, claims=EXTERNAL_LAYOUT, token_types=["JWT", "at+jwt"]),
    ]
    provider_token = signed_by(
        external,
        {
            "sub": "urn:etds:participant:de-research",
            "azp": "portal-client",
            "organisation_type": "research",
            "org": {"country": "DE", "regions": ["DE1", "DE2"]},
            "scp": ["dsp", "profile"],
            "org_type": "national_agency",  # not what the mapping reads: ignored
        },
        typ="JWT",
    )
    async with client(authority, external, tmp_path, sqlite_template, trusted) as http:
        answer = await whoami(http, provider_token)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "id": "urn:etds:participant:de-research",
            "issuer": EXTERNAL,
            "sub": "urn:etds:participant:de-research",
            "client_id": "portal-client",
            "org_type": "research",
            "country": "DE",
            "nuts": ["DE1", "DE2"],
            "scope": "dsp profile",
        }
        # the same layout is never read for the embedded authority's tokens
        ours = signed_by(authority, {"sub": NODE_A, "scope": "dsp", "org_type": "company"})
        assert (await whoami(http, ours)).json()["org_type"] == "company"
        # a token naming the external issuer but signed by our authority's key fails
        forged = signed_by(authority, {"iss": EXTERNAL, "sub": NODE_A, "scp": ["dsp"]}, typ="JWT")
        assert (await whoami(http, forged)).status_code == 401


async def test_a_real_token_of_the_external_authority_is_accepted(
    authority: InProcessAuthority, tmp_path: Path, sqlite_template: Path
) -> None:
    """An external provider issuing plain bearer tokens, found through discovery."""
    provider = make_authority(tmp_path, sqlite_template, issuer=EXTERNAL, require_dpop=False)
    try:
        provider.register(NODE_A, org_type="research")
        provider.register(NODE_B)
        token = await provider.token_client(NODE_A, dpop=False).token(NODE_B)
        trusted = [TrustedIssuer(issuer=EXTERNAL)]
        async with client(authority, provider, tmp_path, sqlite_template, trusted) as http:
            answer = await whoami(http, token.value)
        assert answer.status_code == 200, answer.text
        assert answer.json()["org_type"] == "research"
        assert answer.json()["issuer"] == EXTERNAL
    finally:
        provider.database.dispose()


@pytest.mark.parametrize(
    "case",
    [
        ({}, {"scope": "dsp"}, {"typ": "application/at+jwt"}, True),
        ({}, {"scope": "dsp", "aud": [NODE_B]}, {}, True),
        ({}, {"scope": "dsp", "aud": [NODE_B, NODE_A]}, {}, False),
        ({}, {"scope": "profile"}, {}, False),
        ({}, {"scope": "dsp management:read"}, {}, False),
        ({"protocol_scope": None}, {"scope": "profile"}, {}, True),
        ({"use": ["management"]}, {"scope": "dsp"}, {}, False),
        ({"algorithms": ["ES256"]}, {"scope": "dsp"}, {}, False),  # the authority signs EdDSA
        ({}, {"scope": "dsp"}, {"typ": "JWT"}, False),
        ({}, {"scope": "dsp", "cnf": "not-an-object"}, {}, False),
        ({}, {"scope": "dsp", "nuts": 42}, {}, False),
    ],
)
async def test_per_issuer_rules(
    authority: InProcessAuthority,
    external: InProcessAuthority,
    tmp_path: Path,
    sqlite_template: Path,
    case: tuple[dict[str, Any], dict[str, Any], dict[str, Any], bool],
) -> None:
    """(issuer settings, token claims, token header, accepted?)"""
    trusted, claims, header, accepted = case
    rules = [TrustedIssuer(issuer=ISSUER, **trusted)]
    token = signed_by(authority, {"sub": NODE_A, **claims}, **header)
    async with client(authority, external, tmp_path, sqlite_template, rules) as http:
        status = (await whoami(http, token)).status_code
    assert (status == 200) is accepted


def test_claim_mapping() -> None:
    raw = {
        "sub": "p",
        "org": {"type": "research", "nuts": "FRJ13"},
        "scp": ["dsp", "x"],
        "country": "FR",
        "extra": "never mapped",
    }
    mapped = map_claims(raw, {"org_type": "org.type", "nuts": "org.nuts", "scope": "scp"})
    assert mapped == {
        "sub": "p",
        "org_type": "research",
        "nuts": ("FRJ13",),
        "scope": "dsp x",
        "country": "FR",
    }
    with pytest.raises(ClaimError, match="sub"):
        map_claims({"client_id": "x"}, {})
    with pytest.raises(ClaimError, match="org_type"):
        map_claims({"sub": "p", "org_type": ""}, {})
    with pytest.raises(ClaimError, match="nuts"):
        map_claims({"sub": "p", "nuts": [1]}, {})

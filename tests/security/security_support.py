"""The security suite's dataspace: a real authority process, registered participants, and a
protected node B (in-process) whose identity checks every request.

Tokens are real: issued by the authority process, or — for claims it would never issue (no
``exp``, a foreign ``iss``...) — signed with the authority's own key file, so that only the claim
under test is wrong.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connector.http.problem import install_problem_handlers
from connector.identity import jose, keys
from connector.identity.authority import registry
from connector.identity.client import TokenClient
from connector.identity.dependency import ParticipantDep, install_identity
from connector.identity.dpop import create_proof
from connector.identity.service import NodeIdentity
from connector.identity.settings import IdentitySettings, TrustedIssuer
from connector.store.database import Database

NODE_A = "urn:etds:participant:a"
NODE_B = "urn:etds:participant:b"
NODE_C = "urn:etds:participant:c"
ADMIN_B = "urn:etds:admin:b"
READER_B = "urn:etds:reader:b"
B_URL = "http://node-b.test"
B_MANAGEMENT = B_URL + "/management"
WHOAMI = B_URL + "/protocol/whoami"


class Clock:
    """Real time plus a settable ``offset`` (seconds)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Dataspace:
    """The authority process and what the tests need to talk to it."""

    issuer: str
    database: Database
    key_dir: Path
    authority_key: keys.SigningKey
    key_files: dict[str, Path] = field(default_factory=dict)

    def register(self, participant_id: str, **attributes: Any) -> Path:
        """Register ``participant_id`` with a new EC key (in the authority's database)."""
        key_file = self.key_dir / (participant_id.replace(":", "_") + ".pem")
        keys.write_private_key(key_file, keys.private_key_pem(keys.generate_key("ec")))
        registration = registry.Registration(
            id=participant_id,
            name=attributes.pop("name", participant_id),
            keys=[keys.read_public_jwk(key_file)],
            **attributes,
        )
        registry.register(self.database, registration, now=datetime.now(UTC))
        self.key_files[participant_id] = key_file
        return key_file

    def token_client(
        self, participant_id: str, http: httpx.AsyncClient, *, scope: str = "dsp"
    ) -> TokenClient:
        """``participant_id``'s real token client (requests sent with ``http``), with a fresh
        DPoP key."""
        return TokenClient(
            authority=self.issuer,
            client_id=participant_id,
            client_key=keys.load_signing_key(self.key_files[participant_id]),
            dpop_key=keys.ephemeral_key(),
            scope=scope,
            async_client=http,
        )

    def forge(self, claims: dict[str, Any], *, drop: tuple[str, ...] = (), **header: Any) -> str:
        """A token signed with the authority's key: valid A→B claims, changed by ``claims``
        and without the claims named in ``drop``."""
        now = int(time.time())
        base = {
            "iss": self.issuer,
            "sub": NODE_A,
            "client_id": NODE_A,
            "aud": NODE_B,
            "iat": now,
            "nbf": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(12),
            "scope": "dsp",
            "membership": "active",
        }
        merged = {k: v for k, v in (base | claims).items() if k not in drop}
        head = {"typ": "at+jwt", "alg": self.authority_key.alg, "kid": self.authority_key.kid}
        head = {k: v for k, v in (head | header).items() if v is not None}
        return jose.sign(head, merged, self.authority_key.key)


@dataclass
class Node:
    """Node B, in-process: its identity, its app, and the clock its checks use."""

    identity: NodeIdentity
    app: FastAPI
    clock: Clock

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url=B_URL)


def node_b(
    dataspace: Dataspace,
    database: Database,
    app: FastAPI | None = None,
    *,
    accept_bearer: bool = False,
) -> Node:
    """Node B trusting the authority, with the protected route ``/protocol/whoami``; ``app``
    (e.g. a full connector application) gets the identity and the route installed."""
    clock = Clock()
    settings = IdentitySettings(
        trusted_issuers=[TrustedIssuer(issuer=dataspace.issuer, use=["protocol", "management"])],
        jwks_min_refetch_seconds=0,
        accept_bearer_tokens=accept_bearer,
    )
    identity = NodeIdentity.from_settings(
        settings, participant_id=NODE_B, public_url=B_URL, database=database, clock=clock
    )
    if app is None:
        app = FastAPI()
        install_problem_handlers(app)
    install_identity(app, identity)

    async def whoami(participant: ParticipantDep) -> dict[str, Any]:
        return {"id": participant.id, **participant.claims_dict()}

    app.add_api_route("/protocol/whoami", whoami, methods=["GET", "POST"])
    return Node(identity, app, clock)


def dpop_headers(
    token: str,
    dpop_key: keys.SigningKey | None,
    *,
    method: str = "GET",
    url: str = WHOAMI,
    now: float | None = None,
) -> dict[str, str]:
    """``Authorization: DPoP`` and a proof for ``method url`` signed with ``dpop_key``."""
    headers = {"Authorization": f"DPoP {token}"}
    if dpop_key is not None:
        moment = time.time() if now is None else now
        headers["DPoP"] = create_proof(
            dpop_key, method=method, url=url, now=moment, access_token=token
        )
    return headers


def refusal_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The ``log_detail`` of every refusal logged so far."""
    return [str(getattr(r, "log_detail", "")) for r in caplog.records if hasattr(r, "log_detail")]


def assert_refused(response: httpx.Response, caplog: pytest.LogCaptureFixture, reason: str) -> None:
    """The request got 401 with the generic detail, and the log names ``reason``."""
    assert response.status_code == 401, response.text
    assert "access token" in response.json()["detail"]
    assert reason in " | ".join(refusal_reasons(caplog)), refusal_reasons(caplog)

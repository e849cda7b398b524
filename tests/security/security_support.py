"""The security suite's dataspace: a real authority process, registered participants, and a
protected node B (in-process) whose identity checks every request.

Tokens are real: issued by the authority process, or — for claims it would never issue (no
``exp``, a foreign ``iss``...) — signed with the authority's own key file, so that only the claim
under test is wrong.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dataspace_support import (
    ADMIN_B,
    B_MANAGEMENT,
    B_URL,
    NODE_A,
    NODE_B,
    NODE_C,
    READER_B,
    Clock,
    Dataspace,
)
from fastapi import FastAPI

from connector.http.problem import install_problem_handlers
from connector.identity import keys
from connector.identity.dependency import ParticipantDep, install_identity
from connector.identity.dpop import create_proof
from connector.identity.service import NodeIdentity
from connector.identity.settings import IdentitySettings, TrustedIssuer
from connector.store.database import Database

__all__ = [  # the suite imports the dataspace's names from here too
    "ADMIN_B",
    "B_MANAGEMENT",
    "B_URL",
    "NODE_A",
    "NODE_B",
    "NODE_C",
    "READER_B",
    "Clock",
    "Dataspace",
]

WHOAMI = B_URL + "/protocol/whoami"


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

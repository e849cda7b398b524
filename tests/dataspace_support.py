"""A dataspace for tests: a real authority process and the participants it knows.

Tokens are real: issued by the authority process, or — for claims it would never issue (no
``exp``, a foreign ``iss``...) — signed with the authority's own key file, so that only the claim
under test is wrong. The ``dataspace`` fixture (tests/conftest.py) starts it once per session.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from connector.identity import jose, keys
from connector.identity.authority import registry
from connector.identity.client import TokenClient
from connector.store.database import Database

NODE_A = "urn:etds:participant:a"
NODE_B = "urn:etds:participant:b"
NODE_C = "urn:etds:participant:c"
ADMIN_B = "urn:etds:admin:b"
READER_B = "urn:etds:reader:b"
B_URL = "http://node-b.test"
B_MANAGEMENT = B_URL + "/management"


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

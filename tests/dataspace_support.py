"""A dataspace for tests: a real authority process and the participants it knows.

Tokens are real: issued by the authority process, or — for claims it would never issue (no
``exp``, a foreign ``iss``...) — signed with the authority's own key file, so that only the claim
under test is wrong. The ``dataspace`` fixture (tests/conftest.py) starts it once per session.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from connector.identity import jose, keys
from connector.identity.authority import registry
from connector.identity.client import TokenClient
from connector.store.database import Database
from connector.store.migrate import upgrade
from etds_examples.authorityproc import run_authority, write_authority_config
from etds_examples.nodeproc import RunningService, free_port

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


@contextmanager
def running_dataspace(
    root: Path, register: Callable[[Dataspace], None]
) -> Iterator[tuple[Dataspace, RunningService]]:
    """A real authority process (Ed25519 signing key, SQLite database under ``root``) knowing
    the participants ``register`` records; stopped, and its database closed, at the end."""
    key_dir = root / "keys"
    key_dir.mkdir(parents=True)
    authority_key = key_dir / "authority.pem"
    keys.write_private_key(authority_key, keys.private_key_pem(keys.generate_key("ed25519")))
    database_url = f"sqlite:///{root / 'authority.db'}"
    database = Database.from_url(database_url)
    upgrade(database)
    port = free_port()
    space = Dataspace(
        issuer=f"http://127.0.0.1:{port}",
        database=database,
        key_dir=key_dir,
        authority_key=keys.load_signing_key(authority_key),
    )
    register(space)
    config = write_authority_config(
        root / "authority.toml", port=port, database_url=database_url, signing_keys=[authority_key]
    )
    try:
        with run_authority(config, port=port, log_file=root / "authority.log") as authority:
            yield space, authority
    finally:
        database.dispose()

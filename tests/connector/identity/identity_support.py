"""Helpers for the identity tests: key files, an in-process authority, registered participants."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from connector.http.problem import install_problem_handlers
from connector.identity import keys
from connector.identity.authority import registry
from connector.identity.authority.app import create_authority_app
from connector.identity.authority.settings import AuthoritySettings
from connector.identity.client import TokenClient
from connector.identity.dependency import ParticipantDep, install_identity
from connector.identity.service import NodeIdentity
from connector.identity.settings import IdentitySettings, TrustedIssuer
from connector.store.database import Database

ISSUER = "http://127.0.0.1:8180"
NODE_A = "urn:etds:participant:a"
NODE_B = "urn:etds:participant:b"
ADMIN = "urn:etds:admin:b"
MANAGEMENT_B = "http://node-b.test/management"


def write_key(directory: Path, name: str, key_type: keys.KeyType = "ec") -> Path:
    """A new private key file ``<directory>/<name>.pem``."""
    path = directory / f"{name}.pem"
    keys.write_private_key(path, keys.private_key_pem(keys.generate_key(key_type)))
    return path


class Clock:
    """A settable clock: real time plus ``offset`` seconds."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class InProcessAuthority:
    """An authority application with its own SQLite database, reached through ASGI."""

    settings: AuthoritySettings
    database: Database
    app: FastAPI
    key_dir: Path
    clock: Clock
    client_keys: dict[str, Path] = field(default_factory=dict)

    @property
    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(self.app)

    def register(
        self, participant_id: str, *, key_type: keys.KeyType = "ec", **attributes: Any
    ) -> Path:
        """Register ``participant_id`` with a new key; returns its private key file."""
        key_file = write_key(self.key_dir, participant_id.replace(":", "_"), key_type)
        registration = registry.Registration(
            id=participant_id,
            name=attributes.pop("name", participant_id),
            keys=[keys.read_public_jwk(key_file)],
            **attributes,
        )
        registry.register(self.database, registration, now=datetime.now(UTC))
        self.client_keys[participant_id] = key_file
        return key_file

    def token_client(
        self, participant_id: str, *, dpop: bool = True, scope: str = "dsp", **options: Any
    ) -> TokenClient:
        """A token client of ``participant_id`` talking to this authority in-process."""
        return TokenClient(
            authority=self.settings.issuer,
            client_id=participant_id,
            client_key=keys.load_signing_key(self.client_keys[participant_id]),
            dpop_key=keys.ephemeral_key() if dpop else None,
            scope=scope,
            async_client=httpx.AsyncClient(transport=self.transport),
            **options,
        )


def make_authority(
    tmp_path: Path,
    template: Path,
    *,
    issuer: str = ISSUER,
    key_types: Sequence[keys.KeyType] = ("ed25519",),
    signing_keys: Callable[[list[Path]], list[dict[str, Any]]] | None = None,
    **settings: Any,
) -> InProcessAuthority:
    """An authority whose database is a copy of the migrated SQLite ``template``."""
    slug = re.sub(r"[^a-z0-9]+", "-", issuer.lower()).strip("-")
    key_dir = tmp_path / f"keys-{slug}"
    key_dir.mkdir(parents=True, exist_ok=True)
    files = [write_key(key_dir, f"authority-{n}", t) for n, t in enumerate(key_types)]
    configured = signing_keys(files) if signing_keys else [{"file": f} for f in files]
    database_file = tmp_path / f"authority-{slug}.db"
    shutil.copyfile(template, database_file)
    authority_settings = AuthoritySettings(
        issuer=issuer,
        signing_keys=configured,
        database={"url": f"sqlite:///{database_file}", "auto_migrate": False},
        **settings,
    )
    database = Database.from_url(f"sqlite:///{database_file}")
    clock = Clock()
    app = create_authority_app(authority_settings, database=database, clock=clock)
    return InProcessAuthority(authority_settings, database, app, key_dir, clock)


def copy_database(template: Path, path: Path) -> Database:
    """A migrated SQLite database at ``path`` (a copy of the session's template)."""
    shutil.copyfile(template, path)
    return Database.from_url(f"sqlite:///{path}")


def node_identity(
    authority: InProcessAuthority,
    database: Database,
    *,
    participant_id: str = NODE_B,
    public_url: str = "http://node-b.test",
    trusted: Sequence[TrustedIssuer] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **settings: Any,
) -> NodeIdentity:
    """The identity services of a node trusting ``authority`` (reached in-process)."""
    identity_settings = IdentitySettings(
        trusted_issuers=list(trusted or [TrustedIssuer(issuer=ISSUER)]), **settings
    )
    return NodeIdentity.from_settings(
        identity_settings,
        participant_id=participant_id,
        public_url=public_url,
        database=database,
        transport=transport or authority.transport,
        clock=authority.clock,
    )


def protected_app(identity: NodeIdentity) -> FastAPI:
    """A tiny application with one protected route, ``/protocol/whoami`` (GET and POST)."""
    app = FastAPI()
    install_identity(app, identity)
    install_problem_handlers(app)

    @app.api_route("/protocol/whoami", methods=["GET", "POST"])
    async def whoami(participant: ParticipantDep) -> dict[str, Any]:
        return {"id": participant.id, "issuer": participant.issuer, **participant.claims_dict()}

    return app


class Router(httpx.AsyncBaseTransport):
    """Sends each request to the transport of its ``host:port``."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.netloc.decode()].handle_async_request(request)

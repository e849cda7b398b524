"""``create_authority_app(settings)``: the dataspace authority as an ASGI application.

Routes (all unauthenticated but the token endpoint, which authenticates clients itself):

* ``GET /.well-known/oauth-authorization-server`` — RFC 8414 metadata;
* ``GET /.well-known/jwks.json`` — the public keys tokens are signed with (during a rotation,
  old and new);
* ``POST /token`` — ``client_credentials`` + ``private_key_jwt`` + ``resource`` + DPoP;
* ``GET /health/live``, ``GET /health/ready`` — probes (database reachable, schema current).

The token endpoint reads a form of bounded size and field count, then runs authlib's synchronous
flow (which reads the registry and records single-use identifiers) in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from anyio import to_thread
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata  # type: ignore[import-untyped]
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from connector.http.limits import BodySizeLimitMiddleware
from connector.http.requestlog import RequestLogMiddleware
from connector.identity.algorithms import DEFAULT_ALGORITHMS
from connector.identity.authority.registry import MANAGEMENT_SCOPES, PROTOCOL_SCOPE
from connector.identity.authority.server import (
    GRANT_TYPE,
    PRIVATE_KEY_JWT,
    AuthorityServer,
    Clock,
    TokenRequest,
)
from connector.identity.authority.settings import AuthoritySettings
from connector.identity.authority.signing import SigningKeys
from connector.store.database import Database
from connector.store.migrate import current_revision, head_revision, upgrade

log = logging.getLogger("etds.authority")

METADATA_PATH = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/.well-known/jwks.json"
TOKEN_PATH = "/token"  # noqa: S105 - a path, not a secret
MAX_FORM_FIELDS = 16
PURGE_INTERVAL_SECONDS = 600.0
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _Metadata(AuthorizationServerMetadata):  # type: ignore[misc]
    def validate_response_types_supported(self) -> None:
        """RFC 8414 lists response types for the authorization endpoint, which this server
        does not have (client credentials only): an empty list is the truthful answer."""
        if not isinstance(self.get("response_types_supported"), list):
            raise ValueError('"response_types_supported" MUST be JSON array')


def authority_metadata(settings: AuthoritySettings) -> dict[str, Any]:
    """The RFC 8414 metadata document (validated with authlib)."""
    algorithms = list(DEFAULT_ALGORITHMS)
    metadata = _Metadata(
        {
            "issuer": settings.issuer,
            "token_endpoint": settings.issuer + TOKEN_PATH,
            "jwks_uri": settings.issuer + JWKS_PATH,
            "grant_types_supported": [GRANT_TYPE],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": [PRIVATE_KEY_JWT],
            "token_endpoint_auth_signing_alg_values_supported": algorithms,
            "dpop_signing_alg_values_supported": algorithms,
            "scopes_supported": [PROTOCOL_SCOPE, *sorted(MANAGEMENT_SCOPES)],
        }
    )
    metadata.validate()
    return dict(metadata)


def _form(body: bytes) -> dict[str, list[str]] | None:
    try:
        text_body = body.decode("utf-8")
        form = parse_qs(text_body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return None
    return form


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def create_authority_app(
    settings: AuthoritySettings,
    *,
    database: Database | None = None,
    keys: SigningKeys | None = None,
    clock: Clock = time.time,
) -> FastAPI:
    """Build the authority. ``database`` and ``keys`` may be given (tests); otherwise they come
    from the settings. A database created here is migrated at start and disposed of at stop."""
    owns_database = database is None
    db = database or Database.from_url(
        settings.database.url.get_secret_value(),
        echo=settings.database.echo,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.max_overflow,
    )
    signing = keys or SigningKeys.load(settings.signing_keys)
    server = AuthorityServer(settings, db, signing, clock=clock)
    metadata = authority_metadata(settings)

    async def purge_periodically() -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)
            try:
                await to_thread.run_sync(lambda: server.replay.purge(now=clock()))
            except Exception:  # housekeeping must not stop the authority
                log.exception("purging used token identifiers failed")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.database.auto_migrate:
            await to_thread.run_sync(lambda: upgrade(db))
        purging = asyncio.create_task(purge_periodically(), name="purge used tokens")
        log.info("authority started", extra={"issuer": settings.issuer})
        try:
            yield
        finally:
            purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purging
            if owns_database:
                db.dispose()
            log.info("authority stopped")

    app = FastAPI(title="etds dataspace authority", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(RequestLogMiddleware)
    app.state.authority = server
    app.include_router(_router(server, signing, metadata, clock))
    return app


def _router(
    server: AuthorityServer, signing: SigningKeys, metadata: dict[str, Any], clock: Clock
) -> APIRouter:
    router = APIRouter()
    db = server.database

    @router.get(METADATA_PATH, summary="Authorization server metadata (RFC 8414)")
    def get_metadata() -> JSONResponse:
        return JSONResponse(metadata)

    @router.get(JWKS_PATH, summary="The authority's public signing keys")
    def get_jwks() -> JSONResponse:
        jwks = signing.jwks(datetime.fromtimestamp(clock(), tz=UTC))
        return JSONResponse(jwks, headers={"Cache-Control": "max-age=300"})

    @router.post(TOKEN_PATH, summary="Token endpoint (client_credentials, private_key_jwt, DPoP)")
    async def token(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
        form = _form(await request.body())
        if form is None:
            return _oauth_error(400, "invalid_request", "the form cannot be read")
        oauth_request = TokenRequest(server.token_endpoint, form, request.headers.getlist("dpop"))
        status, body, headers = await to_thread.run_sync(
            lambda: server.create_token_response(oauth_request)
        )
        return JSONResponse(body, status_code=status, headers={**dict(headers), **NO_STORE})

    @router.get("/health/live", summary="The process is up")
    def live() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.get("/health/ready", summary="The database is reachable and its schema current")
    def ready() -> JSONResponse:
        try:
            with db.read() as session:
                session.execute(text("SELECT 1"))
            current = current_revision(db)
        except Exception as error:  # any database failure means not ready
            log.warning("readiness check failed", extra={"error": type(error).__name__})
            return JSONResponse({"status": "unavailable"}, status_code=503)
        if current != head_revision():
            return JSONResponse({"status": "schema not current"}, status_code=503)
        return JSONResponse({"status": "ready", "schema": current})

    return router

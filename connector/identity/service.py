"""``NodeIdentity``: a node's identity services, built once from its settings.

It verifies inbound protocol requests (:meth:`NodeIdentity.participant`) and administrator tokens
(:meth:`NodeIdentity.administrator_token`), authenticates outbound DSP calls
(:meth:`NodeIdentity.auth`), and says how peers authenticate in ``/.well-known/dspace-version``
(:meth:`NodeIdentity.dspace_auth_entry`). HTTP clients are injectable (``transport``) so tests can
put an authority and nodes in one process.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request

from connector.http.fetch import CookielessAsyncClient
from connector.http.tls import outbound_ssl_context
from connector.identity.access import AccessCheck, PendingUse
from connector.identity.auth import DataspaceAuth
from connector.identity.claims import Participant, participant_from
from connector.identity.client import TokenClient
from connector.identity.jwks import JwksCache
from connector.identity.keys import SigningKey, ephemeral_key, load_signing_key
from connector.identity.replay import ReplayGuard
from connector.identity.settings import IdentitySettings
from connector.identity.verifier import TokenVerifier, VerifiedToken
from connector.store.database import Database

log = logging.getLogger("etds.identity")


def dspace_auth_entry(settings: IdentitySettings) -> dict[str, Any]:
    """The ``auth`` entry of ``/.well-known/dspace-version``: OAuth 2.0 with JWT access tokens
    (RFC 9068), ``private_key_jwt`` (RFC 7523), resource indicators (RFC 8707) and DPoP (RFC 9449);
    ``bearer`` is listed when plain bearer tokens are accepted too."""
    profile = ["rfc9068-jwt-access-token", "rfc7523-private-key-jwt", "rfc8707-resource", "dpop"]
    if settings.accept_bearer_tokens:
        profile.append("bearer")
    return {"protocol": "OAuth2", "version": "2.0", "profile": profile}


@dataclass(frozen=True)
class AdministratorToken:
    """An administrator authenticated by an OAuth token with management scopes."""

    subject: str
    issuer: str
    scopes: frozenset[str]
    token_id: str


class NodeIdentity:
    """Inbound verification and outbound authentication of one node."""

    def __init__(
        self,
        *,
        participant_id: str,
        management_audience: str,
        access: AccessCheck,
        tokens: TokenClient | None,
        clients: tuple[httpx.AsyncClient, httpx.Client],
        replay: ReplayGuard,
        settings: IdentitySettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.participant_id = participant_id
        self.management_audience = management_audience
        self.tokens = tokens
        self.settings = settings
        self._access = access
        self._clients = clients
        self._replay = replay
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: IdentitySettings,
        *,
        participant_id: str,
        public_url: str,
        database: Database,
        transport: httpx.AsyncBaseTransport | None = None,
        sync_transport: httpx.BaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
    ) -> NodeIdentity:
        """Load the keys and build every part (``InvalidKey`` when a key file is unusable)."""
        timeout = settings.http_timeout_seconds
        verify = ssl_context or outbound_ssl_context()
        async_client = CookielessAsyncClient(
            trust_env=False,
            follow_redirects=False,
            timeout=timeout,
            transport=transport,
            verify=verify,
        )
        sync_client = httpx.Client(
            trust_env=False,
            follow_redirects=False,
            timeout=timeout,
            transport=sync_transport,
            verify=verify,
        )
        keys = JwksCache(
            async_client,
            ttl=settings.jwks_cache_seconds,
            min_refetch=settings.jwks_min_refetch_seconds,
            max_bytes=settings.max_document_bytes,
        )
        verifier = TokenVerifier(
            settings.trusted_issuers,
            keys,
            leeway=settings.leeway_seconds,
            max_age=settings.max_token_age_seconds,
            clock=clock,
        )
        replay = ReplayGuard(database)
        access = AccessCheck(
            verifier,
            replay,
            public_url=public_url,
            accept_bearer=settings.accept_bearer_tokens,
            dpop_max_age=settings.dpop_max_age_seconds,
            leeway=settings.leeway_seconds,
            clock=clock,
        )
        return cls(
            participant_id=participant_id,
            management_audience=settings.management_audience
            or public_url.rstrip("/") + "/management",
            access=access,
            tokens=_token_client(settings, participant_id, async_client, sync_client, clock),
            clients=(async_client, sync_client),
            replay=replay,
            settings=settings,
            clock=clock,
        )

    async def participant(self, request: Request) -> Participant:
        """The participant a protocol request comes from (``Unauthorized`` otherwise)."""
        participant, pending = await self.sender(request)
        await pending.remember_alone()
        return participant

    async def sender(self, request: Request) -> tuple[Participant, PendingUse]:
        """The participant a protocol request comes from, and its proof's use, left for the
        request's handler to remember in the transaction of its change (see
        :class:`~connector.identity.access.PendingUse`)."""
        verified, pending = await self._access.deferred(
            request, audience=self.participant_id, use="protocol"
        )
        return participant_from(
            verified.mapped, issuer=verified.issuer.issuer, token_id=str(verified.claims["jti"])
        ), pending

    async def administrator_token(self, request: Request) -> AdministratorToken:
        """The administrator a management request's token names (``Unauthorized`` otherwise)."""
        verified: VerifiedToken = await self._access.request(
            request, audience=self.management_audience, use="management"
        )
        return AdministratorToken(
            subject=str(verified.mapped["sub"]),
            issuer=verified.issuer.issuer,
            scopes=verified.scopes,
            token_id=str(verified.claims["jti"]),
        )

    def auth(self, audience: str) -> DataspaceAuth:
        """The ``httpx.Auth`` for calls to participant ``audience``'s connector."""
        if self.tokens is None:
            raise RuntimeError("identity.authority and identity.client_key_file are not set")
        return DataspaceAuth(self.tokens, audience=audience, clock=self._clock)

    def dspace_auth_entry(self) -> dict[str, Any]:
        """See :func:`dspace_auth_entry`."""
        return dspace_auth_entry(self.settings)

    async def run_housekeeping(self, interval_seconds: float) -> None:
        """Forget expired single-use identifiers every ``interval_seconds`` (run as a task)."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                purged = await asyncio.to_thread(self._replay.purge, now=self._clock())
                log.debug("expired token identifiers purged", extra={"count": purged})
            except Exception:  # housekeeping must never stop the node
                log.exception("purging used token identifiers failed")

    async def aclose(self) -> None:
        """Close the HTTP clients."""
        async_client, sync_client = self._clients
        await async_client.aclose()
        sync_client.close()


def _token_client(
    settings: IdentitySettings,
    participant_id: str,
    async_client: httpx.AsyncClient,
    sync_client: httpx.Client,
    clock: Callable[[], float],
) -> TokenClient | None:
    if settings.authority is None or settings.client_key_file is None:
        return None
    dpop_key: SigningKey = (
        load_signing_key(settings.dpop_key_file) if settings.dpop_key_file else ephemeral_key()
    )
    return TokenClient(
        authority=settings.authority,
        client_id=settings.client_id or participant_id,
        client_key=load_signing_key(settings.client_key_file),
        dpop_key=dpop_key,
        scope=settings.protocol_scope,
        async_client=async_client,
        sync_client=sync_client,
        max_bytes=settings.max_document_bytes,
        clock=clock,
    )

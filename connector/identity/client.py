"""The outbound token client: access tokens for talking to a given peer, cached until shortly
before they expire.

A token request is ``client_credentials`` with a ``private_key_jwt`` client assertion (RFC 7523:
``iss`` = ``sub`` = our client id, ``aud`` = the authority's issuer, one minute of lifetime, a
fresh ``jti``), ``resource`` = the peer's participant id (RFC 8707) and a DPoP proof (RFC 9449) so
the token is bound to our DPoP key. The token endpoint is discovered once from the authority's
metadata. If the authority asks for a DPoP nonce (``use_dpop_nonce``), the request is repeated
once with it.

Tokens are cached per (audience, scope) until ``refresh_margin`` seconds before they expire.
Concurrent callers needing the same token wait for one request (a lock per key: a thread lock
for synchronous callers, an asyncio lock per event loop for asynchronous ones).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from connector.http.fetch import DEFAULT_MAX_BYTES, Answer, FetchError, send, send_sync
from connector.identity.discovery import discover, discover_sync, endpoint
from connector.identity.dpop import create_proof
from connector.identity.jose import b64url, sign
from connector.identity.jwks import LoopLocks
from connector.identity.keys import SigningKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 60
MAX_ATTEMPTS = 2


class TokenRequestFailed(Exception):
    """The authority did not grant a token; ``error`` is its OAuth error code, if any."""

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class AccessToken:
    """A token for ``audience``: its value, scheme (``DPoP`` or ``Bearer``) and expiry (epoch)."""

    value: str
    token_type: str
    expires_at: float
    audience: str


def client_assertion(
    key: SigningKey,
    *,
    client_id: str,
    audience: str,
    now: float,
    lifetime: int = ASSERTION_LIFETIME_SECONDS,
) -> str:
    """An RFC 7523 client assertion signed with ``key``."""
    issued = int(now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": b64url(secrets.token_bytes(18)),
    }
    return sign({"alg": key.alg, "kid": key.kid, "typ": "JWT"}, claims, key.key)


class TokenClient:
    """Gets and caches access tokens from ``authority`` (an issuer URL)."""

    def __init__(
        self,
        *,
        authority: str,
        client_id: str,
        client_key: SigningKey,
        dpop_key: SigningKey | None,
        scope: str = "dsp",
        async_client: httpx.AsyncClient | None = None,
        sync_client: httpx.Client | None = None,
        refresh_margin: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.authority = authority
        self.client_id = client_id
        self.dpop_key = dpop_key
        self.scope = scope
        self._client_key = client_key
        self._async_client = async_client
        self._sync_client = sync_client
        self._margin = refresh_margin
        self._max_bytes = max_bytes
        self._clock = clock
        self._token_endpoint: str | None = None
        self._cache: dict[tuple[str, str], AccessToken] = {}
        self._cache_lock = threading.Lock()
        self._thread_locks: dict[tuple[str, str], threading.Lock] = {}
        self._loop_locks = LoopLocks()
        self.requests = 0
        """How many token requests were sent (for tests and monitoring)."""

    # Cache -----------------------------------------------------------------------------------

    def _cached(self, key: tuple[str, str]) -> AccessToken | None:
        with self._cache_lock:
            token = self._cache.get(key)
        if token is not None and self._clock() < token.expires_at - self._margin:
            return token
        return None

    def _store(self, key: tuple[str, str], token: AccessToken) -> AccessToken:
        now = self._clock()
        with self._cache_lock:
            expired = [k for k, cached in self._cache.items() if cached.expires_at <= now]
            for stale in expired:
                del self._cache[stale]
            self._cache[key] = token
        return token

    def forget(self, audience: str, scope: str | None = None) -> None:
        """Drop the cached token for ``audience`` (e.g. after the peer refused it)."""
        with self._cache_lock:
            self._cache.pop((audience, scope or self.scope), None)

    # Requests (shared by both paths) ---------------------------------------------------------

    def _request(
        self, token_endpoint: str, audience: str, scope: str, nonce: str | None
    ) -> httpx.Request:
        now = self._clock()
        with self._cache_lock:
            self.requests += 1
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(
                self._client_key, client_id=self.client_id, audience=self.authority, now=now
            ),
            "resource": audience,
            "scope": scope,
        }
        headers = {"Accept": "application/json"}
        if self.dpop_key is not None:
            headers["DPoP"] = create_proof(
                self.dpop_key, method="POST", url=token_endpoint, now=now, nonce=nonce
            )
        return httpx.Request("POST", token_endpoint, data=form, headers=headers)

    def _parse(self, answer: Answer, audience: str) -> AccessToken | str:
        """The token, or the nonce to retry with; :class:`TokenRequestFailed` otherwise."""
        try:
            body: Any = answer.json()
        except FetchError:
            body = None
        if not isinstance(body, dict):
            raise TokenRequestFailed(f"the authority answered HTTP {answer.status} without JSON")
        if answer.status != 200:
            error = body.get("error")
            nonce = answer.headers.get("dpop-nonce")
            if error == "use_dpop_nonce" and nonce:
                return str(nonce)
            description = body.get("error_description", "")
            raise TokenRequestFailed(
                f"the authority refused a token for {audience}: {error} {description}".strip(),
                error if isinstance(error, str) else None,
            )
        value, token_type, expires_in = (
            body.get("access_token"),
            body.get("token_type"),
            body.get("expires_in"),
        )
        if not isinstance(value, str) or not isinstance(token_type, str):
            raise TokenRequestFailed("the token answer lacks access_token or token_type")
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            raise TokenRequestFailed("the token answer lacks a positive expires_in")
        if self.dpop_key is not None and token_type.lower() != "dpop":
            raise TokenRequestFailed("the authority did not bind the token to our DPoP key")
        return AccessToken(value, token_type, self._clock() + expires_in, audience)

    # Synchronous path ------------------------------------------------------------------------

    def _sync(self) -> httpx.Client:
        if self._sync_client is None:
            raise RuntimeError("this token client has no synchronous HTTP client")
        return self._sync_client

    def token_sync(self, audience: str, scope: str | None = None) -> AccessToken:
        """A valid token for ``audience`` (from the cache, or requested now)."""
        key = (audience, scope or self.scope)
        cached = self._cached(key)
        if cached is not None:
            return cached
        with self._cache_lock:
            lock = self._thread_locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._cached(key)
            if cached is not None:
                return cached
            try:
                return self._store(key, self._fetch_sync(audience, key[1]))
            except FetchError as error:
                raise TokenRequestFailed(f"cannot reach the authority: {error}") from None

    def _fetch_sync(self, audience: str, scope: str) -> AccessToken:
        client = self._sync()
        if self._token_endpoint is None:
            metadata = discover_sync(client, self.authority, max_bytes=self._max_bytes)
            self._token_endpoint = endpoint(metadata, "token_endpoint", self.authority)
        nonce: str | None = None
        for _ in range(MAX_ATTEMPTS):
            request = self._request(self._token_endpoint, audience, scope, nonce)
            parsed = self._parse(send_sync(client, request, max_bytes=self._max_bytes), audience)
            if isinstance(parsed, AccessToken):
                return parsed
            nonce = parsed
        raise TokenRequestFailed("the authority kept asking for a new DPoP nonce")

    # Asynchronous path -----------------------------------------------------------------------

    def _async(self) -> httpx.AsyncClient:
        if self._async_client is None:
            raise RuntimeError("this token client has no asynchronous HTTP client")
        return self._async_client

    async def token(self, audience: str, scope: str | None = None) -> AccessToken:
        """A valid token for ``audience`` (from the cache, or requested now)."""
        key = (audience, scope or self.scope)
        cached = self._cached(key)
        if cached is not None:
            return cached
        async with self._loop_locks(f"{key[0]}\x00{key[1]}"):
            cached = self._cached(key)
            if cached is not None:
                return cached
            try:
                return self._store(key, await self._fetch(audience, key[1]))
            except FetchError as error:
                raise TokenRequestFailed(f"cannot reach the authority: {error}") from None

    async def _fetch(self, audience: str, scope: str) -> AccessToken:
        client = self._async()
        if self._token_endpoint is None:
            metadata = await discover(client, self.authority, max_bytes=self._max_bytes)
            self._token_endpoint = endpoint(metadata, "token_endpoint", self.authority)
        nonce: str | None = None
        for _ in range(MAX_ATTEMPTS):
            request = self._request(self._token_endpoint, audience, scope, nonce)
            parsed = self._parse(await send(client, request, max_bytes=self._max_bytes), audience)
            if isinstance(parsed, AccessToken):
                return parsed
            nonce = parsed
        raise TokenRequestFailed("the authority kept asking for a new DPoP nonce")

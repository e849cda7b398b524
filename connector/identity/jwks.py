"""Trusted issuers' public keys, fetched once and cached, looked up by ``kid``.

A token's ``kid`` is only ever resolved against the key set of the issuer its ``iss`` names
(configured; a key of another issuer never verifies it). The set is cached for
``ttl`` seconds. A ``kid`` the cache does not know triggers one refetch (the issuer may have
rotated its keys), at most once per ``min_refetch`` seconds per issuer, so a flood of tokens with
made-up ``kid``s costs one request to the issuer, not one per token. Concurrent lookups share a
fetch. When a refresh fails, the keys already known stay in use until a later attempt succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from joserfc.jwk import Key

from connector.http.fetch import FetchError, json_document, send
from connector.identity.discovery import discover, endpoint
from connector.identity.keys import InvalidKey, import_public_jwk
from connector.identity.settings import TrustedIssuer

log = logging.getLogger("etds.identity")

MAX_KEYS = 32
_RSA_ALGORITHMS = frozenset({"RS256", "PS256"})


class UnknownKey(LookupError):
    """No key of the issuer matches (after the one refetch allowed)."""


class KeysUnavailable(LookupError):
    """The issuer's keys could not be fetched and none are cached."""


class LoopLocks:
    """One ``asyncio.Lock`` per key and event loop (a lock must not outlive its loop)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def __call__(self, key: str) -> asyncio.Lock:
        per_loop = self._locks.setdefault(asyncio.get_running_loop(), {})
        return per_loop.setdefault(key, asyncio.Lock())


@dataclass
class _IssuerState:
    keys: dict[str, Key] = field(default_factory=dict)
    fetched_at: float | None = None
    attempted_at: float | None = None
    jwks_url: str | None = None


def parse_jwks(document: dict[str, object], *, allow_rsa: bool) -> dict[str, Key]:
    """The signing keys of a JWK Set by ``kid`` (keys of other uses or types are skipped)."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise FetchError("the key set has no keys array")
    parsed: dict[str, Key] = {}
    for jwk in keys[:MAX_KEYS]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        try:
            key = import_public_jwk(jwk, allow_rsa=allow_rsa)
        except InvalidKey as error:
            log.info("skipping an unusable key of a key set", extra={"reason": str(error)})
            continue
        assert key.kid is not None
        parsed[key.kid] = key
    return parsed


class JwksCache:
    """Key sets of the trusted issuers, fetched with ``client``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        ttl: float,
        min_refetch: float,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._max_bytes = max_bytes
        self._clock = clock
        self._states: dict[str, _IssuerState] = {}
        self._locks = LoopLocks()
        self.fetches = 0
        """How many key-set requests were sent (for tests and monitoring)."""

    async def key(self, issuer: TrustedIssuer, kid: str | None) -> Key:
        """The key ``kid`` of ``issuer`` (the only key when ``kid`` is None and there is one)."""
        state = self._states.setdefault(issuer.issuer, _IssuerState())
        found = _lookup(state, kid)
        if found is not None and self._fresh(state):
            return found
        async with self._locks(issuer.issuer):
            found = _lookup(state, kid)
            if (found is None or not self._fresh(state)) and self._may_fetch(state):
                await self._refresh(issuer, state)
                found = _lookup(state, kid)
        if found is not None:
            return found
        if not state.keys:
            raise KeysUnavailable(f"the keys of {issuer.issuer} cannot be fetched")
        raise UnknownKey(f"{issuer.issuer} has no key {kid!r}")

    def _fresh(self, state: _IssuerState) -> bool:
        return state.fetched_at is not None and self._clock() - state.fetched_at < self._ttl

    def _may_fetch(self, state: _IssuerState) -> bool:
        last = state.attempted_at
        return last is None or self._clock() - last >= self._min_refetch

    async def _refresh(self, issuer: TrustedIssuer, state: _IssuerState) -> None:
        state.attempted_at = self._clock()
        try:
            if state.jwks_url is None:
                state.jwks_url = issuer.jwks_url or await self._discover(issuer)
            self.fetches += 1
            request = httpx.Request("GET", state.jwks_url)
            answer = await send(self._client, request, max_bytes=self._max_bytes)
            allow_rsa = bool(_RSA_ALGORITHMS.intersection(issuer.algorithms))
            state.keys = parse_jwks(json_document(answer, state.jwks_url), allow_rsa=allow_rsa)
            state.fetched_at = self._clock()
        except FetchError as error:
            state.jwks_url = None if issuer.jwks_url is None else state.jwks_url
            log.warning(
                "cannot fetch the keys of a trusted issuer",
                extra={"issuer": issuer.issuer, "reason": str(error)},
            )

    async def _discover(self, issuer: TrustedIssuer) -> str:
        metadata = await discover(self._client, issuer.issuer, max_bytes=self._max_bytes)
        return endpoint(metadata, "jwks_uri", issuer.issuer)


def _lookup(state: _IssuerState, kid: str | None) -> Key | None:
    if kid is not None:
        return state.keys.get(kid)
    if len(state.keys) == 1:
        return next(iter(state.keys.values()))
    return None

"""``DataspaceAuth``: the ``httpx.Auth`` every outbound DSP call uses.

For each request it takes a token for the peer from the :class:`~connector.identity.client.
TokenClient` (cached), sets ``Authorization: DPoP <token>`` and a fresh ``DPoP`` proof for this
method and URL (RFC 9449 §7.1). Two answers make it try once more: a ``use_dpop_nonce`` challenge
(then the proof carries the server's nonce) and an ``invalid_token`` challenge (then the cached
token is dropped and a new one requested). Works with ``httpx.Client`` and ``httpx.AsyncClient``.

    httpx.AsyncClient(auth=DataspaceAuth(tokens, audience=peer_participant_id), ...)
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Generator

import httpx

from connector.identity.client import AccessToken, TokenClient
from connector.identity.dpop import create_proof


def _challenge(response: httpx.Response) -> str | None:
    """``"nonce"`` or ``"token"`` when the answer asks for a retry, else None."""
    if response.status_code not in (400, 401):
        return None
    challenge = response.headers.get("www-authenticate", "").lower()
    if 'error="use_dpop_nonce"' in challenge and response.headers.get("dpop-nonce"):
        return "nonce"
    if response.status_code == 401 and 'error="invalid_token"' in challenge:
        return "token"
    return None


class DataspaceAuth(httpx.Auth):
    """Authenticates requests to the connector of participant ``audience``."""

    requires_request_body = True  # a retried request is sent again with its body

    def __init__(
        self, tokens: TokenClient, *, audience: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._tokens = tokens
        self._audience = audience
        self._clock = clock

    def _authorise(self, request: httpx.Request, token: AccessToken, nonce: str | None) -> None:
        request.headers["Authorization"] = f"{token.token_type} {token.value}"
        dpop_key = self._tokens.dpop_key
        if dpop_key is not None and token.token_type.lower() == "dpop":
            request.headers["DPoP"] = create_proof(
                dpop_key,
                method=request.method,
                url=str(request.url),
                now=self._clock(),
                access_token=token.value,
                nonce=nonce,
            )

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._tokens.token_sync(self._audience)
        self._authorise(request, token, None)
        response = yield request
        retry = _challenge(response)
        if retry == "nonce":
            self._authorise(request, token, response.headers["dpop-nonce"])
            yield request
        elif retry == "token":
            self._tokens.forget(self._audience)
            self._authorise(request, self._tokens.token_sync(self._audience), None)
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._tokens.token(self._audience)
        self._authorise(request, token, None)
        response = yield request
        retry = _challenge(response)
        if retry == "nonce":
            self._authorise(request, token, response.headers["dpop-nonce"])
            yield request
        elif retry == "token":
            self._tokens.forget(self._audience)
            self._authorise(request, await self._tokens.token(self._audience), None)
            yield request

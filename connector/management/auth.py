"""Administrator authentication of the management API: an ``X-Api-Key`` header (EDC tooling) or
an OAuth access token with a management scope.

* API keys are compared in constant time; a key holder may read and write.
* A token must come from an issuer trusted for ``management`` use, be addressed to the node's
  management audience (never its participant id), and carry ``management:read`` for reads
  (``GET``, and the ``POST …/request`` queries) or ``management:write`` for everything else
  (``management:write`` includes reading). It is checked like a protocol token (signature,
  lifetime, DPoP binding). A participant's protocol token fails here on its audience, and a
  management token fails DSP verification on its audience and scopes.

Missing or invalid credentials are 401; a valid token without the needed scope is 403.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from connector.errors import Forbidden, Unauthorized
from connector.identity.dependency import find_identity
from connector.node import get_node

API_KEY_HEADER = "X-Api-Key"
MANAGEMENT_READ = "management:read"
MANAGEMENT_WRITE = "management:write"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Administrator:
    """An authenticated administrator.

    ``method`` says how: an API key (``key_index`` says which configured key matched) or an
    OAuth token (``subject`` is its ``sub``, ``scopes`` its management scopes).
    """

    method: Literal["api-key", "oauth"]
    subject: str
    scopes: frozenset[str]
    key_index: int | None = None


_READING_POSTS = ("/request", "/validate", "/explain")


def required_scope(request: Request) -> str:
    """``management:read`` for reads, queries (``…/request``), policy ``…/validate`` and
    ``…/explain`` (they change nothing), ``management:write`` for everything else."""
    if request.method in _READ_METHODS:
        return MANAGEMENT_READ
    if request.method == "POST" and request.url.path.rstrip("/").endswith(_READING_POSTS):
        return MANAGEMENT_READ
    return MANAGEMENT_WRITE


def _api_key_administrator(request: Request, presented: str) -> Administrator:
    matched = None
    for index, key in enumerate(get_node(request).admin_api_keys):
        if hmac.compare_digest(presented.encode(), key.encode()):
            matched = index
    if matched is None:
        raise Unauthorized("invalid API key")
    return Administrator(
        method="api-key",
        subject=f"api-key:{matched}",
        scopes=frozenset({MANAGEMENT_READ, MANAGEMENT_WRITE}),
        key_index=matched,
    )


async def require_administrator(request: Request) -> Administrator:
    """The administrator making ``request``; 401 without valid credentials, 403 without the
    scope the request needs."""
    presented = request.headers.get(API_KEY_HEADER)
    if presented is not None:
        if not presented:
            raise Unauthorized(f"the {API_KEY_HEADER} header is empty")
        return _api_key_administrator(request, presented)
    identity = find_identity(request)
    if identity is None or "authorization" not in request.headers:
        raise Unauthorized(f"the {API_KEY_HEADER} header or an administrator token is required")
    token = await identity.administrator_token(request)
    needed = required_scope(request)
    granted = token.scopes & {MANAGEMENT_READ, MANAGEMENT_WRITE}
    if needed not in granted and MANAGEMENT_WRITE not in granted:
        raise Forbidden(
            f"this request needs the scope {needed}",
            log_detail=f"administrator {token.subject!r} has scopes {sorted(token.scopes)}",
        )
    return Administrator(method="oauth", subject=token.subject, scopes=frozenset(granted))


AdminPrincipal = Annotated[Administrator, Depends(require_administrator)]

"""Administrator authentication of the management API: an ``X-Api-Key`` header.

Keys are compared in constant time. A participant's protocol token is never accepted here (a later
issue adds OAuth administrator scopes beside the key).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from connector.errors import Unauthorized
from connector.node import get_node

API_KEY_HEADER = "X-Api-Key"


@dataclass(frozen=True)
class Administrator:
    """An authenticated administrator; ``key_index`` says which configured key matched."""

    key_index: int


def require_administrator(request: Request) -> Administrator:
    presented = request.headers.get(API_KEY_HEADER)
    if not presented:
        raise Unauthorized(f"the {API_KEY_HEADER} header is required")
    matched = None
    for index, key in enumerate(get_node(request).admin_api_keys):
        if hmac.compare_digest(presented.encode(), key.encode()):
            matched = index
    if matched is None:
        raise Unauthorized("invalid API key")
    return Administrator(key_index=matched)


AdminPrincipal = Annotated[Administrator, Depends(require_administrator)]

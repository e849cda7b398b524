"""Dependencies that read a management request body and expand it as EDC JSON-LD."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from catalog.jsonld import JsonObject
from connector.http.jsonbody import read_json
from connector.management.vocabulary import expand_optional_request, expand_request
from connector.node import get_node


async def expanded_body(request: Request) -> JsonObject:
    """The body as one expanded JSON-LD node (required)."""
    document = await read_json(request)
    return expand_request(get_node(request).jsonld, document)


async def optional_expanded_body(request: Request) -> JsonObject | None:
    """The body as one expanded JSON-LD node, or ``None`` for an empty body or one that
    describes no node (``{}``, only an ``@context``)."""
    document: Any = await read_json(request, allow_empty=True)
    if document is None:
        return None
    return expand_optional_request(get_node(request).jsonld, document)


ExpandedBody = Annotated[JsonObject, Depends(expanded_body)]
OptionalExpandedBody = Annotated[JsonObject | None, Depends(optional_expanded_body)]

"""Reading JSON request bodies safely: media type, syntax, nesting depth and node count.

The body size is already capped by :class:`connector.http.limits.BodySizeLimitMiddleware`; this
module refuses documents that are small but expensive (deeply nested, or with a huge number of
nodes) before any JSON-LD processing sees them.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from connector.errors import BadRequest, RequestTooComplex, UnsupportedMediaType

JSON_MEDIA_TYPES = ("application/json", "application/ld+json")


def check_complexity(document: Any, *, max_depth: int, max_nodes: int) -> None:
    """Raise :class:`RequestTooComplex` if ``document`` is nested too deep or is too large."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise RequestTooComplex(f"the JSON document has more than {max_nodes} values")
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise RequestTooComplex(
                    f"the JSON document is nested deeper than {max_depth} levels"
                )
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


def parse_json(raw: bytes, *, max_depth: int, max_nodes: int, allow_empty: bool = False) -> Any:
    """Parse ``raw`` as UTF-8 JSON within the limits; ``None`` for an allowed empty body."""
    if not raw.strip():
        if allow_empty:
            return None
        raise BadRequest("the request body is empty; a JSON document is required")
    try:
        document = json.loads(raw)
    except RecursionError:
        raise RequestTooComplex(
            f"the JSON document is nested deeper than {max_depth} levels"
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    check_complexity(document, max_depth=max_depth, max_nodes=max_nodes)
    return document


async def read_json(request: Request, *, allow_empty: bool = False) -> Any:
    """The request's JSON body, with the limits of the node's settings."""
    raw = await request.body()
    if raw.strip():
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type and media_type not in JSON_MEDIA_TYPES and not media_type.endswith("+json"):
            raise UnsupportedMediaType(
                f"unsupported content type {media_type!r}; send application/json"
            )
    limits = request.app.state.settings.limits
    return parse_json(
        raw,
        max_depth=limits.max_json_depth,
        max_nodes=limits.max_json_nodes,
        allow_empty=allow_empty,
    )

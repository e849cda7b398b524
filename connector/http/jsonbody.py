"""Reading JSON request bodies safely: media type, syntax, nesting depth and node count.

The body size is already capped by :class:`connector.http.limits.BodySizeLimitMiddleware`; this
module refuses documents that are small but expensive (deeply nested, or with a huge number of
nodes) before any JSON-LD processing sees them.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request

from connector.errors import BadRequest, RequestTooComplex, UnsupportedMediaType

JSON_MEDIA_TYPES = ("application/json", "application/ld+json")
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1


def check_complexity(
    document: Any, *, max_depth: int, max_nodes: int, check_text: bool = True
) -> None:
    """Raise if ``document`` is nested too deep, is too large, or holds a string that is not
    storable text: one with a NUL character or a lone UTF-16 surrogate (an escape such as
    ``"\\ud800"``, valid JSON but no Unicode text).

    Neither can be stored by PostgreSQL, encoded as UTF-8 into an answer, nor is meaningful in
    the node's documents, so both are refused here for every backend alike. ``check_text=False``
    skips the strings, for a document parsed from bytes that :func:`may_hold_unstorable_text`
    cleared.
    """
    stack: list[tuple[Any, int]] = [(document, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise RequestTooComplex(f"the JSON document has more than {max_nodes} values")
        if isinstance(value, str):
            if not check_text:
                continue
            if "\x00" in value:
                raise BadRequest("the JSON document contains a NUL character (\\u0000)")
            if not value.isascii() and not is_text(value):
                raise BadRequest(
                    "the JSON document contains a lone UTF-16 surrogate (such as \\ud800)"
                )
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise RequestTooComplex(
                    f"the JSON document is nested deeper than {max_depth} levels"
                )
            if isinstance(value, dict):
                stack.extend((key, depth + 1) for key in value)
                stack.extend((child, depth + 1) for child in value.values())
            else:
                stack.extend((child, depth + 1) for child in value)


def may_hold_unstorable_text(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` may hold a string that is no storable text. Not when it is
    ASCII (so UTF-8) with no NUL byte and no ``\\u`` escape: strict JSON refuses a raw control
    character in a string, so only an escape can bring a NUL or a surrogate. A cheap test that
    spares the walk over the parsed document for nearly every message."""
    return not raw.isascii() or b"\\u" in raw or b"\x00" in raw


def is_text(value: str) -> bool:
    """Whether ``value`` is Unicode text (encodable as UTF-8: no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` with every character that is not printable (a NUL, a control character, a lone
    surrogate) as ``?``: safe to store, log and show, whatever a peer put in it."""
    return "".join(c if c.isprintable() else "?" for c in text)


def holds_unstorable_text(document: Any) -> bool:
    """Whether a string (value or key) anywhere in ``document`` is no storable text: a NUL
    character or a lone UTF-16 surrogate (see :func:`check_complexity`)."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value or (not value.isascii() and not is_text(value)):
                return True
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _integer(text: str) -> int:
    value = int(text)
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        raise ValueError(f"integer {text[:20]}… is outside the signed 64-bit range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is too large")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes, *, max_depth: int, max_nodes: int, allow_empty: bool = False) -> Any:
    """Parse ``raw`` as UTF-8 JSON within the limits; ``None`` for an allowed empty body.

    Strict JSON: ``NaN``/``Infinity`` are refused, integers must fit in 64 bits and other numbers
    must be finite, so that whatever is accepted can be stored and served back by every backend.
    """
    if not raw.strip():
        if allow_empty:
            return None
        raise BadRequest("the request body is empty; a JSON document is required")
    try:
        document = json.loads(
            raw, parse_int=_integer, parse_float=_finite_float, parse_constant=_no_constant
        )
    except RecursionError:
        raise RequestTooComplex(
            f"the JSON document is nested deeper than {max_depth} levels"
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    check_complexity(
        document,
        max_depth=max_depth,
        max_nodes=max_nodes,
        check_text=may_hold_unstorable_text(raw),
    )
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

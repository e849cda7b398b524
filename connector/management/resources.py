"""What every EDC-style management resource shares: identifiers in bodies and URL paths, the one
nested node of a term, epoch-millisecond (and -second) timestamps and the ``IdResponse``.

Identifiers travel in URL paths, so they are limited to what a path segment carries unescaped:
1 to 256 characters, no whitespace, control characters, ``/``, ``\\``, ``?``, ``#`` or ``%``, and
never a blank-node id (``_:…``). An id from a URL path that no resource can have is simply not
found.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from catalog.jsonld import JsonLdProcessor, JsonObject
from connector.errors import BadRequest, FieldError, NotFound
from connector.management.vocabulary import EDC, EDC_CONTEXT, values

MAX_ID_LENGTH = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VALID_ID = re.compile(r"^(?!_:)[^\s\x00-\x1f\x7f/\\?#%]{1,256}$")
_ID_RULE = (
    f"1 to {MAX_ID_LENGTH} characters without spaces, control characters, '/', '\\', '?', '#' "
    "or '%', and not start with '_:'"
)


def is_valid_id(identifier: object) -> bool:
    """Whether ``identifier`` is a string a resource id may be."""
    return isinstance(identifier, str) and _VALID_ID.match(identifier) is not None


def body_id(node: JsonObject, kind: str, *, generate: bool) -> str:
    """The ``@id`` of an expanded request node; a new UUID when absent and ``generate``."""
    raw = node.get("@id")
    if raw is None:
        if generate:
            return str(uuid.uuid4())
        raise BadRequest(f"the {kind} '@id' is required", errors=[FieldError("@id", "required")])
    if not is_valid_id(raw):
        raise BadRequest(
            f"the {kind} '@id' must be {_ID_RULE}",
            errors=[FieldError("@id", "invalid identifier")],
        )
    assert isinstance(raw, str)
    return raw


def path_id(identifier: str, kind: str) -> str:
    """An id from the URL path; one that no ``kind`` can have is not found."""
    if not is_valid_id(identifier):
        raise NotFound(f"{kind} {identifier[:MAX_ID_LENGTH]!r} does not exist")
    return identifier


def matching_id(node: JsonObject, identifier: str, kind: str) -> str:
    """The id of a ``PUT …/{id}``: the body's ``@id``, when present, must be the path's."""
    if node.get("@id") is not None and node.get("@id") != identifier:
        raise BadRequest(
            f"the {kind} '@id' in the body is not the one in the path",
            errors=[FieldError("@id", f"must be {identifier!r} or absent")],
        )
    return identifier


def one_node(node: JsonObject, term: str) -> JsonObject | None:
    """The one JSON object the EDC term ``term`` holds (``None`` when absent); a literal, a list
    of several values or a bare reference is a 400."""
    found = values(node, EDC + term)
    if not found:
        return None
    if len(found) != 1 or not isinstance(found[0], dict) or "@value" in found[0]:
        raise BadRequest(f"'{term}' must be one JSON object", errors=[FieldError(term, "object")])
    return dict(found[0])


def epoch_millis(moment: datetime) -> int:
    """The whole millisecond since the epoch ``moment`` falls in (EDC's ``createdAt``; queries
    compare it so: :mod:`connector.store.shown_time`)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def epoch_seconds(moment: datetime) -> int:
    """The whole second since the epoch ``moment`` falls in (EDC's ``contractSigningDate``;
    queries compare it so: :mod:`connector.store.shown_time`)."""
    return (moment - _EPOCH) // timedelta(seconds=1)


def id_response(processor: JsonLdProcessor, identifier: str, created_at: datetime) -> JsonObject:
    """EDC's answer to a creation: the new resource's id and creation time.

    Compacted with the EDC context; an id with no colon and no leading ``@`` (relative), or a
    ``urn:uuid:`` one (every pid and generated id), is left as it is by compaction (none of the
    context's prefixes could shorten it), so that form is written directly, without pyld.
    """
    if identifier.startswith("urn:uuid:") or (
        identifier and ":" not in identifier and not identifier.startswith("@")
    ):
        return {
            "@context": dict(EDC_CONTEXT),
            "@id": identifier,
            "@type": "IdResponse",
            "createdAt": epoch_millis(created_at),
        }
    expanded = {
        "@id": identifier,
        "@type": [EDC + "IdResponse"],
        EDC + "createdAt": [{"@value": epoch_millis(created_at)}],
    }
    return processor.compact(expanded, EDC_CONTEXT)

"""Reading DSP messages: JSON within the input caps, JSON-LD expanded offline, one node of the
expected type. Fields are then read from the expanded node by IRI, so any valid JSON-LD form of a
message (compacted with the 2025-1 context, prefixed, expanded) means the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from catalog.contexts import DSPACE
from catalog.jsonld import JsonLdProcessingError, JsonObject
from connector.errors import BadRequest
from connector.http.jsonbody import read_json
from connector.node import get_node


@dataclass(frozen=True)
class Message:
    """An expanded DSP message node."""

    type: str
    node: JsonObject
    document: JsonObject
    """The message as received (compact JSON), for the audit history."""

    def values(self, iri: str) -> list[Any]:
        found = self.node.get(iri, [])
        return list(found) if isinstance(found, list) else [found]

    def literal(self, term: str, *, required: bool = False) -> Any:
        """The single literal value of ``dspace:<term>`` (or a full IRI)."""
        iri = term if ":" in term else DSPACE + term
        found = self.values(iri)
        if not found:
            if required:
                raise BadRequest(f"{self.type}: '{term}' is required")
            return None
        if len(found) > 1:
            raise BadRequest(f"{self.type}: '{term}' must have one value")
        value = found[0]
        if isinstance(value, dict) and "@value" in value:
            return value["@value"]
        if isinstance(value, dict) and "@id" in value:
            return value["@id"]
        raise BadRequest(f"{self.type}: '{term}' must be a value")


async def read_message(request: Request, expected_type: str) -> Message:
    """The request body as a DSP message of ``expected_type`` (e.g. ``CatalogRequestMessage``)."""
    document = await read_json(request)
    if not isinstance(document, dict):
        raise BadRequest("a DSP message must be a JSON object")
    if "@context" not in document:
        raise BadRequest("a DSP message needs an @context (the DSP 2025-1 context)")
    try:
        expanded = get_node(request).jsonld.expand(document)
    except JsonLdProcessingError as exc:
        raise BadRequest(str(exc)) from None
    if len(expanded) != 1:
        raise BadRequest("a DSP message must be exactly one JSON-LD node")
    node = expanded[0]
    types = node.get("@type", [])
    if DSPACE + expected_type not in (types if isinstance(types, list) else [types]):
        raise BadRequest(f"expected a {expected_type}")
    return Message(type=expected_type, node=node, document=document)

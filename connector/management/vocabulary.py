"""JSON-LD vocabulary of the EDC Management API, and conversions between its forms.

Requests may be plain JSON (terms resolve against the EDC namespace, as with EDC's default
``@vocab``) or JSON-LD with their own inline context. Responses are compacted with
:data:`EDC_CONTEXT`, which existing EDC tooling parses.

Free-form properties (an asset's ``properties``) are stored keyed by full IRI, each value in a
*simple* form that queries can reach: a plain literal becomes the bare JSON scalar, a list of plain
literals a list of scalars, anything richer (language-tagged strings, typed literals, nested nodes)
keeps its expanded JSON-LD form. :func:`simplify` and :func:`unsimplify` are exact inverses on
expanded values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.jsonld import JsonLdProcessor, JsonObject
from connector.errors import BadRequest

EDC = "https://w3id.org/edc/v0.0.1/ns/"
ODRL = "http://www.w3.org/ns/odrl/2/"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
DSPACE = "https://w3id.org/dspace/2025/1/"

PREFIXES = {"edc": EDC, "odrl": ODRL, "dcat": DCAT, "dct": DCT, "dspace": DSPACE}

# Applied before a request's own context (plain JSON terms resolve in the EDC namespace), and
# the context every management response is compacted with.
EDC_CONTEXT: JsonObject = {"@vocab": EDC, **PREFIXES}


def expand_optional_request(processor: JsonLdProcessor, document: Any) -> JsonObject | None:
    """Expand a management request into at most one top-level node: ``None`` when it describes
    none (``{}``, or only an ``@context``), as for an empty body."""
    if not isinstance(document, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        expanded = processor.expand(document, expand_context=EDC_CONTEXT)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if len(expanded) > 1:
        raise BadRequest("the request body must describe exactly one JSON-LD node")
    return expanded[0] if expanded else None


def expand_request(processor: JsonLdProcessor, document: Any) -> JsonObject:
    """Expand a management request into exactly one top-level node."""
    expanded = expand_optional_request(processor, document)
    if expanded is None:
        raise BadRequest("the request body must describe exactly one JSON-LD node")
    return expanded


def resolve_term(term: str) -> str:
    """A term, compact IRI (``dct:title``) or IRI as a full IRI (bare terms: EDC namespace)."""
    prefix, sep, local = term.partition(":")
    if not sep:
        return EDC + term
    if prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return term


def node_types(node: Mapping[str, Any]) -> list[str]:
    types = node.get("@type", [])
    return [types] if isinstance(types, str) else list(types)


def values(node: Mapping[str, Any], iri: str) -> list[Any]:
    """The expanded values of ``iri`` in ``node`` (empty if absent)."""
    found = node.get(iri, [])
    return list(found) if isinstance(found, list) else [found]


def single_literal(node: Mapping[str, Any], iri: str, name: str) -> Any:
    """The one plain literal value of ``iri`` (``None`` if absent); several values is an error."""
    found = values(node, iri)
    if not found:
        return None
    if len(found) > 1:
        raise BadRequest(f"{name!r} must have a single value")
    value = found[0]
    if not isinstance(value, dict) or "@value" not in value:
        raise BadRequest(f"{name!r} must be a literal value")
    return value["@value"]


def _simplify_one(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"@value"}:
        return value["@value"]
    return value


def simplify(expanded_values: list[Any]) -> Any:
    """Expanded values of one property → the simple stored form."""
    simple = [_simplify_one(v) for v in expanded_values]
    return simple[0] if len(simple) == 1 else simple


def unsimplify(stored: Any) -> list[Any]:
    """The simple stored form → expanded values."""
    items = stored if isinstance(stored, list) else [stored]
    return [item if isinstance(item, dict) else {"@value": item} for item in items]


def simplify_node(node: Mapping[str, Any]) -> dict[str, Any]:
    """An expanded node's properties (not ``@id``/``@type``) as IRI → simple value."""
    return {iri: simplify(vals) for iri, vals in node.items() if not iri.startswith("@")}


def unsimplify_node(properties: Mapping[str, Any]) -> JsonObject:
    return {iri: unsimplify(value) for iri, value in properties.items()}

"""Reading expanded JSON-LD: size bounds, a node index, and lenient value accessors.

A peer's catalogue can describe a node inline or refer to it by ``@id`` from elsewhere in the
document (flattened form); :class:`NodeIndex` merges every description of an identifier so that
:meth:`NodeIndex.resolve` gives the whole node wherever a reference appears. The accessors skip
values of the wrong kind instead of failing: a peer's odd property loses that property only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from catalog.checks import is_absolute_iri

JsonObject = dict[str, Any]

MAX_EMBEDDING = 64
XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


class DocumentTooLarge(ValueError):
    """The document exceeds the size bounds of :class:`Bounds`."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """Limits on a document read from a peer: JSON values in all, nesting depth, string size."""

    max_values: int = 500_000
    max_depth: int = 64
    max_string: int = 100_000


def check_bounds(document: Any, bounds: Bounds) -> None:
    """Raise :class:`DocumentTooLarge` if ``document`` exceeds ``bounds`` (iterative walk)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > bounds.max_values:
            raise DocumentTooLarge(f"the document has more than {bounds.max_values} JSON values")
        if depth > bounds.max_depth:
            raise DocumentTooLarge(f"the document is nested deeper than {bounds.max_depth}")
        if isinstance(value, dict):
            for key, item in value.items():
                if len(key) > bounds.max_string:
                    raise DocumentTooLarge("the document has an over-long key")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and len(value) > bounds.max_string:
            raise DocumentTooLarge(f"the document has a string longer than {bounds.max_string}")


def is_node(value: Any) -> bool:
    """Whether ``value`` is a node object (or a node reference) of expanded JSON-LD."""
    return isinstance(value, dict) and "@value" not in value and "@list" not in value


def types(node: JsonObject) -> list[str]:
    found = node.get("@type", [])
    return [t for t in (found if isinstance(found, list) else [found]) if isinstance(t, str)]


class NodeIndex:
    """Every node with an identifier in an expanded document, its descriptions merged."""

    def __init__(self, expanded: list[Any]) -> None:
        self._nodes: dict[str, JsonObject] = {}
        for node in self._walk(expanded):
            node_id = node.get("@id")
            if isinstance(node_id, str) and len(node) > 1:
                merged = self._nodes.setdefault(node_id, {"@id": node_id})
                for key, values in node.items():
                    if key != "@id":
                        known = merged.setdefault(key, [])
                        for value in values if isinstance(values, list) else [values]:
                            if value not in known:
                                known.append(value)

    @staticmethod
    def _walk(value: Any) -> Iterator[JsonObject]:
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                if is_node(item):
                    yield item
                for key, inner in item.items():
                    if key not in ("@id", "@type", "@value", "@language"):
                        stack.append(inner)

    def resolve(self, value: Any) -> Any:
        """The merged description of a node reference (``{"@id": …}`` alone); any other value
        (an inline node included: DSP's own example gives a dataset and its offer one id)
        unchanged."""
        if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("@id"), str):
            return self._nodes.get(value["@id"], value)
        return value

    def embed_blank_nodes(self, value: Any, depth: int = 0) -> Any:
        """``value`` with every blank node reference replaced by the node (as flattening
        separated them); IRI references stay references. Cycles are cut at depth 64."""
        if depth > MAX_EMBEDDING:
            return value
        if isinstance(value, list):
            return [self.embed_blank_nodes(item, depth + 1) for item in value]
        if not isinstance(value, dict):
            return value
        reference = value.get("@id")
        blank = isinstance(reference, str) and reference.startswith("_:")
        if isinstance(reference, str) and blank and len(value) == 1:
            value = self._nodes.get(reference, value)
        return {
            key: item if key in ("@type", "@value") else self.embed_blank_nodes(item, depth + 1)
            for key, item in value.items()
            if not (blank and key == "@id")
        }

    def nodes_of_type(self, type_iri: str) -> list[JsonObject]:
        return [node for node in self._nodes.values() if type_iri in types(node)]

    def values(self, node: JsonObject, iri: str) -> list[Any]:
        found = node.get(iri, [])
        return [self.resolve(value) for value in (found if isinstance(found, list) else [found])]

    def nodes(self, node: JsonObject, iri: str) -> list[JsonObject]:
        return [value for value in self.values(node, iri) if is_node(value)]


def literal(value: Any) -> Any:
    """The ``@value`` of a value object (None for anything else)."""
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return None


def node_id(value: Any) -> str | None:
    """The identifier of a node (None for blank nodes and values)."""
    if is_node(value):
        found = value.get("@id")
        if isinstance(found, str) and found and not found.startswith("_:"):
            return found
    return None


def absolute_iri(value: Any) -> str | None:
    """The absolute IRI a value names (a node's ``@id`` or a string literal holding one)."""
    candidate = node_id(value)
    if candidate is None:
        text = literal(value)
        candidate = text if isinstance(text, str) else None
    return candidate if candidate is not None and is_absolute_iri(candidate) else None


def moment(value: Any) -> date | None:
    """A date or a timezone-aware datetime from an ``xsd:date`` / ``xsd:dateTime`` literal."""
    text = literal(value)
    if not isinstance(text, str):
        return None
    try:
        if "T" in text:
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo is not None else None
        return date.fromisoformat(text)
    except ValueError:
        return None

"""Reading an asset's stored properties (full IRI → simple value, see
:mod:`connector.management.vocabulary`) as literals, language strings and IRIs, and the
normalised text the catalogue searches in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from catalog.search import normalise

EDC = "https://w3id.org/edc/v0.0.1/ns/"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
ETDS = "https://w3id.org/etds/ns#"

SEARCHED = (DCT + "title", DCT + "description", DCAT + "keyword", EDC + "name", EDC + "description")


def _items(stored: Any) -> list[Any]:
    if stored is None:
        return []
    return list(stored) if isinstance(stored, list) else [stored]


def literals(properties: Mapping[str, Any], iri: str) -> list[tuple[str, str | None]]:
    """``(text, language or None)`` of every literal value of ``iri``."""
    found: list[tuple[str, str | None]] = []
    for item in _items(properties.get(iri)):
        if isinstance(item, dict) and "@value" in item:
            language = item.get("@language")
            found.append((str(item["@value"]), str(language) if language else None))
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            found.append((str(item), None))
    return found


def iris(properties: Mapping[str, Any], iri: str) -> list[str]:
    """The identifiers (``{"@id": …}``) among the values of ``iri``."""
    return [
        str(item["@id"])
        for item in _items(properties.get(iri))
        if isinstance(item, dict) and isinstance(item.get("@id"), str)
    ]


def first_literal(properties: Mapping[str, Any], iri: str) -> str | None:
    values = literals(properties, iri)
    return values[0][0] if values else None


def search_text(properties: Mapping[str, Any], extra: Iterable[str] = ()) -> str:
    """The normalised text a keyword search looks in (titles, descriptions, keywords, name)."""
    parts = [text for iri in SEARCHED for text, _ in literals(properties, iri)]
    parts.extend(extra)
    return normalise(" ".join(parts))

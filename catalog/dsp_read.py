"""Reading a peer's catalogue (discovery): any JSON-LD form → :class:`catalog.model.Catalog`.

The document is size-checked (:class:`catalog.expanded.Bounds`), expanded offline (a remote
``@context`` other than the bundled DSP ones is refused), and read by IRI, so the compacted DSP
form, prefixed forms, the expanded and the flattened forms all read the same. Optional properties
that are missing or malformed are left out; an item that cannot be a model object (a dataset
without ``@id``, a data service without endpoint) is skipped and reported to ``on_skip``. A peer's
dataset without ``dct:title`` gets its identifier as title, so it stays discoverable. Offers are
compacted back to the DSP 2025-1 form, as the catalogue embeds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalog.contexts import DSPACE_CONTEXT_URL, dsp_processor
from catalog.dsp_nodes import MAX_NESTING, NodeReader
from catalog.expanded import (
    Bounds,
    DocumentTooLarge,
    JsonObject,
    NodeIndex,
    check_bounds,
    node_id,
    types,
)
from catalog.jsonld import JsonLdProcessingError, JsonLdProcessor
from catalog.model import Catalog, Offer
from catalog.vocabulary import DCAT, ODRL


class CatalogParseError(ValueError):
    """The document is not a catalogue this node can read (or is too large, or not JSON-LD)."""


def _root(expanded: list[Any], index: NodeIndex) -> JsonObject:
    resolved: list[JsonObject] = [index.resolve(node) for node in expanded]
    catalogs = [node for node in resolved if DCAT + "Catalog" in types(node)]
    nested = {
        node_id(child)
        for node in index.nodes_of_type(DCAT + "Catalog")
        for child in index.values(node, DCAT + "catalog")
    }
    roots = [node for node in catalogs if node_id(node) not in nested]
    if len(roots) != 1:
        found = "no" if not roots else "more than one"
        raise CatalogParseError(f"the document holds {found} top-level dcat:Catalog")
    return roots[0]


def _dataset_nodes(index: NodeIndex, root: JsonObject) -> list[JsonObject]:
    """The dataset nodes of the catalogue and its nested catalogues."""
    found: list[JsonObject] = []
    catalogs, seen = [(root, 0)], set()
    while catalogs:
        catalog, depth = catalogs.pop()
        if id(catalog) in seen or depth > MAX_NESTING:
            continue
        seen.add(id(catalog))
        found.extend(index.nodes(catalog, DCAT + "dataset"))
        catalogs.extend((child, depth + 1) for child in index.nodes(catalog, DCAT + "catalog"))
    return found


def _compact_offers(
    processor: JsonLdProcessor, index: NodeIndex, root: JsonObject
) -> dict[str, list[Offer]]:
    """Every dataset's offers in DSP 2025-1 compact form, by dataset id (one pyld call)."""
    wrappers: dict[str, JsonObject] = {}
    for node in _dataset_nodes(index, root):
        policies, dataset_id = index.nodes(node, ODRL + "hasPolicy"), node_id(node)
        if policies and dataset_id is not None and dataset_id not in wrappers:
            wrappers[dataset_id] = {
                "@id": dataset_id,
                "@type": [DCAT + "Dataset"],
                ODRL + "hasPolicy": index.embed_blank_nodes(policies),
            }
    if not wrappers:
        return {}
    compacted = processor.compact(list(wrappers.values()), [DSPACE_CONTEXT_URL])
    graph: list[JsonObject] = compacted.get("@graph", [compacted])
    found: dict[str, list[Offer]] = {}
    for node in graph:
        offers = node.get("hasPolicy", [])
        found[str(node["@id"])] = [offer for offer in offers if isinstance(offer, dict)]
    return found


def catalog_from_dsp(
    document: Any,
    *,
    processor: JsonLdProcessor | None = None,
    bounds: Bounds | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> Catalog:
    """The catalogue a peer's DSP ``Catalog`` document (any JSON-LD form) describes.

    Raises :class:`CatalogParseError` for a document over ``bounds``, invalid JSON-LD, a remote
    context the processor does not bundle, or no single top-level ``dcat:Catalog``.
    """
    try:
        check_bounds(document, bounds or Bounds())
    except DocumentTooLarge as exc:
        raise CatalogParseError(str(exc)) from None
    processor = processor or dsp_processor()
    try:
        expanded = processor.expand(document)
        index = NodeIndex(expanded)
        root = _root(expanded, index)
        offers = _compact_offers(processor, index, root)
    except JsonLdProcessingError as exc:
        raise CatalogParseError(str(exc)) from exc
    reasons: list[str] = []

    def skipped(reason: str) -> None:
        reasons.append(reason)
        if on_skip is not None:
            on_skip(reason)

    catalog = NodeReader(index, skipped).catalog(root, offers, 0)
    if catalog is None:
        raise CatalogParseError(f"the catalogue cannot be read: {reasons[-1]}")
    return catalog

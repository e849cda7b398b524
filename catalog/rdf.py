"""The RDF form of the catalogue (DCAT-AP 3), for EU portals that harvest it.

:func:`to_graph` writes every DCAT-AP statement of the model, plus what a harvester and the
official DCAT-AP shapes expect around it:

* each vocabulary IRI typed with its DCAT-AP range class and, for the EU vocabularies, described
  as a ``skos:Concept`` with labels in its ``skos:ConceptScheme`` (:mod:`catalog.vocabulary`);
* ``dcat:accessURL`` of a distribution served by a data service: the service's endpoint URL;
* ``dcat:servesDataset`` on data services, ``dcat:themeTaxonomy`` on the catalogue;
* the DSP transfer format as ``etds:transferFormat`` (a literal: in DSP it is a bare term that has
  no IRI), while ``dct:format`` holds the EU file type;
* the ODRL offers as ODRL triples (expanded offline with the DSP context).

:func:`serialize` writes Turtle, N-Triples, JSON-LD or RDF/XML. Nothing here reads RDF, and rdflib
is never asked to fetch anything.
"""

from __future__ import annotations

from rdflib import RDF, Graph

from catalog.contexts import DSPACE_CONTEXT_URL, dsp_processor
from catalog.jsonld import JsonLdProcessor
from catalog.model import Catalog, Dataset
from catalog.rdf_builder import GraphBuilder
from catalog.rdf_terms import RdfFormError, Terms
from catalog.vocabulary import (
    CSVW,
    DCAT,
    DCATAP,
    DCT,
    DSPACE,
    ETDS,
    FOAF,
    ODRL,
    SKOS,
    SPDX,
    VCARD,
    XSD,
)

__all__ = ["MEDIA_TYPES", "RdfFormError", "UnsupportedMediaType", "serialize", "to_graph"]

MEDIA_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}
PREFIXES = {
    "rdf": str(RDF),
    "dcat": DCAT,
    "dct": DCT,
    "dcatap": DCATAP,
    "foaf": FOAF,
    "vcard": VCARD,
    "spdx": SPDX,
    "csvw": CSVW,
    "skos": SKOS,
    "odrl": ODRL,
    "xsd": XSD,
    "dspace": DSPACE,
    "etds": ETDS,
}


class UnsupportedMediaType(ValueError):
    """The media type is not one :func:`serialize` writes."""


def _datasets(catalog: Catalog) -> list[Dataset]:
    found = list(catalog.datasets)
    for nested in catalog.catalogs:
        found.extend(_datasets(nested))
    return found


def _add_offers(terms: Terms, catalog: Catalog, processor: JsonLdProcessor) -> None:
    """The offers of every dataset as ODRL triples (one offline expansion for the catalogue)."""
    wrappers, subjects = [], {}
    for position, dataset in enumerate(_datasets(catalog)):
        if dataset.offers:
            key = f"urn:etds:offers:{position}"
            subjects[key] = terms.node(dataset.id)
            wrappers.append({"@id": key, "@type": "Dataset", "hasPolicy": list(dataset.offers)})
    if not wrappers:
        return
    expanded = processor.expand({"@context": [DSPACE_CONTEXT_URL], "@graph": wrappers})
    for wrapper in expanded:
        subject = subjects[wrapper["@id"]]
        for offer in wrapper.get(ODRL + "hasPolicy", []):
            terms.add(subject, ODRL + "hasPolicy", terms.expanded(offer))


def to_graph(
    catalog: Catalog, *, base: str | None = None, processor: JsonLdProcessor | None = None
) -> Graph:
    """All DCAT-AP triples of ``catalog`` (see the module docstring); ``base`` resolves plain
    identifiers (required when there are some). Raises :class:`RdfFormError`."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    terms = Terms(graph, base)
    GraphBuilder(terms).catalog(catalog)
    _add_offers(terms, catalog, processor or dsp_processor())
    return graph


def serialize(
    catalog: Catalog | Graph,
    media_type: str,
    *,
    base: str | None = None,
    processor: JsonLdProcessor | None = None,
) -> bytes:
    """``catalog`` (or an already built graph) as Turtle, N-Triples, JSON-LD or RDF/XML (UTF-8).

    ``media_type`` may carry parameters (``text/turtle; charset=utf-8``).
    """
    essence = media_type.split(";", 1)[0].strip().lower()
    rdflib_format = MEDIA_TYPES.get(essence)
    if rdflib_format is None:
        raise UnsupportedMediaType(
            f"cannot write {media_type!r}; supported: {', '.join(MEDIA_TYPES)}"
        )
    graph = (
        catalog if isinstance(catalog, Graph) else to_graph(catalog, base=base, processor=processor)
    )
    if rdflib_format == "json-ld":
        output = graph.serialize(format="json-ld", context=dict(PREFIXES), auto_compact=True)
    else:
        output = graph.serialize(format=rdflib_format)
    return output.encode("utf-8")

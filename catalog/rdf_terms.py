"""RDF building blocks for :mod:`catalog.rdf`: identifiers against a base, literals, concept
descriptions, and expanded JSON-LD (the ODRL offers) turned into triples.

Plain identifiers (``booking-barometer``) are relative IRIs; in RDF they are appended to a base
IRI (``https://node.example/protocol/2025-1/catalog/datasets/``), as a JSON-LD processor resolves
them against the document's address. Without a base, a relative identifier is an error.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from catalog import checks
from catalog.values import LangString, iso_moment
from catalog.vocabulary import DCT, SKOS, XSD, concept

SKOS_CONCEPT = URIRef(SKOS + "Concept")


class RdfFormError(ValueError):
    """The catalogue cannot be written as RDF as asked (e.g. a relative id and no base)."""


class Terms:
    """Makes RDF terms and adds descriptions to ``graph``; ``base`` resolves relative ids."""

    def __init__(self, graph: Graph, base: str | None) -> None:
        if base is not None and (not checks.is_absolute_iri(base) or base[-1] not in "/#"):
            raise RdfFormError(f"the base {base!r} must be an absolute IRI ending with / or #")
        self.graph = graph
        self.base = base
        self._blank: dict[str, BNode] = {}
        self._described: set[tuple[str, str]] = set()

    def node(self, identifier: str) -> URIRef:
        """The IRI of an identifier (relative ones resolved against the base)."""
        if checks.is_absolute_iri(identifier):
            return URIRef(identifier)
        if self.base is None:
            raise RdfFormError(f"{identifier!r} is a relative identifier: give a base IRI")
        return URIRef(self.base + identifier)

    def subject(self, identifier: str | None) -> URIRef | BNode:
        return BNode() if identifier is None else self.node(identifier)

    def add(self, subject: Node, predicate: str, value: Node | None) -> None:
        if value is not None:
            self.graph.add((subject, URIRef(predicate), value))

    def texts(self, subject: Node, predicate: str, values: tuple[LangString, ...]) -> None:
        for value in values:
            self.add(subject, predicate, Literal(value.value, lang=value.language))

    @staticmethod
    def moment(value: date) -> Literal:
        text, kind = iso_moment(value)
        return Literal(text, datatype=URIRef(XSD + kind))

    def typed(self, iri: str, range_class: str) -> URIRef:
        """``iri`` typed with ``range_class``; a concept of a known vocabulary also gets its
        labels and scheme (the official DCAT-AP shapes check both)."""
        node = URIRef(iri)
        if (iri, range_class) in self._described:
            return node
        self._described.add((iri, range_class))
        self.graph.add((node, RDF.type, URIRef(range_class)))
        known = concept(iri)
        if known is not None:
            for class_iri in known.scheme.classes:
                self.graph.add((node, RDF.type, URIRef(class_iri)))
            for text, language in known.labels:
                self.graph.add((node, URIRef(SKOS + "prefLabel"), Literal(text, lang=language)))
            scheme = URIRef(known.scheme.iri)
            self.graph.add((node, URIRef(SKOS + "inScheme"), scheme))
            self.graph.add((scheme, RDF.type, URIRef(SKOS + "ConceptScheme")))
            self.graph.add((scheme, URIRef(DCT + "title"), Literal(known.scheme.title, lang="en")))
        elif range_class == SKOS + "Concept":
            label = iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
            self.graph.add((node, URIRef(SKOS + "prefLabel"), Literal(label or iri)))
        return node

    def link(self, subject: Node, predicate: str, iri: str | None, range_class: str) -> None:
        """``subject predicate iri``, the object typed (and described) as ``range_class``."""
        if iri is not None:
            self.add(subject, predicate, self.typed(iri, range_class))

    # -- expanded JSON-LD ---------------------------------------------------------------------

    def expanded(self, value: Any) -> Node | None:
        """The RDF term of an expanded JSON-LD value, adding the triples of nested nodes.

        As JSON-LD's RDF conversion does: relative identifiers resolve against the base, and
        without a base they (with their triples) are dropped, like relative predicates and types.
        """
        if not isinstance(value, dict):
            return None
        if "@value" in value:
            return self._literal(value)
        if "@list" in value:
            return self._list(value["@list"])
        subject = self._subject(value.get("@id"))
        if subject is None:
            return None
        for type_iri in value.get("@type", []):
            if checks.is_absolute_iri(type_iri):
                self.graph.add((subject, RDF.type, URIRef(type_iri)))
        for predicate, objects in value.items():
            if predicate.startswith("@") or not checks.is_absolute_iri(predicate):
                continue
            for item in objects:
                self.add(subject, predicate, self.expanded(item))
        return subject

    def _list(self, items: list[Any]) -> Node:
        present = [term for term in map(self.expanded, items) if term is not None]
        if not present:
            return RDF.nil
        head = BNode()
        Collection(self.graph, head, present)
        return head

    def _subject(self, identifier: Any) -> Node | None:
        """The node of an ``@id`` (a blank node when absent; None when relative without base)."""
        if not isinstance(identifier, str):
            return BNode()
        if identifier.startswith("_:"):
            return self._blank.setdefault(identifier, BNode())
        if self.base is None and not checks.is_absolute_iri(identifier):
            return None
        return self.node(identifier)

    @staticmethod
    def _literal(value: dict[str, Any]) -> Literal:
        raw, datatype = value["@value"], value.get("@type")
        if datatype == "@json":
            return Literal(json.dumps(raw, sort_keys=True), datatype=RDF.JSON)
        if isinstance(raw, str):
            typed = URIRef(datatype) if isinstance(datatype, str) else None
            return Literal(raw, lang=value.get("@language"), datatype=typed)
        return Literal(raw)

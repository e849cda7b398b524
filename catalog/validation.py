"""SHACL validation of what the node publishes, with the project's own shapes (pyshacl).

The shapes are package data (``catalog/shapes/*.ttl``): DCAT-AP 3.0.1 mandatory properties are
violations, recommended ones warnings, and vocabulary values must be EU vocabulary IRIs (NUTS or
EU country IRIs for spatial coverage). Each property shape has an IRI in
``https://w3id.org/etds/shapes#`` (``Dataset-title``…), which a :class:`Violation` names.

pyshacl runs without inference and without ``owl:imports`` (nothing is ever fetched). Parsing the
shapes takes a few milliseconds: keep a :class:`ShapesValidator` to validate many graphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pyshacl
from rdflib import Graph, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from catalog.jsonld import JsonLdProcessor
from catalog.model import Catalog
from catalog.rdf import to_graph

SHAPES = "https://w3id.org/etds/shapes#"


@dataclass(frozen=True, slots=True)
class Violation:
    """One SHACL result: its severity (``Violation``, ``Warning``, ``Info``), the shape that
    reported it (``Dataset-title`` for the project's shapes, else the shape's IRI or ``None``
    for an anonymous one), the focus node, the path, the offending value and the message."""

    severity: str
    shape: str | None
    focus: str
    path: str | None
    value: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Report:
    """``conforms`` when there is no result of severity ``Violation``."""

    conforms: bool
    violations: tuple[Violation, ...]
    warnings: tuple[Violation, ...]

    def shapes(self) -> set[str | None]:
        """The shapes that reported a violation."""
        return {violation.shape for violation in self.violations}


def project_shapes() -> Graph:
    """The project's shapes (every ``.ttl`` file of ``catalog/shapes``) as one graph."""
    graph = Graph()
    folder = resources.files("catalog").joinpath("shapes")
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".ttl"):
            graph.parse(data=entry.read_text(encoding="utf-8"), format="turtle")
    return graph


def _text(node: Node | None) -> str | None:
    return None if node is None else str(node)


def _shape_name(node: Node | None) -> str | None:
    if not isinstance(node, URIRef):
        return None
    text = str(node)
    return text.removeprefix(SHAPES) if text.startswith(SHAPES) else text


def _results(report: Graph) -> list[Violation]:
    found = []
    for result in report.objects(None, SH.result):
        severity = str(report.value(result, SH.resultSeverity) or SH.Violation)
        found.append(
            Violation(
                severity=severity.rsplit("#", 1)[-1],
                shape=_shape_name(report.value(result, SH.sourceShape)),
                focus=str(report.value(result, SH.focusNode)),
                path=_text(report.value(result, SH.resultPath)),
                value=_text(report.value(result, SH.value)),
                message=str(report.value(result, SH.resultMessage) or ""),
            )
        )
    found.sort(key=lambda v: (v.severity, v.shape or "", v.focus, v.path or "", v.value or ""))
    return found


class ShapesValidator:
    """Validates graphs against a shapes graph (the project's unless given)."""

    def __init__(self, shapes: Graph | None = None) -> None:
        self._shapes = shapes if shapes is not None else project_shapes()

    def validate(
        self,
        data: Graph | Catalog,
        *,
        base: str | None = None,
        processor: JsonLdProcessor | None = None,
    ) -> Report:
        """Validate a graph, or a catalogue's RDF form (``base`` as for :func:`to_graph`)."""
        graph = data if isinstance(data, Graph) else to_graph(data, base=base, processor=processor)
        _conforms, report, _text_report = pyshacl.validate(
            graph,
            shacl_graph=self._shapes,
            inference="none",
            abort_on_first=False,
            allow_infos=True,
            allow_warnings=True,
            meta_shacl=False,
            advanced=False,
            do_owl_imports=False,
        )
        results = _results(report)
        violations = tuple(r for r in results if r.severity == "Violation")
        warnings = tuple(r for r in results if r.severity != "Violation")
        return Report(conforms=not violations, violations=violations, warnings=warnings)


def validate(
    data: Graph | Catalog,
    *,
    base: str | None = None,
    shapes: Graph | None = None,
    processor: JsonLdProcessor | None = None,
) -> Report:
    """Validate ``data`` (a graph or a catalogue) against ``shapes`` (the project's by default)."""
    return ShapesValidator(shapes).validate(data, base=base, processor=processor)

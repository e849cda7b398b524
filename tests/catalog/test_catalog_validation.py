"""SHACL: the sample catalogue is valid against the project's shapes and the official DCAT-AP 3.0.1
shapes; each of the project's shapes catches the violation it is written for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from catalog_samples import (
    BASE,
    SERVICE,
    WEEKS,
    barometer_series,
    barometer_week,
    indicators,
    sample_catalog,
)
from dcat_ap_reference import official_shapes
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from catalog import vocabulary as v
from catalog.model import (
    Agent,
    Catalog,
    Checksum,
    Distribution,
    LangString,
    LicenseDocument,
)
from catalog.rdf import to_graph
from catalog.validation import SHAPES, Report, ShapesValidator, project_shapes, validate

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
SPDX = "http://spdx.org/rdf/terms#"
CSVW = "http://www.w3.org/ns/csvw#"
INDICATORS = URIRef(BASE + "sustainable-tourism-indicators")
SERIES = URIRef(BASE + "booking-barometer")
WEEK = URIRef(BASE + "booking-barometer-2025-W19")


def u(iri: str) -> URIRef:
    return URIRef(iri)


def small_catalog() -> Catalog:
    """Three datasets: a series, one of its weeks, and the public indicators."""
    return sample_catalog((barometer_series(), barometer_week(WEEKS[0]), indicators()))


@pytest.fixture(scope="module")
def validator() -> ShapesValidator:
    return ShapesValidator()


def test_the_sample_catalogue_conforms_to_the_project_shapes(validator: ShapesValidator) -> None:
    report = validator.validate(sample_catalog(), base=BASE)
    assert report.violations == ()
    assert report.conforms
    # Recommended but absent: licences of the restricted datasets, the file type of Arrow streams.
    assert {w.shape for w in report.warnings} == {
        "Distribution-licenseRecommended",
        "Distribution-formatRecommended",
    }


def test_the_sample_catalogue_conforms_to_the_official_dcat_ap_shapes() -> None:
    report = validate(sample_catalog(), base=BASE, shapes=official_shapes())
    assert report.violations == ()
    assert report.conforms


def _indicators(**changes: object) -> Callable[[Catalog], Catalog]:
    def mutate(catalog: Catalog) -> Catalog:
        datasets = tuple(
            replace(d, **changes) if d.id == "sustainable-tourism-indicators" else d  # type: ignore[arg-type]
            for d in catalog.datasets
        )
        return replace(catalog, datasets=datasets)

    return mutate


def _distributions(**changes: object) -> Callable[[Catalog], Catalog]:
    def mutate(catalog: Catalog) -> Catalog:
        dataset = next(d for d in catalog.datasets if d.id == "sustainable-tourism-indicators")
        changed = tuple(replace(d, **changes) for d in dataset.distributions)  # type: ignore[arg-type]
        return _indicators(distributions=changed)(catalog)

    return mutate


MODEL_MUTATIONS: dict[str, Callable[[Catalog], Catalog]] = {
    "Catalog-title": lambda c: replace(c, titles=()),
    "Catalog-description": lambda c: replace(c, descriptions=()),
    "Catalog-publisher": lambda c: replace(c, publisher=None),
    "Catalog-participant": lambda c: replace(c, participant_id=None),
    "Catalog-service": lambda c: replace(c, services=()),
    "Catalog-language": lambda c: replace(
        c, languages=("http://id.loc.gov/vocabulary/iso639-1/fr",)
    ),
    "Catalog-license": lambda c: replace(c, license=LicenseDocument("https://example.org/licence")),
    "Dataset-title": _indicators(titles=(LangString("One", "en"), LangString("Two", "en"))),
    "Dataset-description": _indicators(descriptions=()),
    "Dataset-theme": _indicators(themes=("http://eurovoc.europa.eu/2826",)),
    "Dataset-spatial": _indicators(spatial=("https://sws.geonames.org/3007866/",)),
    "Dataset-accrualPeriodicity": _indicators(accrual_periodicity="http://example.org/weekly"),
    "Dataset-accessRights": _indicators(access_rights="http://example.org/open"),
    "Dataset-language": _indicators(languages=("http://lexvo.org/id/iso639-3/fra",)),
    "Dataset-offer": _indicators(offers=()),
    "Distribution-accessURL": _distributions(access_service=None),
    "Distribution-accessService": _distributions(
        access_service=None, access_url="https://x.example/"
    ),
    "Distribution-transferFormat": _distributions(format=None),
    "Distribution-format": _distributions(file_type=v.media_type_iri("text/csv")),
    "Distribution-license": _distributions(license=LicenseDocument("https://example.org/l")),
    "Distribution-availability": _distributions(availability=v.DCATAP + "stable"),
    "Checksum-algorithm": _distributions(checksum=Checksum("http://example.org/md5", "00")),
    "Agent-type": lambda c: replace(
        c, publisher=Agent((LangString("X"),), type="http://example.org/agency")
    ),
    "LicenseDocument-type": _distributions(
        license=LicenseDocument(v.licence("CC_BY_4_0"), "http://example.org/open-licence")
    ),
    "DataService-title": lambda c: replace(c, services=(replace(SERVICE, titles=()),)),
}


def _first(graph: Graph, subject: URIRef, predicate: str) -> BNode | URIRef:
    value = graph.value(subject, u(predicate))
    assert isinstance(value, BNode | URIRef)
    return value


def _distribution(graph: Graph) -> BNode | URIRef:
    return _first(graph, INDICATORS, DCAT + "distribution")


def _replace(graph: Graph, subject: Node, predicate: str, value: object) -> None:
    graph.set((subject, u(predicate), value))  # type: ignore[arg-type]


def _column(graph: Graph) -> BNode | URIRef:
    schema = _first(graph, INDICATORS, CSVW + "tableSchema")
    return _first(graph, _first(graph, schema, CSVW + "column"), str(RDF.first))


GraphMutation = Callable[[Graph], object]  # changes the graph in place
GRAPH_MUTATIONS: dict[str, GraphMutation] = {
    "Catalog-dataset": lambda g: g.remove((INDICATORS, RDF.type, u(DCAT + "Dataset"))),
    "Catalog-homepage": lambda g: g.add(
        (u("https://etds.example.fr/catalog"), u(FOAF + "homepage"), u("https://b.example/"))
    ),
    "Catalog-issued": lambda g: g.add(
        (u("https://etds.example.fr/catalog"), u(DCT + "issued"), Literal("last year"))
    ),
    "Catalog-modified": lambda g: g.add(
        (u("https://etds.example.fr/catalog"), u(DCT + "modified"), Literal("2025-01-01"))
    ),
    "Dataset-temporal": lambda g: _replace(
        g, INDICATORS, DCT + "temporal", u("https://x.example/t")
    ),
    "Dataset-temporalResolution": lambda g: _replace(
        g, INDICATORS, DCAT + "temporalResolution", Literal("monthly")
    ),
    "Dataset-publisher": lambda g: g.add((INDICATORS, u(DCT + "publisher"), u(SERVICE.id))),
    "Dataset-contactPoint": lambda g: g.add((INDICATORS, u(DCAT + "contactPoint"), u(SERVICE.id))),
    "Dataset-issued": lambda g: _replace(g, INDICATORS, DCT + "issued", Literal("2025")),
    "Dataset-modified": lambda g: g.add(
        (INDICATORS, u(DCT + "modified"), Literal("2026-01-01", datatype=u(v.XSD + "date")))
    ),
    "Dataset-inSeries": lambda g: g.remove((SERIES, RDF.type, u(DCAT + "DatasetSeries"))),
    "Dataset-distribution": lambda g: g.add((INDICATORS, u(DCAT + "distribution"), SERIES)),
    "Dataset-tableSchema": lambda g: g.add((INDICATORS, u(CSVW + "tableSchema"), BNode())),
    "Distribution-mediaType": lambda g: _replace(
        g, _distribution(g), DCAT + "mediaType", u("http://example.org/parquet")
    ),
    "Distribution-byteSize": lambda g: _replace(
        g, _distribution(g), DCAT + "byteSize", Literal("12 MB")
    ),
    "Distribution-checksum": lambda g: g.add((_distribution(g), u(SPDX + "checksum"), SERIES)),
    "Checksum-value": lambda g: [
        _replace(g, checksum, SPDX + "checksumValue", Literal("zz"))
        for checksum in g.subjects(RDF.type, u(SPDX + "Checksum"))
    ],
    "DataService-endpointURL": lambda g: g.remove((u(SERVICE.id), u(DCAT + "endpointURL"), None)),
    "DataService-conformsTo": lambda g: g.remove((u(SERVICE.id), u(DCT + "conformsTo"), None)),
    "Agent-name": lambda g: g.remove((None, u(FOAF + "name"), None)),
    "ContactPoint": lambda g: [
        g.remove((contact, u(predicate), None))
        for contact in list(g.subjects(RDF.type, u(VCARD + "Kind")))
        for predicate in (VCARD + "fn", VCARD + "hasEmail", VCARD + "hasURL")
    ],
    "ContactPoint-email": lambda g: [
        _replace(g, contact, VCARD + "hasEmail", u("https://example.org/contact"))
        for contact in list(g.subjects(RDF.type, u(VCARD + "Kind")))
    ],
    "PeriodOfTime": lambda g: [
        g.remove((period, u(predicate), None))
        for period in list(g.subjects(RDF.type, u(DCT + "PeriodOfTime")))
        for predicate in (DCAT + "startDate", DCAT + "endDate")
    ],
    "PeriodOfTime-start": lambda g: [
        _replace(g, period, DCAT + "startDate", Literal("soon"))
        for period in list(g.subjects(RDF.type, u(DCT + "PeriodOfTime")))
    ],
    "PeriodOfTime-end": lambda g: [
        _replace(g, period, DCAT + "endDate", Literal("later"))
        for period in list(g.subjects(RDF.type, u(DCT + "PeriodOfTime")))
    ],
    "Column-name": lambda g: g.remove((_column(g), u(CSVW + "name"), None)),
    "Column-datatype": lambda g: _replace(g, _column(g), CSVW + "datatype", Literal("string")),
    "Schema-column": lambda g: _replace(
        g, _first(g, INDICATORS, CSVW + "tableSchema"), CSVW + "column", RDF.nil
    ),
}


@pytest.fixture(scope="module")
def small_graph() -> Graph:
    return to_graph(small_catalog(), base=BASE)


def test_the_small_catalogue_conforms(validator: ShapesValidator, small_graph: Graph) -> None:
    assert validator.validate(small_graph).violations == ()


def _names(report: Report) -> set[str | None]:
    return report.shapes()


@pytest.mark.parametrize("shape", sorted(MODEL_MUTATIONS))
def test_each_shape_catches_its_model_violation(validator: ShapesValidator, shape: str) -> None:
    report = validator.validate(MODEL_MUTATIONS[shape](small_catalog()), base=BASE)
    assert not report.conforms
    assert shape in _names(report), report.violations


@pytest.mark.parametrize("shape", sorted(GRAPH_MUTATIONS))
def test_each_shape_catches_its_graph_violation(
    validator: ShapesValidator, small_graph: Graph, shape: str
) -> None:
    graph = Graph()
    graph += small_graph
    GRAPH_MUTATIONS[shape](graph)
    report = validator.validate(graph)
    expected = "Violation" if shape != "DataService-conformsTo" else "Warning"
    results = report.violations if expected == "Violation" else report.warnings
    assert shape in {r.shape for r in results}, report.violations


def test_recommended_properties_are_warnings(validator: ShapesValidator) -> None:
    sparse = _indicators(
        keywords=(),
        themes=(),
        spatial=(),
        temporal=(),
        accrual_periodicity=None,
        publisher=None,
        contact_points=(),
        access_rights=None,
        distributions=(),
    )
    report = validator.validate(sparse(small_catalog()), base=BASE)
    assert report.conforms
    assert {w.shape for w in report.warnings if w.focus == str(INDICATORS)} == {
        "Dataset-keyword",
        "Dataset-themeRecommended",
        "Dataset-spatialRecommended",
        "Dataset-temporalRecommended",
        "Dataset-accrualPeriodicityRecommended",
        "Dataset-publisherRecommended",
        "Dataset-contactPointRecommended",
        "Dataset-accessRightsRecommended",
        "Dataset-distributionRecommended",
    }
    unlicensed = _distributions(license=None, availability=None, file_type=None)
    warned = {w.shape for w in validator.validate(unlicensed(small_catalog()), base=BASE).warnings}
    assert {
        "Distribution-licenseRecommended",
        "Distribution-availabilityRecommended",
        "Distribution-formatRecommended",
    } <= warned


def test_every_project_shape_has_a_mutation_test() -> None:
    shapes = project_shapes()
    named = {
        str(shape).removeprefix(SHAPES)
        for shape in set(shapes.subjects(RDF.type, SH.PropertyShape))
        | set(shapes.subjects(RDF.type, SH.NodeShape))
        if str(shape).startswith(SHAPES)
    }
    # Node shapes only group property shapes, except those with their own constraint (sh:or).
    grouping = {
        str(shape).removeprefix(SHAPES)
        for shape in shapes.subjects(RDF.type, SH.NodeShape)
        if (shape, SH["or"], None) not in shapes
    }
    warnings_tested = {
        "Dataset-keyword",
        "Dataset-themeRecommended",
        "Dataset-spatialRecommended",
        "Dataset-temporalRecommended",
        "Dataset-accrualPeriodicityRecommended",
        "Dataset-publisherRecommended",
        "Dataset-contactPointRecommended",
        "Dataset-accessRightsRecommended",
        "Dataset-distributionRecommended",
        "Distribution-licenseRecommended",
        "Distribution-availabilityRecommended",
        "Distribution-formatRecommended",
    }
    tested = set(MODEL_MUTATIONS) | set(GRAPH_MUTATIONS) | warnings_tested
    assert named - grouping == tested


def test_a_distribution_built_without_service_can_still_give_an_access_url(
    validator: ShapesValidator,
) -> None:
    distribution = Distribution("HttpData-PULL", access_url="https://x.example/data")
    report = validator.validate(
        _indicators(distributions=(distribution,))(small_catalog()), base=BASE
    )
    assert "Distribution-accessURL" not in _names(report)
    assert "Distribution-accessService" in _names(report)

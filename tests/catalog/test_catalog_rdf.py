"""The RDF form: DCAT-AP triples, ODRL offers, serialisations that parse back to the same graph."""

from __future__ import annotations

import socket
import warnings
from typing import Any

import pytest
from catalog_samples import BASE, SERVICE, sample_catalog
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic

from catalog import vocabulary as v
from catalog.model import Catalog, Dataset, LangString
from catalog.rdf import RdfFormError, UnsupportedMediaType, serialize, to_graph

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
ODRL = "http://www.w3.org/ns/odrl/2/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
CSVW = "http://www.w3.org/ns/csvw#"


def u(iri: str) -> URIRef:
    return URIRef(iri)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return to_graph(sample_catalog(), base=BASE)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may open a connection (rdflib, pyld and pyshacl all stay offline)."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize(
    ("media_type", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),  # our own output only: peers' RDF/XML is never read
        ("text/turtle; charset=utf-8", "turtle"),
    ],
)
def test_serialisations_parse_back_to_the_same_graph(
    graph: Graph, media_type: str, rdflib_format: str
) -> None:
    data = serialize(graph, media_type)
    with warnings.catch_warnings():
        # rdflib's own JSON-LD parser uses its deprecated ConjunctiveGraph internally.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        parsed = Graph().parse(data=data, format=rdflib_format)
    assert isomorphic(parsed, graph)


def test_serialize_builds_the_graph_from_a_catalogue(graph: Graph) -> None:
    data = serialize(sample_catalog(), "text/turtle", base=BASE)
    assert isomorphic(Graph().parse(data=data, format="turtle"), graph)
    assert b"@prefix dcat: <http://www.w3.org/ns/dcat#>" in data


def test_an_unknown_media_type_is_refused(graph: Graph) -> None:
    with pytest.raises(UnsupportedMediaType, match="text/turtle"):
        serialize(graph, "text/html")


def test_plain_ids_need_a_base() -> None:
    with pytest.raises(RdfFormError, match="give a base"):
        to_graph(sample_catalog())
    with pytest.raises(RdfFormError, match="ending with"):
        to_graph(sample_catalog(), base="https://etds.example.fr/datasets")
    absolute = Catalog("urn:cat", datasets=(Dataset("urn:ds", (LangString("T"),)),))
    assert (u("urn:ds"), RDF.type, u(DCAT + "Dataset")) in to_graph(absolute)


def test_dataset_statements(graph: Graph) -> None:
    series, week = u(BASE + "booking-barometer"), u(BASE + "booking-barometer-2025-W19")
    catalog = u("https://etds.example.fr/catalog")
    assert (catalog, u(DCAT + "dataset"), series) in graph
    assert {series} == set(graph.subjects(RDF.type, u(DCAT + "DatasetSeries")))
    assert (series, RDF.type, u(DCAT + "Dataset")) in graph
    assert (week, u(DCAT + "inSeries"), series) in graph
    assert (series, u(DCAT + "theme"), u(v.theme("ECON"))) in graph
    assert (series, u(DCT + "spatial"), u(v.nuts("FRJ13"))) in graph
    assert (u(v.nuts("FRJ13")), RDF.type, u(DCT + "Location")) in graph
    resolution = graph.value(series, u(DCAT + "temporalResolution"))
    assert resolution == Literal("P1D", datatype=u(v.XSD + "duration"))
    assert (catalog, u(DCAT + "themeTaxonomy"), u(v.DATA_THEME)) in graph


def test_vocabulary_concepts_are_described(graph: Graph) -> None:
    econ = u(v.theme("ECON"))
    assert (econ, RDF.type, u(SKOS + "Concept")) in graph
    assert (econ, u(SKOS + "inScheme"), u(v.DATA_THEME)) in graph
    assert Literal("Économie et finances", lang="fr") in set(
        graph.objects(econ, u(SKOS + "prefLabel"))
    )
    assert (u(v.DATA_THEME), RDF.type, u(SKOS + "ConceptScheme")) in graph
    weekly = u(v.frequency("WEEKLY"))
    assert (weekly, RDF.type, u(DCT + "Frequency")) in graph
    restricted = u(v.access_right("RESTRICTED"))
    assert (restricted, RDF.type, u(DCT + "RightsStatement")) in graph


def test_distribution_statements(graph: Graph) -> None:
    indicators = u(BASE + "sustainable-tourism-indicators")
    distributions = list(graph.objects(indicators, u(DCAT + "distribution")))
    assert len(distributions) == 2
    by_format = {str(graph.value(d, u(v.ETDS + "transferFormat"))): d for d in distributions}
    parquet = by_format["HttpData-PULL"]
    assert graph.value(parquet, u(DCT + "format")) == u(v.file_type("PARQUET"))
    assert graph.value(parquet, u(DCAT + "accessURL")) == u(SERVICE.endpoint_url)
    assert graph.value(parquet, u(DCAT + "accessService")) == u(SERVICE.id)
    media = graph.value(parquet, u(DCAT + "mediaType"))
    assert media == u(v.IANA_MEDIA_TYPES + "application/vnd.apache.parquet")
    size = graph.value(parquet, u(DCAT + "byteSize"))
    assert size == Literal("1204113", datatype=u(v.XSD + "nonNegativeInteger"))
    assert graph.value(parquet, u(DCT + "license")) == u(v.licence("CC_BY_4_0"))
    assert (u(SERVICE.id), u(DCAT + "servesDataset"), indicators) in graph
    arrow = by_format["ArrowStream-PULL"]
    assert graph.value(arrow, u(DCT + "format")) is None


def test_columns_are_an_ordered_csvw_list(graph: Graph) -> None:
    presence = u(BASE + "visitor-presence")
    schema = graph.value(presence, u(CSVW + "tableSchema"))
    columns = Collection(graph, graph.value(schema, u(CSVW + "column")))
    names = [str(graph.value(column, u(CSVW + "name"))) for column in columns]
    assert names == ["date", "zone_id", "visitor_category", "volume", "suppressed"]
    assert graph.value(columns[3], u(CSVW + "datatype")) == u(v.XSD + "long")
    assert graph.value(columns[0], u(CSVW + "required")) == Literal(True)


def test_offers_are_odrl_triples(graph: Graph) -> None:
    presence = u(BASE + "visitor-presence")
    offers = set(graph.objects(presence, u(ODRL + "hasPolicy")))
    assert offers == {u("urn:etds:offer:presence"), u("urn:etds:offer:presence:research")}
    offer = u("urn:etds:offer:presence")
    assert (offer, RDF.type, u(ODRL + "Offer")) in graph
    permission = graph.value(offer, u(ODRL + "permission"))
    assert graph.value(permission, u(ODRL + "action")) == u(ODRL + "use")
    constraint = graph.value(permission, u(ODRL + "constraint"))
    assert graph.value(constraint, u(ODRL + "leftOperand")) == u(ODRL + "purpose")
    assert graph.value(constraint, u(ODRL + "operator")) == u(ODRL + "isA")
    purpose = graph.value(constraint, u(ODRL + "rightOperand"))
    assert purpose == Literal("https://w3id.org/dpv#ProvideOfficialStatistics")


def test_relative_iris_in_offers_resolve_against_the_base_or_are_dropped() -> None:
    # The DSP 2025-1 example's "leftOperand": "spatial" is not an ODRL profile term: a relative IRI.
    rule = {"leftOperand": "spatial", "operator": "eq", "rightOperand": "x"}
    offer = {
        "@id": "urn:o",
        "@type": "Offer",
        "permission": [{"action": "use", "constraint": [rule]}],
    }
    dataset = Dataset("urn:ds", (LangString("T"),), offers=(offer,))
    without_base = to_graph(Catalog("urn:cat", datasets=(dataset,)))
    constraint = without_base.value(
        without_base.value(u("urn:o"), u(ODRL + "permission")), u(ODRL + "constraint")
    )
    assert without_base.value(constraint, u(ODRL + "leftOperand")) is None
    assert without_base.value(constraint, u(ODRL + "operator")) == u(ODRL + "eq")
    with_base = to_graph(Catalog("urn:cat", datasets=(dataset,)), base=BASE)
    constraint = with_base.value(
        with_base.value(u("urn:o"), u(ODRL + "permission")), u(ODRL + "constraint")
    )
    assert with_base.value(constraint, u(ODRL + "leftOperand")) == u(BASE + "spatial")

"""The DSP 2025-1 form: valid against the official schemas, exactly what pyld's compaction would
write, and expanding to the graph we mean."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from catalog_samples import SERVICE, offer, sample_catalog, with_dataset
from dsp_schemas import errors

from catalog import vocabulary as v
from catalog.contexts import DSPACE_CONTEXT_URL, dsp_processor
from catalog.dsp import DspFormError, catalog_error, catalog_to_dsp, dataset_to_dsp
from catalog.model import (
    Catalog,
    Column,
    DataService,
    Dataset,
    Distribution,
    LangString,
    PeriodOfTime,
    TableSchema,
)

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
ODRL = "http://www.w3.org/ns/odrl/2/"
XSD = "http://www.w3.org/2001/XMLSchema#"
CSVW = "http://www.w3.org/ns/csvw#"


def _compacted(document: dict[str, Any]) -> dict[str, Any]:
    """What pyld writes for ``document`` compacted with its own context."""
    result = dsp_processor().compact(document, document["@context"])
    result["@context"] = document["@context"]
    return result


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every node of a DSP document; offers are opaque (their rules are not nodes we write)."""
    if isinstance(value, list):
        for item in value:
            yield from _nodes(item)
    elif isinstance(value, dict):
        if "@value" not in value and "@list" not in value:
            yield value
        for key, item in value.items():
            if key == "hasPolicy":
                yield from item
            elif key != "@context":
                yield from _nodes(item)


def test_the_catalogue_is_valid_against_the_official_schema() -> None:
    document = catalog_to_dsp(sample_catalog())
    assert errors("catalog/catalog-schema.json", document) == []
    assert document["@context"] == [DSPACE_CONTEXT_URL]
    assert document["@type"] == "Catalog"
    assert document["participantId"] == "did:web:etds.example.fr"
    assert document["service"][0]["endpointURL"] == "https://etds.example.fr/protocol/2025-1"


@pytest.mark.parametrize("position", range(6))
def test_each_dataset_is_valid_against_the_official_schema(position: int) -> None:
    dataset = sample_catalog().datasets[position]
    document = dataset_to_dsp(dataset)
    assert errors("catalog/dataset-schema.json", document) == []
    assert "target" not in document["hasPolicy"][0]


def test_catalog_error_is_valid() -> None:
    error = catalog_error(400, ["unsupported filter 'colour'"])
    assert errors("catalog/catalog-error-schema.json", error) == []
    assert error == {
        "@context": [DSPACE_CONTEXT_URL],
        "@type": "CatalogError",
        "code": "400",
        "reason": ["unsupported filter 'colour'"],
    }
    assert "reason" not in catalog_error("404")


def test_the_catalogue_is_a_fixed_point_of_pyld_compaction() -> None:
    document = catalog_to_dsp(sample_catalog())
    assert _compacted(document) == document


@pytest.mark.parametrize("position", range(6))
def test_each_dataset_response_is_a_fixed_point_of_pyld_compaction(position: int) -> None:
    document = dataset_to_dsp(sample_catalog().datasets[position])
    assert _compacted(document) == document


def test_every_nested_node_is_typed_and_no_array_is_empty() -> None:
    document = catalog_to_dsp(sample_catalog())
    for node in _nodes(document):
        if set(node) != {"@id"}:
            assert "@type" in node, node
        for key, value in node.items():
            assert value != [], key


def test_a_series_is_typed_dataset_and_series() -> None:
    document = catalog_to_dsp(sample_catalog())
    types = {dataset["@id"]: dataset["@type"] for dataset in document["dataset"]}
    assert types["booking-barometer"] == ["Dataset", "dcat:DatasetSeries"]
    assert types["booking-barometer-2025-W19"] == "Dataset"
    week = next(d for d in document["dataset"] if d["@id"] == "booking-barometer-2025-W19")
    assert week["dcat:inSeries"] == {"@id": "booking-barometer"}


def test_catalogue_distributions_refer_to_the_catalogue_service() -> None:
    document = catalog_to_dsp(sample_catalog())
    distribution = document["dataset"][0]["distribution"][0]
    assert distribution["accessService"] == SERVICE.id
    assert distribution["format"] == "ArrowStream-PULL"


def test_a_dataset_response_inlines_its_service_unless_told() -> None:
    dataset = sample_catalog().datasets[4]
    inline = dataset_to_dsp(dataset)["distribution"][0]["accessService"]
    assert inline["@type"] == "DataService"
    assert inline["endpointURL"] == SERVICE.endpoint_url
    referenced = dataset_to_dsp(dataset, service_refs={SERVICE.id}, context=False)
    assert referenced["distribution"][0]["accessService"] == SERVICE.id
    assert "@context" not in referenced


def test_offers_are_copied_out() -> None:
    dataset = sample_catalog().datasets[4]
    document = dataset_to_dsp(dataset)
    document["hasPolicy"][0]["permission"].append({"action": "distribute"})
    assert len(dataset.offers[0]["permission"]) == 1


SMALL = Catalog(
    id="urn:cat",
    participant_id="did:web:provider.example",
    titles=(LangString("Small", "en"),),
    services=(DataService("urn:svc", "https://provider.example/dsp"),),
    datasets=(
        Dataset(
            id="ds-1",
            titles=(LangString("Nuitées", "fr"),),
            keywords=(LangString("tourisme", "fr"), LangString("tourism", "en")),
            themes=(v.theme("ECON"),),
            spatial=(v.nuts("FRJ13"),),
            temporal=(PeriodOfTime(date(2024, 1, 1), datetime(2024, 12, 31, 23, 0, tzinfo=UTC)),),
            temporal_resolution="P1M",
            in_series=("series-1",),
            table_schema=TableSchema((Column("geo", "string", required=True),)),
            distributions=(
                Distribution(
                    "HttpData-PULL",
                    "urn:svc",
                    media_type="text/csv",
                    byte_size=12,
                    file_type=v.file_type("CSV"),
                ),
            ),
            offers=(offer("urn:offer-1"),),
        ),
    ),
)

SMALL_EXPANDED = [
    {
        "@id": "urn:cat",
        "@type": [DCAT + "Catalog"],
        "https://w3id.org/dspace/2025/1/participantId": [{"@id": "did:web:provider.example"}],
        DCT + "title": [{"@value": "Small", "@language": "en"}],
        DCAT + "service": [
            {
                "@id": "urn:svc",
                "@type": [DCAT + "DataService"],
                DCAT + "endpointURL": [{"@value": "https://provider.example/dsp"}],
            }
        ],
        DCAT + "dataset": [
            {
                "@id": "ds-1",
                "@type": [DCAT + "Dataset"],
                DCT + "title": [{"@value": "Nuitées", "@language": "fr"}],
                DCAT + "keyword": [
                    {"@value": "tourisme", "@language": "fr"},
                    {"@value": "tourism", "@language": "en"},
                ],
                DCAT + "theme": [{"@id": v.theme("ECON")}],
                DCT + "spatial": [{"@id": v.nuts("FRJ13")}],
                DCT + "temporal": [
                    {
                        "@type": [DCT + "PeriodOfTime"],
                        DCAT + "startDate": [{"@value": "2024-01-01", "@type": XSD + "date"}],
                        DCAT + "endDate": [
                            {"@value": "2024-12-31T23:00:00Z", "@type": XSD + "dateTime"}
                        ],
                    }
                ],
                DCAT + "temporalResolution": [{"@value": "P1M", "@type": XSD + "duration"}],
                DCAT + "inSeries": [{"@id": "series-1"}],
                CSVW + "tableSchema": [
                    {
                        "@type": [CSVW + "Schema"],
                        CSVW + "column": [
                            {
                                "@list": [
                                    {
                                        "@type": [CSVW + "Column"],
                                        CSVW + "name": [{"@value": "geo"}],
                                        CSVW + "datatype": [{"@id": XSD + "string"}],
                                        CSVW + "required": [{"@value": True}],
                                    }
                                ]
                            }
                        ],
                    }
                ],
                ODRL + "hasPolicy": [
                    {
                        "@id": "urn:offer-1",
                        "@type": [ODRL + "Offer"],
                        ODRL + "permission": [{ODRL + "action": [{"@id": ODRL + "use"}]}],
                    }
                ],
                DCAT + "distribution": [
                    {
                        "@type": [DCAT + "Distribution"],
                        DCT + "format": [{"@id": "HttpData-PULL"}],
                        DCAT + "accessService": [{"@value": "urn:svc"}],
                        DCAT + "mediaType": [{"@id": v.IANA_MEDIA_TYPES + "text/csv"}],
                        DCAT + "byteSize": [{"@value": "12", "@type": XSD + "nonNegativeInteger"}],
                    }
                ],
            }
        ],
    }
]


def test_the_dsp_form_expands_to_what_we_mean() -> None:
    assert dsp_processor().expand(catalog_to_dsp(SMALL)) == SMALL_EXPANDED


def _refused(catalog: Catalog, match: str) -> None:
    with pytest.raises(DspFormError, match=match):
        catalog_to_dsp(catalog)


def test_what_dsp_cannot_carry_is_refused() -> None:
    catalog = sample_catalog()
    _refused(replace(catalog, participant_id=None), "participant id")
    _refused(replace(catalog, services=()), "data service")
    _refused(with_dataset(catalog, "visitor-presence", offers=()), "offer and one distribution")
    _refused(with_dataset(catalog, "visitor-presence", distributions=()), "one distribution")
    targeted = {**offer("urn:o"), "target": "visitor-presence"}
    _refused(with_dataset(catalog, "visitor-presence", offers=(targeted,)), "no target")
    with_context = {**offer("urn:o"), "@context": [DSPACE_CONTEXT_URL]}
    _refused(with_dataset(catalog, "visitor-presence", offers=(with_context,)), "no target")
    _refused(with_dataset(catalog, "visitor-presence", offers=({"@id": "urn:o"},)), "Offer")
    empty = {"@id": "urn:o", "@type": "Offer", "permission": []}
    _refused(with_dataset(catalog, "visitor-presence", offers=(empty,)), "permission")
    shared = with_dataset(catalog, "visitor-presence", offers=(offer("urn:etds:offer:indicators"),))
    _refused(shared, "has an offer with the same @id")


def test_identifiers_and_formats_that_would_change_meaning_are_refused() -> None:
    catalog = sample_catalog()
    # "dct:x" would expand to http://purl.org/dc/terms/x.
    _refused(with_dataset(catalog, "visitor-presence", id="dct:x"), "compact IRI")
    use = (Distribution("use", SERVICE),)  # "use" is odrl:use inside a Dataset
    _refused(with_dataset(catalog, "visitor-presence", distributions=use), "DSP/ODRL term")
    _refused(
        with_dataset(catalog, "visitor-presence", distributions=(Distribution(None, SERVICE),)),
        "format",
    )


def test_prefixed_namespaces_are_compacted_like_pyld_does() -> None:
    dataset = Dataset(
        "http://purl.org/dc/terms/odd-but-legal",
        (LangString("T"),),
        conforms_to=("https://w3id.org/dspace/2025/1/", "http://www.w3.org/ns/dcat#x"),
        distributions=(Distribution("HttpData-PULL", SERVICE),),
        offers=(offer("urn:o"),),
    )
    document = dataset_to_dsp(dataset)
    assert document["@id"] == "dct:odd-but-legal"
    assert document["dct:conformsTo"] == [
        {"@id": "https://w3id.org/dspace/2025/1/"},
        {"@id": "dcat:x"},
    ]
    assert _compacted(document) == document


def test_a_nested_catalogue_is_written_without_participant() -> None:
    inner = Catalog("urn:inner", datasets=(sample_catalog().datasets[4],))
    outer = replace(sample_catalog(datasets=()), catalogs=(inner,))
    document = catalog_to_dsp(outer)
    assert "dataset" not in document
    assert document["catalog"][0]["@type"] == "Catalog"
    assert "participantId" not in document["catalog"][0]
    assert errors("catalog/catalog-schema.json", document) == []
    assert _compacted(document) == document


def test_the_model_is_not_changed_by_writing() -> None:
    catalog = sample_catalog()
    before = copy.deepcopy(catalog)
    catalog_to_dsp(catalog)
    assert catalog == before

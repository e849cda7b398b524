"""Reading a peer's catalogue: any JSON-LD form, robust to sparse or odd data, bounded."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from catalog_samples import sample_catalog
from pyld import jsonld
from shared_reference import DSP, require

from catalog.contexts import DSPACE_CONTEXT_URL, dsp_processor
from catalog.dsp import CatalogParseError, catalog_from_dsp, catalog_to_dsp
from catalog.expanded import Bounds
from catalog.model import Catalog, DataService, Dataset, LangString


def without_file_types(catalog: Catalog) -> Catalog:
    """``catalog`` as its DSP form carries it: DSP's ``format`` is the transfer format, so the
    EU file type of a distribution is only in the RDF form."""

    def strip(dataset: Dataset) -> Dataset:
        distributions = tuple(replace(d, file_type=None) for d in dataset.distributions)
        return replace(dataset, distributions=distributions)

    return replace(
        catalog,
        datasets=tuple(strip(d) for d in catalog.datasets),
        catalogs=tuple(without_file_types(c) for c in catalog.catalogs),
    )


def test_the_dsp_form_reads_back_as_the_same_catalogue() -> None:
    catalog = sample_catalog()
    skipped: list[str] = []
    assert catalog_from_dsp(catalog_to_dsp(catalog), on_skip=skipped.append) == (
        without_file_types(catalog)
    )
    assert skipped == []


def test_expanded_and_flattened_forms_read_the_same() -> None:
    document = catalog_to_dsp(sample_catalog())
    expanded = dsp_processor().expand(document)
    expected = catalog_from_dsp(document)
    assert catalog_from_dsp(expanded) == expected
    flattened = jsonld.flatten(expanded, None, {"expandContext": {"@base": None}})
    assert len(flattened) > 20  # nodes side by side, referring to each other by @id
    assert catalog_from_dsp(flattened) == expected


def _official(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(require(DSP / "examples" / "catalog" / name).read_text())
    return document


def test_the_official_catalogue_example_reads() -> None:
    catalog = catalog_from_dsp(_official("catalog.json"))
    assert catalog.id == "urn:uuid:3afeadd8-ed2d-569e-d634-8394a8836d57"
    assert catalog.participant_id == "urn:example:DataProviderA"
    (service,) = catalog.services
    assert service.endpoint_url == "https://provider-a.com/connector"
    (dataset,) = catalog.datasets
    # No dct:title: the identifier is the title, so the dataset stays discoverable.
    assert dataset.titles == (LangString(dataset.id),)
    assert dataset.offers == (
        {
            "@id": "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88",
            "@type": "Offer",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "spatial",
                            "operator": "eq",
                            "rightOperand": "http://example.org/EU",
                        }
                    ],
                }
            ],
        },
    )
    (distribution,) = dataset.distributions
    assert distribution.format == "HttpData-PULL"
    assert distribution.access_service is service


def test_the_official_nested_catalogue_example_reads() -> None:
    catalog = catalog_from_dsp(_official("nested-catalog.json"))
    (inner,) = catalog.catalogs
    assert inner.id == "02e83f88-f025-4a1c-89f2-8723c98fa92b"
    assert inner.services[0].endpoint_url == "https://provder-a.com/subcatalog"
    assert inner.participant_id is None


def test_a_dataset_document_is_not_a_catalogue() -> None:
    with pytest.raises(CatalogParseError, match="no top-level dcat:Catalog"):
        catalog_from_dsp(_official("dataset.json"))


def test_two_top_level_catalogues_are_refused() -> None:
    document = {
        "@context": [DSPACE_CONTEXT_URL],
        "@graph": [{"@id": "urn:a", "@type": "Catalog"}, {"@id": "urn:b", "@type": "Catalog"}],
    }
    with pytest.raises(CatalogParseError, match="more than one"):
        catalog_from_dsp(document)


def test_a_remote_context_is_refused() -> None:
    document = {"@context": "https://evil.example/context.jsonld", "@type": "Catalog"}
    with pytest.raises(CatalogParseError, match=r"evil\.example"):
        catalog_from_dsp(document)


def test_absurd_documents_are_refused_before_expansion() -> None:
    wide = {"@context": [DSPACE_CONTEXT_URL], "@id": "urn:c", "@type": "Catalog", "x": [1] * 50}
    with pytest.raises(CatalogParseError, match="JSON values"):
        catalog_from_dsp(wide, bounds=Bounds(max_values=40))
    deep: dict[str, Any] = {"@id": "urn:c"}
    for _ in range(80):
        deep = {"http://example.org/p": deep}
    with pytest.raises(CatalogParseError, match="nested deeper"):
        catalog_from_dsp(deep)
    with pytest.raises(CatalogParseError, match="string longer"):
        catalog_from_dsp({"@id": "x" * 200}, bounds=Bounds(max_string=100))


def test_invalid_json_ld_is_refused() -> None:
    with pytest.raises(CatalogParseError, match="JSON-LD"):
        catalog_from_dsp({"@context": 42, "@id": "urn:c"})


EDC_LIKE = {
    "@context": {
        "@vocab": "https://w3id.org/edc/v0.0.1/ns/",
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "odrl": "http://www.w3.org/ns/odrl/2/",
        "dspace": "https://w3id.org/dspace/2025/1/",
    },
    "@id": "catalog-1",
    "@type": "dcat:Catalog",
    "dspace:participantId": "provider-bpn",
    "dcat:service": {
        "@id": "svc-1",
        "@type": "dcat:DataService",
        "dcat:endpointUrl": "http://provider.example/protocol",
    },
    "dcat:dataset": [
        {
            "@id": "asset-1",
            "@type": "dcat:Dataset",
            "dct:title": [
                {"@value": "Nuitées", "@language": "fr"},
                {"@value": "bad tag", "@language": "not a tag"},
            ],
            "dct:issued": "not a date",
            "dcat:theme": [
                {"@id": "ECON"},
                {"@id": "http://publications.europa.eu/resource/authority/data-theme/ECON"},
            ],
            "odrl:hasPolicy": [
                {
                    "@id": "offer-1",
                    "@type": "odrl:Offer",
                    "odrl:permission": [],
                    "odrl:prohibition": [],
                    "odrl:target": {"@id": "asset-1"},
                },
                {"@type": "odrl:Offer"},
            ],
            "dcat:distribution": [
                {
                    "@type": "dcat:Distribution",
                    "dct:format": {"@id": "HttpData-PULL"},
                    "dcat:accessService": {"@id": "svc-1"},
                    "dcat:byteSize": -3,
                }
            ],
            "name": "asset name",
        },
        {"@type": "dcat:Dataset", "dct:title": "no id"},
    ],
}


def test_an_edc_like_catalogue_reads_what_it_can() -> None:
    skipped: list[str] = []
    catalog = catalog_from_dsp(EDC_LIKE, on_skip=skipped.append)
    assert catalog.participant_id == "provider-bpn"
    assert catalog.services == ()  # its endpoint is spelled endpointUrl
    (dataset,) = catalog.datasets
    assert dataset.titles == (LangString("Nuitées", "fr"),)
    assert dataset.issued is None
    assert dataset.themes == ("http://publications.europa.eu/resource/authority/data-theme/ECON",)
    assert dataset.offers == (
        {
            "@id": "offer-1",
            "@type": "Offer",
            "permission": [],
            "prohibition": [],
            "target": "asset-1",
        },
    )
    assert any("offer without @id" in reason for reason in skipped)
    (distribution,) = dataset.distributions
    assert distribution.access_service == "svc-1"
    assert distribution.byte_size is None
    assert any("data service" in reason for reason in skipped)
    assert any("without @id" in reason for reason in skipped)


def test_an_inline_service_in_a_distribution_is_read() -> None:
    document = {
        "@context": [DSPACE_CONTEXT_URL],
        "@id": "urn:cat",
        "@type": "Catalog",
        "participantId": "did:web:p",
        "dataset": [
            {
                "@id": "urn:ds",
                "@type": "Dataset",
                "hasPolicy": [
                    {"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use"}]}
                ],
                "distribution": [
                    {
                        "@type": "Distribution",
                        "format": "HttpData-PULL",
                        "accessService": {
                            "@id": "urn:svc",
                            "@type": "DataService",
                            "endpointURL": "https://p.example/dsp",
                        },
                    }
                ],
            }
        ],
    }
    catalog = catalog_from_dsp(document)
    service = catalog.datasets[0].distributions[0].access_service
    assert service == DataService("urn:svc", "https://p.example/dsp")


def test_odd_optional_values_are_dropped_not_the_item() -> None:
    document = {
        "@context": [DSPACE_CONTEXT_URL],
        "@id": "urn:cat",
        "@type": "Catalog",
        "participantId": "did:web:p",
        "dataset": [
            {
                "@id": "urn:ds",
                "@type": "Dataset",
                "dcat:inSeries": {"@id": "_:b0"},
                "dct:temporal": {"@type": "dct:PeriodOfTime", "dcat:startDate": "2025-13-45"},
                "dcat:temporalResolution": "weekly",
                "hasPolicy": [
                    {"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use"}]}
                ],
                "distribution": [
                    {
                        "@type": "Distribution",
                        "format": "HttpData-PULL",
                        "accessService": "urn:svc",
                        "dcat:mediaType": {"@id": "http://example.org/not-iana"},
                        "dct:license": {"@id": "not an iri"},
                    }
                ],
            }
        ],
    }
    skipped: list[str] = []
    (dataset,) = catalog_from_dsp(document, on_skip=skipped.append).datasets
    assert dataset.in_series == ()
    assert dataset.temporal == ()
    assert dataset.temporal_resolution is None
    (distribution,) = dataset.distributions
    assert distribution.format == "HttpData-PULL"
    assert distribution.media_type is None
    assert distribution.license is None
    assert any("period" in reason for reason in skipped)


def test_a_catalogue_without_id_is_refused_with_the_reason() -> None:
    with pytest.raises(CatalogParseError, match="cannot be read: a catalogue without @id"):
        catalog_from_dsp({"@context": [DSPACE_CONTEXT_URL], "@type": "Catalog"})

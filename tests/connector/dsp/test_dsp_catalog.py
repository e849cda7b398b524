"""The DSP 2025-1 catalogue of a provider node, per requester, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import rdflib
from dataspace_support import NODE_A, NODE_C, Dataspace
from dcat_ap_reference import official_shapes
from dsp_provider import CATALOG_REQUEST, DATASETS, Provider, define_contracts
from dsp_provider import provider_app as make_provider
from dsp_schemas import errors
from sqlalchemy import event, select, update

from catalog.contexts import DCT
from catalog.dsp_read import catalog_from_dsp
from catalog.validation import validate
from connector.catalogue.offers import OfferRef
from connector.store.database import Database
from connector.store.models import Asset

pytestmark = pytest.mark.anyio
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")


async def _catalog(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    who: str = NODE_A,
    body: dict[str, Any] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    async with provider.client(dataspace, who, http) as client:
        return await client.post(
            "/protocol/2025-1/catalog/request", json=body or CATALOG_REQUEST, **kwargs
        )


def _dataset_ids(document: dict[str, Any]) -> list[str]:
    return [dataset["@id"] for dataset in document.get("dataset", [])]


async def test_version_metadata_is_public(provider: Provider) -> None:
    async with provider.anonymous() as client:
        response = await client.get("/.well-known/dspace-version")
    assert response.status_code == 200
    (version,) = response.json()["protocolVersions"]
    assert version["version"] == "2025-1"
    assert version["path"] == "/protocol/2025-1"
    assert version["binding"] == "HTTPS"
    assert "dpop" in version["auth"]["profile"]
    assert errors("common/protocol-version-schema.json", response.json()) == []


async def test_an_unknown_protocol_path_is_a_catalog_error(provider: Provider) -> None:
    async with provider.anonymous() as client:
        for method, path in (("GET", "/nowhere"), ("DELETE", "/request"), ("GET", "/a%2Fb")):
            response = await client.request(method, "/protocol/2025-1/catalog" + path)
            assert response.status_code == 404, (method, path)
            assert response.json()["@type"] == "CatalogError"
            assert errors("catalog/catalog-error-schema.json", response.json()) == []


async def test_a_percent_encoded_path_passes_the_dpop_check(
    provider: Provider, dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    # The client's proof names the URL as sent (percent-encoded); the node compares it with the
    # path as called, not as decoded: the request is answered (404: no such dataset), not 401.
    async with provider.client(dataspace, NODE_A, http) as client:
        response = await client.get("/protocol/2025-1/catalog/datasets/visites-été")
    assert response.request.url.raw_path.endswith(b"visites-%C3%A9t%C3%A9")
    assert response.status_code == 404, response.text
    assert response.json()["@type"] == "CatalogError"


async def test_a_body_over_the_limit_is_refused_in_the_protocols_error_form(
    provider: Provider,
) -> None:
    # Refused before routing (the body never reaches an endpoint), yet as the DSP error of the
    # endpoint called; elsewhere, a problem document.
    too_large = b"x" * (provider.node.settings.limits.max_body_bytes + 1)
    headers = {"content-type": "application/json"}
    async with provider.anonymous() as client:
        for path, error_type in (
            ("/protocol/2025-1/catalog/request", "CatalogError"),
            ("/protocol/2025-1/negotiations/request", "ContractNegotiationError"),
        ):
            response = await client.post(path, content=too_large, headers=headers)
            assert response.status_code == 413
            assert response.json()["@type"] == error_type
            assert errors(f"{SCHEMA_DIRS[error_type]}", response.json()) == []
        other = await client.post("/management/v3/assets", content=too_large, headers=headers)
    assert other.status_code == 413
    assert other.headers["content-type"] == "application/problem+json"


SCHEMA_DIRS = {
    "CatalogError": "catalog/catalog-error-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
}


async def test_a_bare_protocol_prefix_is_not_found_without_redirects(provider: Provider) -> None:
    async with provider.anonymous() as client:
        for path in ("/protocol/2025-1/catalog", "/protocol/2025-1/negotiations/"):
            response = await client.get(path)
            assert response.status_code == 404, (path, response.status_code)


async def test_a_trailing_slash_reaches_the_same_endpoint(
    provider: Provider, dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    # DSP 2025-1: paths are accepted with and without a trailing "/" (no redirect).
    async with provider.anonymous() as client:
        version = await client.get("/.well-known/dspace-version/")
    assert version.status_code == 200
    async with provider.client(dataspace, NODE_A, http) as client:
        catalog = await client.post("/protocol/2025-1/catalog/request/", json=CATALOG_REQUEST)
    assert catalog.status_code == 200, catalog.text


async def test_an_asset_stored_with_texts_it_cannot_show_does_not_break_the_catalogue(
    provider: Provider, dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    # Stored before the API checked language tags on write (the API refuses them now): such
    # texts are left out, and every dataset is still listed.
    table = Asset.__table__
    with provider.node.database.transaction() as connection:
        properties = connection.execute(
            select(table.c.properties).where(table.c.id == "visitor-presence")
        ).scalar_one()
        properties[DCT + "title"] = [
            {"@value": "Présence", "@language": "x y"},
            {"@value": "  ", "@language": "fr"},
            {"@value": "Visitor presence", "@language": "en"},
        ]
        connection.execute(
            update(table).where(table.c.id == "visitor-presence").values(properties=properties)
        )
    response = await _catalog(provider, dataspace, http)
    assert response.status_code == 200, response.text
    [presence] = [d for d in response.json()["dataset"] if d["@id"] == "visitor-presence"]
    assert presence["dct:title"] == {"@value": "Visitor presence", "@language": "en"}


async def test_regional_agency_sees_the_three_datasets_valid_dsp_and_dcat_ap(
    provider: Provider, dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    response = await _catalog(provider, dataspace, http)
    assert response.status_code == 200, response.text
    document = response.json()
    assert errors("catalog/catalog-schema.json", document) == []
    assert document["participantId"] == "urn:etds:participant:b"
    ids = _dataset_ids(document)
    assert {"booking-barometer", "sustainable-tourism-indicators", "visitor-presence"} <= set(ids)
    # the weekly snapshots are members of the barometer series
    members = [i for i in ids if i.startswith("booking-barometer~")]
    assert len(members) == 2
    barometer = next(d for d in document["dataset"] if d["@id"] == "booking-barometer")
    assert "dcat:DatasetSeries" in barometer["@type"]
    offer = barometer["hasPolicy"][0]
    assert "target" not in offer
    assert OfferRef.parse(offer["@id"]) == OfferRef("cd-booking-barometer", "booking-barometer")
    formats = {d["format"] for d in barometer["distribution"]}
    assert {"ArrowStream-PULL", "HttpData-PULL"} <= formats
    # what the data says: places and time
    catalogue = catalog_from_dsp(document)
    parsed = {d.id: d for d in catalogue.datasets}
    assert any(
        iri.endswith("/FRJ13") or "/FR" in iri for iri in parsed["booking-barometer"].spatial
    )
    assert parsed["visitor-presence"].temporal
    base = "http://node-b.test/protocol/2025-1/catalog/datasets/"
    report = validate(catalogue, base=base)
    assert report.conforms, report.violations
    official = validate(catalogue, base=base, shapes=official_shapes())
    assert official.conforms, official.violations


async def test_a_company_does_not_see_the_public_sector_datasets(
    provider: Provider, dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    response = await _catalog(provider, dataspace, http, who=NODE_C)
    assert response.status_code == 200, response.text
    ids = _dataset_ids(response.json())
    assert "booking-barometer" not in ids
    assert "sustainable-tourism-indicators" in ids
    async with provider.client(dataspace, NODE_C, http) as client:
        hidden = await client.get("/protocol/2025-1/catalog/datasets/booking-barometer")
        visible = await client.get(
            "/protocol/2025-1/catalog/datasets/sustainable-tourism-indicators"
        )
    assert hidden.status_code == 404
    assert hidden.json()["@type"] == "CatalogError"
    assert visible.status_code == 200
    assert errors("catalog/dataset-schema.json", visible.json()) == []


async def test_unknown_dataset_and_unauthenticated_requests_are_catalog_errors(
    provider: Provider, dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    async with provider.client(dataspace, NODE_A, http) as client:
        unknown = await client.get("/protocol/2025-1/catalog/datasets/nope")
        member = await client.get("/protocol/2025-1/catalog/datasets/booking-barometer~1999-01-04")
    for response in (unknown, member):
        assert response.status_code == 404
        assert errors("catalog/catalog-error-schema.json", response.json()) == []
    async with provider.anonymous() as anonymous:
        refused = await anonymous.post("/protocol/2025-1/catalog/request", json=CATALOG_REQUEST)
    assert refused.status_code == 401
    assert refused.json()["@type"] == "CatalogError"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**CATALOG_REQUEST, "filter": ["colour=blue"]}, 400),
        ({**CATALOG_REQUEST, "filter": ["temporal=2024-01-01"]}, 400),
        ({"@context": CATALOG_REQUEST["@context"], "@type": "DatasetRequestMessage"}, 400),
        ({"@type": "CatalogRequestMessage"}, 400),
        ({"@context": ["https://example.org/remote.jsonld"], "@type": "X"}, 400),
    ],
)
async def test_bad_requests_are_400_catalog_errors(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    body: dict[str, Any],
    status: int,
) -> None:
    response = await _catalog(provider, dataspace, http, body=body)
    assert response.status_code == status, response.text
    assert response.json()["@type"] == "CatalogError"
    assert response.json()["code"] == str(status)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["keyword=camping"], {"booking-barometer"}),
        (["keyword=fréquentation"], {"visitor-presence"}),
        (["theme=ENVI"], {"sustainable-tourism-indicators"}),
        (["spatial=FRJ"], set(DATASETS)),
        (["spatial=DE1"], set()),
        (
            ["temporal=2024-07-01/2024-07-01"],
            {"visitor-presence", "sustainable-tourism-indicators"},
        ),
        (["temporal=2025-06-01/.."], {"booking-barometer"}),
    ],
)
async def test_filters(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    filters: list[str],
    expected: set[str],
) -> None:
    response = await _catalog(
        provider, dataspace, http, body={**CATALOG_REQUEST, "filter": filters}
    )
    assert response.status_code == 200, response.text
    ids = {i.split("~")[0] for i in _dataset_ids(response.json())}
    assert ids == expected


async def test_pages_are_linked_with_continuation_tokens(
    dataspace: Dataspace, database: Database, sample_data: Path, http: httpx.AsyncClient
) -> None:
    provider = make_provider(dataspace, database, sample_data, page_size=2)
    try:
        await provider.add_assets()
        define_contracts(database)
        first = await _catalog(provider, dataspace, http)
        assert first.status_code == 200
        assert first.links["next"]["url"]
        assert "previous" not in first.links
        second = await _catalog(provider, dataspace, http, params=_token(first, "next"))
        assert "next" not in second.links
        back = await _catalog(provider, dataspace, http, params=_token(second, "previous"))
        page_ids = [_assets(r) for r in (first, second, back)]
        assert page_ids[0] == page_ids[2]
        assert sorted(page_ids[0] + page_ids[1]) == sorted(DATASETS)
        for token in ("!!", "eyJhIjogIlx1ZDgwMCJ9"):  # the second: {"a": "\ud800"}
            bad = await _catalog(provider, dataspace, http, params={"continuationToken": token})
            assert bad.status_code == 400, bad.text
            assert bad.json()["@type"] == "CatalogError"
    finally:
        await provider.node.identity.aclose()


def _token(response: httpx.Response, relation: str) -> dict[str, str]:
    url = httpx.URL(response.links[relation]["url"])
    return {"continuationToken": url.params["continuationToken"]}


def _assets(response: httpx.Response) -> list[str]:
    return sorted({i.split("~")[0] for i in _dataset_ids(response.json())})


async def test_gzip_and_rdf_content_negotiation(
    provider: Provider, dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    compressed = await _catalog(provider, dataspace, http, headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert json.loads(compressed.content)["@type"] == "Catalog"  # httpx decoded it
    raw = await _catalog(
        provider, dataspace, http, headers={"Accept": "text/turtle", "Accept-Encoding": "identity"}
    )
    assert raw.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=raw.text, format="turtle")
    # what EU portals harvest validates against the official DCAT-AP 3.0.1 shapes
    harvested = validate(graph, shapes=official_shapes())
    assert harvested.conforms, harvested.violations
    assert validate(graph).conforms
    datasets = set(graph.subjects(rdflib.RDF.type, DCAT.Dataset))
    assert rdflib.URIRef(
        "http://node-b.test/protocol/2025-1/catalog/datasets/booking-barometer"
    ) in (datasets | set(graph.subjects(rdflib.RDF.type, DCAT.DatasetSeries)))


@contextmanager
def _selects(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        if str(args[2]).lstrip().upper().startswith("SELECT"):
            seen.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


async def test_statements_per_catalogue_request_do_not_grow_with_datasets(
    provider: Provider, dataspace: Dataspace, database: Database, http: httpx.AsyncClient
) -> None:
    await _catalog(provider, dataspace, http)  # warm the JWKS cache
    with _selects(database) as few:
        assert (await _catalog(provider, dataspace, http)).status_code == 200
    extra = {f"indicators-copy-{i:02d}": "indicators" for i in range(12)}
    await provider.add_assets(extra)
    define_contracts(database, extra)
    with _selects(database) as many:
        response = await _catalog(provider, dataspace, http)
    assert len(_assets(response)) == 15
    assert len(many) == len(few) <= 4

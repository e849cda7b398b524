"""Two nodes and the dataspace authority, each a real process on 127.0.0.1: the consumer fetches
the provider's DSP catalogue with real tokens and searches it; the TCK's catalogue checks
(MET:01-01, CAT:01-01…03) run against the provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, Dataspace
from dsp_schemas import errors
from two_nodes import API_KEY, TCK_DATASETS, TwoNodes, start_two_nodes

from connector.identity.auth import DataspaceAuth

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

ROOT = Path(__file__).resolve().parents[2]
CATALOG_REQUEST = {
    "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
    "@type": "CatalogRequestMessage",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def two_nodes(dataspace: Dataspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    with start_two_nodes(dataspace, tmp_path_factory.mktemp("two-nodes")) as nodes:
        yield nodes


@pytest.fixture
async def as_consumer(
    dataspace: Dataspace, two_nodes: TwoNodes
) -> AsyncIterator[httpx.AsyncClient]:
    """A DSP client holding node A's credentials, calling the provider process."""
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        tokens = dataspace.token_client(NODE_A, http)
        async with httpx.AsyncClient(
            base_url=two_nodes.provider.url + "/protocol/2025-1",
            auth=DataspaceAuth(tokens, audience=NODE_B),
            trust_env=False,
            timeout=10,
        ) as client:
            yield client


async def test_consumer_fetches_and_searches_the_providers_catalogue(two_nodes: TwoNodes) -> None:
    async with httpx.AsyncClient(
        base_url=two_nodes.consumer.url, headers={"X-Api-Key": API_KEY}, timeout=30
    ) as admin:
        fetched = await admin.post(
            "/management/v3/catalog/request",
            json={
                "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
                "@type": "CatalogRequest",
                "counterPartyAddress": two_nodes.provider.url + "/protocol/2025-1",
                "counterPartyId": NODE_B,
                "protocol": "dataspace-protocol-http:2025-1",
            },
        )
        assert fetched.status_code == 200, fetched.text
        catalogue = fetched.json()
        ids = {d["@id"] for d in catalogue["dcat:dataset"]}
        assert {"booking-barometer", "visitor-presence", *TCK_DATASETS} <= ids
        found = await admin.get("/management/v3/catalog/search", params={"q": "camping"})
        assert found.status_code == 200, found.text
        hits = found.json()["hits"]
        assert hits
        assert hits[0]["participantId"] == NODE_B
        assert hits[0]["dataset"]["@id"] == "booking-barometer"
        region = two_nodes.barometer_regions[0]
        regional = await admin.get(
            "/management/v3/catalog/search", params={"region": region[:3], "limit": 200}
        )
        assert "booking-barometer" in {h["dataset"]["@id"] for h in regional.json()["hits"]}
        elsewhere = await admin.get("/management/v3/catalog/search", params={"region": "DE"})
        assert elsewhere.json()["total"] == 0
        refused = await admin.post(
            "/management/v3/catalog/request",
            json={"counterPartyAddress": "http://10.1.2.3/dsp", "counterPartyId": NODE_B},
        )
        assert refused.status_code == 400
        assert refused.json()["type"] == "urn:etds:problem:outbound-url-refused"


async def test_tck_met_01_01(two_nodes: TwoNodes) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(two_nodes.provider.url + "/.well-known/dspace-version")
    assert response.status_code == 200
    entries = [v for v in response.json()["protocolVersions"] if v["version"] == "2025-1"]
    assert entries
    assert entries[0]["path"]
    assert entries[0]["binding"]


async def test_tck_cat_01_01_catalog_request(as_consumer: httpx.AsyncClient) -> None:
    response = await as_consumer.post("/catalog/request", json=CATALOG_REQUEST)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert errors("catalog/catalog-schema.json", document) == []
    assert "CAT0101" in {dataset["@id"] for dataset in document["dataset"]}


async def test_tck_cat_01_02_dataset_request(as_consumer: httpx.AsyncClient) -> None:
    response = await as_consumer.get("/catalog/datasets/CAT0102")
    assert response.status_code == 200, response.text
    assert errors("catalog/dataset-schema.json", response.json()) == []
    assert response.json()["@id"] == "CAT0102"


async def test_tck_cat_01_03_unknown_dataset(as_consumer: httpx.AsyncClient) -> None:
    response = await as_consumer.get("/catalog/datasets/CAT0103")
    assert response.status_code == 404
    assert response.json()["@type"] == "CatalogError"
    assert errors("catalog/catalog-error-schema.json", response.json()) == []

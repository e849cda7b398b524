"""/management/v3/catalog/search over the node's own catalogue (the administrators' view: every
dataset, every offer the node makes)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from management_support import EDC, OPEN_POLICY, UNREADABLE_POLICY, node_of, seed_offer

from connector.catalogue.offers import OfferRef
from connector.settings import DEVELOPMENT_API_KEY
from connector.store.records import AssetRecord
from connector.store.repositories.assets import AssetRepository

HEADERS = {"X-Api-Key": DEVELOPMENT_API_KEY}
SEARCH = "/management/v3/catalog/search"


def _offers(hit: dict[str, Any]) -> list[str]:
    policies = hit["dataset"].get("hasPolicy", [])
    return [OfferRef.parse(offer["@id"]).definition_id for offer in policies]


def test_a_contract_policy_this_node_cannot_read_makes_no_offer_in_search(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    seed_offer(client, "visits", "cd-visits", OPEN_POLICY)
    seed_offer(client, "visits", "cd-legacy-visits", UNREADABLE_POLICY)
    seed_offer(client, "nights", "cd-legacy-nights", UNREADABLE_POLICY)
    caplog.set_level(logging.WARNING, logger="etds.catalogue")
    response = client.get(SEARCH, headers=HEADERS)
    assert response.status_code == 200, response.text
    hits = {hit["dataset"]["@id"]: hit for hit in response.json()["hits"]}
    assert _offers(hits["visits"]) == ["cd-visits"]
    assert _offers(hits["nights"]) == []  # listed, as every dataset of the node, without offers
    warned = [
        (record.definition, record.policy)
        for record in caplog.records
        if record.getMessage() == "contract policy unreadable: no offer made"
    ]
    assert sorted(warned) == [
        ("cd-legacy-nights", "cd-legacy-nights-contract"),
        ("cd-legacy-visits", "cd-legacy-visits-contract"),
    ]


def test_an_asset_no_contract_definition_selects_is_found_without_offers(
    client: TestClient,
) -> None:
    now = datetime.now(UTC)
    with node_of(client).database.transaction() as session:
        AssetRepository(session).create(
            AssetRecord(
                id="unoffered",
                properties={EDC + "id": "unoffered", EDC + "name": "Not offered yet"},
                data_address={"type": "LocalFile", "path": "unoffered/"},
                created_at=now,
                updated_at=now,
            )
        )
    response = client.get(SEARCH, headers=HEADERS, params={"q": "offered"})
    assert response.status_code == 200, response.text
    [hit] = response.json()["hits"]
    assert (hit["dataset"]["@id"], _offers(hit)) == ("unoffered", [])


def test_an_asset_the_catalogue_cannot_show_is_left_out_not_an_error(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Stored before the API refused such values (see test_assets_api): the search (and the
    DSP catalogue, built the same way) leaves it out with a warning; the others are found."""
    seed_offer(client, "visits", "cd-visits", OPEN_POLICY)
    now = datetime.now(UTC)
    with node_of(client).database.transaction() as session:
        AssetRepository(session).create(
            AssetRecord(
                id="legacy",
                properties={
                    EDC + "id": "legacy",
                    EDC + "name": "Stored by an older version",
                    "http://www.w3.org/ns/dcat#theme": {"@id": "relative"},
                },
                data_address={"type": "LocalFile", "path": "legacy/"},
                created_at=now,
                updated_at=now,
            )
        )
    caplog.set_level(logging.WARNING, logger="etds.catalogue")
    response = client.get(SEARCH, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert [hit["dataset"]["@id"] for hit in response.json()["hits"]] == ["visits"]
    [warning] = [
        r
        for r in caplog.records
        if r.getMessage() == "asset cannot be shown in the catalogue: left out"
    ]
    assert warning.asset == "legacy"

"""A contract definition whose contract policy this version of the node cannot read (stored by
an older version, bypassing today's validation) makes no offer over the DSP: the catalogue and
its datasets leave it out, with a warning naming the definition and the policy, and a contract
request for it is refused as for an offer the node does not make (never a 500)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, Dataspace
from dsp_provider import CATALOG_REQUEST, EDC_ID, Provider
from dsp_schemas import errors

from connector.catalogue.offers import OfferRef
from connector.store.database import Database
from connector.store.records import ContractDefinitionRecord, PolicyDefinitionRecord
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.policies import PolicyDefinitionRepository

pytestmark = pytest.mark.anyio
DSP = "https://w3id.org/dspace/2025/1/context.jsonld"
UNREADABLE = {"@context": {"@vocab": "https://example.org/"}, "@type": "Whatever"}
NO_OFFER = "contract policy unreadable: no offer made"


def _legacy_offers(database: Database) -> None:
    """A second definition offers the presence counts under a contract policy this version
    cannot read; the barometer's only definition's contract policy becomes one too."""
    now = datetime.now(UTC)
    with database.transaction() as session:
        policies = PolicyDefinitionRepository(session)
        policies.create(
            PolicyDefinitionRecord(
                id="legacy-contract", policy=UNREADABLE, created_at=now, updated_at=now
            )
        )
        policies.update(replace(policies.get("barometer-contract"), policy=UNREADABLE))
        ContractDefinitionRepository(session).create(
            ContractDefinitionRecord(
                id="cd-legacy",
                access_policy_id="presence-access",
                contract_policy_id="legacy-contract",
                assets_selector=[
                    {"operandLeft": EDC_ID, "operator": "=", "operandRight": "visitor-presence"}
                ],
                created_at=now,
                updated_at=now,
            )
        )


def _definitions(dataset: dict[str, Any]) -> list[str]:
    return [OfferRef.parse(offer["@id"]).definition_id for offer in dataset["hasPolicy"]]


def _hidden(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    found = [r for r in caplog.records if r.getMessage() == NO_OFFER]
    caplog.clear()
    return sorted((r.definition, r.policy) for r in found)


async def test_the_catalogue_leaves_out_offers_it_cannot_read(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _legacy_offers(provider.node.database)
    caplog.set_level(logging.WARNING, logger="etds.catalogue")
    async with provider.client(dataspace, NODE_A, http) as client:
        response = await client.post("/protocol/2025-1/catalog/request", json=CATALOG_REQUEST)
        assert response.status_code == 200, response.text
        assert _hidden(caplog) == [
            ("cd-booking-barometer", "barometer-contract"),
            ("cd-legacy", "legacy-contract"),
        ]
        document = response.json()
        assert errors("catalog/catalog-schema.json", document) == []
        datasets = {dataset["@id"]: dataset for dataset in document["dataset"]}
        assert not [i for i in datasets if i.startswith("booking-barometer")]  # no other offer
        assert _definitions(datasets["visitor-presence"]) == ["cd-visitor-presence"]


async def test_a_dataset_leaves_out_offers_it_cannot_read(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _legacy_offers(provider.node.database)
    caplog.set_level(logging.WARNING, logger="etds.catalogue")
    async with provider.client(dataspace, NODE_A, http) as client:
        presence = await client.get("/protocol/2025-1/catalog/datasets/visitor-presence")
        assert presence.status_code == 200, presence.text
        assert _definitions(presence.json()) == ["cd-visitor-presence"]
        barometer = await client.get("/protocol/2025-1/catalog/datasets/booking-barometer")
        assert barometer.status_code == 404, barometer.text
        assert barometer.json()["@type"] == "CatalogError"
    assert _hidden(caplog) == [
        ("cd-booking-barometer", "barometer-contract"),
        ("cd-booking-barometer", "barometer-contract"),
        ("cd-legacy", "legacy-contract"),
        ("cd-legacy", "legacy-contract"),
    ]  # once per request


async def test_a_contract_request_for_an_offer_it_cannot_read_is_refused(
    provider: Provider, dataspace: Dataspace, http: httpx.AsyncClient
) -> None:
    async with provider.client(dataspace, NODE_A, http) as client:
        catalogue = await client.post("/protocol/2025-1/catalog/request", json=CATALOG_REQUEST)
        assert catalogue.status_code == 200, catalogue.text
        barometer = next(d for d in catalogue.json()["dataset"] if d["@id"] == "booking-barometer")
        _legacy_offers(provider.node.database)  # after the consumer read the catalogue
        response = await client.post(
            "/protocol/2025-1/negotiations/request",
            json={
                "@context": [DSP],
                "@type": "ContractRequestMessage",
                "consumerPid": "urn:uuid:consumer-legacy",
                "offer": {**barometer["hasPolicy"][0], "target": "booking-barometer"},
                "callbackAddress": "http://127.0.0.1:9/protocol/2025-1",
            },
        )
    assert response.status_code == 400, response.text
    document = response.json()
    assert document["@type"] == "ContractNegotiationError"
    assert errors("negotiation/contract-negotiation-error-schema.json", document) == []
    assert "no such offer for you" in " ".join(document["reason"])

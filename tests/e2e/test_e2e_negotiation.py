"""Contract negotiation between two real nodes (separate processes) with real tokens: the
consumer's administrator starts a negotiation from the provider's catalogue; the provider
decides automatically by its contract policy; both sides end FINALIZED with the same agreement,
or TERMINATED with the reason."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, Dataspace
from two_nodes import API_KEY, TwoNodes, start_two_nodes

pytestmark = pytest.mark.e2e

EDC_VOCAB = "https://w3id.org/edc/v0.0.1/ns/"
OFFICIAL_STATISTICS = "https://w3id.org/dpv#ProvideOfficialStatistics"
FINAL = ("FINALIZED", "TERMINATED")


@pytest.fixture(scope="module")
def nodes(dataspace: Dataspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    with start_two_nodes(dataspace, tmp_path_factory.mktemp("negotiation")) as started:
        yield started


def _admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"X-Api-Key": API_KEY}, timeout=30, trust_env=False)


def _offer(nodes: TwoNodes, dataset_id: str) -> tuple[dict[str, Any], Any]:
    """The provider's offer for ``dataset_id`` as the consumer's catalogue request shows it."""
    with _admin(nodes.consumer.url) as admin:
        response = admin.post(
            "/management/v3/catalog/request",
            json={
                "@context": {"@vocab": EDC_VOCAB},
                "counterPartyAddress": nodes.provider.url + "/protocol/2025-1",
                "counterPartyId": NODE_B,
            },
        )
    assert response.status_code == 200, response.text
    catalogue = response.json()
    dataset = next(d for d in catalogue["dcat:dataset"] if d["@id"] == dataset_id)
    offers = dataset["odrl:hasPolicy"]
    offer = offers[0] if isinstance(offers, list) else offers
    return {**offer, "odrl:target": {"@id": dataset_id}}, catalogue["@context"]


def _negotiate(nodes: TwoNodes, dataset_id: str, **extra: Any) -> str:
    offer, context = _offer(nodes, dataset_id)
    with _admin(nodes.consumer.url) as admin:
        response = admin.post(
            "/management/v3/contractnegotiations",
            json={
                "@context": context,
                "@type": "ContractRequest",
                "counterPartyAddress": nodes.provider.url + "/protocol/2025-1",
                "counterPartyId": NODE_B,
                "protocol": "dataspace-protocol-http:2025-1",
                "policy": offer,
                **extra,
            },
        )
    assert response.status_code == 200, response.text
    return str(response.json()["@id"])


def _wait(url: str, negotiation_id: str, states: tuple[str, ...] = FINAL) -> dict[str, Any]:
    """The negotiation once it reaches one of ``states`` (fails after a generous deadline)."""
    deadline = time.monotonic() + 30
    with _admin(url) as admin:
        while True:
            response = admin.get(f"/management/v3/contractnegotiations/{negotiation_id}")
            assert response.status_code == 200, response.text
            negotiation: dict[str, Any] = response.json()
            if negotiation["state"] in states:
                return negotiation
            assert time.monotonic() < deadline, f"still {negotiation['state']}: {negotiation}"
            time.sleep(0.05)


def _provider_side(nodes: TwoNodes, consumer_pid: str) -> dict[str, Any]:
    with _admin(nodes.provider.url) as admin:
        response = admin.post(
            "/management/v3/contractnegotiations/request",
            json={
                "@context": {"@vocab": EDC_VOCAB},
                "filterExpression": [
                    {"operandLeft": "consumerPid", "operator": "=", "operandRight": consumer_pid}
                ],
            },
        )
    assert response.status_code == 200, response.text
    found = response.json()
    assert len(found) == 1
    return _wait(nodes.provider.url, found[0]["@id"])


def test_open_indicators_are_agreed_and_finalized_on_both_sides(nodes: TwoNodes) -> None:
    negotiation_id = _negotiate(nodes, "sustainable-tourism-indicators")
    consumer = _wait(nodes.consumer.url, negotiation_id)
    assert consumer["state"] == "FINALIZED", consumer
    provider = _provider_side(nodes, consumer["consumerPid"])
    assert provider["state"] == "FINALIZED"
    assert provider["providerPid"] == consumer["providerPid"]
    agreement_id = consumer["contractAgreementId"]
    assert provider["contractAgreementId"] == agreement_id
    for url, other in ((nodes.consumer.url, NODE_B), (nodes.provider.url, NODE_A)):
        with _admin(url) as admin:
            agreement = admin.get(f"/management/v3/contractagreements/{agreement_id}").json()
        assert agreement["providerId"] == NODE_B
        assert agreement["consumerId"] == NODE_A
        assert agreement["assetId"] == "sustainable-tourism-indicators"
        assert agreement["policy"]["odrl:assigner"] == {"@id": NODE_B}
        assert agreement["policy"]["odrl:assignee"] == {"@id": NODE_A}
        assert agreement["policy"]["odrl:target"] == {"@id": "sustainable-tourism-indicators"}
        assert other in (agreement["providerId"], agreement["consumerId"])
    with _admin(nodes.consumer.url) as admin:
        history = admin.get(f"/management/v3/contractnegotiations/{negotiation_id}/history")
    kinds = [(m["direction"], m["type"]) for m in history.json()]
    assert kinds == [
        ("out", "ContractRequestMessage"),
        ("in", "ContractAgreementMessage"),
        ("out", "ContractAgreementVerificationMessage"),
        ("in", "ContractNegotiationEventMessage"),
    ]


def test_the_barometer_needs_the_declared_purpose(nodes: TwoNodes) -> None:
    refused = _wait(nodes.consumer.url, _negotiate(nodes, "booking-barometer"))
    assert refused["state"] == "TERMINATED"
    assert "purpose" in refused["errorDetail"]
    assert "contractAgreementId" not in refused
    agreed = _wait(
        nodes.consumer.url,
        _negotiate(nodes, "booking-barometer", purpose={"@id": OFFICIAL_STATISTICS}),
    )
    assert agreed["state"] == "FINALIZED", agreed
    with _admin(nodes.consumer.url) as admin:
        agreement = admin.get(
            f"/management/v3/contractagreements/{agreed['contractAgreementId']}"
        ).json()
    assert agreement["purpose"] == OFFICIAL_STATISTICS

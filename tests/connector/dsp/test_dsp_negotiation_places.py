"""The negotiation endpoints hand the message they make due to the dispatcher (a place: sent
right after the answer, no claim) where database work runs on the event loop (SQLite; PostgreSQL
as the tests' ``database`` fixture opens it).

An in-process provider node (the full application, its lifespan running the dispatcher) with
no identity of its own to call peers with: every message it sends fails at once as "unsent", so
the negotiation ends TERMINATED without any network. The test counts the dispatcher's claims:
with places, the message never goes through one."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, NODE_C, Dataspace
from dsp_provider import CATALOG_REQUEST, Provider, define_contracts
from dsp_provider import provider_app as make_provider

from connector.negotiation.dispatcher import Claimed
from connector.store.database import Database
from connector.store.records import NegotiationRecord
from connector.store.repositories.negotiations import NegotiationRepository

pytestmark = pytest.mark.anyio
DSP = "https://w3id.org/dspace/2025/1/context.jsonld"
NEGOTIATIONS = "/management/v3/contractnegotiations"


@pytest.fixture
async def provider(
    dataspace: Dataspace, database: Database, sample_data: Path
) -> AsyncIterator[Provider]:
    created = make_provider(dataspace, database, sample_data)
    await created.add_assets()
    define_contracts(database)
    try:
        async with created.app.router.lifespan_context(created.app):
            yield created
    finally:
        await created.node.identity.aclose()


def _count_claims(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the negotiations the provider's dispatcher claims from now on."""
    dispatcher = provider.node.negotiation_dispatcher
    claim = dispatcher._claim
    claimed: list[str] = []

    def counted(limit: int, to_peer: Mapping[str, int]) -> Claimed:
        result = claim(limit, to_peer)
        claimed.extend(record.id for record in result.records)
        return result

    monkeypatch.setattr(dispatcher, "_claim", counted)
    return claimed


async def _request(client: httpx.AsyncClient, consumer_pid: str, callback: str) -> httpx.Response:
    """A contract request for the offer the provider's catalogue shows for visitor-presence."""
    catalogue = await client.post("/protocol/2025-1/catalog/request", json=CATALOG_REQUEST)
    assert catalogue.status_code == 200, catalogue.text
    dataset = next(d for d in catalogue.json()["dataset"] if d["@id"] == "visitor-presence")
    return await client.post(
        "/protocol/2025-1/negotiations/request",
        json={
            "@context": [DSP],
            "@type": "ContractRequestMessage",
            "consumerPid": consumer_pid,
            "offer": {**dataset["hasPolicy"][0], "target": "visitor-presence"},
            "callbackAddress": callback,
        },
    )


async def _terminated(admin: httpx.AsyncClient, negotiation_id: str) -> dict[str, Any]:
    for _ in range(500):
        response = await admin.get(f"{NEGOTIATIONS}/{negotiation_id}")
        assert response.status_code == 200, response.text
        if response.json()["state"] == "TERMINATED":
            break
        await asyncio.sleep(0.01)
    negotiation: dict[str, Any] = response.json()
    assert negotiation["state"] == "TERMINATED"
    return negotiation


async def test_a_contract_request_sends_its_answer_from_a_place(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claimed = _count_claims(provider, monkeypatch)
    async with provider.client(dataspace, NODE_A, http) as client:
        response = await _request(
            client, "urn:uuid:consumer-places", "http://127.0.0.1:9/protocol/2025-1"
        )
    assert response.status_code == 201, response.text
    async with provider.admin() as admin:
        query = await admin.post(f"{NEGOTIATIONS}/request", json={})
        [found] = [n for n in query.json() if n["consumerPid"] == "urn:uuid:consumer-places"]
        negotiation = await _terminated(admin, found["@id"])
    assert "no identity" in negotiation["errorDetail"]
    assert claimed == []  # sent from the request's place, not claimed
    assert provider.node.negotiation_dispatcher.places_kept == 0


async def test_an_administrators_new_negotiation_sends_its_request_from_a_place(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    claimed = _count_claims(provider, monkeypatch)
    async with provider.admin() as admin:
        response = await admin.post(
            NEGOTIATIONS,
            json={
                "@context": {
                    "@vocab": "https://w3id.org/edc/v0.0.1/ns/",
                    "odrl": "http://www.w3.org/ns/odrl/2/",
                },
                "@type": "ContractRequest",
                "counterPartyAddress": "http://127.0.0.1:9/protocol/2025-1",
                "counterPartyId": "urn:etds:participant:c",
                "protocol": "dataspace-protocol-http:2025-1",
                "policy": {
                    "@id": "urn:uuid:offer-1",
                    "@type": "odrl:Offer",
                    "odrl:assigner": {"@id": "urn:etds:participant:c"},
                    "odrl:target": {"@id": "some-dataset"},
                    "odrl:permission": [{"odrl:action": {"@id": "odrl:use"}}],
                },
            },
        )
        assert response.status_code == 200, response.text
        negotiation = await _terminated(admin, response.json()["@id"])
    assert "no identity" in negotiation["errorDetail"]
    assert claimed == []
    assert provider.node.negotiation_dispatcher.places_kept == 0


async def test_an_agreement_sends_the_verification_from_a_place(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message on a negotiation under way (here the node is the consumer, C the provider):
    the verification it makes due (autoAccept) is sent from the agreement's place."""
    terms = {"target": "some-dataset", "assigner": NODE_C, "permission": [{"action": "use"}]}
    now = datetime.now(UTC)
    with provider.node.database.transaction() as session:
        NegotiationRepository(session).create(
            NegotiationRecord(
                id="urn:uuid:consumer-n",
                role="consumer",
                state="REQUESTED",
                counterparty_id=NODE_C,
                counterparty_address="http://127.0.0.1:9/protocol/2025-1",
                protocol="dataspace-protocol-http:2025-1",
                asset_id="some-dataset",
                provider_pid="urn:uuid:provider-n",
                consumer_pid="urn:uuid:consumer-n",
                offer={"@id": "urn:uuid:offer-1", "@type": "Offer", **terms},
                offered_by="provider",
                mode="auto",
                created_at=now,
                updated_at=now,
            )
        )
    claimed = _count_claims(provider, monkeypatch)
    agreement = {
        "@id": "urn:uuid:agreement-n",
        "@type": "Agreement",
        **terms,
        "assignee": NODE_B,
        "timestamp": "2026-12-07T10:00:00Z",
    }
    async with provider.client(dataspace, NODE_C, http) as client:
        response = await client.post(
            "/protocol/2025-1/negotiations/urn:uuid:consumer-n/agreement",
            json={
                "@context": [DSP],
                "@type": "ContractAgreementMessage",
                "providerPid": "urn:uuid:provider-n",
                "consumerPid": "urn:uuid:consumer-n",
                "agreement": agreement,
            },
        )
    assert response.status_code == 200, response.text
    async with provider.admin() as admin:
        negotiation = await _terminated(admin, "urn:uuid:consumer-n")
    assert "no identity" in negotiation["errorDetail"]
    assert "verif" in negotiation["errorDetail"]
    assert claimed == []
    assert provider.node.negotiation_dispatcher.places_kept == 0


async def test_an_unsolicited_offer_wakes_no_dispatcher(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A provider's first offer leaves the negotiation OFFERED, waiting for an administrator:
    nothing is due, so the dispatcher is not woken (it would claim nothing)."""
    wakes: list[None] = []
    monkeypatch.setattr(provider.node.negotiation_dispatcher, "wake", lambda: wakes.append(None))
    claimed = _count_claims(provider, monkeypatch)
    async with provider.client(dataspace, NODE_C, http) as client:
        response = await client.post(
            "/protocol/2025-1/negotiations/offers",
            json={
                "@context": [DSP],
                "@type": "ContractOfferMessage",
                "providerPid": "urn:uuid:provider-unsolicited",
                "offer": {
                    "@id": "urn:uuid:offer-unsolicited",
                    "@type": "Offer",
                    "target": "some-dataset",
                    "assigner": NODE_C,
                    "permission": [{"action": "use"}],
                },
                "callbackAddress": "http://127.0.0.1:9/protocol/2025-1",
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["state"] == "OFFERED"
    # httpx's ASGI transport returns once the application is done, its background tasks too
    assert wakes == []
    assert claimed == []


async def test_a_callback_address_is_not_resolved_on_the_event_loop(
    provider: Provider,
    dataspace: Dataspace,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow DNS answer for the host a peer gives as its callback must not stall the node: the
    name is resolved on a thread, not on the event loop nor inside the request's transaction.
    (No connection is made: this node has no identity to call peers with.)"""
    resolved_on: list[str] = []
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "callback.example":
            resolved_on.append(threading.current_thread().name)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port or 80))]
        return original(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    loop_thread = threading.current_thread().name
    async with provider.client(dataspace, NODE_A, http) as client:
        response = await _request(
            client, "urn:uuid:consumer-dns", "http://callback.example:9/protocol/2025-1"
        )
    assert response.status_code == 201, response.text
    assert resolved_on  # the address was checked
    assert loop_thread not in resolved_on  # ... but not by blocking the event loop

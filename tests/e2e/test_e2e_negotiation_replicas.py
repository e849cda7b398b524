"""Two replicas of each node on one PostgreSQL database per node, behind round-robin TCP load
balancers: every replica receives DSP messages and every replica's dispatcher competes for the
messages to send. Forty negotiations started through both consumer replicas must all end
FINALIZED on both sides, each message sent exactly once (none lost, none twice), one agreement
per negotiation on each side."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, Dataspace
from dsp_provider import DATASETS, define_contracts, generate_data
from pg_cluster import PostgresCluster
from tcp_balancer import tcp_balancer
from two_nodes import API_KEY, add_assets, write_config

from connector.store.database import Database
from connector.store.migrate import upgrade
from etds_examples.nodeproc import RunningService, free_port, run_node

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EDC_VOCAB = "https://w3id.org/edc/v0.0.1/ns/"
NEGOTIATIONS = "/management/v3/contractnegotiations"
PROTOCOL = "/protocol/2025-1"
DATASET = "sustainable-tourism-indicators"
COUNT = 40
DEADLINE_SECONDS = 120
# Every replica polls often, so that both dispatchers of a node really compete for each message.
NEGOTIATION_CONFIG = """
[negotiation]
poll_seconds = 0.02
retry_base_seconds = 0.05
retry_max_seconds = 1
lease_seconds = 15
timeout_seconds = 10
"""
CONSUMER_SENDS = ["ContractRequestMessage", "ContractAgreementVerificationMessage"]
PROVIDER_SENDS = ["ContractAgreementMessage", "ContractNegotiationEventMessage"]


@dataclass
class Side:
    """One participant's node: its address (the balancer) and its replicas."""

    url: str
    replicas: list[RunningService]
    connections: dict[int, int]


@dataclass
class Replicated:
    provider: Side
    consumer: Side


def _migrated(cluster: PostgresCluster, name: str) -> str:
    url = cluster.create_database(name)
    database = Database.from_url(url)
    try:
        upgrade(database)
    finally:
        database.dispose()
    return url


def _side(
    stack: ExitStack,
    root: Path,
    dataspace: Dataspace,
    *,
    participant: str,
    database_url: str,
    data: Path,
    run_on_loop: str,
) -> Side:
    """Two replicas of ``participant`` behind a balancer whose address is the public URL."""
    public_port = free_port()
    ports = [free_port(), free_port()]
    config = write_config(
        root / f"{participant}.toml",
        participant=participant,
        port=public_port,
        dataspace=dataspace,
        data=data,
        db=database_url,
        extra=NEGOTIATION_CONFIG,
        run_on_loop=run_on_loop,
    )
    replicas = [
        stack.enter_context(
            run_node(config, port=port, log_file=root / f"{participant}-{index}.log")
        )
        for index, port in enumerate(ports)
    ]
    connections = stack.enter_context(tcp_balancer(public_port, ports))
    return Side(f"http://127.0.0.1:{public_port}", replicas, connections)


@pytest.fixture(scope="module")
def replicated(
    dataspace: Dataspace, pg_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicated]:
    root = tmp_path_factory.mktemp("replicas")
    data = generate_data(root / "data")
    provider_db = _migrated(pg_cluster, "replicas_provider")
    consumer_db = _migrated(pg_cluster, "replicas_consumer")
    database = Database.from_url(provider_db)
    try:
        define_contracts(database, DATASETS)
    finally:
        database.dispose()
    with ExitStack() as stack:
        # Both ways of running the database work: the provider's replicas on the event loop
        # (with places), the consumer's on worker threads (the default on PostgreSQL).
        provider = _side(
            stack,
            root,
            dataspace,
            participant=NODE_B,
            database_url=provider_db,
            data=data,
            run_on_loop="always",
        )
        consumer = _side(
            stack,
            root,
            dataspace,
            participant=NODE_A,
            database_url=consumer_db,
            data=data,
            run_on_loop="auto",
        )
        add_assets(provider.replicas[0].url)
        yield Replicated(provider, consumer)
    pg_cluster.drop_database("replicas_provider")
    pg_cluster.drop_database("replicas_consumer")


def _admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"X-Api-Key": API_KEY}, timeout=30, trust_env=False)


def _offer(replicated: Replicated) -> tuple[dict[str, Any], Any]:
    with _admin(replicated.consumer.url) as admin:
        response = admin.post(
            "/management/v3/catalog/request",
            json={
                "@context": {"@vocab": EDC_VOCAB},
                "counterPartyAddress": replicated.provider.url + "/protocol/2025-1",
                "counterPartyId": NODE_B,
            },
        )
    assert response.status_code == 200, response.text
    catalogue = response.json()
    dataset = next(d for d in catalogue["dcat:dataset"] if d["@id"] == DATASET)
    offers = dataset["odrl:hasPolicy"]
    offer = offers[0] if isinstance(offers, list) else offers
    return {**offer, "odrl:target": {"@id": DATASET}}, catalogue["@context"]


def _start(url: str, provider_url: str, offer: dict[str, Any], context: Any) -> str:
    with _admin(url) as admin:
        response = admin.post(
            NEGOTIATIONS,
            json={
                "@context": context,
                "@type": "ContractRequest",
                "counterPartyAddress": provider_url + "/protocol/2025-1",
                "counterPartyId": NODE_B,
                "protocol": "dataspace-protocol-http:2025-1",
                "policy": offer,
            },
        )
    assert response.status_code == 200, response.text
    return str(response.json()["@id"])


def _query(url: str, **equal: str) -> list[dict[str, Any]]:
    with _admin(url) as admin:
        response = admin.post(
            f"{NEGOTIATIONS}/request",
            json={
                "@context": {"@vocab": EDC_VOCAB},
                "limit": 1000,
                "filterExpression": [
                    {"operandLeft": key, "operator": "=", "operandRight": value}
                    for key, value in equal.items()
                ],
            },
        )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def _wait_all_final(url: str, role: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        negotiations = _query(url, role=role)
        final = [n for n in negotiations if n["state"] in ("FINALIZED", "TERMINATED")]
        if len(negotiations) >= count and len(final) == len(negotiations):
            return negotiations
        assert time.monotonic() < deadline, (
            f"{len(final)} of {len(negotiations)} {role} negotiations final: "
            + str(sorted({n["state"] for n in negotiations}))
        )
        time.sleep(0.2)


def _history(url: str, negotiation_id: str) -> list[tuple[str, str]]:
    with _admin(url) as admin:
        response = admin.get(f"{NEGOTIATIONS}/{negotiation_id}/history")
    assert response.status_code == 200, response.text
    return [(message["direction"], message["type"]) for message in response.json()]


def _agreements(url: str) -> list[dict[str, Any]]:
    with _admin(url) as admin:
        response = admin.post(
            "/management/v3/contractagreements/request",
            json={"@context": {"@vocab": EDC_VOCAB}, "limit": 1000},
        )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def _received(side: Side) -> Counter[str]:
    """How many times each DSP negotiation path was POSTed to, over all replicas (their access
    logs)."""
    received: Counter[str] = Counter()
    for replica in side.replicas:
        for line in replica.log_file.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            path = str(entry.get("path", ""))
            if (
                entry.get("msg") == "request"
                and entry.get("method") == "POST"
                and path.startswith(PROTOCOL + "/negotiations")
            ):
                received[path.removeprefix(PROTOCOL)] += 1
    return received


def test_two_replicas_per_node_send_each_message_exactly_once(replicated: Replicated) -> None:
    offer, context = _offer(replicated)
    consumer_urls = [replica.url for replica in replicated.consumer.replicas]
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = list(
            pool.map(
                lambda index: _start(
                    consumer_urls[index % 2], replicated.provider.url, offer, context
                ),
                range(COUNT),
            )
        )
    assert len(set(started)) == COUNT

    consumer_side = _wait_all_final(replicated.consumer.url, "consumer", COUNT)
    provider_side = _wait_all_final(replicated.provider.url, "provider", COUNT)
    assert {n["@id"] for n in consumer_side} == set(started)
    assert len(provider_side) == COUNT, "one provider negotiation per request, none duplicated"
    by_consumer_pid = {n["consumerPid"]: n for n in provider_side}
    assert len(by_consumer_pid) == COUNT

    for negotiation in consumer_side:
        mirror = by_consumer_pid[negotiation["consumerPid"]]
        assert negotiation["state"] == "FINALIZED", (
            negotiation.get("errorDetail"),
            mirror.get("errorDetail"),
            mirror["state"],
        )
        assert mirror["state"] == "FINALIZED", mirror
        assert mirror["providerPid"] == negotiation["providerPid"]
        assert mirror["contractAgreementId"] == negotiation["contractAgreementId"]
        # Each message exactly once: what one side recorded as sent (acknowledged), the other
        # recorded as received, once.
        assert _history(replicated.consumer.url, negotiation["@id"]) == [
            ("out", CONSUMER_SENDS[0]),
            ("in", PROVIDER_SENDS[0]),
            ("out", CONSUMER_SENDS[1]),
            ("in", PROVIDER_SENDS[1]),
        ]
        assert _history(replicated.provider.url, mirror["@id"]) == [
            ("in", CONSUMER_SENDS[0]),
            ("out", PROVIDER_SENDS[0]),
            ("in", CONSUMER_SENDS[1]),
            ("out", PROVIDER_SENDS[1]),
        ]

    # Nothing was sent twice on the wire either (not even a copy the peer refused or ignored).
    expected_at_provider: Counter[str] = Counter({"/negotiations/request": COUNT})
    expected_at_consumer: Counter[str] = Counter()
    for negotiation in consumer_side:
        expected_at_provider[
            f"/negotiations/{negotiation['providerPid']}/agreement/verification"
        ] = 1
        expected_at_consumer[f"/negotiations/{negotiation['consumerPid']}/agreement"] = 1
        expected_at_consumer[f"/negotiations/{negotiation['consumerPid']}/events"] = 1
    assert _received(replicated.provider) == expected_at_provider
    assert _received(replicated.consumer) == expected_at_consumer

    for side in (replicated.consumer, replicated.provider):
        agreements = _agreements(side.url)
        assert len(agreements) == COUNT
        assert {a["@id"] for a in agreements} == {n["contractAgreementId"] for n in consumer_side}
        # The balancer gave connections to both replicas: both took part.
        assert all(count > 0 for count in side.connections.values()), side.connections

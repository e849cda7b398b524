"""Contract negotiation flows between two real nodes (separate processes) with real tokens, the
provider deciding by hand: its administrator agrees, counter-offers, finalizes or terminates
through the management API while the consumer (``autoAccept`` false) accepts and verifies by
hand too (TCK CN:01-01…04, CN_C:01-01…04 and their terminations). Then the provider's DSP
endpoints called directly with real tokens: messages that must be refused (400
``ContractNegotiationError``, state unchanged) and negotiations other participants must not
see (404), CN:03-01 included."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, NODE_C, Dataspace
from two_nodes import API_KEY, TwoNodes, start_two_nodes

from connector.catalogue.offers import OfferRef
from connector.identity.auth import DataspaceAuth

pytestmark = pytest.mark.e2e

EDC_VOCAB = "https://w3id.org/edc/v0.0.1/ns/"
DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
ODRL_PROFILE = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
NEGOTIATIONS = "/management/v3/contractnegotiations"
ASSET = "sustainable-tourism-indicators"
MANUAL_DEFINITION = "manual-indicators"
DEADLINE_SECONDS = 60


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def nodes(dataspace: Dataspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    with start_two_nodes(dataspace, tmp_path_factory.mktemp("negotiation-flows")) as started:
        with _admin(started.provider.url) as admin:
            created = admin.post(
                "/management/v3/contractdefinitions",
                json={
                    "@context": {"@vocab": EDC_VOCAB},
                    "@type": "ContractDefinition",
                    "@id": MANUAL_DEFINITION,
                    "accessPolicyId": "indicators-access",
                    "contractPolicyId": "indicators-contract",
                    "assetsSelector": [
                        {
                            "@type": "Criterion",
                            "operandLeft": "id",
                            "operator": "=",
                            "operandRight": ASSET,
                        }
                    ],
                    "negotiationMode": "manual",
                },
            )
        assert created.status_code == 200, created.text
        yield started


def _admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"X-Api-Key": API_KEY}, timeout=30, trust_env=False)


def _catalogue_offer(nodes: TwoNodes, definition_id: str) -> tuple[dict[str, Any], Any]:
    """The provider's offer of the asset under ``definition_id``, as the consumer's catalogue
    request shows it, and the catalogue's context."""
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
    dataset = next(d for d in catalogue["dcat:dataset"] if d["@id"] == ASSET)
    offers = dataset["odrl:hasPolicy"]
    offers = offers if isinstance(offers, list) else [offers]
    offer = next(o for o in offers if OfferRef.parse(o["@id"]).definition_id == definition_id)
    return {**offer, "odrl:target": {"@id": ASSET}}, catalogue["@context"]


def _start(nodes: TwoNodes, definition_id: str = MANUAL_DEFINITION, **extra: Any) -> str:
    """The consumer's new negotiation for the offer under ``definition_id`` (its id)."""
    offer, context = _catalogue_offer(nodes, definition_id)
    with _admin(nodes.consumer.url) as admin:
        response = admin.post(
            NEGOTIATIONS,
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


def _get(url: str, negotiation_id: str) -> dict[str, Any]:
    with _admin(url) as admin:
        response = admin.get(f"{NEGOTIATIONS}/{negotiation_id}")
    assert response.status_code == 200, response.text
    negotiation: dict[str, Any] = response.json()
    return negotiation


def _wait(url: str, negotiation_id: str, *states: str) -> dict[str, Any]:
    """The negotiation once it is in one of ``states`` (fails after a generous deadline)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        negotiation = _get(url, negotiation_id)
        if negotiation["state"] in states:
            return negotiation
        assert time.monotonic() < deadline, f"not {states}: {negotiation}"
        time.sleep(0.05)


def _provider_id(nodes: TwoNodes, consumer_pid: str) -> str:
    """The provider's id of the negotiation the consumer calls ``consumer_pid``."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    with _admin(nodes.provider.url) as admin:
        while True:
            response = admin.post(
                f"{NEGOTIATIONS}/request",
                json={
                    "@context": {"@vocab": EDC_VOCAB},
                    "filterExpression": [
                        {
                            "operandLeft": "consumerPid",
                            "operator": "=",
                            "operandRight": consumer_pid,
                        }
                    ],
                },
            )
            assert response.status_code == 200, response.text
            found = response.json()
            if found:
                assert len(found) == 1, found
                return str(found[0]["@id"])
            assert time.monotonic() < deadline, f"the provider never heard of {consumer_pid}"
            time.sleep(0.05)


def _act(url: str, negotiation_id: str, action: str, body: Any = None) -> httpx.Response:
    with _admin(url) as admin:
        if body is None:
            return admin.post(f"{NEGOTIATIONS}/{negotiation_id}/{action}")
        return admin.post(f"{NEGOTIATIONS}/{negotiation_id}/{action}", json=body)


def _do(url: str, negotiation_id: str, action: str, body: Any = None) -> None:
    response = _act(url, negotiation_id, action, body)
    assert response.status_code == 204, f"{action}: {response.status_code} {response.text}"


@dataclass
class Pair:
    """One negotiation as both nodes know it."""

    nodes: TwoNodes
    consumer: str  # the consumer's negotiation id
    provider: str  # the provider's negotiation id

    def wait(self, *states: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both sides, once each is in one of ``states``."""
        return (
            _wait(self.nodes.consumer.url, self.consumer, *states),
            _wait(self.nodes.provider.url, self.provider, *states),
        )

    def consumer_does(self, action: str, body: Any = None) -> None:
        _do(self.nodes.consumer.url, self.consumer, action, body)

    def provider_does(self, action: str, body: Any = None) -> None:
        _do(self.nodes.provider.url, self.provider, action, body)

    def history(self, side: str) -> list[tuple[str, str]]:
        url, negotiation_id = (
            (self.nodes.consumer.url, self.consumer)
            if side == "consumer"
            else (self.nodes.provider.url, self.provider)
        )
        with _admin(url) as admin:
            response = admin.get(f"{NEGOTIATIONS}/{negotiation_id}/history")
        assert response.status_code == 200, response.text
        return [(m["direction"], m["type"]) for m in response.json()]


def _requested(nodes: TwoNodes) -> Pair:
    """A manual negotiation, requested by a consumer that accepts nothing by itself."""
    consumer_id = _start(nodes, autoAccept=False)
    consumer = _wait(nodes.consumer.url, consumer_id, "REQUESTED", "TERMINATED")
    assert consumer["state"] == "REQUESTED", consumer
    assert consumer["mode"] == "manual"
    pair = Pair(nodes, consumer_id, _provider_id(nodes, consumer["consumerPid"]))
    _, provider = pair.wait("REQUESTED")
    assert provider["mode"] == "manual"
    assert provider["providerPid"] == _get(nodes.consumer.url, consumer_id)["providerPid"]
    return pair


def _counter_offer(pair: Pair) -> dict[str, Any]:
    """A counter-offer with the terms of the provider's stored offer (a new offer id)."""
    stored = dict(_get(pair.nodes.provider.url, pair.provider)["offer"])
    stored.pop("@id", None)
    stored.pop("target", None)
    return {"@context": [DSP_CONTEXT, ODRL_PROFILE], **stored, "@type": "Offer"}


def _offered(nodes: TwoNodes) -> Pair:
    pair = _requested(nodes)
    pair.provider_does("offer", _counter_offer(pair))
    consumer, provider = pair.wait("OFFERED")
    assert consumer["offer"]["@id"] == provider["offer"]["@id"]
    return pair


def _accepted(nodes: TwoNodes) -> Pair:
    pair = _offered(nodes)
    pair.consumer_does("accept")
    pair.wait("ACCEPTED")
    return pair


def _agreed(nodes: TwoNodes) -> Pair:
    pair = _requested(nodes)
    pair.provider_does("agree")
    pair.wait("AGREED")
    return pair


def _verified(nodes: TwoNodes) -> Pair:
    pair = _agreed(nodes)
    pair.consumer_does("verify")
    pair.wait("VERIFIED")
    return pair


def _assert_finalized(pair: Pair) -> str:
    consumer, provider = pair.wait("FINALIZED", "TERMINATED")
    assert consumer["state"] == "FINALIZED", consumer
    assert provider["state"] == "FINALIZED", provider
    agreement_id = str(consumer["contractAgreementId"])
    assert provider["contractAgreementId"] == agreement_id
    for url in (pair.nodes.consumer.url, pair.nodes.provider.url):
        with _admin(url) as admin:
            response = admin.get(f"/management/v3/contractagreements/{agreement_id}")
        assert response.status_code == 200, response.text
        agreement = response.json()
        assert agreement["providerId"] == NODE_B
        assert agreement["consumerId"] == NODE_A
        assert agreement["assetId"] == ASSET
    return agreement_id


# Manual decisions ------------------------------------------------------------------------------


def test_provider_agrees_consumer_verifies_provider_finalizes(nodes: TwoNodes) -> None:
    """CN:01-04 / CN_C:01-04: request → agreement → verification → finalization, by hand."""
    pair = _requested(nodes)
    assert pair.history("provider") == [("in", "ContractRequestMessage")]
    pair.provider_does("agree")
    consumer, _ = pair.wait("AGREED")
    # autoAccept false: the agreement waits for the consumer's administrator
    assert consumer["state"] == "AGREED", consumer
    assert ("out", "ContractAgreementVerificationMessage") not in pair.history("consumer")
    pair.consumer_does("verify")
    pair.wait("VERIFIED")
    assert pair.history("provider")[-1] == ("in", "ContractAgreementVerificationMessage")
    pair.provider_does("finalize")
    _assert_finalized(pair)
    assert pair.history("consumer") == [
        ("out", "ContractRequestMessage"),
        ("in", "ContractAgreementMessage"),
        ("out", "ContractAgreementVerificationMessage"),
        ("in", "ContractNegotiationEventMessage"),
    ]
    assert pair.history("provider") == [
        ("in", "ContractRequestMessage"),
        ("out", "ContractAgreementMessage"),
        ("in", "ContractAgreementVerificationMessage"),
        ("out", "ContractNegotiationEventMessage"),
    ]


def test_counter_offer_accepted_agreed_verified_finalized(nodes: TwoNodes) -> None:
    """CN:01-03: request → counter-offer → acceptance → agreement → verification → finalized."""
    pair = _requested(nodes)
    pair.provider_does("offer", _counter_offer(pair))
    consumer, provider = pair.wait("OFFERED")
    offer_id = provider["offer"]["@id"]
    assert consumer["offer"]["@id"] == offer_id
    pair.consumer_does("accept")
    pair.wait("ACCEPTED")
    pair.provider_does("agree")
    consumer, _ = pair.wait("AGREED")
    assert consumer["state"] == "AGREED"
    pair.consumer_does("verify")
    pair.wait("VERIFIED")
    pair.provider_does("finalize")
    _assert_finalized(pair)
    assert pair.history("consumer") == [
        ("out", "ContractRequestMessage"),
        ("in", "ContractOfferMessage"),
        ("out", "ContractNegotiationEventMessage"),
        ("in", "ContractAgreementMessage"),
        ("out", "ContractAgreementVerificationMessage"),
        ("in", "ContractNegotiationEventMessage"),
    ]


def test_actions_out_of_turn_are_conflicts(nodes: TwoNodes) -> None:
    pair = _requested(nodes)
    # the consumer cannot verify before an agreement, the provider cannot finalize in REQUESTED
    assert _act(nodes.consumer.url, pair.consumer, "verify").status_code == 409
    assert _act(nodes.provider.url, pair.provider, "finalize").status_code == 409
    # roles: accept is the consumer's, agree the provider's
    assert _act(nodes.provider.url, pair.provider, "accept").status_code == 409
    assert _act(nodes.consumer.url, pair.consumer, "agree").status_code == 409
    pair.wait("REQUESTED")
    pair.consumer_does("terminate")
    pair.wait("TERMINATED")


SETUPS: dict[str, Callable[[TwoNodes], Pair]] = {
    "REQUESTED": _requested,
    "OFFERED": _offered,
    "ACCEPTED": _accepted,
    "AGREED": _agreed,
    "VERIFIED": _verified,
}


@pytest.mark.parametrize(
    ("state", "by"),
    [
        ("REQUESTED", "consumer"),
        ("REQUESTED", "provider"),
        ("OFFERED", "consumer"),
        ("OFFERED", "provider"),
        ("ACCEPTED", "consumer"),
        ("ACCEPTED", "provider"),
        ("AGREED", "consumer"),
        ("AGREED", "provider"),
        ("VERIFIED", "consumer"),
        ("VERIFIED", "provider"),
    ],
)
def test_termination_in_every_state(nodes: TwoNodes, state: str, by: str) -> None:
    pair = SETUPS[state](nodes)
    consumer, provider = pair.wait(state)
    assert consumer["state"] == provider["state"] == state
    reason = f"{by} stops in {state}"
    _do(
        nodes.consumer.url if by == "consumer" else nodes.provider.url,
        pair.consumer if by == "consumer" else pair.provider,
        "terminate",
        {"@context": {"@vocab": EDC_VOCAB}, "@type": "TerminateNegotiation", "reason": reason},
    )
    consumer, provider = pair.wait("TERMINATED", "FINALIZED")
    assert consumer["state"] == "TERMINATED", consumer
    assert provider["state"] == "TERMINATED", provider
    receiver = provider if by == "consumer" else consumer
    assert reason in receiver.get("errorDetail", ""), receiver
    assert "contractAgreementId" not in consumer
    assert "contractAgreementId" not in provider
    # nothing leaves TERMINATED
    assert _act(nodes.consumer.url, pair.consumer, "terminate").status_code == 409
    assert _act(nodes.provider.url, pair.provider, "terminate").status_code == 409
    assert _act(nodes.provider.url, pair.provider, "agree").status_code == 409
    assert _act(nodes.consumer.url, pair.consumer, "verify").status_code == 409
    assert _act(nodes.provider.url, pair.provider, "finalize").status_code == 409
    assert _act(nodes.consumer.url, pair.consumer, "accept").status_code == 409
    pair.wait("TERMINATED")


# The provider's DSP endpoints, called directly ----------------------------------------------


@dataclass
class Dsp:
    """Raw DSP clients of the provider's endpoints: as node A and as node C."""

    a: httpx.AsyncClient
    c: httpx.AsyncClient


@pytest.fixture
async def dsp(dataspace: Dataspace, nodes: TwoNodes) -> AsyncIterator[Dsp]:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        clients = [
            httpx.AsyncClient(
                base_url=nodes.provider.url + "/protocol/2025-1",
                auth=DataspaceAuth(dataspace.token_client(participant, http), audience=NODE_B),
                trust_env=False,
                timeout=10,
            )
            for participant in (NODE_A, NODE_C)
        ]
        async with clients[0] as a, clients[1] as c:
            yield Dsp(a, c)


def _message(dsp_type: str, provider_pid: str, consumer_pid: str, **extra: Any) -> dict[str, Any]:
    return {
        "@context": [DSP_CONTEXT],
        "@type": dsp_type,
        "providerPid": provider_pid,
        "consumerPid": consumer_pid,
        **extra,
    }


def _assert_error(response: httpx.Response, status: int, says: str = "") -> dict[str, Any]:
    """A DSP ``ContractNegotiationError`` with ``status`` whose reason mentions ``says``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["@type"] == "ContractNegotiationError", body
    assert body["code"] == str(status), body
    assert {"providerPid", "consumerPid"} <= body.keys(), body
    assert any(says in reason for reason in body.get("reason", [])), body
    return body


async def _dsp_state(client: httpx.AsyncClient, provider_pid: str) -> str:
    response = await client.get(f"/negotiations/{provider_pid}")
    assert response.status_code == 200, response.text
    assert response.json()["@type"] == "ContractNegotiation"
    return str(response.json()["state"])


@pytest.mark.anyio
async def test_dsp_the_negotiation_is_the_consumers_own(nodes: TwoNodes, dsp: Dsp) -> None:
    pair = _requested(nodes)
    negotiation = _get(nodes.provider.url, pair.provider)
    provider_pid = negotiation["providerPid"]
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    # another participant neither sees it nor moves it
    seen = _assert_error(await dsp.c.get(f"/negotiations/{provider_pid}"), 404)
    assert negotiation["consumerPid"] not in (seen["providerPid"], seen["consumerPid"])
    terminated = await dsp.c.post(
        f"/negotiations/{provider_pid}/termination",
        json=_message(
            "ContractNegotiationTerminationMessage",
            provider_pid,
            negotiation["consumerPid"],
            code="c",
        ),
    )
    _assert_error(terminated, 404)
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"


@pytest.mark.anyio
async def test_dsp_unknown_negotiation_is_not_found(dsp: Dsp) -> None:
    response = await dsp.a.get("/negotiations/urn:uuid:00000000-0000-0000-0000-000000000000")
    _assert_error(response, 404)


@pytest.mark.anyio
async def test_dsp_path_and_body_pids_must_agree(nodes: TwoNodes, dsp: Dsp) -> None:
    pair = _requested(nodes)
    negotiation = _get(nodes.provider.url, pair.provider)
    provider_pid, consumer_pid = negotiation["providerPid"], negotiation["consumerPid"]
    response = await dsp.a.post(
        f"/negotiations/{provider_pid}/termination",
        json=_message(
            "ContractNegotiationTerminationMessage",
            "urn:uuid:11111111-1111-1111-1111-111111111111",
            consumer_pid,
            code="mismatch",
        ),
    )
    _assert_error(response, 400, "differ")
    response = await dsp.a.post(
        f"/negotiations/{provider_pid}/events",
        json=_message(
            "ContractNegotiationEventMessage",
            "urn:uuid:11111111-1111-1111-1111-111111111111",
            consumer_pid,
            eventType="ACCEPTED",
        ),
    )
    _assert_error(response, 400, "differ")
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    assert _get(nodes.provider.url, pair.provider)["state"] == "REQUESTED"


@pytest.mark.anyio
async def test_dsp_invalid_transitions_change_nothing(nodes: TwoNodes, dsp: Dsp) -> None:
    pair = _requested(nodes)
    negotiation = _get(nodes.provider.url, pair.provider)
    provider_pid, consumer_pid = negotiation["providerPid"], negotiation["consumerPid"]
    verification = await dsp.a.post(
        f"/negotiations/{provider_pid}/agreement/verification",
        json=_message("ContractAgreementVerificationMessage", provider_pid, consumer_pid),
    )
    body = _assert_error(verification, 400, "in state REQUESTED")
    assert body["providerPid"] == provider_pid
    assert body["consumerPid"] == consumer_pid
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    accepted = await dsp.a.post(
        f"/negotiations/{provider_pid}/events",
        json=_message(
            "ContractNegotiationEventMessage", provider_pid, consumer_pid, eventType="ACCEPTED"
        ),
    )
    _assert_error(accepted, 400, "in state REQUESTED")
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    # the provider's endpoints take no agreement (a consumer's endpoint)
    agreement = await dsp.a.post(
        f"/negotiations/{provider_pid}/agreement",
        json=_message(
            "ContractAgreementMessage",
            provider_pid,
            consumer_pid,
            agreement={
                "@id": "urn:uuid:22222222-2222-2222-2222-222222222222",
                "@type": "Agreement",
                "target": ASSET,
                "assigner": NODE_B,
                "assignee": NODE_A,
                "timestamp": "2025-01-01T00:00:00Z",
                "permission": [{"action": "use"}],
            },
        ),
    )
    assert agreement.status_code in (400, 404), agreement.text
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    assert _get(nodes.provider.url, pair.provider)["state"] == "REQUESTED"
    assert pair.history("provider") == [("in", "ContractRequestMessage")]
    pair.consumer_does("terminate")
    pair.wait("TERMINATED")


@pytest.mark.anyio
async def test_dsp_termination_after_finalized_is_refused(nodes: TwoNodes, dsp: Dsp) -> None:
    """CN:03-01: a finalized negotiation cannot be terminated."""
    consumer_id = _start(nodes, f"cd-{ASSET}")
    consumer = _wait(nodes.consumer.url, consumer_id, "FINALIZED", "TERMINATED")
    assert consumer["state"] == "FINALIZED", consumer
    provider_pid, consumer_pid = consumer["providerPid"], consumer["consumerPid"]
    pair = Pair(nodes, consumer_id, _provider_id(nodes, consumer_pid))
    pair.wait("FINALIZED")
    assert await _dsp_state(dsp.a, provider_pid) == "FINALIZED"
    response = await dsp.a.post(
        f"/negotiations/{provider_pid}/termination",
        json=_message(
            "ContractNegotiationTerminationMessage",
            provider_pid,
            consumer_pid,
            code="too-late",
            reason=["changed my mind"],
        ),
    )
    _assert_error(response, 400, "in state FINALIZED")
    assert await _dsp_state(dsp.a, provider_pid) == "FINALIZED"
    consumer, provider = pair.wait("FINALIZED")
    assert consumer["state"] == provider["state"] == "FINALIZED"
    # nor through the management API
    assert _act(nodes.consumer.url, consumer_id, "terminate").status_code == 409
    assert _act(nodes.provider.url, pair.provider, "terminate").status_code == 409

"""Contract negotiation flows between two real nodes (separate processes) with real tokens, the
provider deciding by hand: its administrator agrees, counter-offers, finalizes or terminates
through the management API while the consumer (``autoAccept`` false) accepts and verifies by
hand too (TCK CN:01-03, CN:01-04 / CN_C:01-04, and termination in every state by either
side). Then the provider's DSP endpoints called directly with real tokens: messages that must
be refused (400 ``ContractNegotiationError``, state unchanged) and negotiations other
participants must not see (404), CN:03-01 included. The other TCK flows, one test each, are in
``test_e2e_negotiation_tck.py``; the helpers in ``e2e_negotiation_support.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, NODE_C, Dataspace
from e2e_negotiation_support import (
    ASSET,
    DSP_PATH,
    EDC_VOCAB,
    MANUAL_DEFINITION,
    Pair,
    accepted,
    act,
    admin,
    agreed,
    assert_error,
    assert_finalized,
    counter_offer,
    do,
    get,
    manual_nodes,
    message,
    offer_to_consumer,
    offered,
    offered_to_consumer,
    provider_id,
    requested,
    start,
    verified,
    wait,
)
from two_nodes import TwoNodes

from connector.identity.auth import DataspaceAuth

pytestmark = pytest.mark.e2e


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def nodes(dataspace: Dataspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    with manual_nodes(dataspace, tmp_path_factory.mktemp("negotiation-flows")) as started:
        yield started


# Manual decisions ------------------------------------------------------------------------------


def test_provider_agrees_consumer_verifies_provider_finalizes(nodes: TwoNodes) -> None:
    """CN:01-04 / CN_C:01-04: request → agreement → verification → finalization, by hand."""
    pair = requested(nodes)
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
    assert_finalized(pair)
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
    pair = requested(nodes)
    pair.provider_does("offer", counter_offer(pair))
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
    assert_finalized(pair)
    assert pair.history("consumer") == [
        ("out", "ContractRequestMessage"),
        ("in", "ContractOfferMessage"),
        ("out", "ContractNegotiationEventMessage"),
        ("in", "ContractAgreementMessage"),
        ("out", "ContractAgreementVerificationMessage"),
        ("in", "ContractNegotiationEventMessage"),
    ]


def test_provider_initiated_offer_accepted_agreed_verified_finalized(nodes: TwoNodes) -> None:
    """The provider's administrator offers a contract to the consumer by name (no request
    first): offer → acceptance → agreement → verification → finalized, each by hand."""
    pair = offered_to_consumer(nodes)
    consumer, provider = pair.wait("OFFERED")
    assert consumer["offer"]["@id"] == provider["offer"]["@id"]
    assert (consumer["type"], provider["type"]) == ("CONSUMER", "PROVIDER")
    assert consumer["counterPartyId"] == NODE_B
    assert provider["counterPartyId"] == NODE_A
    pair.consumer_does("accept")
    pair.wait("ACCEPTED")
    pair.provider_does("agree")
    pair.wait("AGREED")
    pair.consumer_does("verify")
    pair.wait("VERIFIED")
    pair.provider_does("finalize")
    assert_finalized(pair)
    assert pair.history("provider") == [
        ("out", "ContractOfferMessage"),
        ("in", "ContractNegotiationEventMessage"),
        ("out", "ContractAgreementMessage"),
        ("in", "ContractAgreementVerificationMessage"),
        ("out", "ContractNegotiationEventMessage"),
    ]
    [first, *_] = pair.messages("consumer")
    assert (first["direction"], first["type"], first["from"]) == (
        "in",
        "ContractOfferMessage",
        NODE_B,
    )


def test_provider_initiated_offer_under_an_auto_definition(nodes: TwoNodes) -> None:
    """Under an ``auto`` definition the provider agrees to the consumer's acceptance when the
    contract policy allows it for the consumer's claims, and finalizes after verification."""
    pair = offered_to_consumer(nodes, f"cd-{ASSET}")
    pair.consumer_does("accept")
    consumer, _ = pair.wait("AGREED", "TERMINATED")
    assert consumer["state"] == "AGREED", consumer
    pair.consumer_does("verify")
    assert_finalized(pair)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"contractDefinitionId": "no-such-definition"}, "makes no offer"),
        ({"assetId": "no-such-dataset"}, "makes no offer"),
        ({"counterPartyId": None}, "'counterPartyId' is required"),
        ({"@type": "ContractRequest"}, "must be a ContractOfferRequest"),
        ({"counterPartyAddress": "ftp://consumer.example/dsp"}, "https"),
        ({"protocol": "dataspace-protocol-http:2024-1"}, "'protocol' must be"),
    ],
)
def test_provider_initiated_offer_refused_before_anything_is_stored(
    nodes: TwoNodes, changes: dict[str, Any], says: str
) -> None:
    before = _count(nodes.provider.url)
    response = offer_to_consumer(nodes, MANUAL_DEFINITION, **changes)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"], response.json()
    assert _count(nodes.provider.url) == before


def _count(url: str) -> int:
    """How many negotiations the node at ``url`` keeps."""
    with admin(url) as client:
        response = client.post(
            "/management/v3/contractnegotiations/request",
            json={"@context": {"@vocab": EDC_VOCAB}, "limit": 1000},
        )
    assert response.status_code == 200, response.text
    return len(response.json())


def test_actions_out_of_turn_are_conflicts(nodes: TwoNodes) -> None:
    pair = requested(nodes)
    # the consumer cannot verify before an agreement, the provider cannot finalize in REQUESTED
    assert act(nodes.consumer.url, pair.consumer, "verify").status_code == 409
    assert act(nodes.provider.url, pair.provider, "finalize").status_code == 409
    # roles: accept is the consumer's, agree the provider's
    assert act(nodes.provider.url, pair.provider, "accept").status_code == 409
    assert act(nodes.consumer.url, pair.consumer, "agree").status_code == 409
    pair.wait("REQUESTED")
    pair.consumer_does("terminate")
    pair.wait("TERMINATED")


SETUPS: dict[str, Callable[[TwoNodes], Pair]] = {
    "REQUESTED": requested,
    "OFFERED": offered,
    "ACCEPTED": accepted,
    "AGREED": agreed,
    "VERIFIED": verified,
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
    do(
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
    assert act(nodes.consumer.url, pair.consumer, "terminate").status_code == 409
    assert act(nodes.provider.url, pair.provider, "terminate").status_code == 409
    assert act(nodes.provider.url, pair.provider, "agree").status_code == 409
    assert act(nodes.consumer.url, pair.consumer, "verify").status_code == 409
    assert act(nodes.provider.url, pair.provider, "finalize").status_code == 409
    assert act(nodes.consumer.url, pair.consumer, "accept").status_code == 409
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
                base_url=nodes.provider.url + DSP_PATH,
                auth=DataspaceAuth(dataspace.token_client(participant, http), audience=NODE_B),
                trust_env=False,
                timeout=10,
            )
            for participant in (NODE_A, NODE_C)
        ]
        async with clients[0] as a, clients[1] as c:
            yield Dsp(a, c)


async def _dsp_state(client: httpx.AsyncClient, provider_pid: str) -> str:
    response = await client.get(f"/negotiations/{provider_pid}")
    assert response.status_code == 200, response.text
    assert response.json()["@type"] == "ContractNegotiation"
    return str(response.json()["state"])


@pytest.mark.anyio
async def test_dsp_the_negotiation_is_the_consumers_own(nodes: TwoNodes, dsp: Dsp) -> None:
    pair = requested(nodes)
    negotiation = get(nodes.provider.url, pair.provider)
    provider_pid = negotiation["providerPid"]
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    # another participant neither sees it nor moves it
    seen = assert_error(await dsp.c.get(f"/negotiations/{provider_pid}"), 404)
    assert negotiation["consumerPid"] not in (seen["providerPid"], seen["consumerPid"])
    terminated = await dsp.c.post(
        f"/negotiations/{provider_pid}/termination",
        json=message(
            "ContractNegotiationTerminationMessage",
            provider_pid,
            negotiation["consumerPid"],
            code="c",
        ),
    )
    assert_error(terminated, 404)
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"


@pytest.mark.anyio
async def test_dsp_unknown_negotiation_is_not_found(dsp: Dsp) -> None:
    response = await dsp.a.get("/negotiations/urn:uuid:00000000-0000-0000-0000-000000000000")
    assert_error(response, 404)
    # No such endpoint (a pid that is no path segment, a method no endpoint has): still a
    # ContractNegotiationError, as everything under /negotiations answers.
    assert_error(await dsp.a.get("/negotiations/a%2Fb"), 404, "no protocol endpoint")
    assert_error(await dsp.a.delete("/negotiations/urn:uuid:x"), 404, "no protocol endpoint")


@pytest.mark.anyio
async def test_dsp_a_message_for_the_other_role_is_a_bad_request(nodes: TwoNodes, dsp: Dsp) -> None:
    # The provider's negotiation is known to A: an agreement (a message only a consumer
    # receives) sent to it is refused as a message, not answered "unknown" (DSP: never 404 a
    # known process).
    pair = requested(nodes)
    provider_pid, consumer_pid = pair.pids()
    response = await dsp.a.post(
        f"/negotiations/{provider_pid}/agreement",
        json=message(
            "ContractAgreementMessage",
            provider_pid,
            consumer_pid,
            agreement={
                "@id": "urn:uuid:44444444-4444-4444-4444-444444444444",
                "@type": "Agreement",
                "target": ASSET,
                "assigner": NODE_B,
                "assignee": NODE_A,
                "timestamp": "2026-12-06T10:00:00Z",
                "permission": [{"action": "use"}],
            },
        ),
    )
    assert_error(response, 400, "not sent to the provider")
    assert (await dsp.a.get(f"/negotiations/{provider_pid}/")).json()["state"] == "REQUESTED"


@pytest.mark.anyio
async def test_dsp_asking_before_our_request_is_answered_is_a_conflict(
    dataspace: Dataspace, nodes: TwoNodes
) -> None:
    # A's request cannot get through (nothing listens at the address): A's negotiation has no
    # providerPid yet, and a ContractNegotiation without one would be invalid.
    negotiation_id = start(nodes, counterPartyAddress="http://127.0.0.1:9/protocol/2025-1")
    async with (
        httpx.AsyncClient(trust_env=False, timeout=10) as http,
        httpx.AsyncClient(
            base_url=nodes.consumer.url + DSP_PATH,
            auth=DataspaceAuth(dataspace.token_client(NODE_B, http), audience=NODE_A),
            trust_env=False,
            timeout=10,
        ) as as_b,
    ):
        response = await as_b.get(f"/negotiations/{negotiation_id}")
    body = assert_error(response, 409, "not recorded yet")
    assert body["consumerPid"] == negotiation_id
    assert get(nodes.consumer.url, negotiation_id)["state"] == "REQUESTING"


@pytest.mark.anyio
async def test_dsp_asking_before_our_offer_is_answered_is_a_conflict(
    nodes: TwoNodes, dsp: Dsp
) -> None:
    # B's first offer cannot get through (nothing listens at the address it was given): B's
    # negotiation has no consumerPid yet, and a ContractNegotiation without one is invalid.
    response = offer_to_consumer(
        nodes, MANUAL_DEFINITION, counterPartyAddress="http://127.0.0.1:9/protocol/2025-1"
    )
    assert response.status_code == 200, response.text
    negotiation_id = response.json()["@id"]
    provider_pid = get(nodes.provider.url, negotiation_id)["providerPid"]
    body = assert_error(await dsp.a.get(f"/negotiations/{provider_pid}"), 409, "not recorded yet")
    assert body["providerPid"] == provider_pid
    assert get(nodes.provider.url, negotiation_id)["state"] == "OFFERING"
    # another participant does not learn that it exists
    assert_error(await dsp.c.get(f"/negotiations/{provider_pid}"), 404)
    do(nodes.provider.url, negotiation_id, "terminate")


@pytest.mark.anyio
async def test_a_refused_first_offer_ends_here_at_once(nodes: TwoNodes, dsp: Dsp) -> None:
    # B sends its offer for A to an address that refuses it (B's own DSP endpoint: A's token
    # is not for B): the refusal ends the negotiation at once, nothing to terminate at A's.
    response = offer_to_consumer(
        nodes, MANUAL_DEFINITION, counterPartyAddress=nodes.provider.url + DSP_PATH
    )
    assert response.status_code == 200, response.text
    negotiation_id = response.json()["@id"]
    ended = wait(nodes.provider.url, negotiation_id, "TERMINATED")
    assert ended["errorDetail"].startswith("the peer refused our offer message"), ended
    assert "consumerPid" not in ended or ended["consumerPid"] is None
    # A asking about it is told it ended, not to ask again
    body = assert_error(
        await dsp.a.get(f"/negotiations/{ended['providerPid']}"), 409, "ended here before"
    )
    assert body["providerPid"] == ended["providerPid"]


@pytest.mark.anyio
async def test_dsp_path_and_body_pids_must_agree(nodes: TwoNodes, dsp: Dsp) -> None:
    pair = requested(nodes)
    provider_pid, consumer_pid = pair.pids()
    response = await dsp.a.post(
        f"/negotiations/{provider_pid}/termination",
        json=message(
            "ContractNegotiationTerminationMessage",
            "urn:uuid:11111111-1111-1111-1111-111111111111",
            consumer_pid,
            code="mismatch",
        ),
    )
    assert_error(response, 400, "differ")
    response = await dsp.a.post(
        f"/negotiations/{provider_pid}/events",
        json=message(
            "ContractNegotiationEventMessage",
            "urn:uuid:11111111-1111-1111-1111-111111111111",
            consumer_pid,
            eventType="ACCEPTED",
        ),
    )
    assert_error(response, 400, "differ")
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    assert get(nodes.provider.url, pair.provider)["state"] == "REQUESTED"


@pytest.mark.anyio
async def test_dsp_invalid_transitions_change_nothing(nodes: TwoNodes, dsp: Dsp) -> None:
    pair = requested(nodes)
    provider_pid, consumer_pid = pair.pids()
    verification = await dsp.a.post(
        f"/negotiations/{provider_pid}/agreement/verification",
        json=message("ContractAgreementVerificationMessage", provider_pid, consumer_pid),
    )
    body = assert_error(verification, 400, "in state REQUESTED")
    assert body["providerPid"] == provider_pid
    assert body["consumerPid"] == consumer_pid
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    accepted = await dsp.a.post(
        f"/negotiations/{provider_pid}/events",
        json=message(
            "ContractNegotiationEventMessage", provider_pid, consumer_pid, eventType="ACCEPTED"
        ),
    )
    assert_error(accepted, 400, "in state REQUESTED")
    assert await _dsp_state(dsp.a, provider_pid) == "REQUESTED"
    # the provider's endpoints take no agreement (a consumer's endpoint)
    agreement = await dsp.a.post(
        f"/negotiations/{provider_pid}/agreement",
        json=message(
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
    assert get(nodes.provider.url, pair.provider)["state"] == "REQUESTED"
    assert pair.history("provider") == [("in", "ContractRequestMessage")]
    pair.consumer_does("terminate")
    pair.wait("TERMINATED")


@pytest.mark.anyio
async def test_dsp_termination_after_finalized_is_refused(nodes: TwoNodes, dsp: Dsp) -> None:
    """CN:03-01: a finalized negotiation cannot be terminated."""
    consumer_id = start(nodes, f"cd-{ASSET}")
    consumer = wait(nodes.consumer.url, consumer_id, "FINALIZED", "TERMINATED")
    assert consumer["state"] == "FINALIZED", consumer
    provider_pid, consumer_pid = consumer["providerPid"], consumer["consumerPid"]
    pair = Pair(nodes, consumer_id, provider_id(nodes, consumer_pid))
    pair.wait("FINALIZED")
    assert await _dsp_state(dsp.a, provider_pid) == "FINALIZED"
    response = await dsp.a.post(
        f"/negotiations/{provider_pid}/termination",
        json=message(
            "ContractNegotiationTerminationMessage",
            provider_pid,
            consumer_pid,
            code="too-late",
            reason=["changed my mind"],
        ),
    )
    assert_error(response, 400, "in state FINALIZED")
    assert await _dsp_state(dsp.a, provider_pid) == "FINALIZED"
    consumer, provider = pair.wait("FINALIZED")
    assert consumer["state"] == provider["state"] == "FINALIZED"
    # nor through the management API
    assert act(nodes.consumer.url, consumer_id, "terminate").status_code == 409
    assert act(nodes.provider.url, pair.provider, "terminate").status_code == 409


async def _replay(sent: httpx.Response) -> httpx.Response:
    """The request of ``sent`` again, byte for byte: the same token, the same DPoP proof."""
    async with httpx.AsyncClient(trust_env=False, timeout=10) as raw:
        return await raw.send(sent.request)


@pytest.mark.anyio
async def test_dsp_a_proof_is_good_for_one_message(nodes: TwoNodes, dsp: Dsp) -> None:
    """A DPoP proof is used up with the change its message makes, and by a refused message too:
    sent again, the message is refused as unauthenticated, whatever it would have done."""
    pair = requested(nodes)
    provider_pid, consumer_pid = pair.pids()
    # refused by the state machine (its transaction rolled back): the proof is used up all the same
    refused = await dsp.a.post(
        f"/negotiations/{provider_pid}/agreement/verification",
        json=message("ContractAgreementVerificationMessage", provider_pid, consumer_pid),
    )
    assert_error(refused, 400, "in state REQUESTED")
    assert_error(await _replay(refused), 401)
    # refused before it was read (not JSON)
    malformed = await dsp.a.post(
        f"/negotiations/{provider_pid}/termination",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert_error(malformed, 400)
    assert_error(await _replay(malformed), 401)
    # applied: sent again, it is not applied twice nor answered as a repeat
    terminated = await dsp.a.post(
        f"/negotiations/{provider_pid}/termination",
        json=message(
            "ContractNegotiationTerminationMessage", provider_pid, consumer_pid, code="once"
        ),
    )
    assert terminated.status_code == 200, terminated.text
    assert_error(await _replay(terminated), 401)
    assert pair.history("provider") == [
        ("in", "ContractRequestMessage"),
        ("in", "ContractNegotiationTerminationMessage"),
    ]
    assert await _dsp_state(dsp.a, provider_pid) == "TERMINATED"


@pytest.mark.anyio
async def test_dsp_an_initial_request_proof_is_good_for_one_request(
    nodes: TwoNodes, dsp: Dsp
) -> None:
    request = message(
        "ContractRequestMessage",
        "",
        "urn:uuid:33333333-3333-3333-3333-333333333333",
        offer={
            "@id": "urn:etds:offer:no-such-offer",
            "@type": "Offer",
            "target": ASSET,
            "permission": [{"action": "use"}],
        },
        callbackAddress="http://127.0.0.1:9/protocol/2025-1",
    )
    del request["providerPid"]
    refused = await dsp.a.post("/negotiations/request", json=request)
    assert_error(refused, 400, "unknown offer")
    assert_error(await _replay(refused), 401)

"""The contract negotiation flows of the DSP TCK (dsp-tck 2025-1, ``CN`` and ``CN_C``), one test
per flow id, between real processes with real tokens, in the TCK's own terms: the connector
under test (CUT) plays one role, the TCK the other.

* ``CN`` — CUT = provider node B, deciding by hand (its administrator offers, agrees, finalizes
  or terminates: the TCK's scripted provider actions). The TCK consumer is consumer node A driven
  through its management API (``autoAccept`` false), and raw DSP messages sent with A's own
  tokens where the TCK sends what node A never would (a verification in OFFERED, a second
  counter-request, a termination straight from the TCK).
* ``CN_C`` — CUT = consumer node A, started through its management API. The TCK provider is
  :mod:`tck_provider`: participant C's provider endpoints on their own port, answering the
  request with 200, recording what A sends and sending offers, agreements, ``FINALIZED`` and
  terminations to A's callback address. A accepts and verifies by itself (``autoAccept``) or
  its administrator acts, as each flow needs.

Every flow checks what the TCK checks: the state ``GET …/negotiations/{pid}`` (with the
counterparty's token) returns the expected state, each message the CUT must send arrives (type,
pids, official 2025-1 schema), and each negative message gets a 400 ``ContractNegotiationError``
(never a 404) and leaves the state as it was.

Flows already covered in ``test_e2e_negotiation_flows.py`` (not repeated here):

==========  ==================================================================
TCK id      test
==========  ==================================================================
CN:01-03    test_counter_offer_accepted_agreed_verified_finalized
CN:01-04    test_provider_agrees_consumer_verifies_provider_finalizes
CN:03-01    test_dsp_termination_after_finalized_is_refused
CN_C:01-04  test_provider_agrees_consumer_verifies_provider_finalizes (both
            nodes act by hand: A as the CUT, B as the TCK provider)
==========  ==================================================================
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, NODE_C, Dataspace
from e2e_negotiation_support import (
    DSP_CONTEXT,
    DSP_PATH,
    EDC_VOCAB,
    NEGOTIATIONS,
    ODRL_PROFILE,
    Pair,
    accepted,
    admin,
    assert_refused,
    assert_valid,
    counter_offer,
    do,
    dsp_state,
    get,
    manual_nodes,
    message,
    offered,
    participant_client,
    poll,
    requested,
    verified,
    wait,
)
from tck_provider import Negotiation, Received, TckProvider, serve_tck_provider
from two_nodes import TwoNodes

from connector.store.database import Database

pytestmark = pytest.mark.e2e

USE = [{"action": "use"}]
"""The terms the consumer requests in the CN_C flows (and the stand-in offers back)."""
OTHER_TERMS = [
    {
        "action": "use",
        "constraint": [
            {"leftOperand": "dateTime", "operator": "lteq", "rightOperand": "2030-12-31T00:00:00Z"}
        ],
    }
]
"""Terms the consumer did not request: with ``autoAccept`` it terminates such an offer."""
EVENT = "ContractNegotiationEventMessage"


@pytest.fixture(scope="module")
def nodes(dataspace: Dataspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    with manual_nodes(dataspace, tmp_path_factory.mktemp("negotiation-tck")) as started:
        yield started


@pytest.fixture(scope="module")
def tck(
    dataspace: Dataspace, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TckProvider]:
    """The TCK provider stand-in: participant C, towards consumer node A."""
    path = tmp_path_factory.mktemp("tck-provider") / "replay.db"
    shutil.copyfile(sqlite_template, path)
    database = Database.from_url(f"sqlite:///{path}")
    try:
        with serve_tck_provider(
            dataspace, participant=NODE_C, consumer=NODE_A, replay_database=database
        ) as provider:
            yield provider
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def tck_consumer(dataspace: Dataspace, nodes: TwoNodes) -> Iterator[httpx.Client]:
    """The TCK consumer's raw DSP client of provider B, with node A's own tokens."""
    with participant_client(
        dataspace, NODE_A, base_url=nodes.provider.url + DSP_PATH, audience=NODE_B
    ) as client:
        yield client


# CN: the provider node under test ------------------------------------------------------------


def _terminate_body(reason: str) -> dict[str, Any]:
    return {"@context": {"@vocab": EDC_VOCAB}, "@type": "TerminateNegotiation", "reason": reason}


def _arrived(pair: Pair, dsp_type: str) -> dict[str, Any]:
    """The message of ``dsp_type`` the provider sent, as the consumer node received it (waits
    for it): schema-valid, with both pids."""
    provider_pid, consumer_pid = pair.pids()

    def found() -> dict[str, Any] | None:
        return next(
            (
                dict(entry["body"])
                for entry in reversed(pair.messages("consumer"))
                if entry["direction"] == "in" and entry["type"] == dsp_type
            ),
            None,
        )

    body = poll(found, f"{dsp_type} at the consumer")
    assert_valid(body, dsp_type)
    assert (body["providerPid"], body["consumerPid"]) == (provider_pid, consumer_pid), body
    return body


def _terminated(pair: Pair, tck_consumer: httpx.Client, reason: str, *, told: str) -> None:
    """Both sides TERMINATED, the side ``told`` (``"consumer"`` or ``"provider"``) knows
    ``reason``, and the TCK's GET says TERMINATED."""
    consumer, provider = pair.wait("TERMINATED", "FINALIZED")
    assert consumer["state"] == provider["state"] == "TERMINATED", (consumer, provider)
    receiver = consumer if told == "consumer" else provider
    assert reason in receiver.get("errorDetail", ""), receiver
    assert "contractAgreementId" not in provider
    assert dsp_state(tck_consumer, pair.pids()[0]) == "TERMINATED"


def _provider_terminates(pair: Pair, tck_consumer: httpx.Client, reason: str) -> None:
    """The CUT →termination: it arrives at the consumer with the reason."""
    pair.provider_does("terminate", _terminate_body(reason))
    body = _arrived(pair, "ContractNegotiationTerminationMessage")
    assert reason in " ".join(body.get("reason", [])), body
    _terminated(pair, tck_consumer, reason, told="consumer")


def test_cn_01_01_offer_then_consumer_terminates(
    nodes: TwoNodes, tck_consumer: httpx.Client
) -> None:
    """CN:01-01: request →offer; the consumer terminates; GET TERMINATED."""
    pair = requested(nodes)
    assert dsp_state(tck_consumer, pair.pids()[0]) == "REQUESTED"
    pair.provider_does("offer", counter_offer(pair))
    offer = _arrived(pair, "ContractOfferMessage")["offer"]
    assert offer["target"] == get(nodes.provider.url, pair.provider)["assetId"]
    pair.wait("OFFERED")
    assert dsp_state(tck_consumer, pair.pids()[0]) == "OFFERED"
    pair.consumer_does("terminate", _terminate_body("CN:01-01 consumer stops"))
    _terminated(pair, tck_consumer, "CN:01-01 consumer stops", told="provider")


def test_cn_01_02_counter_request_then_termination(
    nodes: TwoNodes, tck_consumer: httpx.Client
) -> None:
    """CN:01-02: request →offer; counter-request (offer ``CD123:ACN0102:456``) →termination."""
    pair = offered(nodes)
    pair.consumer_does("counter", counter_offer(pair, "CD123:ACN0102:456"))
    _, provider = pair.wait("REQUESTED")
    assert provider["offer"]["@id"] == "CD123:ACN0102:456", provider
    counter = next(
        m["body"]
        for m in reversed(pair.messages("provider"))
        if m["type"] == "ContractRequestMessage"
    )
    assert_valid(counter, "ContractRequestMessage")
    assert "callbackAddress" not in counter
    assert counter["providerPid"] == provider["providerPid"]
    assert dsp_state(tck_consumer, pair.pids()[0]) == "REQUESTED"
    _provider_terminates(pair, tck_consumer, "CN:01-02 no counter-offers")
    assert pair.history("provider") == [
        ("in", "ContractRequestMessage"),
        ("out", "ContractOfferMessage"),
        ("in", "ContractRequestMessage"),
        ("out", "ContractNegotiationTerminationMessage"),
    ]


def test_cn_02_01_request_then_termination(nodes: TwoNodes, tck_consumer: httpx.Client) -> None:
    """CN:02-01: request →termination."""
    pair = requested(nodes)
    _provider_terminates(pair, tck_consumer, "CN:02-01 not for you")
    assert pair.history("provider") == [
        ("in", "ContractRequestMessage"),
        ("out", "ContractNegotiationTerminationMessage"),
    ]


def test_cn_02_02_request_then_consumer_terminates(
    nodes: TwoNodes, tck_consumer: httpx.Client
) -> None:
    """CN:02-02: request → nothing; the consumer terminates; GET TERMINATED."""
    pair = requested(nodes)
    pair.consumer_does("terminate", _terminate_body("CN:02-02 consumer stops"))
    _terminated(pair, tck_consumer, "CN:02-02 consumer stops", told="provider")
    assert pair.history("provider") == [
        ("in", "ContractRequestMessage"),
        ("in", "ContractNegotiationTerminationMessage"),
    ]


def test_cn_02_03_agreement_then_consumer_terminates(
    nodes: TwoNodes, tck_consumer: httpx.Client
) -> None:
    """CN:02-03: request →agreement; the consumer terminates; GET TERMINATED."""
    pair = requested(nodes)
    pair.provider_does("agree")
    agreement = _arrived(pair, "ContractAgreementMessage")["agreement"]
    assert (agreement["assigner"], agreement["assignee"]) == (NODE_B, NODE_A), agreement
    pair.wait("AGREED")
    assert dsp_state(tck_consumer, pair.pids()[0]) == "AGREED"
    pair.consumer_does("terminate", _terminate_body("CN:02-03 consumer stops"))
    _terminated(pair, tck_consumer, "CN:02-03 consumer stops", told="provider")


def test_cn_02_04_offer_then_tck_terminates(nodes: TwoNodes, tck_consumer: httpx.Client) -> None:
    """CN:02-04: request →offer; the TCK terminates (its own message, extras included);
    GET TERMINATED."""
    pair = offered(nodes)
    provider_pid, consumer_pid = pair.pids()
    assert dsp_state(tck_consumer, provider_pid) == "OFFERED"
    termination = message(
        "ContractNegotiationTerminationMessage",
        provider_pid,
        consumer_pid,
        code="1",
        reason=["CN:02-04 the TCK stops"],
    )
    response = tck_consumer.post(
        f"/negotiations/{provider_pid}/termination",
        json={**termination, "@id": "urn:tck:message:CN-02-04"},
    )
    assert response.status_code == 200, response.text
    assert dsp_state(tck_consumer, provider_pid) == "TERMINATED"
    provider = wait(nodes.provider.url, pair.provider, "TERMINATED")
    assert "CN:02-04 the TCK stops" in provider["errorDetail"]
    # node A, which did not send that message itself, ends the negotiation on its side
    pair.consumer_does("terminate", _terminate_body("CN:02-04 consumer follows"))
    wait(nodes.consumer.url, pair.consumer, "TERMINATED")
    assert dsp_state(tck_consumer, provider_pid) == "TERMINATED"


def test_cn_02_05_offer_then_termination(nodes: TwoNodes, tck_consumer: httpx.Client) -> None:
    """CN:02-05: request →offer →termination."""
    pair = offered(nodes)
    _arrived(pair, "ContractOfferMessage")
    _provider_terminates(pair, tck_consumer, "CN:02-05 offer withdrawn")


def test_cn_02_06_accepted_then_termination(nodes: TwoNodes, tck_consumer: httpx.Client) -> None:
    """CN:02-06: request →offer; ACCEPTED →termination."""
    pair = accepted(nodes)
    assert dsp_state(tck_consumer, pair.pids()[0]) == "ACCEPTED"
    _provider_terminates(pair, tck_consumer, "CN:02-06 changed our mind")
    assert ("in", "ContractNegotiationEventMessage") in pair.history("provider")


def test_cn_02_07_verified_then_termination(nodes: TwoNodes, tck_consumer: httpx.Client) -> None:
    """CN:02-07: request →agreement; verification →termination."""
    pair = verified(nodes)
    assert dsp_state(tck_consumer, pair.pids()[0]) == "VERIFIED"
    _provider_terminates(pair, tck_consumer, "CN:02-07 not finalized")
    with admin(nodes.provider.url) as client:
        response = client.get(f"{NEGOTIATIONS}/{pair.provider}/agreement")
    assert response.status_code == 200  # the agreement was proposed, never finalized
    assert "contractAgreementId" not in get(nodes.consumer.url, pair.consumer)


def _refused_by_provider(
    pair: Pair, tck_consumer: httpx.Client, path: str, body: dict[str, Any], state: str
) -> None:
    """The TCK's negative message ``body`` to ``/negotiations/{providerPid}{path}``: 400, the
    state stays ``state``, the provider recorded nothing."""
    provider_pid, consumer_pid = pair.pids()
    before = pair.history("provider")
    response = tck_consumer.post(f"/negotiations/{provider_pid}{path}", json=body)
    assert_refused(response, provider_pid, consumer_pid, f"in state {state}")
    assert dsp_state(tck_consumer, provider_pid) == state
    assert get(pair.nodes.provider.url, pair.provider)["state"] == state
    assert pair.history("provider") == before


def test_cn_03_02_verification_in_offered_is_refused(
    nodes: TwoNodes, tck_consumer: httpx.Client
) -> None:
    """CN:03-02: request →offer; a verification in OFFERED → 4xx."""
    pair = offered(nodes)
    provider_pid, consumer_pid = pair.pids()
    verification = message("ContractAgreementVerificationMessage", provider_pid, consumer_pid)
    _refused_by_provider(pair, tck_consumer, "/agreement/verification", verification, "OFFERED")
    pair.consumer_does("terminate")
    pair.wait("TERMINATED")


def test_cn_03_03_verification_in_accepted_is_refused(
    nodes: TwoNodes, tck_consumer: httpx.Client
) -> None:
    """CN:03-03: request →offer; ACCEPTED (the CUT does nothing); a verification → 4xx."""
    pair = accepted(nodes)
    provider_pid, consumer_pid = pair.pids()
    verification = message("ContractAgreementVerificationMessage", provider_pid, consumer_pid)
    _refused_by_provider(pair, tck_consumer, "/agreement/verification", verification, "ACCEPTED")
    pair.consumer_does("terminate")
    pair.wait("TERMINATED")


def test_cn_03_04_second_counter_request_is_refused(
    nodes: TwoNodes, tck_consumer: httpx.Client
) -> None:
    """CN:03-04: request →offer; a counter-request (the CUT does nothing); a second
    counter-request → 4xx — the very same message again, or another one."""
    pair = offered(nodes)
    pair.consumer_does("counter", counter_offer(pair, "CD123:ACN0304:456"))
    pair.wait("REQUESTED")
    first = next(
        m["body"]
        for m in reversed(pair.messages("consumer"))
        if (m["direction"], m["type"]) == ("out", "ContractRequestMessage")
        and "providerPid" in m["body"]
    )
    _refused_by_provider(pair, tck_consumer, "/request", first, "REQUESTED")
    another = {**first, "offer": {**first["offer"], "@id": "CD123:ACN0304:789"}}
    _refused_by_provider(pair, tck_consumer, "/request", another, "REQUESTED")
    assert get(nodes.provider.url, pair.provider)["offer"]["@id"] == "CD123:ACN0304:456"
    pair.consumer_does("terminate")
    pair.wait("TERMINATED")


# CN_C: the consumer node under test ----------------------------------------------------------


@dataclass
class ConsumerUnderTest:
    """One negotiation of consumer node A with the TCK provider stand-in."""

    nodes: TwoNodes
    tck: TckProvider
    negotiation: Negotiation  # as the stand-in knows it
    expected: int = 0  # how many of the consumer's messages were checked so far

    @property
    def id(self) -> str:
        """The consumer node's negotiation id (its consumerPid)."""
        return self.negotiation.consumer_pid

    def tck_state(self) -> str:
        """The TCK's ``GET <callback>/negotiations/{consumerPid}`` (schema-valid): the state."""
        response = self.tck.state(self.negotiation)
        assert response.status_code == 200, response.text
        body = response.json()
        assert_valid(body, "ContractNegotiation")
        pids = (self.negotiation.provider_pid, self.negotiation.consumer_pid)
        assert (body["providerPid"], body["consumerPid"]) == pids, body
        return str(body["state"])

    def wait(self, *states: str) -> dict[str, Any]:
        """The consumer's negotiation (management API) once in one of ``states``."""
        return wait(self.nodes.consumer.url, self.id, *states)

    def admin_does(self, action: str, body: Any = None) -> None:
        do(self.nodes.consumer.url, self.id, action, body)

    def expect(self, dsp_type: str, endpoint: str, **fields: Any) -> Received:
        """The consumer's next message (waits for it): a ``dsp_type`` posted to ``endpoint``
        (``{pid}`` = the stand-in's providerPid), from node A, schema-valid, with the pids it
        must carry and ``fields``."""
        provider_pid = self.negotiation.provider_pid
        received = self.tck.message(provider_pid, self.expected)
        self.expected += 1
        assert received.dsp_type == dsp_type, received
        assert received.path == self.tck.path(endpoint.format(pid=provider_pid)), received
        assert received.sender == NODE_A, received
        assert_valid(received.body, dsp_type)
        body = received.body
        assert body["consumerPid"] == self.id, body
        if endpoint != "/negotiations/request":
            assert body["providerPid"] == provider_pid, body
        for name, value in fields.items():
            assert body.get(name) == value, body
        return received

    def nothing_more(self) -> None:
        """The consumer sent nothing the flow did not expect (nor anything refused)."""
        sent = self.tck.received(self.negotiation.provider_pid)
        assert len(sent) == self.expected, sent[self.expected :]
        assert not self.tck.refused(self.id), self.tck.refused(self.id)

    def refused(self, response: httpx.Response, state: str) -> None:
        """The TCK's negative check: 400 (not 404), the state still ``state``."""
        assert_refused(response, self.negotiation.provider_pid, self.id, f"in state {state}")
        assert self.tck_state() == state
        assert self.wait(state)["state"] == state


def _ok(response: httpx.Response) -> None:
    """The CUT acknowledged the stand-in's message (the TCK's expected 200)."""
    assert response.status_code == 200, response.text


def _request(nodes: TwoNodes, tck: TckProvider, dataset: str, *, auto: bool) -> ConsumerUnderTest:
    """The TCK's signal to start: the consumer's administrator requests ``offer<dataset>``
    (seed ids made IRIs) from the stand-in; the request arrives."""
    with admin(nodes.consumer.url) as client:
        response = client.post(
            NEGOTIATIONS,
            json={
                "@context": {"@vocab": EDC_VOCAB},
                "@type": "ContractRequest",
                "counterPartyAddress": tck.url,
                "counterPartyId": NODE_C,
                "protocol": "dataspace-protocol-http:2025-1",
                "autoAccept": auto,
                "policy": {
                    "@context": [DSP_CONTEXT, ODRL_PROFILE],
                    "@type": "Offer",
                    "@id": f"urn:tck:offer{dataset}",
                    "target": f"urn:tck:{dataset}",
                    "permission": USE,
                },
            },
        )
    assert response.status_code == 200, response.text
    negotiation = tck.negotiation_of(str(response.json()["@id"]))
    cut = ConsumerUnderTest(nodes, tck, negotiation)
    request = cut.expect(
        "ContractRequestMessage",
        "/negotiations/request",
        callbackAddress=nodes.consumer.url + DSP_PATH,
    )
    assert "providerPid" not in request.body
    assert request.body["offer"]["@id"] == f"urn:tck:offer{dataset}"
    assert request.body["offer"]["target"] == f"urn:tck:{dataset}"
    return cut


def _trigger(nodes: TwoNodes, tck: TckProvider, dataset: str, *, auto: bool) -> ConsumerUnderTest:
    """:func:`_request`, answered with 200 and the stand-in's providerPid: the consumer is
    REQUESTED. The flows wait for the consumer to have recorded that answer before the
    stand-in sends anything (a message overtaking the answer has its own test)."""
    cut = _request(nodes, tck, dataset, auto=auto)
    negotiation = cut.negotiation
    consumer = cut.wait("REQUESTED")
    assert consumer["providerPid"] == negotiation.provider_pid
    assert consumer["counterPartyId"] == NODE_C
    assert cut.tck_state() == "REQUESTED"
    return cut


def _accepted(cut: ConsumerUnderTest) -> None:
    """The stand-in offers the terms requested; the consumer (``autoAccept``) →ACCEPTED."""
    _ok(cut.tck.offer(cut.negotiation, USE))
    cut.expect(EVENT, "/negotiations/{pid}/events", eventType="ACCEPTED")
    cut.wait("ACCEPTED")
    assert cut.tck_state() == "ACCEPTED"


def _offered(cut: ConsumerUnderTest) -> None:
    """The stand-in offers; the consumer's administrator does nothing: OFFERED."""
    _ok(cut.tck.offer(cut.negotiation, USE))
    assert cut.tck_state() == "OFFERED"
    assert cut.wait("OFFERED")["offer"]["odrl:target"] == {"@id": cut.negotiation.target}


def _tck_terminates(cut: ConsumerUnderTest, reason: str) -> None:
    _ok(cut.tck.terminate(cut.negotiation, reason))
    assert cut.tck_state() == "TERMINATED"
    consumer = cut.wait("TERMINATED")
    assert reason in consumer["errorDetail"], consumer
    assert "contractAgreementId" not in consumer
    cut.nothing_more()


def _consumer_terminates(cut: ConsumerUnderTest, reason: str) -> None:
    """→termination, by the consumer's administrator."""
    cut.admin_does("terminate", _terminate_body(reason))
    termination = cut.expect(
        "ContractNegotiationTerminationMessage", "/negotiations/{pid}/termination"
    )
    assert reason in " ".join(termination.body.get("reason", [])), termination
    cut.wait("TERMINATED")
    assert cut.tck_state() == "TERMINATED"
    cut.nothing_more()


def test_cn_c_01_01_accepted_verified_finalized(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:01-01: trigger →request; offer →ACCEPTED; agreement →verification; FINALIZED;
    GET FINALIZED."""
    cut = _trigger(nodes, tck, "ACNC0101", auto=True)
    _accepted(cut)
    _ok(tck.agreement(cut.negotiation, USE))
    cut.expect("ContractAgreementVerificationMessage", "/negotiations/{pid}/agreement/verification")
    cut.wait("VERIFIED")
    assert cut.tck_state() == "VERIFIED"
    _ok(tck.finalized(cut.negotiation))
    assert cut.tck_state() == "FINALIZED"
    agreement_id = cut.wait("FINALIZED")["contractAgreementId"]
    with admin(nodes.consumer.url) as client:
        response = client.get(f"/management/v3/contractagreements/{agreement_id}")
    assert response.status_code == 200, response.text
    agreement = response.json()
    assert (agreement["providerId"], agreement["consumerId"]) == (NODE_C, NODE_A), agreement
    cut.nothing_more()


def test_cn_c_01_02_offer_then_counter_request(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:01-02: offer →counter-request (to ``/negotiations/{providerPid}/request``); the TCK
    terminates."""
    cut = _trigger(nodes, tck, "ACNC0102", auto=False)
    _offered(cut)
    counter = {
        "@context": [DSP_CONTEXT, ODRL_PROFILE],
        "@type": "Offer",
        "@id": "urn:tck:counter-ACNC0102",
        "permission": OTHER_TERMS,
    }
    cut.admin_does("counter", counter)
    request = cut.expect("ContractRequestMessage", "/negotiations/{pid}/request")
    assert "callbackAddress" not in request.body
    assert request.body["offer"]["@id"] == "urn:tck:counter-ACNC0102"
    assert request.body["offer"]["target"] == cut.negotiation.target
    cut.wait("REQUESTED")
    assert cut.tck_state() == "REQUESTED"
    _tck_terminates(cut, "CN_C:01-02 no counter-offers")


def test_cn_c_01_03_offer_then_termination(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:01-03: offer →termination (terms the consumer did not request: it terminates by
    itself); GET TERMINATED."""
    cut = _trigger(nodes, tck, "ACNC0103", auto=True)
    _ok(tck.offer(cut.negotiation, OTHER_TERMS))
    termination = cut.expect(
        "ContractNegotiationTerminationMessage", "/negotiations/{pid}/termination"
    )
    assert "differs from the offer requested" in " ".join(termination.body["reason"])
    cut.wait("TERMINATED")
    assert cut.tck_state() == "TERMINATED"
    cut.nothing_more()


def test_cn_c_02_01_tck_terminates_requested(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:02-01: the TCK terminates in REQUESTED; GET TERMINATED."""
    cut = _trigger(nodes, tck, "ACNC0201", auto=True)
    _tck_terminates(cut, "CN_C:02-01 not today")


def test_cn_c_02_02_request_then_termination(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:02-02: →request →termination."""
    cut = _trigger(nodes, tck, "ACNC0202", auto=False)
    _consumer_terminates(cut, "CN_C:02-02 not needed any more")


def test_cn_c_02_03_agreement_then_termination(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:02-03: agreement →termination."""
    cut = _trigger(nodes, tck, "ACNC0203", auto=False)
    _ok(tck.agreement(cut.negotiation, USE))
    cut.wait("AGREED")
    assert cut.tck_state() == "AGREED"
    _consumer_terminates(cut, "CN_C:02-03 agreement declined")


def test_cn_c_02_04_offer_then_tck_terminates(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:02-04: offer (the CUT does nothing; GET OFFERED); the TCK terminates."""
    cut = _trigger(nodes, tck, "ACNC0204", auto=False)
    _offered(cut)
    _tck_terminates(cut, "CN_C:02-04 offer withdrawn")


def test_cn_c_02_05_accepted_then_tck_terminates(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:02-05: offer →ACCEPTED; the TCK terminates."""
    cut = _trigger(nodes, tck, "ACNC0205", auto=True)
    _accepted(cut)
    _tck_terminates(cut, "CN_C:02-05 changed our mind")


def test_cn_c_02_06_verified_then_tck_terminates(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:02-06: agreement →verification; the TCK terminates in VERIFIED."""
    cut = _trigger(nodes, tck, "ACNC0206", auto=True)
    _ok(tck.agreement(cut.negotiation, USE))
    cut.expect("ContractAgreementVerificationMessage", "/negotiations/{pid}/agreement/verification")
    cut.wait("VERIFIED")
    assert cut.tck_state() == "VERIFIED"
    _tck_terminates(cut, "CN_C:02-06 not finalized")


def test_cn_c_03_01_finalized_in_requested_is_refused(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:03-01: FINALIZED in REQUESTED → 4xx; GET REQUESTED."""
    cut = _trigger(nodes, tck, "ACNC0301", auto=True)
    cut.refused(tck.finalized(cut.negotiation), "REQUESTED")
    cut.nothing_more()


def test_cn_c_03_02_agreement_in_offered_is_refused(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:03-02: offer (the CUT does nothing); an agreement → 4xx; GET OFFERED."""
    cut = _trigger(nodes, tck, "ACNC0302", auto=False)
    _offered(cut)
    cut.refused(tck.agreement(cut.negotiation, USE), "OFFERED")
    cut.nothing_more()


def test_cn_c_03_03_finalized_in_offered_is_refused(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:03-03: offer (the CUT does nothing); FINALIZED → 4xx; GET OFFERED."""
    cut = _trigger(nodes, tck, "ACNC0303", auto=False)
    _offered(cut)
    cut.refused(tck.finalized(cut.negotiation), "OFFERED")
    cut.nothing_more()


def test_cn_c_03_04_finalized_in_accepted_is_refused(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:03-04: offer →ACCEPTED; FINALIZED → 4xx; GET ACCEPTED."""
    cut = _trigger(nodes, tck, "ACNC0304", auto=True)
    _accepted(cut)
    cut.refused(tck.finalized(cut.negotiation), "ACCEPTED")
    cut.nothing_more()


def test_cn_c_03_05_second_offer_in_accepted_is_refused(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:03-05: offer →ACCEPTED; a second offer → 4xx; GET ACCEPTED."""
    cut = _trigger(nodes, tck, "ACNC0305", auto=True)
    _accepted(cut)
    cut.refused(tck.offer(cut.negotiation, USE), "ACCEPTED")
    cut.nothing_more()


def test_cn_c_03_06_finalized_in_agreed_is_refused(nodes: TwoNodes, tck: TckProvider) -> None:
    """CN_C:03-06: offer →ACCEPTED; agreement (not verified); FINALIZED → 4xx; GET AGREED."""
    cut = _trigger(nodes, tck, "ACNC0306", auto=False)
    _offered(cut)
    cut.admin_does("accept")
    cut.expect(EVENT, "/negotiations/{pid}/events", eventType="ACCEPTED")
    cut.wait("ACCEPTED")
    _ok(tck.agreement(cut.negotiation, USE))
    cut.wait("AGREED")
    assert cut.tck_state() == "AGREED"
    cut.refused(tck.finalized(cut.negotiation), "AGREED")
    cut.nothing_more()


# Beyond the flow list ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "first"),
    [("CN_C:01-01", "offer"), ("CN_C:01-04", "agreement"), ("CN_C:02-01", "termination")],
)
def test_cn_c_first_message_overtakes_the_answer(
    nodes: TwoNodes, tck: TckProvider, flow: str, first: str
) -> None:
    """The flows timed as the TCK may time them: its provider sends its first message once it
    has stored the request (``thenWaitForState(REQUESTED)`` waits for its own state), so the
    message can reach the consumer before the answer to the request has. The stand-in makes
    that certain: it sends before it answers. The consumer must take the message as the
    acknowledgement of its request (learning the providerPid from it) and carry on."""
    early: list[httpx.Response] = []
    send: dict[str, Callable[[Negotiation], httpx.Response]] = {
        "offer": lambda n: tck.offer(n, USE),
        "agreement": lambda n: tck.agreement(n, USE),
        "termination": lambda n: tck.terminate(n, f"{flow} before the answer"),
    }
    tck.before_answering = lambda negotiation: early.append(send[first](negotiation))
    try:
        cut = _request(nodes, tck, flow.replace(":", "-") + "-early", auto=True)
        _ok(poll(lambda: early[0] if early else None, f"the stand-in's early {first}"))
    finally:
        tck.before_answering = None
    negotiation = cut.negotiation
    if first == "termination":
        consumer = cut.wait("TERMINATED")
        assert consumer["providerPid"] == negotiation.provider_pid, consumer
        assert cut.tck_state() == "TERMINATED"
        cut.nothing_more()
        return
    if first == "offer":
        cut.expect(EVENT, "/negotiations/{pid}/events", eventType="ACCEPTED")
        cut.wait("ACCEPTED")
        _ok(tck.agreement(negotiation, USE))
    verification = "ContractAgreementVerificationMessage"
    cut.expect(verification, "/negotiations/{pid}/agreement/verification")
    assert cut.wait("VERIFIED")["providerPid"] == negotiation.provider_pid
    _ok(tck.finalized(negotiation))
    assert cut.tck_state() == "FINALIZED"
    cut.nothing_more()


def test_provider_starts_with_an_offer(nodes: TwoNodes, tck: TckProvider) -> None:
    """Not a TCK flow (no CN_C flow starts with an offer): the provider's initial offer to
    ``POST /negotiations/offers`` (201, OFFERED, for the administrator), accepted, agreed,
    verified and finalized by hand."""
    response, negotiation = tck.open_with_offer(
        nodes.consumer.url + DSP_PATH, "urn:tck:unsolicited", USE
    )
    assert response.status_code == 201, response.text
    assert_valid(response.json(), "ContractNegotiation")
    assert response.json()["state"] == "OFFERED"
    assert negotiation is not None
    cut = ConsumerUnderTest(nodes, tck, negotiation)
    consumer = cut.wait("OFFERED")
    assert (consumer["mode"], consumer["counterPartyId"]) == ("manual", NODE_C), consumer
    assert cut.tck_state() == "OFFERED"
    cut.admin_does("accept")
    cut.expect(EVENT, "/negotiations/{pid}/events", eventType="ACCEPTED")
    cut.wait("ACCEPTED")
    _ok(tck.agreement(negotiation, USE))
    cut.wait("AGREED")
    cut.admin_does("verify")
    cut.expect("ContractAgreementVerificationMessage", "/negotiations/{pid}/agreement/verification")
    cut.wait("VERIFIED")
    _ok(tck.finalized(negotiation))
    assert cut.tck_state() == "FINALIZED"
    assert cut.wait("FINALIZED")["contractAgreementId"]
    cut.nothing_more()

"""Helpers of the negotiation e2e tests (two real nodes, real tokens): the management API of
either node, negotiations set up by hand to a given state, and raw DSP calls with a
participant's own tokens whose answers are checked against the official 2025-1 schemas.

Provider B decides by hand for the offers of :data:`MANUAL_DEFINITION` (see
:func:`manual_nodes`); consumer A is driven through its management API (``autoAccept`` false
where it must wait for its administrator)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from dataspace_support import NODE_A, NODE_B, Dataspace
from dsp_schemas import validator
from shared_reference import DSP
from two_nodes import API_KEY, TwoNodes, start_two_nodes

from connector.catalogue.offers import OfferRef
from connector.identity import keys
from connector.identity.auth import DataspaceAuth
from connector.identity.client import TokenClient

EDC_VOCAB = "https://w3id.org/edc/v0.0.1/ns/"
DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
ODRL_PROFILE = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
DSP_PATH = "/protocol/2025-1"
NEGOTIATIONS = "/management/v3/contractnegotiations"
ASSET = "sustainable-tourism-indicators"
MANUAL_DEFINITION = "manual-indicators"
DEADLINE_SECONDS = 60

T = TypeVar("T")

SCHEMAS = {
    "ContractRequestMessage": "contract-request-message-schema.json",
    "ContractOfferMessage": "contract-offer-message-schema.json",
    "ContractAgreementMessage": "contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": "contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": "contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "contract-negotiation-schema.json",
    "ContractNegotiationError": "contract-negotiation-error-schema.json",
}


# Nodes -----------------------------------------------------------------------------------------


@contextmanager
def manual_nodes(dataspace: Dataspace, root: Path) -> Iterator[TwoNodes]:
    """Provider B and consumer A, B offering :data:`ASSET` also under a contract definition
    whose negotiations its administrator decides (:data:`MANUAL_DEFINITION`)."""
    with start_two_nodes(dataspace, root) as started:
        with admin(started.provider.url) as client:
            created = client.post(
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


def admin(url: str) -> httpx.Client:
    """A client of the management API of the node at ``url``."""
    return httpx.Client(base_url=url, headers={"X-Api-Key": API_KEY}, timeout=30, trust_env=False)


# The management API ----------------------------------------------------------------------------


def catalogue_offer(nodes: TwoNodes, definition_id: str) -> tuple[dict[str, Any], Any]:
    """The provider's offer of the asset under ``definition_id``, as the consumer's catalogue
    request shows it, and the catalogue's context."""
    with admin(nodes.consumer.url) as client:
        response = client.post(
            "/management/v3/catalog/request",
            json={
                "@context": {"@vocab": EDC_VOCAB},
                "counterPartyAddress": nodes.provider.url + DSP_PATH,
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


def start(nodes: TwoNodes, definition_id: str = MANUAL_DEFINITION, **extra: Any) -> str:
    """The consumer's new negotiation for the offer under ``definition_id`` (its id)."""
    offer, context = catalogue_offer(nodes, definition_id)
    with admin(nodes.consumer.url) as client:
        response = client.post(
            NEGOTIATIONS,
            json={
                "@context": context,
                "@type": "ContractRequest",
                "counterPartyAddress": nodes.provider.url + DSP_PATH,
                "counterPartyId": NODE_B,
                "protocol": "dataspace-protocol-http:2025-1",
                "policy": offer,
                **extra,
            },
        )
    assert response.status_code == 200, response.text
    return str(response.json()["@id"])


def get(url: str, negotiation_id: str) -> dict[str, Any]:
    """Negotiation ``negotiation_id`` as the management API of the node at ``url`` shows it."""
    with admin(url) as client:
        response = client.get(f"{NEGOTIATIONS}/{negotiation_id}")
    assert response.status_code == 200, response.text
    negotiation: dict[str, Any] = response.json()
    return negotiation


def poll(probe: Callable[[], T | None], what: str) -> T:
    """``probe()``'s first value that is not None (fails after a generous deadline)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        value = probe()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"{what}: not after {DEADLINE_SECONDS} s"
        time.sleep(0.05)


def wait(url: str, negotiation_id: str, *states: str) -> dict[str, Any]:
    """The negotiation once it is in one of ``states`` (fails after a generous deadline)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        negotiation = get(url, negotiation_id)
        if negotiation["state"] in states:
            return negotiation
        assert time.monotonic() < deadline, f"not {states}: {negotiation}"
        time.sleep(0.05)


def provider_id(nodes: TwoNodes, consumer_pid: str) -> str:
    """The provider's id of the negotiation the consumer calls ``consumer_pid``."""
    return _found(nodes.provider.url, "consumerPid", consumer_pid)


def consumer_id(nodes: TwoNodes, provider_pid: str) -> str:
    """The consumer's id of the negotiation the provider calls ``provider_pid``."""
    return _found(nodes.consumer.url, "providerPid", provider_pid)


def _found(url: str, field: str, pid: str) -> str:
    """The id of the one negotiation of the node at ``url`` whose ``field`` is ``pid``, once
    the node has it."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    with admin(url) as client:
        while True:
            response = client.post(
                f"{NEGOTIATIONS}/request",
                json={
                    "@context": {"@vocab": EDC_VOCAB},
                    "filterExpression": [
                        {"operandLeft": field, "operator": "=", "operandRight": pid}
                    ],
                },
            )
            assert response.status_code == 200, response.text
            found = response.json()
            if found:
                assert len(found) == 1, found
                return str(found[0]["@id"])
            assert time.monotonic() < deadline, f"{url} never heard of {pid}"
            time.sleep(0.05)


def offer_to_consumer(nodes: TwoNodes, definition_id: str, **changes: Any) -> httpx.Response:
    """The provider's administrator offers :data:`ASSET` under ``definition_id`` to consumer
    A (a provider-initiated negotiation); ``changes`` replace members of the body (None:
    leave the member out)."""
    body = {
        "@context": {"@vocab": EDC_VOCAB},
        "@type": "ContractOfferRequest",
        "counterPartyAddress": nodes.consumer.url + DSP_PATH,
        "counterPartyId": NODE_A,
        "contractDefinitionId": definition_id,
        "assetId": ASSET,
    }
    with admin(nodes.provider.url) as client:
        sent = {key: value for key, value in (body | changes).items() if value is not None}
        return client.post(f"{NEGOTIATIONS}/offers", json=sent)


def offered_to_consumer(nodes: TwoNodes, definition_id: str = MANUAL_DEFINITION) -> Pair:
    """A provider-initiated negotiation, OFFERED on both sides."""
    response = offer_to_consumer(nodes, definition_id)
    assert response.status_code == 200, response.text
    provider_side = str(response.json()["@id"])
    provider = wait(nodes.provider.url, provider_side, "OFFERED", "TERMINATED")
    assert provider["state"] == "OFFERED", provider
    pair = Pair(nodes, consumer_id(nodes, provider["providerPid"]), provider_side)
    consumer, _ = pair.wait("OFFERED")
    assert consumer["consumerPid"] == provider["consumerPid"]
    assert consumer["mode"] == "manual"  # an offer nobody asked for waits for an administrator
    return pair


def act(url: str, negotiation_id: str, action: str, body: Any = None) -> httpx.Response:
    """An administrator's action (``accept``, ``agree``, ``terminate``…) on a negotiation."""
    with admin(url) as client:
        if body is None:
            return client.post(f"{NEGOTIATIONS}/{negotiation_id}/{action}")
        return client.post(f"{NEGOTIATIONS}/{negotiation_id}/{action}", json=body)


def do(url: str, negotiation_id: str, action: str, body: Any = None) -> None:
    """:func:`act`, which must be accepted (204)."""
    response = act(url, negotiation_id, action, body)
    assert response.status_code == 204, f"{action}: {response.status_code} {response.text}"


def history(url: str, negotiation_id: str) -> list[dict[str, Any]]:
    """Every message of the negotiation (``direction``, ``type``, ``body``…), in order."""
    with admin(url) as client:
        response = client.get(f"{NEGOTIATIONS}/{negotiation_id}/history")
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()
    return messages


@dataclass
class Pair:
    """One negotiation as both nodes know it."""

    nodes: TwoNodes
    consumer: str  # the consumer's negotiation id
    provider: str  # the provider's negotiation id

    def wait(self, *states: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both sides, once each is in one of ``states``."""
        return (
            wait(self.nodes.consumer.url, self.consumer, *states),
            wait(self.nodes.provider.url, self.provider, *states),
        )

    def consumer_does(self, action: str, body: Any = None) -> None:
        do(self.nodes.consumer.url, self.consumer, action, body)

    def provider_does(self, action: str, body: Any = None) -> None:
        do(self.nodes.provider.url, self.provider, action, body)

    def messages(self, side: str) -> list[dict[str, Any]]:
        """The full history of ``side`` (``"consumer"`` or ``"provider"``)."""
        if side == "consumer":
            return history(self.nodes.consumer.url, self.consumer)
        return history(self.nodes.provider.url, self.provider)

    def history(self, side: str) -> list[tuple[str, str]]:
        """``(direction, DSP type)`` of every message of ``side``, in order."""
        return [(m["direction"], m["type"]) for m in self.messages(side)]

    def pids(self) -> tuple[str, str]:
        """(providerPid, consumerPid) as the provider knows them."""
        negotiation = get(self.nodes.provider.url, self.provider)
        return str(negotiation["providerPid"]), str(negotiation["consumerPid"])


def requested(nodes: TwoNodes) -> Pair:
    """A manual negotiation, requested by a consumer that accepts nothing by itself."""
    consumer_id = start(nodes, autoAccept=False)
    consumer = wait(nodes.consumer.url, consumer_id, "REQUESTED", "TERMINATED")
    assert consumer["state"] == "REQUESTED", consumer
    assert consumer["mode"] == "manual"
    pair = Pair(nodes, consumer_id, provider_id(nodes, consumer["consumerPid"]))
    _, provider = pair.wait("REQUESTED")
    assert provider["mode"] == "manual"
    assert provider["providerPid"] == get(nodes.consumer.url, consumer_id)["providerPid"]
    return pair


def counter_offer(pair: Pair, offer_id: str | None = None) -> dict[str, Any]:
    """The provider's offer as its negotiation shows it (EDC form), with a new id or
    ``offer_id``, as an administrator's counter-offer or counter-request body."""
    shown = dict(get(pair.nodes.provider.url, pair.provider)["offer"])
    shown.pop("@id", None)
    identified = {} if offer_id is None else {"@id": offer_id}
    return {**identified, **shown}


def offered(nodes: TwoNodes) -> Pair:
    pair = requested(nodes)
    pair.provider_does("offer", counter_offer(pair))
    consumer, provider = pair.wait("OFFERED")
    assert consumer["offer"]["@id"] == provider["offer"]["@id"]
    return pair


def accepted(nodes: TwoNodes) -> Pair:
    pair = offered(nodes)
    pair.consumer_does("accept")
    pair.wait("ACCEPTED")
    return pair


def agreed(nodes: TwoNodes) -> Pair:
    pair = requested(nodes)
    pair.provider_does("agree")
    pair.wait("AGREED")
    return pair


def verified(nodes: TwoNodes) -> Pair:
    pair = agreed(nodes)
    pair.consumer_does("verify")
    pair.wait("VERIFIED")
    return pair


def assert_finalized(pair: Pair) -> str:
    """Both sides FINALIZED with the same stored agreement (its id)."""
    consumer, provider = pair.wait("FINALIZED", "TERMINATED")
    assert consumer["state"] == "FINALIZED", consumer
    assert provider["state"] == "FINALIZED", provider
    agreement_id = str(consumer["contractAgreementId"])
    assert provider["contractAgreementId"] == agreement_id
    for url in (pair.nodes.consumer.url, pair.nodes.provider.url):
        with admin(url) as client:
            response = client.get(f"/management/v3/contractagreements/{agreement_id}")
        assert response.status_code == 200, response.text
        agreement = response.json()
        assert agreement["providerId"] == NODE_B
        assert agreement["consumerId"] == NODE_A
        assert agreement["assetId"] == ASSET
    return agreement_id


# Raw DSP ---------------------------------------------------------------------------------------


@contextmanager
def participant_client(
    dataspace: Dataspace, participant: str, *, base_url: str, audience: str
) -> Iterator[httpx.Client]:
    """A synchronous DSP client calling ``base_url`` as ``participant`` (its real DPoP tokens
    from the authority, for the connector of ``audience``)."""
    with httpx.Client(trust_env=False, timeout=10) as authority:
        tokens = TokenClient(
            authority=dataspace.issuer,
            client_id=participant,
            client_key=keys.load_signing_key(dataspace.key_files[participant]),
            dpop_key=keys.ephemeral_key(),
            scope="dsp",
            sync_client=authority,
        )
        with httpx.Client(
            base_url=base_url,
            auth=DataspaceAuth(tokens, audience=audience),
            trust_env=False,
            timeout=10,
        ) as client:
            yield client


def message(dsp_type: str, provider_pid: str, consumer_pid: str, **extra: Any) -> dict[str, Any]:
    """A DSP negotiation message of ``dsp_type`` between the two pids."""
    return {
        "@context": [DSP_CONTEXT],
        "@type": dsp_type,
        "providerPid": provider_pid,
        "consumerPid": consumer_pid,
        **extra,
    }


@functools.cache
def _schema(dsp_type: str) -> Any:
    return validator("negotiation/" + SCHEMAS[dsp_type])


def schema_errors(document: Any) -> list[str]:
    """What the official 2025-1 schema of the document's ``@type`` says against it.

    The schemas are reference material beside the checkout (``tests/shared_reference.py``);
    without them the flows still run with every other check, only this one is left out
    (unit tests in tests/connector/negotiation validate each outbound body where they exist).
    """
    dsp_type = document.get("@type") if isinstance(document, dict) else None
    if dsp_type not in SCHEMAS:
        return [f"no negotiation schema for @type {dsp_type!r}"]
    if not (DSP / "schemas").is_dir():
        return []
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _schema(dsp_type).iter_errors(document)
    ]


def assert_valid(document: Any, dsp_type: str) -> None:
    """``document`` is a ``dsp_type`` its official schema accepts."""
    assert isinstance(document, dict), document
    assert document.get("@type") == dsp_type, document
    assert schema_errors(document) == [], (schema_errors(document), document)


def assert_error(response: httpx.Response, status: int, says: str = "") -> dict[str, Any]:
    """A DSP ``ContractNegotiationError`` with ``status`` whose reason mentions ``says``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["@type"] == "ContractNegotiationError", body
    assert body["code"] == str(status), body
    assert {"providerPid", "consumerPid"} <= body.keys(), body
    assert any(says in reason for reason in body.get("reason", [])), body
    return body


def assert_refused(
    response: httpx.Response, provider_pid: str, consumer_pid: str, says: str = ""
) -> None:
    """The TCK's check of a negative message: a 4xx that is not 404 — here 400 with a
    schema-valid ``ContractNegotiationError`` naming both pids."""
    assert response.status_code != 404, response.text
    body = assert_error(response, 400, says)
    assert_valid(body, "ContractNegotiationError")
    assert (body["providerPid"], body["consumerPid"]) == (provider_pid, consumer_pid), body


def dsp_state(client: httpx.Client, pid: str) -> str:
    """The TCK's state check: ``GET /negotiations/{pid}`` with the counterparty's token (a
    schema-valid ``ContractNegotiation``); its state."""
    response = client.get(f"/negotiations/{pid}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert_valid(body, "ContractNegotiation")
    assert pid in (body["providerPid"], body["consumerPid"]), body
    return str(body["state"])

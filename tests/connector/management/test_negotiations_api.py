"""/management/v3/contractnegotiations and /contractagreements: queries take the names and values
responses show; policies in responses are ODRL to a JSON-LD client and can be sent back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from management_support import OPEN_POLICY, UNREADABLE_POLICY, node_of, seed_offer

from connector.settings import DEVELOPMENT_API_KEY
from connector.store.records import AgreementRecord, NegotiationRecord
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.negotiations import NegotiationRepository
from policies import (
    DPV,
    ETDS,
    ODRL,
    USE,
    Constraint,
    Iri,
    Literal,
    Permission,
    Policy,
    PolicyKind,
    to_dsp,
)

EDC = "https://w3id.org/edc/v0.0.1/ns/"
HEADERS = {"X-Api-Key": DEVELOPMENT_API_KEY}
NEGOTIATIONS = "/management/v3/contractnegotiations"
AGREEMENTS = "/management/v3/contractagreements"
PROVIDER = "did:web:provider.example"
CONSUMER = "did:web:consumer.example"
T0 = datetime(2026, 5, 4, 8, 30, 15, tzinfo=UTC)
RESEARCH = Policy(
    kind=PolicyKind.OFFER,
    uid="urn:uuid:offer-1",
    target="visits",
    permissions=(
        Permission(
            action=USE,
            constraints=(
                Constraint(ETDS + "organisationType", ODRL + "eq", (Literal("research"),)),
                Constraint(ODRL + "purpose", ODRL + "eq", (Iri(DPV + "AcademicResearch"),)),
            ),
        ),
    ),
)
OFFER = to_dsp(RESEARCH, context=False)  # as negotiations store it (compact DSP, embedded)
AGREEMENT = {
    **to_dsp(
        Policy(
            kind=PolicyKind.AGREEMENT,
            uid="agreement-1",
            target="visits",
            assigner=PROVIDER,
            assignee=CONSUMER,
            permissions=RESEARCH.permissions,
        ),
        context=False,
    ),
    "timestamp": "2026-05-04T08:30:15.250000Z",
}


def _negotiation(id: str, **overrides: Any) -> NegotiationRecord:
    """A provider's negotiation with the consumer on ``visits``, every field overridable."""
    fields: dict[str, Any] = {
        "id": id,
        "role": "provider",
        "state": "REQUESTED",
        "counterparty_id": CONSUMER,
        "counterparty_address": "https://consumer.example/dsp",
        "protocol": "dataspace-protocol-http:2025-1",
        "asset_id": "visits",
        "provider_pid": f"urn:uuid:{id}-p",
        "consumer_pid": f"urn:uuid:{id}-c",
        "offer": OFFER,
        "offered_by": "provider",
        "created_at": T0,
        "updated_at": T0,
    }
    return NegotiationRecord(**(fields | overrides))


def _seed(client: TestClient) -> None:
    """A consumer's request waiting to go out, a provider's manual negotiation, a finalized one
    (as provider) with its agreement, signed at a fraction of a second."""
    records = [
        _negotiation("n-requesting", role="consumer", state="INITIAL", intent="REQUEST",
                     pending=True, counterparty_id=PROVIDER, provider_pid=None,
                     counterparty_address="https://provider.example/dsp"),
        _negotiation("n-requested", state="REQUESTED", mode="manual", offered_by="consumer"),
        _negotiation("n-finalized", state="FINALIZED", agreement_id="agreement-1",
                     agreement=AGREEMENT),
    ]  # fmt: skip
    with node_of(client).database.transaction() as session:
        AgreementRepository(session).create(
            AgreementRecord(
                id="agreement-1",
                asset_id="visits",
                provider_id=PROVIDER,
                consumer_id=CONSUMER,
                policy=AGREEMENT,
                signed_at=T0.replace(microsecond=250000),
                negotiation_id=None,
                created_at=T0,
            )
        )
        for record in records:
            NegotiationRepository(session).create(record)


def _query(client: TestClient, url: str, *criteria: dict[str, Any], **spec: Any) -> list[Any]:
    body = {"@type": "QuerySpec", "filterExpression": list(criteria), **spec}
    response = client.post(f"{url}/request", headers=HEADERS, json=body)
    assert response.status_code == 200, response.text
    return list(response.json())


def _ids(found: list[Any]) -> list[str]:
    return sorted(str(item["@id"]) for item in found)


def _criterion(left: str, op: str, right: Any) -> dict[str, Any]:
    return {"operandLeft": left, "operator": op, "operandRight": right}


@pytest.mark.parametrize(
    "name",
    ["counterPartyId", "counterPartyAddress", "type", "state", "contractAgreementId", "assetId",
     "providerPid", "consumerPid", "protocol"],
)  # fmt: skip
def test_every_shown_value_filters_under_its_shown_name(client: TestClient, name: str) -> None:
    _seed(client)
    everything = _query(client, NEGOTIATIONS)
    assert len(everything) == 3
    for negotiation in everything:
        if negotiation.get(name) is None:
            continue
        value = negotiation[name]
        found = _query(client, NEGOTIATIONS, _criterion(name, "=", value))
        assert negotiation["@id"] in _ids(found), (name, value)
        assert all(item[name] == value for item in found), (name, value, found)
        others = _query(client, NEGOTIATIONS, _criterion(name, "!=", value))
        assert negotiation["@id"] not in _ids(others)
        assert all(item.get(name) != value for item in others)


def test_shown_names_sort_and_take_edc_namespace_forms(client: TestClient) -> None:
    _seed(client)
    by_type = _query(client, NEGOTIATIONS, sortField="type", sortOrder="DESC")
    assert [item["type"] for item in by_type] == ["PROVIDER", "PROVIDER", "CONSUMER"]
    full = _criterion(EDC + "counterPartyId", "=", PROVIDER)
    assert _ids(_query(client, NEGOTIATIONS, full)) == ["n-requesting"]
    prefixed = _criterion("edc:contractAgreementId", "in", ["agreement-1"])
    assert _ids(_query(client, NEGOTIATIONS, prefixed)) == ["n-finalized"]


def test_state_filters_take_the_states_responses_show(client: TestClient) -> None:
    _seed(client)
    shown = client.get(f"{NEGOTIATIONS}/n-requesting/state", headers=HEADERS).json()
    assert shown["state"] == "REQUESTING"
    requesting = _criterion("state", "=", "REQUESTING")
    assert _ids(_query(client, NEGOTIATIONS, requesting)) == ["n-requesting"]
    assert _query(client, NEGOTIATIONS, _criterion("state", "=", "INITIAL")) == []
    not_yet = _criterion("state", "in", ["REQUESTING", "REQUESTED"])
    assert _ids(_query(client, NEGOTIATIONS, not_yet)) == ["n-requested", "n-requesting"]
    unfinished = _criterion("state", "not in", ["FINALIZED", "TERMINATED"])
    assert _ids(_query(client, NEGOTIATIONS, unfinished)) == ["n-requested", "n-requesting"]


def test_an_unknown_field_is_a_400_that_lists_the_shown_names(client: TestClient) -> None:
    response = client.post(
        f"{NEGOTIATIONS}/request",
        headers=HEADERS,
        json={"filterExpression": [_criterion("offer", "=", "x")]},
    )
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "unknown contract negotiation field 'offer'" in detail
    assert "counterPartyId" in detail
    assert "contractAgreementId" in detail


def test_contract_signing_date_filters_in_the_epoch_seconds_shown(client: TestClient) -> None:
    _seed(client)
    (agreement,) = _query(client, AGREEMENTS)
    shown = agreement["contractSigningDate"]
    assert isinstance(shown, int)
    assert agreement == client.get(f"{AGREEMENTS}/agreement-1", headers=HEADERS).json()

    def ids(op: str, right: Any) -> list[str]:
        return _ids(_query(client, AGREEMENTS, _criterion("contractSigningDate", op, right)))

    assert ids("=", shown) == ["agreement-1"]
    assert ids("<", shown) == []
    assert ids("<", shown + 1) == ["agreement-1"]
    assert ids(">", shown) == []
    assert ids(">", shown - 1) == ["agreement-1"]
    assert ids(">=", shown) == ids("<=", shown) == ["agreement-1"]


def _odrl_nodes(expanded: Any) -> Iterator[dict[str, Any]]:
    """Every node of an expanded document, depth first."""
    if isinstance(expanded, list):
        for item in expanded:
            yield from _odrl_nodes(item)
    elif isinstance(expanded, dict):
        yield expanded
        for key, value in expanded.items():
            if key != "@context":
                yield from _odrl_nodes(value)


def _assert_odrl(client: TestClient, document: Any, kind: str) -> None:
    """``document`` expanded offline holds one ODRL policy of ``kind`` with the seeded terms,
    and no ODRL name read as an EDC term."""
    expanded = node_of(client).jsonld.expand(document)
    nodes = list(_odrl_nodes(expanded))
    keys = {key for node in nodes for key in node}
    assert not {EDC + name for name in ("permission", "action", "constraint", "target")} & keys
    (policy,) = [node for node in nodes if ODRL + kind in node.get("@type", [])]
    (permission,) = policy[ODRL + "permission"]
    assert permission[ODRL + "action"] == [{"@id": ODRL + "use"}]
    constraints = permission[ODRL + "constraint"]
    assert [c[ODRL + "leftOperand"] for c in constraints] == [
        [{"@id": ETDS + "organisationType"}],
        [{"@id": ODRL + "purpose"}],
    ]
    assert constraints[1][ODRL + "rightOperand"] == [{"@id": DPV + "AcademicResearch"}]
    assert policy[ODRL + "target"] == [{"@id": "visits"}]


def test_policies_in_responses_expand_to_odrl_iris(client: TestClient) -> None:
    _seed(client)
    negotiation = client.get(f"{NEGOTIATIONS}/n-finalized", headers=HEADERS).json()
    assert negotiation["offer"]["@type"] == "odrl:Offer"  # the EDC form, as policy definitions
    assert "@context" not in negotiation["offer"]
    _assert_odrl(client, negotiation, "Offer")
    _assert_odrl(client, _query(client, NEGOTIATIONS, limit=1), "Offer")
    agreement = client.get(f"{NEGOTIATIONS}/n-finalized/agreement", headers=HEADERS)
    assert agreement.status_code == 200, agreement.text
    _assert_odrl(client, agreement.json(), "Agreement")
    (expanded,) = node_of(client).jsonld.expand(agreement.json())
    stamp = expanded["https://w3id.org/dspace/2025/1/timestamp"]
    assert stamp == [{"@value": AGREEMENT["timestamp"]}]
    _assert_odrl(
        client, client.get(f"{AGREEMENTS}/agreement-1", headers=HEADERS).json(), "Agreement"
    )
    _assert_odrl(client, _query(client, AGREEMENTS), "Agreement")


def test_a_policy_this_node_cannot_read_is_shown_with_its_own_context(client: TestClient) -> None:
    _seed(client)
    unknown = {**OFFER, "permission": [{"action": "use", "unknownTerm": "x"}]}
    with node_of(client).database.transaction() as session:
        NegotiationRepository(session).create(_negotiation("n-odd", offer=unknown))
    shown = client.get(f"{NEGOTIATIONS}/n-odd", headers=HEADERS).json()
    assert shown["offer"]["@context"]
    (expanded,) = node_of(client).jsonld.expand(shown)
    (offer,) = expanded[EDC + "offer"]
    assert ODRL + "permission" in offer


def _send_back(client: TestClient, negotiation_id: str, action: str) -> dict[str, Any]:
    """POST the ``offer`` a GET shows, under a new @id, as the body of ``action``; the
    negotiation's ``offer`` afterwards."""
    shown = client.get(f"{NEGOTIATIONS}/{negotiation_id}", headers=HEADERS).json()
    body = {**shown["offer"], "@id": f"urn:uuid:{action}-1"}
    response = client.post(f"{NEGOTIATIONS}/{negotiation_id}/{action}", headers=HEADERS, json=body)
    assert response.status_code == 204, response.text
    after = client.get(f"{NEGOTIATIONS}/{negotiation_id}", headers=HEADERS).json()
    assert after["offer"]["@id"] == f"urn:uuid:{action}-1"
    assert {**after["offer"], "@id": shown["offer"]["@id"]} == shown["offer"]
    offer: dict[str, Any] = after["offer"]
    return offer


def test_the_offer_a_get_shows_is_a_counter_offer_body(client: TestClient) -> None:
    _seed(client)
    _send_back(client, "n-requested", "offer")  # provider, REQUESTED, manual


def test_the_offer_a_get_shows_is_a_counter_request_body(client: TestClient) -> None:
    with node_of(client).database.transaction() as session:
        NegotiationRepository(session).create(
            _negotiation("n-offered", role="consumer", state="OFFERED", mode="manual",
                         counterparty_id=PROVIDER)
        )  # fmt: skip
    _send_back(client, "n-offered", "counter")


def _agreement_of(client: TestClient, agreement_id: str, negotiation_id: str) -> None:
    """A consumer's agreement ``agreement_id`` made by negotiation ``negotiation_id``."""
    with node_of(client).database.transaction() as session:
        NegotiationRepository(session).create(
            _negotiation(negotiation_id, role="consumer", state="VERIFIED",
                         counterparty_id=PROVIDER)
        )  # fmt: skip
        AgreementRepository(session).create(
            AgreementRecord(
                id=agreement_id,
                asset_id="visits",
                provider_id=PROVIDER,
                consumer_id=CONSUMER,
                policy=AGREEMENT,
                signed_at=T0,
                negotiation_id=negotiation_id,
                created_at=T0,
            )
        )


def test_an_agreement_id_holding_a_slash_is_reached_percent_encoded(client: TestClient) -> None:
    # A peer provider chooses the agreement's id; EDC's base64 ids can hold "/" and "+".
    agreement_id = "urn:edc:Y29u/dHJh+Y3Q=:é"
    encoded = quote(agreement_id, safe="")
    _agreement_of(client, agreement_id, "n-slash")
    for suffix in ("", "/"):
        shown = client.get(f"{AGREEMENTS}/{encoded}{suffix}", headers=HEADERS)
        assert shown.status_code == 200, shown.text
        assert shown.json()["@id"] == agreement_id
        negotiation = client.get(f"{AGREEMENTS}/{encoded}/negotiation{suffix}", headers=HEADERS)
        assert negotiation.status_code == 200, negotiation.text
        assert negotiation.json()["@id"] == "n-slash"
    for path in (
        "urn:edc:Y29u/dHJh+Y3Q=",  # "/" not encoded: two segments
        f"{encoded}/history",
        f"{encoded}/negotiation/more",
        "a%00b",  # no database stores a NUL
        "x" * 257,
    ):
        missing = client.get(f"{AGREEMENTS}/{path}", headers=HEADERS)
        assert missing.status_code == 404, (path, missing.text)
        assert missing.headers["content-type"] == "application/problem+json"
    assert client.get(f"{AGREEMENTS}/{encoded}").status_code == 401  # still administrators only


@pytest.mark.parametrize(
    "chosen", ["victim/negotiation", "victim/", "victim//", "a/negotiation/x", "victim%2F"]
)
def test_an_agreement_id_never_reaches_another_agreement(client: TestClient, chosen: str) -> None:
    # Decoded, "victim%2Fnegotiation" is the path of victim's negotiation view, and "victim%2F"
    # is victim's once its trailing "/" is dropped: each id must still be read as itself.
    _agreement_of(client, "victim", "n-victim")
    _agreement_of(client, chosen, "n-chosen")
    shown = client.get(f"{AGREEMENTS}/{quote(chosen, safe='')}", headers=HEADERS)
    assert shown.status_code == 200, shown.text
    assert shown.json()["@id"] == chosen
    made_by = client.get(f"{AGREEMENTS}/{quote(chosen, safe='')}/negotiation", headers=HEADERS)
    assert made_by.json()["@id"] == "n-chosen"


def test_agreement_paths_count_only_with_their_prefix_written_plainly(client: TestClient) -> None:
    _agreement_of(client, "victim", "n-victim")
    assert client.get(f"{AGREEMENTS}/victim", headers=HEADERS).status_code == 200
    for path in (
        "/management/v3/contract%61greements/victim",
        "/management/v3/contract%61greements/anything/contractagreements/victim",
    ):
        assert client.get(path, headers=HEADERS).status_code == 404, path


def _offer(client: TestClient, definition_id: str) -> Any:
    body = {
        "@context": {"@vocab": EDC},
        "@type": "ContractOfferRequest",
        "counterPartyAddress": "http://127.0.0.1:9/protocol/2025-1",
        "counterPartyId": CONSUMER,
        "contractDefinitionId": definition_id,
        "assetId": "visits",
    }
    return client.post(f"{NEGOTIATIONS}/offers", headers=HEADERS, json=body)


def test_an_offer_under_a_contract_policy_this_node_cannot_read_is_refused(
    client: TestClient,
) -> None:
    seed_offer(client, "visits", "cd-visits", OPEN_POLICY)
    seed_offer(client, "visits", "cd-legacy", UNREADABLE_POLICY)
    for definition_id, says in (
        ("cd-legacy", "contract policy 'cd-legacy-contract' cannot be read"),
        ("cd-none", "no such contract definition"),
    ):
        response = _offer(client, definition_id)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert says in response.json()["detail"], response.json()
    assert _query(client, NEGOTIATIONS) == []

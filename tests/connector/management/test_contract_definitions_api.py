"""/management/v3/contractdefinitions: EDC-compatible CRUD and queries; policies must exist,
selectors must be runnable; bad input changes nothing stored; the catalogue reads what is
stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from management_support import node_of

from catalog.search import SearchQuery
from connector.settings import DEVELOPMENT_API_KEY
from connector.store.query import QuerySpec
from connector.store.records import ContractDefinitionRecord
from connector.store.repositories.contract_definitions import ContractDefinitionRepository

EDC = "https://w3id.org/edc/v0.0.1/ns/"
DCT = "http://purl.org/dc/terms/"
HEADERS = {"X-Api-Key": DEVELOPMENT_API_KEY}
V3 = "/management/v3"
URL = f"{V3}/contractdefinitions"
ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "examples" / "policies"
ASSETS = ROOT / "examples" / "etds_examples" / "assets"
ASSET_IDS = {
    "barometer": "booking-barometer",
    "indicators": "sustainable-tourism-indicators",
    "presence": "visitor-presence",
}
REGIONAL_AGENCY = {
    "sub": "urn:etds:participant:occitanie",
    "membership": "active",
    "org_type": "regional_agency",
    "nuts": ("FRJ",),
}
COMPANY = {"sub": "urn:etds:participant:acme", "membership": "active", "org_type": "company"}


def _definition(definition_id: str | None = "cd-1", **members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": {"@vocab": EDC},
        "@type": "ContractDefinition",
        "accessPolicyId": "indicators-access",
        "contractPolicyId": "indicators-contract",
        "assetsSelector": [
            {"@type": "Criterion", "operandLeft": "id", "operator": "=", "operandRight": "x"}
        ],
    } | members
    if definition_id is not None:
        body["@id"] = definition_id
    return body


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The suite's client (conftest) with the two policies the definitions refer to."""
    for name in ("indicators-access", "indicators-contract"):
        _add_policy(client, name)
    return client


def _add_policy(client: TestClient, name: str) -> None:
    document = json.loads((POLICIES / f"{name}.json").read_text())
    response = client.post(f"{V3}/policydefinitions", headers=HEADERS, json=document)
    assert response.status_code == 200, response.text


def _records(client: TestClient) -> dict[str, ContractDefinitionRecord]:
    """Every stored contract definition, straight from the store."""
    with node_of(client).database.read() as session:
        found = ContractDefinitionRepository(session).query(QuerySpec(limit=1000))
    return {record.id: record for record in found}


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:etds:problem:")
    assert problem["detail"]
    return dict(problem)


def _create(client: TestClient, body: dict[str, Any]) -> str:
    response = client.post(URL, headers=HEADERS, json=body)
    assert response.status_code == 200, response.text
    identifier: str = response.json()["@id"]
    return identifier


def test_create_then_get_round_trips_edc_shapes(client: TestClient) -> None:
    created = client.post(URL, headers=HEADERS, json=_definition())
    assert created.status_code == 200, created.text
    assert created.json()["@id"] == "cd-1"
    assert created.json()["@type"] == "IdResponse"

    fetched = client.get(f"{URL}/cd-1", headers=HEADERS)
    assert fetched.status_code == 200
    body = fetched.json()
    assert body["@context"]["@vocab"] == EDC
    assert body["@id"] == "cd-1"
    assert body["@type"] == "ContractDefinition"
    assert body["accessPolicyId"] == "indicators-access"
    assert body["contractPolicyId"] == "indicators-contract"
    assert body["negotiationMode"] == "auto"
    assert body["transferMode"] == "auto"
    assert body["createdAt"] == created.json()["createdAt"]
    assert body["assetsSelector"] == [
        {"@type": "Criterion", "operandLeft": "id", "operator": "=", "operandRight": "x"}
    ]
    assert _records(client)["cd-1"].assets_selector == [
        {"operandLeft": EDC + "id", "operator": "=", "operandRight": "x"}
    ]


def test_selector_operands_are_stored_as_full_iris_and_shown_as_clients_name_them(
    client: TestClient,
) -> None:
    selector = [
        {"operandLeft": "name", "operator": "like", "operandRight": "Booking%"},
        {"operandLeft": "dct:title", "operator": "ilike", "operandRight": "%baro%"},
        {"operandLeft": EDC + "contenttype", "operator": "!=", "operandRight": "text/csv"},
        {"operandLeft": "id", "operator": "IN", "operandRight": ["a", "b"]},
        {"operandLeft": "createdAt", "operator": ">", "operandRight": "2020-01-01T00:00:00Z"},
    ]
    body = _definition(assetsSelector=selector)
    body["@context"]["dct"] = DCT
    _create(client, body)
    assert _records(client)["cd-1"].assets_selector == [
        {"operandLeft": EDC + "name", "operator": "like", "operandRight": "Booking%"},
        {"operandLeft": DCT + "title", "operator": "ilike", "operandRight": "%baro%"},
        {"operandLeft": EDC + "contenttype", "operator": "!=", "operandRight": "text/csv"},
        {"operandLeft": EDC + "id", "operator": "in", "operandRight": ["a", "b"]},
        {"operandLeft": EDC + "createdAt", "operator": ">", "operandRight": "2020-01-01T00:00:00Z"},
    ]
    shown = client.get(f"{URL}/cd-1", headers=HEADERS).json()["assetsSelector"]
    assert [c["operandLeft"] for c in shown] == [
        "name",
        DCT + "title",
        "contenttype",
        "id",
        "createdAt",
    ]
    assert shown[3]["operandRight"] == ["a", "b"]


def test_get_then_put_round_trips(client: TestClient) -> None:
    selector = [{"operandLeft": "id", "operator": "in", "operandRight": ["only-one"]}]
    _create(client, _definition(assetsSelector=selector, negotiationMode="manual"))
    fetched = client.get(f"{URL}/cd-1", headers=HEADERS).json()
    assert fetched["negotiationMode"] == "manual"
    assert fetched["assetsSelector"][0]["operandRight"] == ["only-one"]
    fetched["transferMode"] = "manual"
    assert client.put(URL, headers=HEADERS, json=fetched).status_code == 204
    again = client.get(f"{URL}/cd-1", headers=HEADERS).json()
    assert again == fetched


def test_empty_or_absent_selector_selects_every_asset(client: TestClient) -> None:
    _create(client, _definition("empty", assetsSelector=[]))
    absent = _definition("absent")
    del absent["assetsSelector"]
    _create(client, absent)
    records = _records(client)
    assert records["empty"].assets_selector == []
    assert records["absent"].assets_selector == []
    assert client.get(f"{URL}/absent", headers=HEADERS).json()["assetsSelector"] == []


def test_plain_json_and_private_properties(client: TestClient) -> None:
    body = _definition(privateProperties={"note": "for partners"}, transferMode="manual")
    del body["@context"]
    _create(client, body)
    fetched = client.get(f"{URL}/cd-1", headers=HEADERS).json()
    assert fetched["privateProperties"] == {"note": "for partners"}
    assert fetched["transferMode"] == "manual"
    assert fetched["negotiationMode"] == "auto"


def test_id_is_generated_when_absent(client: TestClient) -> None:
    generated = _create(client, _definition(None))
    assert client.get(f"{URL}/{generated}", headers=HEADERS).status_code == 200


@pytest.mark.parametrize(
    ("member", "location"),
    [("accessPolicyId", "accessPolicyId"), ("contractPolicyId", "contractPolicyId")],
)
def test_unknown_policy_is_a_400_naming_it(client: TestClient, member: str, location: str) -> None:
    _create(client, _definition("kept"))
    before = _records(client)
    body = _definition("new", **{member: "no-such-policy"})
    problem = _assert_problem(client.post(URL, headers=HEADERS, json=body), 400)
    assert "'no-such-policy'" in problem["detail"]
    assert problem["errors"] == [
        {"location": location, "message": "unknown policy definition 'no-such-policy'"}
    ]
    replaced = _definition("kept", **{member: "no-such-policy"})
    _assert_problem(client.put(f"{URL}/kept", headers=HEADERS, json=replaced), 400)
    assert _records(client) == before


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b.pop("accessPolicyId"), id="missing-access-policy"),
        pytest.param(lambda b: b.pop("contractPolicyId"), id="missing-contract-policy"),
        pytest.param(lambda b: b.update(accessPolicyId=7), id="policy-id-not-string"),
        pytest.param(lambda b: b.update(accessPolicyId=["a", "b"]), id="two-policy-ids"),
        pytest.param(lambda b: b.update(contractPolicyId={"x": 1}), id="policy-id-object"),
        pytest.param(lambda b: b.update(negotiationMode="sometimes"), id="unknown-mode"),
        pytest.param(lambda b: b.update(transferMode=True), id="mode-not-string"),
        pytest.param(lambda b: b.update({"@type": "PolicyDefinition"}), id="wrong-type"),
        pytest.param(lambda b: b.update({"@id": "has space"}), id="id-with-space"),
        pytest.param(lambda b: b.update(assetsSelector=["id = x"]), id="criterion-not-object"),
        pytest.param(
            lambda b: b.update(
                assetsSelector=[{"operandLeft": "id", "operator": "~", "operandRight": "x"}]
            ),
            id="unknown-operator",
        ),
        pytest.param(
            lambda b: b.update(assetsSelector=[{"operandLeft": "id", "operandRight": "x"}]),
            id="missing-operator",
        ),
        pytest.param(
            lambda b: b.update(
                assetsSelector=[{"operandLeft": "not a field", "operator": "=", "operandRight": 1}]
            ),
            id="unknown-field",
        ),
        pytest.param(
            lambda b: b.update(
                assetsSelector=[{"operandLeft": "rank", "operator": "=", "operandRight": [1, 2]}]
            ),
            id="several-values-for-equals",
        ),
        pytest.param(
            lambda b: b.update(
                assetsSelector=[
                    {"operandLeft": "createdAt", "operator": ">", "operandRight": "soon"}
                ]
            ),
            id="bad-date",
        ),
        pytest.param(
            lambda b: b.update(
                assetsSelector=[{"operandLeft": "id", "operator": "contains", "operandRight": "x"}]
            ),
            id="operator-unfit-for-field",
        ),
        pytest.param(
            lambda b: b.update(
                assetsSelector=[
                    {"operandLeft": "rank", "operator": "=", "operandRight": 10**18 * 10}
                ]
            ),
            id="out-of-range-number",
        ),
        pytest.param(
            lambda b: b.update(
                assetsSelector=[{"operandLeft": "id", "operator": "=", "operandRight": "x"}] * 65
            ),
            id="too-many-criteria",
        ),
        pytest.param(
            lambda b: b.update({"@context": "https://example.org/remote.jsonld"}),
            id="remote-context",
        ),
    ],
)
def test_invalid_definitions_are_refused_and_nothing_is_stored(
    client: TestClient, mutate: Any
) -> None:
    _create(client, _definition("kept"))
    before = _records(client)
    body = _definition("kept", negotiationMode="manual")
    mutate(body)
    _assert_problem(client.post(URL, headers=HEADERS, json=body), 400)
    _assert_problem(client.put(URL, headers=HEADERS, json=body), 400)
    _assert_problem(client.put(f"{URL}/kept", headers=HEADERS, json=body), 400)
    assert _records(client) == before


def test_selector_errors_name_the_criterion(client: TestClient) -> None:
    selector = [
        {"operandLeft": "id", "operator": "=", "operandRight": "x"},
        {"operandLeft": "id", "operator": "~", "operandRight": "x"},
    ]
    problem = _assert_problem(
        client.post(URL, headers=HEADERS, json=_definition(assetsSelector=selector)), 400
    )
    assert problem["errors"][0]["location"] == "assetsSelector[1]"


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b'{"accessPolicyId": NaN}', "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"<definition/>", "application/xml", 415),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
    ],
)
def test_malformed_bodies_get_problems(
    client: TestClient, raw: bytes, content_type: str, status: int
) -> None:
    headers = HEADERS | {"content-type": content_type}
    _assert_problem(client.post(URL, headers=headers, content=raw), status)
    assert _records(client) == {}


def test_ten_megabyte_body_is_refused(client: TestClient) -> None:
    body = _definition(privateProperties={"blob": "x" * 10_000_000})
    response = client.post(URL, headers=HEADERS, content=json.dumps(body).encode())
    _assert_problem(response, 413)
    assert _records(client) == {}


def test_duplicate_id_is_a_conflict_and_keeps_the_original(client: TestClient) -> None:
    _create(client, _definition())
    before = _records(client)
    _assert_problem(client.post(URL, headers=HEADERS, json=_definition(transferMode="manual")), 409)
    assert _records(client) == before


def test_put_by_path_replaces_and_keeps_creation_time(client: TestClient) -> None:
    _create(client, _definition())
    before = client.get(f"{URL}/cd-1", headers=HEADERS).json()
    replaced = _definition(None, transferMode="manual", assetsSelector=[])
    assert client.put(f"{URL}/cd-1", headers=HEADERS, json=replaced).status_code == 204
    after = client.get(f"{URL}/cd-1", headers=HEADERS).json()
    assert after["transferMode"] == "manual"
    assert after["assetsSelector"] == []
    assert after["createdAt"] == before["createdAt"]
    assert _records(client)["cd-1"].version == 2


def test_put_with_another_id_in_the_body_is_refused(client: TestClient) -> None:
    _create(client, _definition())
    before = _records(client)
    problem = _assert_problem(
        client.put(f"{URL}/cd-1", headers=HEADERS, json=_definition("cd-2")), 400
    )
    assert problem["errors"][0]["location"] == "@id"
    _assert_problem(client.put(URL, headers=HEADERS, json=_definition(None)), 400)
    assert _records(client) == before


def test_unknown_definition_is_404_everywhere(client: TestClient) -> None:
    _assert_problem(client.get(f"{URL}/nope", headers=HEADERS), 404)
    _assert_problem(client.delete(f"{URL}/nope", headers=HEADERS), 404)
    _assert_problem(client.put(URL, headers=HEADERS, json=_definition("nope")), 404)
    _assert_problem(client.put(f"{URL}/nope", headers=HEADERS, json=_definition(None)), 404)
    for path_id in ("a%00b", "_:b0", "a%2Fb", "x" * 300):
        _assert_problem(client.get(f"{URL}/{path_id}", headers=HEADERS), 404)
    assert _records(client) == {}


def test_delete_removes_and_frees_its_policies(client: TestClient) -> None:
    _create(client, _definition())
    policy_url = f"{V3}/policydefinitions/indicators-access"
    _assert_problem(client.delete(policy_url, headers=HEADERS), 409)
    assert client.delete(f"{URL}/cd-1", headers=HEADERS).status_code == 204
    _assert_problem(client.get(f"{URL}/cd-1", headers=HEADERS), 404)
    assert client.delete(policy_url, headers=HEADERS).status_code == 204


def test_query_by_policy_id_and_dates(client: TestClient) -> None:
    _add_policy(client, "presence-access")
    _create(client, _definition("cd-b"))
    _create(client, _definition("cd-a", accessPolicyId="presence-access"))
    _create(client, _definition("cd-c", contractPolicyId="indicators-access"))

    def query(*criteria: dict[str, Any], **spec: Any) -> list[str]:
        body = {"@type": "QuerySpec", "filterExpression": list(criteria)} | spec
        response = client.post(f"{URL}/request", headers=HEADERS, json=body)
        assert response.status_code == 200, response.text
        return [item["@id"] for item in response.json()]

    assert query() == ["cd-a", "cd-b", "cd-c"]
    assert query(sortOrder="DESC", limit=1) == ["cd-c"]
    access = {"operandLeft": "accessPolicyId", "operator": "=", "operandRight": "indicators-access"}
    assert query(access) == ["cd-b", "cd-c"]
    contract = {
        "operandLeft": "contractPolicyId",
        "operator": "=",
        "operandRight": "indicators-access",
    }
    assert query(contract) == ["cd-c"]
    by_id = {"operandLeft": "id", "operator": "!=", "operandRight": "cd-b"}
    assert query(by_id) == ["cd-a", "cd-c"]
    future = {"operandLeft": "createdAt", "operator": ">", "operandRight": "9000-01-01T00:00:00Z"}
    assert query(future) == []
    past = {"operandLeft": "createdAt", "operator": "<", "operandRight": "9000-01-01T00:00:00Z"}
    assert query(past, access) == ["cd-b", "cd-c"]
    rendered = client.post(f"{URL}/request", headers=HEADERS).json()
    assert [item["@type"] for item in rendered] == ["ContractDefinition"] * 3


@pytest.mark.parametrize(
    "spec",
    [
        {"limit": 0},
        {
            "filterExpression": [
                {"operandLeft": "assetsSelector", "operator": "=", "operandRight": "x"}
            ]
        },
        {"filterExpression": [{"operandLeft": "name", "operator": "=", "operandRight": "x"}]},
        {"sortField": "policy"},
    ],
)
def test_invalid_queries_are_400(client: TestClient, spec: dict[str, Any]) -> None:
    _assert_problem(client.post(f"{URL}/request", headers=HEADERS, json=spec), 400)


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}])
def test_every_route_needs_an_administrator(client: TestClient, headers: dict[str, str]) -> None:
    _create(client, _definition())
    before = _records(client)
    routes: list[tuple[str, str, Any]] = [
        ("POST", URL, _definition("cd-2")),
        ("POST", f"{URL}/request", {}),
        ("GET", f"{URL}/cd-1", None),
        ("PUT", URL, _definition()),
        ("PUT", f"{URL}/cd-1", _definition()),
        ("DELETE", f"{URL}/cd-1", None),
        ("POST", URL, "not even an object"),
    ]
    for method, url, body in routes:
        _assert_problem(client.request(method, url, headers=headers, json=body), 401)
    assert _records(client) == before


def test_v2_prefix_serves_the_same_api(client: TestClient) -> None:
    response = client.post(
        "/management/v2/contractdefinitions", headers=HEADERS, json=_definition()
    )
    assert response.status_code == 200
    assert client.get(f"{URL}/cd-1", headers=HEADERS).status_code == 200


def _add_assets(client: TestClient) -> None:
    for name, asset_id in ASSET_IDS.items():
        document = json.loads((ASSETS / f"{name}.json").read_text())
        document["@id"] = asset_id
        response = client.post(f"{V3}/assets", headers=HEADERS, json=document)
        assert response.status_code == 200, response.text


def _catalogue(client: TestClient, claims: dict[str, Any]) -> dict[str, int]:
    """Dataset id → number of offers, in the catalogue ``claims`` may see."""
    page = node_of(client).catalogue.page(claims, SearchQuery(), None, 50)
    return {dataset.id: len(dataset.offers) for dataset in page.catalogue.datasets}


def test_the_catalogue_offers_what_the_definitions_select(client: TestClient) -> None:
    _add_assets(client)
    for name in ("barometer-access", "barometer-contract"):
        _add_policy(client, name)
    _create(client, _definition("open-data", assetsSelector=[]))
    by_name = [{"operandLeft": "name", "operator": "ilike", "operandRight": "%BAROMETER"}]
    _create(
        client,
        _definition(
            "public-sector",
            accessPolicyId="barometer-access",
            contractPolicyId="barometer-contract",
            assetsSelector=by_name,
        ),
    )
    assert _catalogue(client, REGIONAL_AGENCY) == {
        "booking-barometer": 2,
        "sustainable-tourism-indicators": 1,
        "visitor-presence": 1,
    }
    assert _catalogue(client, COMPANY) == {
        "booking-barometer": 1,
        "sustainable-tourism-indicators": 1,
        "visitor-presence": 1,
    }
    narrowed = _definition(
        None,
        assetsSelector=[{"operandLeft": "id", "operator": "=", "operandRight": "visitor-presence"}],
    )
    assert client.put(f"{URL}/open-data", headers=HEADERS, json=narrowed).status_code == 204
    assert _catalogue(client, COMPANY) == {"visitor-presence": 1}

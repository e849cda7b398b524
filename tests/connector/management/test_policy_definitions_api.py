"""/management/v3/policydefinitions: EDC-compatible CRUD and queries, validation that lists every
issue, ``validate`` and ``explain``; bad input changes nothing stored."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from management_support import node_of

from connector.settings import DEVELOPMENT_API_KEY
from connector.store.query import QuerySpec
from connector.store.records import PolicyDefinitionRecord
from connector.store.repositories.policies import PolicyDefinitionRepository
from policies import ODRL, Constraint, parse_policy, to_dsp

EDC = "https://w3id.org/edc/v0.0.1/ns/"
ETDS = "https://w3id.org/etds/policy#"
HEADERS = {"X-Api-Key": DEVELOPMENT_API_KEY}
V3 = "/management/v3"
URL = f"{V3}/policydefinitions"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"
EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.json"))
OFFICIAL_STATISTICS = "https://w3id.org/dpv#ProvideOfficialStatistics"
REGIONAL_AGENCY = {
    "sub": "urn:etds:participant:occitanie",
    "membership": "active",
    "org_type": "regional_agency",
    "country": "FR",
    "nuts": ["FRJ"],
}


def _example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return document


def _membership_policy(policy_id: str | None = "members", value: str = "active") -> dict[str, Any]:
    """A plain-JSON definition (no @context): ODRL terms with the odrl: prefix."""
    body: dict[str, Any] = {
        "@type": "PolicyDefinition",
        "policy": {
            "@type": "odrl:Set",
            "odrl:permission": [
                {
                    "odrl:action": "use",
                    "odrl:constraint": [
                        {
                            "odrl:leftOperand": "etds:membership",
                            "odrl:operator": "eq",
                            "odrl:rightOperand": value,
                        }
                    ],
                }
            ],
        },
    }
    if policy_id is not None:
        body["@id"] = policy_id
    return body


def _records(client: TestClient) -> dict[str, PolicyDefinitionRecord]:
    """Every stored policy definition, straight from the store."""
    with node_of(client).database.read() as session:
        repository = PolicyDefinitionRepository(session)
        return {record.id: record for record in repository.query(QuerySpec(limit=1000))}


def _stored(client: TestClient) -> list[dict[str, Any]]:
    response = client.post(f"{URL}/request", headers=HEADERS, json={"limit": 1000})
    assert response.status_code == 200, response.text
    return list(response.json())


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


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_is_accepted_as_is_and_stored_in_dsp_form(
    client: TestClient, name: str
) -> None:
    document = _example(name)
    created = client.post(URL, headers=HEADERS, json=document)
    assert created.status_code == 200, created.text
    assert created.json()["@id"] == name
    assert created.json()["@type"] == "IdResponse"
    assert isinstance(created.json()["createdAt"], int)

    processor = node_of(client).jsonld
    expected = parse_policy(document["policy"], processor=processor, context=document["@context"])
    with node_of(client).database.read() as session:
        record = PolicyDefinitionRepository(session).get(name)
    assert record.policy == to_dsp(expected)  # the form the catalogue reads
    assert parse_policy(record.policy, processor=processor) == expected

    fetched = client.get(f"{URL}/{name}", headers=HEADERS)
    assert fetched.status_code == 200
    body = fetched.json()
    assert body["@id"] == name
    assert body["@type"] == "PolicyDefinition"
    assert body["createdAt"] == created.json()["createdAt"]
    assert body["@context"]["@vocab"] == EDC
    assert body["@context"]["etds"] == ETDS
    assert "@context" not in body["policy"]
    assert parse_policy(body["policy"], processor=processor, context=body["@context"]) == expected


def test_plain_json_with_odrl_prefixes_round_trips_through_get_and_put(client: TestClient) -> None:
    assert _create(client, _membership_policy()) == "members"
    fetched = client.get(f"{URL}/members", headers=HEADERS).json()
    constraint = fetched["policy"]["odrl:permission"][0]["odrl:constraint"][0]
    assert constraint["odrl:leftOperand"] == {"@id": "etds:membership"}
    assert constraint["odrl:rightOperand"] == "active"

    constraint["odrl:rightOperand"] = "suspended"
    assert client.put(f"{URL}/members", headers=HEADERS, json=fetched).status_code == 204
    again = client.get(f"{URL}/members", headers=HEADERS).json()
    assert again["policy"]["odrl:permission"][0]["odrl:constraint"][0]["odrl:rightOperand"] == (
        "suspended"
    )
    assert again["createdAt"] == fetched["createdAt"]


def test_json_ld_with_its_own_prefixes_is_read_through_its_context(client: TestClient) -> None:
    body = {
        "@context": {"@vocab": EDC, "o": ODRL, "profile": ETDS},
        "@id": "own-prefixes",
        "@type": "PolicyDefinition",
        "policy": {
            "@type": "o:Set",
            "o:permission": {
                "o:action": {"@id": "o:use"},
                "o:constraint": {
                    "o:leftOperand": {"@id": "profile:organisationType"},
                    "o:operator": {"@id": "o:isAnyOf"},
                    "o:rightOperand": ["research", "company"],
                },
            },
        },
    }
    _create(client, body)
    processor = node_of(client).jsonld
    policy = parse_policy(_records(client)["own-prefixes"].policy, processor=processor)
    constraint = policy.permissions[0].constraints[0]
    assert isinstance(constraint, Constraint)
    assert constraint.left_operand == ETDS + "organisationType"
    assert constraint.operator == ODRL + "isAnyOf"
    assert [item.value for item in constraint.right_operand] == ["research", "company"]


def test_a_policy_node_in_dsp_form_with_its_own_context_is_accepted(client: TestClient) -> None:
    body = {
        "@id": "dsp-form",
        "policy": {
            "@context": [
                "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
                {"etds": ETDS},
            ],
            "@type": "Set",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "etds:membership",
                            "operator": "eq",
                            "rightOperand": "active",
                        }
                    ],
                }
            ],
        },
    }
    _create(client, body)
    fetched = client.get(f"{URL}/dsp-form", headers=HEADERS).json()
    assert fetched["policy"]["@type"] == "odrl:Set"
    assert fetched["policy"]["odrl:permission"][0]["odrl:action"] == {"@id": "odrl:use"}


def test_id_is_generated_when_absent(client: TestClient) -> None:
    generated = _create(client, _membership_policy(None))
    assert client.get(f"{URL}/{generated}", headers=HEADERS).status_code == 200


def test_private_properties_round_trip(client: TestClient) -> None:
    body = _membership_policy()
    body["privateProperties"] = {"owner": "data team", "reviewed": 2025}
    _create(client, body)
    fetched = client.get(f"{URL}/members", headers=HEADERS).json()
    assert fetched["privateProperties"] == {"owner": "data team", "reviewed": 2025}


def test_invalid_policy_is_a_400_listing_every_issue(client: TestClient) -> None:
    body = _membership_policy("broken")
    permission = body["policy"]["odrl:permission"][0]
    permission["odrl:constraint"] = [
        {"odrl:leftOperand": "etds:shoeSize", "odrl:operator": "eq", "odrl:rightOperand": "42"},
        {"odrl:leftOperand": "odrl:count", "odrl:operator": "eq", "odrl:rightOperand": "five"},
        {"odrl:leftOperand": "odrl:dateTime", "odrl:operator": "odrl:near", "odrl:rightOperand": 1},
    ]
    problem = _assert_problem(client.post(URL, headers=HEADERS, json=body), 400)
    assert problem["type"] == "urn:etds:problem:invalid-policy"
    locations = [error["location"] for error in problem["errors"]]
    assert locations == [
        "permission[0].constraint[0].leftOperand",
        "permission[0].constraint[1].rightOperand",
        "permission[0].constraint[2].operator",
    ]
    assert "etds:shoeSize" in problem["errors"][0]["message"]
    assert _records(client) == {}


def test_bare_odrl_names_under_the_edc_vocabulary_are_refused_with_a_hint(
    client: TestClient,
) -> None:
    body = {"@id": "bare", "policy": {"@type": "Set", "permission": [{"action": "use"}]}}
    problem = _assert_problem(client.post(URL, headers=HEADERS, json=body), 400)
    assert problem["type"] == "urn:etds:problem:invalid-policy"
    assert "'odrl:' prefix" in problem["detail"]
    assert "permission" in problem["detail"]
    assert _records(client) == {}


def _nest(depth: int) -> dict[str, Any]:
    body = _membership_policy("kept")
    nested: Any = "x"
    for _ in range(depth):
        nested = {"n": nested}
    body["privateProperties"] = {"deep": nested}
    return body


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b.pop("policy"), id="missing-policy"),
        pytest.param(lambda b: b.update(policy="use"), id="policy-literal"),
        pytest.param(lambda b: b.update(policy=[b["policy"], b["policy"]]), id="two-policies"),
        pytest.param(lambda b: b.update({"@type": "Asset"}), id="wrong-type"),
        pytest.param(lambda b: b.update({"@id": "a/b"}), id="id-with-slash"),
        pytest.param(lambda b: b.update({"@id": "x" * 300}), id="id-too-long"),
        pytest.param(lambda b: b["policy"].update({"@type": "odrl:Offer"}), id="offer-without-id"),
        pytest.param(lambda b: b["policy"].pop("odrl:permission"), id="no-permission"),
        pytest.param(
            lambda b: b["policy"]["odrl:permission"][0].update({"odrl:action": "fly"}),
            id="unknown-action",
        ),
        pytest.param(
            lambda b: b["policy"]["odrl:permission"][0].update({"odrl:target": "x"}),
            id="rule-level-target",
        ),
        pytest.param(
            lambda b: b["policy"].update({"odrl:prohibition": [{"odrl:action": "teleport"}]}),
            id="unknown-prohibited-action",
        ),
        pytest.param(
            lambda b: b["policy"]["odrl:permission"][0]["odrl:constraint"].append(
                {"odrl:or": [{"odrl:leftOperand": "odrl:count", "odrl:operator": "lt"}]}
            ),
            id="malformed-logical-constraint",
        ),
        pytest.param(
            lambda b: b["policy"]["odrl:permission"][0]["odrl:constraint"].append(
                {
                    "odrl:or": [
                        {
                            "odrl:leftOperand": "etds:aggregationThreshold",
                            "odrl:operator": "gteq",
                            "odrl:rightOperand": 3,
                        },
                        {
                            "odrl:leftOperand": "etds:membership",
                            "odrl:operator": "eq",
                            "odrl:rightOperand": "active",
                        },
                    ]
                }
            ),
            id="data-shaping-term-under-or",
        ),
        pytest.param(
            lambda b: b.update({"@context": "https://example.org/remote.jsonld"}),
            id="remote-context",
        ),
        pytest.param(
            lambda b: b["policy"].update({"@context": "http://www.w3.org/ns/odrl.jsonld"}),
            id="remote-policy-context",
        ),
        pytest.param(lambda b: b.update(privateProperties={"x": "a\u0000b"}), id="nul-in-property"),
        pytest.param(lambda b: b.update(_nest(200)), id="deep-nesting"),
    ],
)
def test_invalid_definitions_are_refused_and_nothing_is_stored(
    client: TestClient, mutate: Any
) -> None:
    _create(client, _membership_policy("kept"))
    before = _stored(client)
    body = _membership_policy("kept", value="suspended")
    mutate(body)
    _assert_problem(client.post(URL, headers=HEADERS, json=body), 400)
    _assert_problem(client.put(f"{URL}/kept", headers=HEADERS, json=body), 400)
    assert _stored(client) == before


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b'{"policy": {"x": NaN}}', "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"<policy/>", "application/xml", 415),
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
    body = _membership_policy()
    body["privateProperties"] = {"blob": "x" * 10_000_000}
    response = client.post(URL, headers=HEADERS, content=json.dumps(body).encode())
    _assert_problem(response, 413)
    assert _records(client) == {}


def test_duplicate_id_is_a_conflict_and_keeps_the_original(client: TestClient) -> None:
    _create(client, _membership_policy())
    again = client.post(URL, headers=HEADERS, json=_membership_policy(value="suspended"))
    _assert_problem(again, 409)
    fetched = client.get(f"{URL}/members", headers=HEADERS).json()
    assert fetched["policy"]["odrl:permission"][0]["odrl:constraint"][0]["odrl:rightOperand"] == (
        "active"
    )


def test_put_with_another_id_in_the_body_is_refused(client: TestClient) -> None:
    _create(client, _membership_policy())
    before = _stored(client)
    body = _membership_policy("other", value="suspended")
    problem = _assert_problem(client.put(f"{URL}/members", headers=HEADERS, json=body), 400)
    assert problem["errors"][0]["location"] == "@id"
    assert _stored(client) == before


def test_unknown_definition_is_404_everywhere(client: TestClient) -> None:
    _assert_problem(client.get(f"{URL}/nope", headers=HEADERS), 404)
    _assert_problem(client.delete(f"{URL}/nope", headers=HEADERS), 404)
    _assert_problem(client.put(f"{URL}/nope", headers=HEADERS, json=_membership_policy(None)), 404)
    _assert_problem(client.post(f"{URL}/nope/validate", headers=HEADERS), 404)
    explain = {"scope": "catalog", "claims": REGIONAL_AGENCY}
    _assert_problem(client.post(f"{URL}/nope/explain", headers=HEADERS, json=explain), 404)
    assert _records(client) == {}


@pytest.mark.parametrize("path_id", ["a%00b", "_:b0", "a%2Fb", "x" * 300])
def test_ids_no_definition_can_have_are_not_found(client: TestClient, path_id: str) -> None:
    _assert_problem(client.get(f"{URL}/{path_id}", headers=HEADERS), 404)
    _assert_problem(client.delete(f"{URL}/{path_id}", headers=HEADERS), 404)


def test_delete_removes_and_a_referenced_policy_is_kept(client: TestClient) -> None:
    _create(client, _membership_policy("members"))
    _create(client, _membership_policy("unused"))
    definition = {"@id": "cd-1", "accessPolicyId": "members", "contractPolicyId": "members"}
    response = client.post(f"{V3}/contractdefinitions", headers=HEADERS, json=definition)
    assert response.status_code == 200, response.text

    assert client.delete(f"{URL}/unused", headers=HEADERS).status_code == 204
    _assert_problem(client.get(f"{URL}/unused", headers=HEADERS), 404)
    problem = _assert_problem(client.delete(f"{URL}/members", headers=HEADERS), 409)
    assert "cd-1" in problem["detail"]
    assert set(_records(client)) == {"members"}


def test_query_filters_sorts_and_pages(client: TestClient) -> None:
    for name in ("b-policy", "a-policy", "c-policy"):
        _create(client, _membership_policy(name))

    def query(**spec: Any) -> list[str]:
        response = client.post(
            f"{URL}/request", headers=HEADERS, json={"@type": "QuerySpec"} | spec
        )
        assert response.status_code == 200, response.text
        return [item["@id"] for item in response.json()]

    assert query() == ["a-policy", "b-policy", "c-policy"]
    assert query(sortOrder="DESC", limit=2) == ["c-policy", "b-policy"]
    assert query(offset=1) == ["b-policy", "c-policy"]
    by_id = {"operandLeft": "id", "operator": "in", "operandRight": ["c-policy", "a-policy"]}
    assert query(filterExpression=[by_id]) == ["a-policy", "c-policy"]
    since = {"operandLeft": "createdAt", "operator": ">=", "operandRight": "2000-01-01T00:00:00Z"}
    assert query(filterExpression=[since], sortField="createdAt", limit=1) != []
    future = {"operandLeft": "createdAt", "operator": ">", "operandRight": "9000-01-01T00:00:00Z"}
    assert query(filterExpression=[future]) == []
    assert len(client.post(f"{URL}/request", headers=HEADERS).json()) == 3


@pytest.mark.parametrize(
    "spec",
    [
        {"limit": 0},
        {"filterExpression": [{"operandLeft": "policy", "operator": "=", "operandRight": "x"}]},
        {"filterExpression": [{"operandLeft": "id", "operator": "~", "operandRight": "x"}]},
        {"sortField": "assigner"},
    ],
)
def test_invalid_queries_are_400(client: TestClient, spec: dict[str, Any]) -> None:
    _assert_problem(client.post(f"{URL}/request", headers=HEADERS, json=spec), 400)


def _store_raw(client: TestClient, policy_id: str, policy: dict[str, Any]) -> None:
    """Store a policy as an older node version may have (bypassing today's validation)."""
    now = datetime.now(UTC)
    with node_of(client).database.transaction() as session:
        PolicyDefinitionRepository(session).create(
            PolicyDefinitionRecord(id=policy_id, policy=policy, created_at=now, updated_at=now)
        )


def test_validate_reports_on_the_stored_policy(client: TestClient) -> None:
    _create(client, _example("barometer-contract"))
    valid = client.post(f"{URL}/barometer-contract/validate", headers=HEADERS)
    assert valid.status_code == 200
    assert valid.json() == {"valid": True}

    outdated = {
        "@context": ["https://w3id.org/dspace/2025/1/odrl-profile.jsonld", {"etds": ETDS}],
        "@type": "Set",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "etds:retiredTerm", "operator": "eq", "rightOperand": "x"}
                ],
            }
        ],
    }
    _store_raw(client, "outdated", outdated)
    report = client.post(f"{URL}/outdated/validate", headers=HEADERS).json()
    assert report == {
        "valid": False,
        "issues": [
            {
                "path": "permission[0].constraint[0].leftOperand",
                "term": "etds:retiredTerm",
                "message": "unknown left operand 'etds:retiredTerm'",
            }
        ],
    }


def test_an_unreadable_stored_policy_is_shown_as_stored_and_reported(client: TestClient) -> None:
    unreadable = {"@context": {"@vocab": "https://example.org/"}, "@type": "Whatever"}
    _store_raw(client, "unreadable", unreadable)
    fetched = client.get(f"{URL}/unreadable", headers=HEADERS)
    assert fetched.status_code == 200
    assert fetched.json()["policy"] == unreadable
    report = client.post(f"{URL}/unreadable/validate", headers=HEADERS).json()
    assert report["valid"] is False
    assert len(report["issues"]) == 1
    explain = {"scope": "catalog", "claims": REGIONAL_AGENCY}
    _assert_problem(client.post(f"{URL}/unreadable/explain", headers=HEADERS, json=explain), 422)
    assert client.delete(f"{URL}/unreadable", headers=HEADERS).status_code == 204


def _explain(client: TestClient, policy_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{URL}/{policy_id}/explain", headers=HEADERS, json=body)
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()
    return decision


def _outcomes(decision: dict[str, Any]) -> dict[str, str]:
    return {reason["leftOperand"]: reason["outcome"] for reason in decision["reasons"]}


def test_explain_allows_a_regional_agency_for_official_statistics(client: TestClient) -> None:
    _create(client, _example("barometer-contract"))
    decision = _explain(
        client,
        "barometer-contract",
        scope="negotiation",
        claims=REGIONAL_AGENCY,
        purpose=OFFICIAL_STATISTICS,
    )
    assert decision["allowed"] is True
    assert decision["scope"] == "negotiation"
    assert decision["grantedBy"] == "permission[0]"
    enforced = {reason["leftOperand"] for reason in decision["enforced"]}
    assert enforced == {
        "etds:rowRegion",
        "etds:spatialGranularity",
        "etds:aggregationThreshold",
    }
    contractual = {(term["kind"], term["action"]) for term in decision["contractual"]}
    assert contractual == {
        ("duty", "odrl:delete"),
        ("prohibition", "etds:reidentify"),
        ("prohibition", "odrl:distribute"),
    }


def test_explain_shows_why_a_request_is_denied(client: TestClient) -> None:
    _create(client, _example("barometer-contract"))
    company = REGIONAL_AGENCY | {"org_type": "company"}
    denied = _explain(client, "barometer-contract", scope="negotiation", claims=company)
    assert denied["allowed"] is False
    assert denied["grantedBy"] is None
    outcomes = _outcomes(denied)
    assert outcomes["etds:organisationType"] == "violated"
    assert outcomes["odrl:purpose"] == "missing"
    organisation = next(r for r in denied["reasons"] if r["leftOperand"] == "etds:organisationType")
    assert organisation["path"] == "permission[0].constraint[1]"
    assert organisation["actual"] == "company"

    in_catalogue = _explain(
        client,
        "barometer-contract",
        scope="catalog",
        claims=REGIONAL_AGENCY,
        purpose=OFFICIAL_STATISTICS,
    )
    assert in_catalogue["allowed"] is False
    assert _outcomes(in_catalogue)["odrl:purpose"] == "unbound"


def test_explain_evaluates_time_against_the_agreement(client: TestClient) -> None:
    _create(client, _example("barometer-contract"))
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    common = {
        "scope": "transfer",
        "claims": REGIONAL_AGENCY,
        "purpose": "dpv:ProvideOfficialStatistics",
        "now": now.isoformat(),
        "transferCount": 2,
    }
    recent = (now - timedelta(days=30)).isoformat()
    assert _explain(client, "barometer-contract", **common, agreementSignedAt=recent)["allowed"]
    old = (now - timedelta(days=400)).isoformat().replace("+00:00", "Z")
    expired = _explain(client, "barometer-contract", **common, agreementSignedAt=old)
    assert expired["allowed"] is False
    assert _outcomes(expired)["odrl:elapsedTime"] == "violated"
    without = _explain(client, "barometer-contract", **common)
    assert _outcomes(without)["odrl:elapsedTime"] == "missing"


@pytest.mark.parametrize(
    "body",
    [
        {"claims": REGIONAL_AGENCY},
        {"scope": "everywhere", "claims": REGIONAL_AGENCY},
        {"scope": ["catalog"], "claims": REGIONAL_AGENCY},
        {"scope": "catalog"},
        {"scope": "catalog", "claims": ["sub"]},
        {"scope": "catalog", "claims": {"membership": "active"}},
        {"scope": "catalog", "claims": REGIONAL_AGENCY | {"orgType": "company"}},
        {"scope": "catalog", "claims": REGIONAL_AGENCY | {"membership": 1}},
        {"scope": "catalog", "claims": REGIONAL_AGENCY | {"nuts": [["FRJ"]]}},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "purpose": 7},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "now": "yesterday"},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "now": "2025-06-01T12:00:00"},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "agreementSignedAt": 1},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "agreementId": "a-1"},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "transferCount": -1},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "transferCount": True},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "transferCount": "2"},
        {"scope": "catalog", "claims": REGIONAL_AGENCY, "action": "use"},
        ["catalog"],
    ],
)
def test_explain_refuses_bad_requests(client: TestClient, body: Any) -> None:
    _create(client, _example("indicators-access"))
    response = client.post(f"{URL}/indicators-access/explain", headers=HEADERS, json=body)
    _assert_problem(response, 400)


def test_explain_and_validate_change_nothing(client: TestClient) -> None:
    _create(client, _example("indicators-access"))
    before = _records(client)
    _explain(client, "indicators-access", scope="catalog", claims=REGIONAL_AGENCY)
    client.post(f"{URL}/indicators-access/validate", headers=HEADERS)
    assert _records(client) == before


def _routes() -> list[tuple[str, str, Any]]:
    body = _membership_policy("members")
    return [
        ("POST", URL, body),
        ("POST", f"{URL}/request", {}),
        ("GET", f"{URL}/members", None),
        ("PUT", f"{URL}/members", body),
        ("DELETE", f"{URL}/members", None),
        ("POST", f"{URL}/members/validate", None),
        ("POST", f"{URL}/members/explain", {"scope": "catalog", "claims": REGIONAL_AGENCY}),
        ("POST", URL, "not even an object"),
    ]


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}])
def test_every_route_needs_an_administrator(client: TestClient, headers: dict[str, str]) -> None:
    _create(client, _membership_policy("members"))
    before = _stored(client)
    for method, url, body in _routes():
        response = client.request(method, url, headers=headers, json=body)
        _assert_problem(response, 401)
    assert _stored(client) == before


def test_v2_prefix_serves_the_same_api(client: TestClient) -> None:
    created = client.post(
        "/management/v2/policydefinitions", headers=HEADERS, json=_example("indicators-access")
    )
    assert created.status_code == 200
    assert client.get(f"{URL}/indicators-access", headers=HEADERS).status_code == 200
    explained = client.post(
        "/management/v2/policydefinitions/indicators-access/explain",
        headers=HEADERS,
        json={"scope": "catalog", "claims": REGIONAL_AGENCY},
    )
    assert explained.json()["allowed"] is True


def test_stored_input_is_not_shared_with_the_response(client: TestClient) -> None:
    document = _example("presence-contract")
    original = copy.deepcopy(document)
    _create(client, document)
    assert document == original

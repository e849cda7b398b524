"""/management/v3/assets: EDC-compatible CRUD and queries; bad input changes nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connector.settings import DEVELOPMENT_API_KEY

EDC = "https://w3id.org/edc/v0.0.1/ns/"
HEADERS = {"X-Api-Key": DEVELOPMENT_API_KEY}
V3 = "/management/v3"


def _asset(asset_id: str | None = "barometer", **properties: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": {"@vocab": EDC},
        "@type": "Asset",
        "properties": {"name": "Booking barometer", "contenttype": "application/vnd.apache.parquet"}
        | properties,
        "dataAddress": {
            "@type": "DataAddress",
            "type": "LocalFile",
            "path": "barometer/",
            "format": "parquet",
        },
    }
    if asset_id is not None:
        body["@id"] = asset_id
    return body


def _stored(client: TestClient) -> list[dict[str, Any]]:
    response = client.post(f"{V3}/assets/request", headers=HEADERS, json={"limit": 1000})
    assert response.status_code == 200
    return list(response.json())


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:etds:problem:")
    assert problem["detail"]
    return dict(problem)


def test_create_then_get_round_trips_edc_shapes(client: TestClient) -> None:
    created = client.post(f"{V3}/assets", headers=HEADERS, json=_asset())
    assert created.status_code == 200
    body = created.json()
    assert body["@id"] == "barometer"
    assert body["@type"] == "IdResponse"
    assert isinstance(body["createdAt"], int)
    assert body["@context"]["@vocab"] == EDC

    fetched = client.get(f"{V3}/assets/barometer", headers=HEADERS)
    assert fetched.status_code == 200
    asset = fetched.json()
    assert asset["@id"] == "barometer"
    assert asset["@type"] == "Asset"
    assert asset["properties"]["name"] == "Booking barometer"
    assert asset["properties"]["id"] == "barometer"
    assert asset["dataAddress"] == {
        "@type": "DataAddress",
        "type": "LocalFile",
        "path": "barometer/",
        "format": "parquet",
        "partitioning": "hive",
    }
    assert asset["@context"]["dct"] == "http://purl.org/dc/terms/"


def test_json_ld_with_prefixes_and_languages_round_trips(client: TestClient) -> None:
    body = _asset()
    body["@context"] = {"@vocab": EDC, "dct": "http://purl.org/dc/terms/"}
    body["properties"]["dct:title"] = [
        {"@value": "Baromètre des réservations", "@language": "fr"},
        {"@value": "Booking barometer", "@language": "en"},
    ]
    body["properties"]["http://www.w3.org/ns/dcat#keyword"] = ["tourisme", "camping"]
    assert client.post(f"{V3}/assets", headers=HEADERS, json=body).status_code == 200
    properties = client.get(f"{V3}/assets/barometer", headers=HEADERS).json()["properties"]
    assert {"@value": "Baromètre des réservations", "@language": "fr"} in properties["dct:title"]
    assert sorted(properties["dcat:keyword"]) == ["camping", "tourisme"]


def test_plain_json_without_context_is_accepted(client: TestClient) -> None:
    body = _asset()
    del body["@context"]
    assert client.post(f"{V3}/assets", headers=HEADERS, json=body).status_code == 200
    assert client.get(f"{V3}/assets/barometer", headers=HEADERS).json()["properties"]["name"]


def test_id_is_generated_when_absent(client: TestClient) -> None:
    created = client.post(f"{V3}/assets", headers=HEADERS, json=_asset(None))
    assert created.status_code == 200
    generated = created.json()["@id"]
    assert client.get(f"{V3}/assets/{generated}", headers=HEADERS).status_code == 200


def test_duplicate_id_is_a_conflict_and_keeps_the_original(client: TestClient) -> None:
    assert client.post(f"{V3}/assets", headers=HEADERS, json=_asset()).status_code == 200
    again = client.post(f"{V3}/assets", headers=HEADERS, json=_asset(name="other"))
    _assert_problem(again, 409)
    assert _stored(client)[0]["properties"]["name"] == "Booking barometer"


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b.pop("properties"), id="missing-properties"),
        pytest.param(lambda b: b.pop("dataAddress"), id="missing-data-address"),
        pytest.param(lambda b: b.update(properties="not an object"), id="properties-not-object"),
        pytest.param(lambda b: b.update({"@id": "x" * 300}), id="id-too-long"),
        pytest.param(lambda b: b.update({"@id": "has space"}), id="id-with-space"),
        pytest.param(lambda b: b.update({"@id": "a/b"}), id="id-with-slash"),
        pytest.param(lambda b: b.update({"@id": "_:b0"}), id="blank-node-id"),
        pytest.param(lambda b: b.update({"@id": "x\u0000y"}), id="id-with-nul"),
        pytest.param(lambda b: b["properties"].update(x="a\u0000b"), id="nul-in-property"),
        pytest.param(lambda b: b["properties"].update(n=10**30), id="huge-integer"),
        pytest.param(lambda b: b.update({"@type": "PolicyDefinition"}), id="wrong-type"),
        pytest.param(lambda b: b["dataAddress"].update(type="HttpData"), id="unsupported-address"),
        pytest.param(lambda b: b["dataAddress"].update(format="xlsx"), id="unknown-format"),
        pytest.param(lambda b: b["dataAddress"].pop("path"), id="address-without-path"),
        pytest.param(lambda b: b["dataAddress"].update(path=["a", "b"]), id="path-not-string"),
        pytest.param(lambda b: b["dataAddress"].update(path="../../etc"), id="path-escapes-root"),
        pytest.param(
            lambda b: b.update(privateProperties={"name": "x"}), id="private-duplicates-property"
        ),
        pytest.param(
            lambda b: b.update({"@context": "https://example.org/remote.jsonld"}),
            id="remote-context",
        ),
        # Found by fuzzing: each was stored, then broke every read of the assets or the
        # catalogue (a lone surrogate, a malformed language tag, a key left a compact IRI).
        pytest.param(lambda b: b["properties"].update(x="a\ud800"), id="lone-surrogate"),
        pytest.param(
            lambda b: b.update(privateProperties={"k": "a\udfff"}), id="lone-surrogate-private"
        ),
        pytest.param(
            lambda b: b["properties"].update(title={"@value": "t", "@language": "x y"}),
            id="malformed-language-tag",
        ),
        pytest.param(
            lambda b: b.update(
                {"@context": {"@vocab": EDC, "dct": None}, "properties": {"dct:title": "t"}}
            ),
            id="prefix-undefined-by-the-context",
        ),
        # Found by probing: stored, then the catalogue (DSP and search) answered 500 for
        # everyone, or the write itself did: values DCAT-AP cannot hold.
        pytest.param(lambda b: b.update({"@id": "a<b"}), id="id-iris-cannot-hold"),
        pytest.param(lambda b: b.update({"@id": "@id"}), id="id-a-keyword"),
        pytest.param(
            lambda b: b["properties"].update({"dcat:theme": {"@id": "rel"}}),
            id="theme-not-absolute",
        ),
        pytest.param(
            lambda b: b["properties"].update({"dcat:theme": {"@id": "https://x.org/a b"}}),
            id="theme-with-space",
        ),
        pytest.param(
            lambda b: b["properties"].update({"dct:spatial": {"@id": "_:b"}}),
            id="spatial-blank-node",
        ),
        pytest.param(
            lambda b: b["properties"].update({"dct:accrualPeriodicity": {"@id": "a<b"}}),
            id="periodicity-not-an-iri",
        ),
        pytest.param(
            lambda b: b["properties"].update({"dcat:temporalResolution": "a<b"}),
            id="resolution-not-a-duration",
        ),
    ],
)
def test_invalid_asset_is_refused_and_nothing_is_stored(client: TestClient, mutate: Any) -> None:
    assert client.post(f"{V3}/assets", headers=HEADERS, json=_asset("kept")).status_code == 200
    before = _stored(client)
    body = _asset("kept")
    mutate(body)
    raw = json.dumps(body)  # ASCII: a lone surrogate travels as its \u escape
    headers = HEADERS | {"content-type": "application/json"}
    _assert_problem(client.post(f"{V3}/assets", headers=headers, content=raw), 400)
    _assert_problem(client.put(f"{V3}/assets", headers=headers, content=raw), 400)
    assert _stored(client) == before


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b'{"properties": {"x": NaN}, "dataAddress": {}}', "application/json", 400),
        (b'{"properties": {"x": -Infinity}, "dataAddress": {}}', "application/json", 400),
        (b'{"properties": {"x": 1e999}, "dataAddress": {}}', "application/json", 400),
        (b'{"properties": {"x": ' + b"9" * 5000 + b"}}", "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"<asset/>", "application/xml", 415),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
    ],
)
def test_malformed_bodies_get_problems(
    client: TestClient, raw: bytes, content_type: str, status: int
) -> None:
    response = client.post(
        f"{V3}/assets", headers=HEADERS | {"content-type": content_type}, content=raw
    )
    _assert_problem(response, status)
    assert _stored(client) == []


def test_ten_megabyte_body_is_refused(client: TestClient) -> None:
    body = _asset()
    body["properties"]["blob"] = "x" * 10_000_000
    response = client.post(f"{V3}/assets", headers=HEADERS, content=json.dumps(body).encode())
    _assert_problem(response, 413)
    assert _stored(client) == []


def test_ten_megabyte_streamed_body_is_refused(client: TestClient) -> None:
    body = _asset()
    body["properties"]["blob"] = "x" * 10_000_000
    raw = json.dumps(body).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 65_536):
            yield raw[start : start + 65_536]

    response = client.post(f"{V3}/assets", headers=HEADERS, content=chunks())
    _assert_problem(response, 413)
    assert _stored(client) == []


@pytest.mark.parametrize("path_id", ["a%00b", "_:b0", "a%2Fb", "x" * 300])
def test_ids_no_asset_can_have_are_not_found(client: TestClient, path_id: str) -> None:
    _assert_problem(client.get(f"{V3}/assets/{path_id}", headers=HEADERS), 404)
    _assert_problem(client.delete(f"{V3}/assets/{path_id}", headers=HEADERS), 404)


def test_data_address_errors_name_the_field(client: TestClient) -> None:
    body = _asset()
    body["dataAddress"]["path"] = "../../etc"
    problem = _assert_problem(client.post(f"{V3}/assets", headers=HEADERS, json=body), 400)
    assert problem["type"] == "urn:etds:problem:invalid-data-address"
    assert problem["errors"][0]["location"] == "dataAddress.path"


def test_csv_column_types_round_trip_through_get_and_put(client: TestClient) -> None:
    body = _asset("indicators")
    body["dataAddress"].update(
        path="indicators.csv", format="csv", column_types={"geo": "string", "value": "float64"}
    )
    assert client.post(f"{V3}/assets", headers=HEADERS, json=body).status_code == 200
    fetched = client.get(f"{V3}/assets/indicators", headers=HEADERS).json()
    assert fetched["dataAddress"]["column_types"] == {"geo": "string", "value": "float64"}
    fetched["properties"]["name"] = "Indicators"
    assert client.put(f"{V3}/assets", headers=HEADERS, json=fetched).status_code == 204
    again = client.get(f"{V3}/assets/indicators", headers=HEADERS).json()
    assert again["dataAddress"] == fetched["dataAddress"]
    assert again["properties"]["name"] == "Indicators"


def test_unknown_asset_is_404_everywhere(client: TestClient) -> None:
    _assert_problem(client.get(f"{V3}/assets/nope", headers=HEADERS), 404)
    _assert_problem(client.delete(f"{V3}/assets/nope", headers=HEADERS), 404)
    _assert_problem(client.put(f"{V3}/assets", headers=HEADERS, json=_asset("nope")), 404)
    assert _stored(client) == []


def test_update_replaces_and_keeps_creation_time(client: TestClient) -> None:
    client.post(f"{V3}/assets", headers=HEADERS, json=_asset())
    before = client.get(f"{V3}/assets/barometer", headers=HEADERS).json()
    response = client.put(f"{V3}/assets", headers=HEADERS, json=_asset(name="Renamed"))
    assert response.status_code == 204
    after = client.get(f"{V3}/assets/barometer", headers=HEADERS).json()
    assert after["properties"]["name"] == "Renamed"
    assert after["createdAt"] == before["createdAt"]


def test_delete_removes(client: TestClient) -> None:
    client.post(f"{V3}/assets", headers=HEADERS, json=_asset())
    assert client.delete(f"{V3}/assets/barometer", headers=HEADERS).status_code == 204
    _assert_problem(client.get(f"{V3}/assets/barometer", headers=HEADERS), 404)


def _seed(client: TestClient) -> None:
    for index, name in enumerate(["presence", "barometer", "indicators", "barometer-archive"]):
        body = _asset(name, name=name, rank=index)
        assert client.post(f"{V3}/assets", headers=HEADERS, json=body).status_code == 200


def _query(client: TestClient, **spec: Any) -> list[str]:
    response = client.post(
        f"{V3}/assets/request", headers=HEADERS, json={"@type": "QuerySpec"} | spec
    )
    assert response.status_code == 200, response.text
    return [asset["@id"] for asset in response.json()]


def test_query_filters_sorts_and_pages(client: TestClient) -> None:
    _seed(client)
    assert _query(client) == ["barometer", "barometer-archive", "indicators", "presence"]
    assert _query(client, sortOrder="DESC", limit=2) == ["presence", "indicators"]
    assert _query(client, offset=1, limit=2) == ["barometer-archive", "indicators"]
    by_name = {"operandLeft": EDC + "name", "operator": "=", "operandRight": "indicators"}
    assert _query(client, filterExpression=[by_name]) == ["indicators"]
    like = {"operandLeft": "name", "operator": "like", "operandRight": "barometer%"}
    assert _query(client, filterExpression=[like]) == ["barometer", "barometer-archive"]
    in_ids = {"operandLeft": "id", "operator": "in", "operandRight": ["presence", "indicators"]}
    assert _query(client, filterExpression=[in_ids]) == ["indicators", "presence"]
    assert _query(client, sortField="rank") == [
        "presence",
        "barometer",
        "indicators",
        "barometer-archive",
    ]


@pytest.mark.parametrize(
    ("op", "offset", "found"),
    [("=", 0, 1), ("!=", 0, 0), ("<", 0, 0), ("<=", 0, 1), (">", 0, 0), (">=", 0, 1),
     ("<", 1, 1), (">", -1, 1), ("in", 0, 1)],
)  # fmt: skip
def test_created_at_filters_compare_the_milliseconds_shown(
    client: TestClient, op: str, offset: int, found: int
) -> None:
    # Stored times have microseconds; responses show whole milliseconds: a filter on the value
    # a response showed finds that record.
    assert client.post(f"{V3}/assets", headers=HEADERS, json=_asset("a")).status_code == 200
    shown = client.get(f"{V3}/assets/a", headers=HEADERS).json()["createdAt"]
    right: Any = [shown + offset] if op == "in" else shown + offset
    spec = {
        "filterExpression": [{"operandLeft": "createdAt", "operator": op, "operandRight": right}]
    }
    response = client.post(f"{V3}/assets/request", headers=HEADERS, json=spec)
    assert response.status_code == 200, response.text
    assert len(response.json()) == found


def test_empty_query_body_lists_everything(client: TestClient) -> None:
    _seed(client)
    response = client.post(f"{V3}/assets/request", headers=HEADERS)
    assert response.status_code == 200
    assert len(response.json()) == 4


@pytest.mark.parametrize(
    "spec",
    [
        {"limit": 0},
        {"limit": 5000},
        {"offset": -1},
        {"limit": "ten"},
        {"sortOrder": "SIDEWAYS"},
        {"filterExpression": [{"operandLeft": "name", "operator": "~=", "operandRight": "x"}]},
        {"filterExpression": [{"operandLeft": "name", "operator": "=", "operandRight": "a\u0000"}]},
        {"filterExpression": [{"operandLeft": "rank", "operator": "=", "operandRight": [1, 2]}]},
        {
            "filterExpression": [
                {"operandLeft": "createdAt", "operator": ">", "operandRight": 10**17}
            ]
        },
        {"filterExpression": [{"operandLeft": "not a field", "operator": "=", "operandRight": 1}]},
        {"sortField": "no such thing!"},
        {"filterExpression": [{"operator": "="}]},
        {"filterExpression": ["name = x"]},
        {"@type": "Asset"},
    ],
)
def test_invalid_queries_are_400(client: TestClient, spec: dict[str, Any]) -> None:
    _assert_problem(client.post(f"{V3}/assets/request", headers=HEADERS, json=spec), 400)


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}])
def test_administrator_key_is_required(client: TestClient, headers: dict[str, str]) -> None:
    problem = _assert_problem(client.post(f"{V3}/assets", headers=headers, json=_asset()), 401)
    assert problem["title"] == "Unauthorized"
    assert client.get(f"{V3}/assets/barometer", headers=headers).status_code == 401
    assert _stored(client) == []


def test_v2_prefix_serves_the_same_api(client: TestClient) -> None:
    assert client.post("/management/v2/assets", headers=HEADERS, json=_asset()).status_code == 200
    assert client.get(f"{V3}/assets/barometer", headers=HEADERS).status_code == 200


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    _assert_problem(client.get("/management/v3/nothing-here", headers=HEADERS), 404)


def test_health_probes(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.headers["x-request-id"]


def test_credentials_are_checked_before_the_body_is_read(client: TestClient) -> None:
    response = client.post(
        f"{V3}/assets", content=b"{not json", headers={"content-type": "application/json"}
    )
    _assert_problem(response, 401)

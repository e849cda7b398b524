"""Request bodies: a body that describes no JSON-LD node (``{}``, only an ``@context``) is an
empty body where one is optional (the default query), and still a 400 where one is required."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from connector.settings import DEVELOPMENT_API_KEY

HEADERS = {"X-Api-Key": DEVELOPMENT_API_KEY}
V3 = "/management/v3"
QUERIES = [
    f"{V3}/{name}/request"
    for name in (
        "assets",
        "policydefinitions",
        "contractdefinitions",
        "contractnegotiations",
        "contractagreements",
    )
]
EDC_VOCAB = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
NO_NODE: list[Any] = [{}, {"@context": EDC_VOCAB}, {"@context": [EDC_VOCAB, {"x": "urn:x"}]}]


def _policy(policy_id: str) -> dict[str, Any]:
    permission = {"odrl:action": {"@id": "odrl:use"}}
    return {"@id": policy_id, "policy": {"@type": "odrl:Set", "odrl:permission": [permission]}}


@pytest.mark.parametrize("url", QUERIES)
@pytest.mark.parametrize("body", NO_NODE, ids=["empty", "context", "contexts"])
def test_a_query_without_a_node_is_the_default_query(
    client: TestClient, url: str, body: Any
) -> None:
    for n in range(3):
        created = client.post(f"{V3}/policydefinitions", headers=HEADERS, json=_policy(f"p{n}"))
        assert created.status_code == 200, created.text
    default = client.post(url, headers=HEADERS)
    assert default.status_code == 200, default.text
    typed = client.post(url, headers=HEADERS, json={"@type": "QuerySpec"})
    assert typed.json() == default.json()
    response = client.post(url, headers=HEADERS, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == default.json()


@pytest.mark.parametrize("body", NO_NODE, ids=["empty", "context", "contexts"])
def test_a_required_body_without_a_node_is_still_refused(client: TestClient, body: Any) -> None:
    response = client.post(f"{V3}/policydefinitions", headers=HEADERS, json=body)
    assert response.status_code == 400, response.text
    assert "exactly one JSON-LD node" in response.json()["detail"]


def test_a_query_of_several_nodes_is_refused(client: TestClient) -> None:
    body = {"@graph": [{"@type": "QuerySpec"}, {"@type": "QuerySpec"}]}
    response = client.post(QUERIES[0], headers=HEADERS, json=body)
    assert response.status_code == 400, response.text
    assert "exactly one JSON-LD node" in response.json()["detail"]

"""The management API of a real node application (``create_app``) with administrator tokens: a
participant's protocol token never opens it, a management token never passes DSP verification,
and each scope allows what it says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from security_support import (
    ADMIN_B,
    B_MANAGEMENT,
    B_URL,
    NODE_A,
    NODE_B,
    READER_B,
    WHOAMI,
    Dataspace,
    Node,
    assert_refused,
    dpop_headers,
    node_b,
)

from connector.app import create_app
from connector.identity.client import TokenClient
from connector.settings import DEVELOPMENT_API_KEY, load_settings
from connector.store.database import Database

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
QUERY = B_URL + "/management/v3/assets/request"
DELETE = B_URL + "/management/v3/assets/no-such-asset"


@pytest.fixture
async def connector(dataspace: Dataspace, node_database: Database) -> AsyncIterator[Node]:
    settings = load_settings(node={"participant_id": NODE_B, "public_url": B_URL})
    app = create_app(settings, database=node_database)
    created = node_b(dataspace, node_database, app)
    try:
        yield created
    finally:
        await created.identity.aclose()


async def send(
    node: Node, tokens: TokenClient, audience: str, method: str, url: str
) -> httpx.Response:
    token = await tokens.token(audience)
    headers = dpop_headers(token.value, tokens.dpop_key, method=method, url=url)
    async with node.client() as client:
        body = {"limit": 10} if method == "POST" else None
        return await client.request(method, url, headers=headers, json=body)


def management(dataspace: Dataspace, http: httpx.AsyncClient, client_id: str) -> TokenClient:
    scopes = "management:read management:write" if client_id == ADMIN_B else "management:read"
    return dataspace.token_client(client_id, http, scope=scopes)


async def test_an_administrator_token_reads_and_writes(
    dataspace: Dataspace, connector: Node, http: httpx.AsyncClient
) -> None:
    admin = management(dataspace, http, ADMIN_B)
    queried = await send(connector, admin, B_MANAGEMENT, "POST", QUERY)
    assert queried.status_code == 200, queried.text
    assert queried.json() == []
    deleted = await send(connector, admin, B_MANAGEMENT, "DELETE", DELETE)
    assert deleted.status_code == 404  # authorised; the asset just does not exist


async def test_a_read_only_token_cannot_write(
    dataspace: Dataspace, connector: Node, http: httpx.AsyncClient
) -> None:
    reader = management(dataspace, http, READER_B)
    assert (await send(connector, reader, B_MANAGEMENT, "POST", QUERY)).status_code == 200
    forbidden = await send(connector, reader, B_MANAGEMENT, "DELETE", DELETE)
    assert forbidden.status_code == 403
    assert "management:write" in forbidden.json()["detail"]


async def test_a_protocol_token_never_opens_the_management_api(
    dataspace: Dataspace, connector: Node, http: httpx.AsyncClient, refusals: Any
) -> None:
    participant = dataspace.token_client(NODE_A, http)
    for method, url in (("POST", QUERY), ("DELETE", DELETE)):
        answer = await send(connector, participant, NODE_B, method, url)
        assert_refused(answer, refusals, f"aud '{NODE_B}' is not '{B_MANAGEMENT}'")


async def test_a_management_token_never_passes_dsp_verification(
    dataspace: Dataspace, connector: Node, http: httpx.AsyncClient, refusals: Any
) -> None:
    admin = management(dataspace, http, ADMIN_B)
    answer = await send(connector, admin, B_MANAGEMENT, "GET", WHOAMI)
    assert_refused(answer, refusals, f"aud '{B_MANAGEMENT}' is not '{NODE_B}'")


async def test_api_keys_still_work_and_nothing_is_no_access(connector: Node) -> None:
    async with connector.client() as client:
        keyed = await client.post(
            QUERY, json={"limit": 10}, headers={"X-Api-Key": DEVELOPMENT_API_KEY}
        )
        assert keyed.status_code == 200
        assert (await client.post(QUERY, json={"limit": 10})).status_code == 401
        wrong = await client.post(QUERY, json={"limit": 10}, headers={"X-Api-Key": "wrong"})
        assert wrong.status_code == 401

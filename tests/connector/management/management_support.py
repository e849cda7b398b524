"""Helpers of the management API suites."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from connector.node import Node
from connector.store.records import AssetRecord, ContractDefinitionRecord, PolicyDefinitionRecord
from connector.store.repositories.assets import AssetRepository
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.policies import PolicyDefinitionRepository
from policies import USE, Permission, Policy, PolicyKind, to_dsp

EDC = "https://w3id.org/edc/v0.0.1/ns/"
UNREADABLE_POLICY = {"@context": {"@vocab": "https://example.org/"}, "@type": "Whatever"}
"""A stored policy this version of the node cannot read (``PolicyError`` when parsed)."""
OPEN_POLICY = to_dsp(Policy(kind=PolicyKind.SET, permissions=(Permission(action=USE),)))


def node_of(client: TestClient) -> Node:
    """The node behind ``client`` (to read or seed its store directly)."""
    node = client.app.state.node  # type: ignore[attr-defined]
    assert isinstance(node, Node)
    return node


def seed_offer(
    client: TestClient, asset_id: str, definition_id: str, contract_policy: dict[str, Any]
) -> None:
    """Asset ``asset_id`` (created unless it exists; no data behind it) offered to everyone by
    contract definition ``definition_id`` under ``contract_policy`` (policy definition
    ``<definition_id>-contract``, stored as it is, as an older version of the node may have
    stored it, bypassing today's validation)."""
    now = datetime.now(UTC)
    with node_of(client).database.transaction() as session:
        assets = AssetRepository(session)
        if not assets.exists(asset_id):
            assets.create(
                AssetRecord(
                    id=asset_id,
                    properties={EDC + "id": asset_id, EDC + "name": f"Asset {asset_id}"},
                    data_address={"type": "LocalFile", "path": f"{asset_id}/"},
                    created_at=now,
                    updated_at=now,
                )
            )
        policies = PolicyDefinitionRepository(session)
        if not policies.exists("open"):
            policies.create(
                PolicyDefinitionRecord(
                    id="open", policy=OPEN_POLICY, created_at=now, updated_at=now
                )
            )
        policies.create(
            PolicyDefinitionRecord(
                id=f"{definition_id}-contract",
                policy=contract_policy,
                created_at=now,
                updated_at=now,
            )
        )
        ContractDefinitionRepository(session).create(
            ContractDefinitionRecord(
                id=definition_id,
                access_policy_id="open",
                contract_policy_id=f"{definition_id}-contract",
                assets_selector=[
                    {"operandLeft": EDC + "id", "operator": "=", "operandRight": asset_id}
                ],
                created_at=now,
                updated_at=now,
            )
        )

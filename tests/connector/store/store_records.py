"""Record factories for the store tests: valid records with every field overridable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connector.store.records import (
    AgreementRecord,
    AssetRecord,
    ContractDefinitionRecord,
    NegotiationRecord,
    PolicyDefinitionRecord,
    TransferRecord,
)

EDC = "https://w3id.org/edc/v0.0.1/ns/"
DCT = "http://purl.org/dc/terms/"
T0 = datetime(2026, 5, 4, 8, 30, 15, 123456, tzinfo=UTC)
PROVIDER = "did:web:provider.example"
CONSUMER = "did:web:consumer.example"


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def asset(id: str = "asset-1", **overrides: Any) -> AssetRecord:
    fields: dict[str, Any] = {
        "id": id,
        "properties": {EDC + "id": id, EDC + "name": f"Asset {id}"},
        "private_properties": {},
        "data_address": {"type": "LocalFile", "path": f"{id}/", "format": "parquet"},
        "created_at": T0,
        "updated_at": T0,
    }
    return AssetRecord(**(fields | overrides))


def policy(id: str = "policy-1", **overrides: Any) -> PolicyDefinitionRecord:
    fields: dict[str, Any] = {
        "id": id,
        "policy": {"@type": "Set", "permission": [{"action": "use"}]},
        "created_at": T0,
        "updated_at": T0,
    }
    return PolicyDefinitionRecord(**(fields | overrides))


def contract_definition(
    id: str = "definition-1", policy_id: str = "policy-1", **overrides: Any
) -> ContractDefinitionRecord:
    fields: dict[str, Any] = {
        "id": id,
        "access_policy_id": policy_id,
        "contract_policy_id": policy_id,
        "assets_selector": [{"operandLeft": EDC + "id", "operator": "=", "operandRight": "a"}],
        "created_at": T0,
        "updated_at": T0,
    }
    return ContractDefinitionRecord(**(fields | overrides))


def agreement(
    id: str = "agreement-1", asset_id: str = "asset-1", **overrides: Any
) -> AgreementRecord:
    fields: dict[str, Any] = {
        "id": id,
        "asset_id": asset_id,
        "provider_id": PROVIDER,
        "consumer_id": CONSUMER,
        "policy": {"@type": "Agreement", "target": asset_id},
        "signed_at": T0,
        "created_at": T0,
    }
    return AgreementRecord(**(fields | overrides))


def negotiation(id: str = "negotiation-1", **overrides: Any) -> NegotiationRecord:
    fields: dict[str, Any] = {
        "id": id,
        "role": "provider",
        "state": "REQUESTED",
        "counterparty_id": CONSUMER,
        "counterparty_address": "https://consumer.example/dsp",
        "protocol": "dataspace-protocol-http:2025-1",
        "asset_id": "asset-1",
        "provider_pid": f"urn:uuid:{id}-p",
        "consumer_pid": f"urn:uuid:{id}-c",
        "created_at": T0,
        "updated_at": T0,
    }
    return NegotiationRecord(**(fields | overrides))


def transfer(
    id: str = "transfer-1", agreement_id: str = "agreement-1", **overrides: Any
) -> TransferRecord:
    fields: dict[str, Any] = {
        "id": id,
        "role": "provider",
        "state": "REQUESTED",
        "counterparty_id": CONSUMER,
        "counterparty_address": "https://consumer.example/dsp",
        "protocol": "dataspace-protocol-http:2025-1",
        "agreement_id": agreement_id,
        "asset_id": "asset-1",
        "provider_pid": f"urn:uuid:{id}-p",
        "consumer_pid": f"urn:uuid:{id}-c",
        "format": "HttpData-PULL",
        "created_at": T0,
        "updated_at": T0,
    }
    return TransferRecord(**(fields | overrides))

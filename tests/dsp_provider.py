"""A provider node in-process (the full application) with the three sample datasets, contract
definitions from the example policies, and DSP clients for participants of the test dataspace.

The node trusts the session's real authority process; clients get real tokens from it and sign a
DPoP proof for every request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from dataspace_support import B_URL, NODE_B, Dataspace
from fastapi import FastAPI

from catalog.contexts import dsp_processor
from connector.app import create_app
from connector.identity.auth import DataspaceAuth
from connector.node import Node
from connector.settings import DEVELOPMENT_API_KEY, load_settings
from connector.store.database import Database
from connector.store.records import ContractDefinitionRecord, PolicyDefinitionRecord
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.policies import PolicyDefinitionRepository
from etds_examples.barometer import generate_barometer
from etds_examples.indicators import generate_indicators
from etds_examples.presence import generate_presence
from policies import parse_policy, to_dsp

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "examples" / "etds_examples" / "assets"
POLICIES = ROOT / "examples" / "policies"
EDC_ID = "https://w3id.org/edc/v0.0.1/ns/id"
DATASETS = {
    "booking-barometer": "barometer",
    "sustainable-tourism-indicators": "indicators",
    "visitor-presence": "presence",
}
CATALOG_REQUEST = {
    "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
    "@type": "CatalogRequestMessage",
}


def generate_data(root: Path) -> Path:
    """Small versions of the three sample datasets under ``root``."""
    generate_barometer(root / "barometer", seed=3, rows=3_000, weeks=2, campsites=40)
    generate_indicators(root / "indicators", seed=3, years=1)
    generate_presence(root / "presence", seed=3, days=2)
    return root


def stored_policy(name: str) -> dict[str, Any]:
    """An example policy definition's policy, as the node stores it (DSP compact form)."""
    document = json.loads((POLICIES / f"{name}.json").read_text())
    policy = parse_policy(
        document["policy"], processor=dsp_processor(), context=document["@context"]
    )
    return to_dsp(policy)


def define_contracts(database: Database, assets: Mapping[str, str] = DATASETS) -> None:
    """Each dataset offered under its example access and contract policies."""
    now = datetime.now(UTC)
    with database.transaction() as session:
        policies = PolicyDefinitionRepository(session)
        definitions = ContractDefinitionRepository(session)
        for asset_id, name in assets.items():
            for kind in ("access", "contract"):
                if not policies.exists(f"{name}-{kind}"):
                    policies.create(
                        PolicyDefinitionRecord(
                            id=f"{name}-{kind}",
                            policy=stored_policy(f"{name}-{kind}"),
                            created_at=now,
                            updated_at=now,
                        )
                    )
            definitions.create(
                ContractDefinitionRecord(
                    id=f"cd-{asset_id}",
                    access_policy_id=f"{name}-access",
                    contract_policy_id=f"{name}-contract",
                    assets_selector=[
                        {"operandLeft": EDC_ID, "operator": "=", "operandRight": asset_id}
                    ],
                    created_at=now,
                    updated_at=now,
                )
            )


@dataclass
class Provider:
    app: FastAPI
    node: Node

    def anonymous(self) -> httpx.AsyncClient:
        """A client with no credentials at all."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(self.app), base_url=B_URL)

    def admin(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(self.app),
            base_url=B_URL,
            headers={"X-Api-Key": DEVELOPMENT_API_KEY},
        )

    def client(
        self, dataspace: Dataspace, participant: str, http: httpx.AsyncClient
    ) -> httpx.AsyncClient:
        """A DSP client of ``participant`` (real token and DPoP proofs)."""
        tokens = dataspace.token_client(participant, http)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(self.app),
            base_url=B_URL,
            auth=DataspaceAuth(tokens, audience=NODE_B),
        )

    async def add_assets(self, names: Mapping[str, str] = DATASETS) -> None:
        async with self.admin() as admin:
            for asset_id, name in names.items():
                document = json.loads((ASSETS / f"{name}.json").read_text())
                document["@id"] = asset_id
                response = await admin.post("/management/v3/assets", json=document)
                assert response.status_code == 200, response.text
        for asset_id in names:
            assert self.node.profiler.profile(asset_id) is not None


def provider_app(
    dataspace: Dataspace, database: Database, data: Path, **catalogue: Any
) -> Provider:
    settings = load_settings(
        node={"participant_id": NODE_B, "public_url": B_URL, "name": "Provider B"},
        storage={"data_roots": [str(data)]},
        identity={
            "trusted_issuers": [{"issuer": dataspace.issuer}],
            "jwks_min_refetch_seconds": 0,
        },
        catalogue={
            "profile_interval_seconds": 0,
            "publisher_name": "Agence nationale du tourisme (test)",
            "contact_email": "data@tourisme.example",
            **catalogue,
        },
    )
    app = create_app(settings, database=database)
    return Provider(app=app, node=app.state.node)

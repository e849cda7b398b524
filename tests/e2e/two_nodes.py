"""Two real nodes (separate processes) and the session's authority: B provides the three sample
datasets (plus the TCK's seeded ones) under the example policies, A consumes."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from dataspace_support import NODE_A, NODE_B, Dataspace
from dsp_provider import ASSETS, DATASETS, define_contracts, generate_data

from connector.store.database import Database
from connector.store.migrate import upgrade
from etds_examples.nodeproc import START_TIMEOUT_S, RunningService, free_port, run_node

API_KEY = "e2e-administrator-key"
TCK_DATASETS = ("CAT0101", "CAT0102")


def write_config(
    path: Path,
    *,
    participant: str,
    port: int,
    dataspace: Dataspace,
    data: Path,
    db: str,
    extra: str = "",
    run_on_loop: str = "auto",
) -> Path:
    """A node's configuration file; ``extra`` is appended (more TOML tables)."""
    path.write_text(
        f"""
[node]
participant_id = "{participant}"
public_url = "http://127.0.0.1:{port}"
[database]
url = "{db}"
run_on_loop = "{run_on_loop}"
[management]
api_keys = ["{API_KEY}"]
[storage]
data_roots = ["{data}"]
[catalogue]
profile_interval_seconds = 0
[identity]
authority = "{dataspace.issuer}"
client_key_file = "{dataspace.key_files[participant]}"
jwks_min_refetch_seconds = 0
[[identity.trusted_issuers]]
issuer = "{dataspace.issuer}"
{extra}"""
    )
    return path


@dataclass
class TwoNodes:
    provider: RunningService
    consumer: RunningService
    barometer_regions: list[str]


@contextmanager
def start_two_nodes(
    dataspace: Dataspace,
    root: Path,
    *,
    provider_db: str | None = None,
    consumer_db: str | None = None,
    extra_config: str = "",
    run_on_loop: str = "auto",
    node_wrapper: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT_S,
) -> Iterator[TwoNodes]:
    """Provider B and consumer A as ``etds serve`` processes, B's datasets registered. Each
    node has its own SQLite file unless a database URL is given (an empty database: it is
    migrated here); ``extra_config`` is appended to both configuration files;
    ``run_on_loop``: their ``database.run_on_loop``.
    ``node_wrapper``, ``start_timeout``: how the nodes are started (see
    :func:`etds_examples.nodeproc.run_service`)."""
    data = generate_data(root / "data")
    provider_db = provider_db or f"sqlite:///{root / 'provider.db'}"
    consumer_db = consumer_db or f"sqlite:///{root / 'consumer.db'}"
    database = Database.from_url(provider_db)
    upgrade(database)
    define_contracts(database, {**DATASETS, **dict.fromkeys(TCK_DATASETS, "indicators")})
    database.dispose()
    ports = free_port(), free_port()
    provider_config = write_config(
        root / "provider.toml",
        participant=NODE_B,
        port=ports[0],
        dataspace=dataspace,
        data=data,
        db=provider_db,
        extra=extra_config,
        run_on_loop=run_on_loop,
    )
    consumer_config = write_config(
        root / "consumer.toml",
        participant=NODE_A,
        port=ports[1],
        dataspace=dataspace,
        data=data,
        db=consumer_db,
        extra=extra_config,
        run_on_loop=run_on_loop,
    )
    start = functools.partial(run_node, wrapper=node_wrapper, start_timeout=start_timeout)
    with (
        start(provider_config, port=ports[0], log_file=root / "provider.log") as provider,
        start(consumer_config, port=ports[1], log_file=root / "consumer.log") as consumer,
    ):
        profiles = add_assets(provider.url)
        yield TwoNodes(provider, consumer, profiles["booking-barometer"]["spatial"])


def add_assets(url: str) -> dict[str, Any]:
    """Register the datasets on the provider; their data profiles."""
    profiles = {}
    with httpx.Client(base_url=url, headers={"X-Api-Key": API_KEY}, trust_env=False) as admin:
        for asset_id, name in DATASETS.items():
            document = json.loads((ASSETS / f"{name}.json").read_text())
            document["@id"] = asset_id
            assert admin.post("/management/v3/assets", json=document).status_code == 200
            profiled = admin.post(f"/management/v3/assets/{asset_id}/profile")
            assert profiled.status_code == 200, profiled.text
            profiles[asset_id] = profiled.json()
        for asset_id in TCK_DATASETS:
            body = {
                "@id": asset_id,
                "properties": {"name": f"TCK dataset {asset_id}"},
                "dataAddress": {"type": "LocalFile", "path": "indicators/", "format": "parquet"},
            }
            assert admin.post("/management/v3/assets", json=body).status_code == 200
    return profiles

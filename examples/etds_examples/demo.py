"""The demo scenario (``make demo``): a national tourism agency's node with the three datasets.

1. generate the sample data under ``var/demo/data`` (reused when already there);
2. write the node's settings and start ``etds serve`` on 127.0.0.1;
3. register the three datasets as assets through the management API;
4. list them, then stop the node.

Later steps of the roadmap (catalogue, negotiation, transfer between two nodes) extend this.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from connector.settings import DEVELOPMENT_API_KEY
from etds_examples.barometer import generate_barometer
from etds_examples.indicators import generate_indicators
from etds_examples.nodeproc import free_port, run_node, stopped_cleanly
from etds_examples.presence import generate_presence
from etds_examples.report import GenerationReport

ASSET_FILES = ("barometer.json", "indicators.json", "presence.json")
DATA_FORMAT = 2  # bump when a generator's output changes, so the demo regenerates its data
console = Console()


def _dataset(folder: Path, marker: str, generate: Callable[[Path], GenerationReport]) -> None:
    """Generate into ``folder`` unless a previous run with the same parameters finished there."""
    done = folder / ".generated"
    marker = f"{marker} format={DATA_FORMAT}"
    if done.is_file() and done.read_text() == marker:
        console.print(f"  {folder.name}: reusing {folder}")
        return
    shutil.rmtree(folder, ignore_errors=True)
    report = generate(folder)
    done.write_text(marker)
    console.print(
        f"  {report.dataset}: {report.rows:,} rows, {report.bytes_written / 1e6:.1f} MB "
        f"in {report.seconds:.1f} s"
    )


def generate_data(data: Path, *, rows: int, seed: int) -> None:
    console.rule("[bold]1. Sample data")
    _dataset(
        data / "barometer",
        f"barometer rows={rows} weeks=2 seed={seed}",
        lambda out: generate_barometer(out, seed=seed, rows=rows, weeks=2),
    )
    _dataset(
        data / "indicators",
        f"indicators years=3 seed={seed}",
        lambda out: generate_indicators(out, seed=seed, years=3),
    )
    _dataset(
        data / "presence",
        f"presence days=14 seed={seed}",
        lambda out: generate_presence(out, seed=seed, days=14),
    )


def write_settings(workdir: Path, port: int) -> Path:
    config = workdir / "provider.toml"
    config.write_text(
        f"""# Settings of the demo's provider node (development profile, loopback only).
profile = "development"

[node]
participant_id = "did:web:atout-france.demo"
name = "Atout France (demo)"
public_url = "http://127.0.0.1:{port}"

[database]
url = "sqlite:///{workdir / "provider.db"}"

[management]
api_keys = ["{DEVELOPMENT_API_KEY}"]

[storage]
data_roots = ["{workdir / "data"}"]

[logging]
format = "json"
"""
    )
    return config


def _asset_documents() -> list[dict[str, Any]]:
    folder = resources.files("etds_examples.assets")
    return [json.loads(folder.joinpath(name).read_text(encoding="utf-8")) for name in ASSET_FILES]


def register_assets(client: httpx.Client) -> None:
    console.rule("[bold]3. Assets")
    for document in _asset_documents():
        response = client.post("/management/v3/assets", json=document)
        if response.status_code == 409:
            response = client.put("/management/v3/assets", json=document)
        if response.status_code >= 400:
            raise SystemExit(f"registering {document['@id']} failed: {response.text}")
        console.print(f"  registered {document['@id']}")


def _english_title(properties: dict[str, Any]) -> str:
    titles = properties.get("dct:title", [])
    for title in titles if isinstance(titles, list) else [titles]:
        if isinstance(title, dict) and title.get("@language") == "en":
            return str(title["@value"])
    return str(properties.get("name", ""))


def list_assets(client: httpx.Client) -> int:
    console.rule("[bold]4. The node's assets (POST /management/v3/assets/request)")
    response = client.post("/management/v3/assets/request", json={"@type": "QuerySpec"})
    response.raise_for_status()
    table = Table("asset id", "title", "data address")
    assets = response.json()
    for asset in assets:
        address = asset["dataAddress"]
        table.add_row(
            asset["@id"],
            _english_title(asset["properties"]),
            f"{address['type']} {address.get('path', '')} ({address['format']})",
        )
    console.print(table)
    return len(assets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workdir", type=Path, default=Path("var/demo"))
    parser.add_argument("--rows", type=int, default=1_000_000, help="barometer rows per week")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.resolve()
    (workdir / "data").mkdir(parents=True, exist_ok=True)

    generate_data(workdir / "data", rows=args.rows, seed=args.seed)
    console.rule("[bold]2. Provider node")
    port = free_port()
    config = write_settings(workdir, port)
    log_file = workdir / "provider.log"
    with run_node(config, port=port, log_file=log_file) as node:
        console.print(f"  etds serve --config {config}  →  {node.url} (log: {log_file})")
        headers = {"X-Api-Key": DEVELOPMENT_API_KEY}
        with httpx.Client(
            base_url=node.url, headers=headers, timeout=30, trust_env=False
        ) as client:
            register_assets(client)
            count = list_assets(client)
    clean = stopped_cleanly(node.process.returncode)
    console.rule("[bold]Done")
    console.print(
        f"  the node listed {count} assets and "
        + ("stopped cleanly" if clean else f"failed (exit status {node.process.returncode})")
    )
    return 0 if count == len(ASSET_FILES) and clean else 1


if __name__ == "__main__":
    raise SystemExit(main())

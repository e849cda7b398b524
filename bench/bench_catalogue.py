"""Benchmark of the DSP catalogue (results go to docs/benchmarks.md, section "Catalogue").

A node with ``--datasets`` assets (10,000 by default), each with a catalogue entry and a data
profile, offered under five contract definitions whose access policies are the project's example
policies (every asset is selected by one definition; the requester, a regional agency, sees four
definitions out of five). Measured, for pages of ``--page`` datasets (50):

* the latency of ``POST /protocol/2025-1/catalog/request`` through the application (routing, the
  catalogue service, DSP serialisation, JSON), first page and pages deep in the catalogue
  (continuation tokens), p50 and p99 over ``--requests`` requests; the token check is replaced by
  a fixed participant (it is measured by bench_identity.py: one verification plus one DPoP
  ``jti`` insert per request);
* the number of SQL statements per request (with 10 and with ``--datasets`` datasets).

On SQLite (a file in a temporary folder) and on PostgreSQL (a throwaway cluster started as the
tests do; skipped with ``--no-postgres`` or when PostgreSQL is absent).

Usage::

    .venv/bin/python bench/bench_catalogue.py --datasets 10000 --requests 300
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, insert, text

# The tests' helpers (seeding, the PostgreSQL cluster); the checkout first, so that the
# tests' own connector/ folder does not shadow the package.
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "examples")]
sys.path.append(str(_ROOT / "tests"))

from dsp_provider import stored_policy
from pg_cluster import PostgresCluster, find_bindir

from connector.app import create_app
from connector.identity.claims import Participant
from connector.identity.dependency import require_participant
from connector.settings import load_settings
from connector.store.database import Database
from connector.store.migrate import upgrade
from connector.store.models import Asset, CatalogueEntry, ContractDefinition, PolicyDefinition

EDC = "https://w3id.org/edc/v0.0.1/ns/"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
THEME = "http://publications.europa.eu/resource/authority/data-theme/"
KINDS = ("indicators", "presence", "barometer", "indicators", "presence")
REQUEST = {
    "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
    "@type": "CatalogRequestMessage",
}
REGIONAL = Participant(
    id="urn:bench:region",
    claims={
        "sub": "urn:bench:region",
        "membership": "active",
        "org_type": "regional_agency",
        "country": "FR",
        "nuts": ("FRJ",),
        "scope": "dsp",
    },
    issuer="urn:bench:authority",
    token_id="bench",
)


def seed(database: Database, datasets: int) -> None:
    """Assets, entries, the example policies and one definition per group of assets."""
    now = datetime.now(UTC)
    profile = {
        "rows": 1000, "bytes": 123456, "files": 1, "format": "parquet",
        "media_type": "application/vnd.apache.parquet", "checksum": "ab" * 32,
        "columns": [{"name": "nuts3", "type": "dictionary<values=string, indices=int16>"},
                    {"name": "date", "type": "date32[day]"}, {"name": "value", "type": "int64"}],
        "spatial_column": "nuts3", "spatial": ["FRJ13", "FRL05"], "temporal_column": "date",
        "temporal_start": "2024-01-01", "temporal_end": "2024-12-31", "last_modified": None,
        "fingerprint": "f" * 64,
    }  # fmt: skip
    assets, entries = [], []
    for index in range(datasets):
        asset_id = f"dataset-{index:06d}"
        group = index % len(KINDS)
        assets.append({
            "id": asset_id,
            "properties": {
                EDC + "id": asset_id, EDC + "group": group,
                DCT + "title": [{"@value": f"Jeu de données {index}", "@language": "fr"},
                                {"@value": f"Dataset {index}", "@language": "en"}],
                DCT + "description": [{"@value": "Données touristiques.", "@language": "fr"}],
                DCAT + "keyword": ["tourisme", "tourism"],
                DCAT + "theme": [{"@id": THEME + "ECON"}],
            },
            "private_properties": {},
            "data_address": {"type": "LocalFile", "path": f"{asset_id}/", "format": "parquet"},
            "created_at": now, "updated_at": now, "version": 1,
        })  # fmt: skip
        entries.append({
            "asset_id": asset_id, "search_text": f"jeu de donnees {index} dataset {index} tourisme",
            "themes": f" {THEME}ECON ", "spatial": " FRJ13 FRL05 ",
            "temporal_start": datetime(2024, 1, 1, tzinfo=UTC),
            "temporal_end": datetime(2024, 12, 31, tzinfo=UTC),
            "modified": now - timedelta(days=index % 30), "profile": profile,
            "fingerprint": "f" * 64, "profiled_at": now, "profile_error": None,
        })  # fmt: skip
    with database.transaction() as connection:
        for name in ("indicators", "presence", "barometer"):
            for kind in ("access", "contract"):
                connection.execute(
                    insert(PolicyDefinition),
                    [{"id": f"{name}-{kind}", "policy": stored_policy(f"{name}-{kind}"),
                      "private_properties": {}, "created_at": now, "updated_at": now,
                      "version": 1}],
                )  # fmt: skip
        connection.execute(
            insert(ContractDefinition),
            [{"id": f"cd-{group}", "access_policy_id": f"{kind}-access",
              "contract_policy_id": f"{kind}-contract", "negotiation_mode": "auto",
              "transfer_mode": "auto", "private_properties": {}, "created_at": now,
              "updated_at": now, "version": 1,
              "assets_selector": [{"operandLeft": EDC + "group", "operator": "=",
                                   "operandRight": group}]}
             for group, kind in enumerate(KINDS)],
        )  # fmt: skip
        for start in range(0, datasets, 2000):
            connection.execute(insert(Asset), assets[start : start + 2000])
            connection.execute(insert(CatalogueEntry), entries[start : start + 2000])
    # statistics as autovacuum keeps them on a running database (a bulk load has none yet)
    with database.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


async def measure(url: str, datasets: int, page: int, requests: int) -> dict[str, Any]:
    database = Database.from_url(url)
    upgrade(database)
    seed(database, datasets)
    settings = load_settings(catalogue={"page_size": page, "profile_interval_seconds": 0})
    app = create_app(settings, database=database)
    app.dependency_overrides[require_participant] = lambda: REGIONAL
    transport = httpx.ASGITransport(app)  # no lifespan: freeze the start-up heap as it does
    gc.collect()
    gc.freeze()
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://node.bench") as client:
        path = "/protocol/2025-1/catalog/request"
        first = await client.post(path, json=REQUEST)
        assert first.status_code == 200, first.text
        results["datasets_on_page"] = len(first.json()["dataset"])
        with statements(database) as seen:
            await client.post(path, json=REQUEST)
        results["statements"] = len(seen)
        # a cursor deep in the catalogue: follow 'next' a number of times
        deep = first
        for _ in range(min(50, datasets // page - 1)):
            deep = await client.post(deep.links["next"]["url"], json=REQUEST)
        deep_url = deep.links.get("next", {}).get("url", path)
        for label, target in (("first page", path), ("deep page", deep_url)):
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                response = await client.post(target, json=REQUEST)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            timings.sort()
            results[label] = (
                statistics.median(timings),
                timings[min(len(timings) - 1, int(len(timings) * 0.99))],
            )
    await app.state.node.identity.aclose()
    database.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cluster = None
        if not args.no_postgres and find_bindir() is not None:  # same cluster as the tests
            cluster = PostgresCluster(bindir=find_bindir())  # type: ignore[arg-type]
            cluster.start()

        def fresh(backend: str, name: str) -> str:
            if backend == "SQLite":
                return f"sqlite:///{Path(folder) / name}.db"
            assert cluster is not None
            return cluster.create_database(name)

        backends = ["SQLite"] + (["PostgreSQL"] if cluster is not None else [])
        try:
            for backend in backends:
                small = asyncio.run(measure(fresh(backend, "small"), 10, args.page, 5))
                big = asyncio.run(
                    measure(fresh(backend, "big"), args.datasets, args.page, args.requests)
                )
                rows.append((backend, small["statements"], big))
        finally:
            if cluster is not None:
                cluster.stop()
    print(f"- date: {datetime.now(UTC):%Y-%m-%d}; Python {platform.python_version()}")
    print(f"- {args.datasets:,} datasets, pages of {args.page}, {args.requests} requests each")
    print()
    print(
        "| database | SQL statements (10 / N datasets) | first page p50 / p99 ms "
        "| deep page p50 / p99 ms |"
    )
    print("|---|---:|---:|---:|")
    for backend, small_statements, big in rows:
        first, deep = big["first page"], big["deep page"]
        print(
            f"| {backend} | {small_statements} / {big['statements']} "
            f"| {first[0]:.1f} / {first[1]:.1f} | {deep[0]:.1f} / {deep[1]:.1f} |"
        )


if __name__ == "__main__":
    main()

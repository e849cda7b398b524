"""Benchmark of the policy library (results go to docs/benchmarks.md, section "Policies").

1. Policy evaluations per second: the barometer contract policy (``examples/policies``) at
   data-plane scope for a regional agency, and the barometer access policy at catalogue scope.
2. Enforcement throughput on the barometer (``--rows``, default 10 million rows, one weekly
   snapshot), beside plain pyarrow doing the same operations on the same in-memory batches in
   the same run (the batches are read once, before timing; runs alternate the two sides):

   - *projection + filter*: a regional agency (NUTS ``FRJ``) receives 8 allowed columns of its
     own rows. Plain pyarrow: ``batch.filter(pc.is_in(nuts3, codes)).select(columns)`` per batch,
     with the list of FRJ codes computed beforehand;
   - *aggregation + suppression*: a national agency receives every row aggregated to
     département, snapshot, night, accommodation type and origin, groups of fewer than 3
     distinct campsites suppressed. Plain pyarrow: one ``Table.group_by(...).aggregate`` with
     ``count_distinct`` over the whole table, then a filter. The plan streams batch by batch
     with memory bounded by the number of groups; plain pyarrow holds the whole table.

Rows/s counts input rows. Each figure is the median of ``--runs`` runs (at least 5).

Usage::

    .venv/bin/python bench/bench_policies.py --rows 10000000 --runs 5

The barometer is generated into a temporary directory (seed 1), or read from ``--data`` (or
``var/bench/barometer`` when it exists) if it holds one.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from catalog.contexts import dsp_processor
from etds_examples.barometer import generate_barometer, open_barometer
from policies import (
    DPV,
    AgreementFacts,
    EvaluationContext,
    Evaluator,
    Policy,
    Scope,
    parse_policy,
)
from policies.enforcement import EnforcementPlan, build_plan

EXAMPLES = ROOT / "examples" / "policies"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
ALLOWED = ["snapshot_date", "nuts3", "stay_date", "accommodation_type", "customer_country",
           "channel", "bookings", "person_nights"]  # fmt: skip
MEASURES = ("units_booked", "bookings", "person_nights")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _policy(name: str) -> Policy:
    document = json.loads((EXAMPLES / name).read_text())
    return parse_policy(document["policy"], processor=dsp_processor(), context=document["@context"])


def _context(scope: Scope, nuts: list[str], org_type: str) -> EvaluationContext:
    claims = {"sub": "did:web:agency.example", "membership": "active", "org_type": org_type,
              "country": "FR", "nuts": nuts}  # fmt: skip
    return EvaluationContext(
        scope,
        claims,
        NOW,
        purpose=DPV + "ProvideOfficialStatistics",
        agreement=AgreementFacts("urn:agreement:bench", NOW - timedelta(days=30)),
        transfer_count=1,
    )


def _median_time(run: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _evaluations(runs: int, count: int = 20_000) -> list[tuple[str, float]]:
    evaluator = Evaluator()
    cases = [
        ("barometer contract, data plane", _policy("barometer-contract.json"),
         _context(Scope.DATAPLANE, ["FRJ"], "regional_agency")),
        ("barometer access, catalogue", _policy("barometer-access.json"),
         _context(Scope.CATALOG, ["FRJ"], "regional_agency")),
    ]  # fmt: skip
    results = []
    for label, policy, context in cases:
        assert evaluator.evaluate(policy, context).allowed

        def run(policy: Policy = policy, context: EvaluationContext = context) -> None:
            for _ in range(count):
                evaluator.evaluate(policy, context)

        seconds, _ = _median_time(run, runs)
        results.append((label, count / seconds))
    return results


def _consume(plan: EnforcementPlan, batches: list[pa.RecordBatch]) -> int:
    return sum(batch.num_rows for batch in plan.apply(batches))


def _plain_filter(batches: list[pa.RecordBatch], codes: pa.Array) -> int:
    rows = 0
    for batch in batches:
        kept = batch.filter(pc.is_in(batch.column("nuts3"), value_set=codes)).select(ALLOWED)
        rows += kept.num_rows
    return rows


def _plain_aggregate(batches: list[pa.RecordBatch], keys: list[str]) -> int:
    table = pa.Table.from_batches(batches)
    grouped = table.group_by(keys).aggregate(
        [*((measure, "sum") for measure in MEASURES), ("campsite_pid", "count_distinct")]
    )
    kept = grouped.filter(pc.greater_equal(grouped.column("campsite_pid_count_distinct"), 3))
    return kept.drop_columns(["campsite_pid_count_distinct"]).num_rows


def _alternating(
    ours: Callable[[], int], plain: Callable[[], int], runs: int
) -> tuple[float, float, int, int]:
    ours_times, plain_times = [], []
    ours_rows = plain_rows = 0
    for _ in range(runs):
        started = time.perf_counter()
        ours_rows = ours()
        ours_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        plain_rows = plain()
        plain_times.append(time.perf_counter() - started)
    return statistics.median(ours_times), statistics.median(plain_times), ours_rows, plain_rows


def _enforcement(data: Path, runs: int) -> tuple[int, list[tuple[str, float, float, int]]]:
    dataset = open_barometer(data)
    batches = list(dataset.to_batches(batch_size=1_000_000))
    rows = sum(batch.num_rows for batch in batches)
    profile = json.loads((EXAMPLES / "dataset-profiles" / "barometer.json").read_text())
    contract = _policy("barometer-contract.json")
    results = []

    # projection + filter: the contract without its aggregation terms, plus allowed columns
    document = json.loads((EXAMPLES / "barometer-contract.json").read_text())
    constraints = document["policy"]["odrl:permission"][0]["odrl:constraint"]
    shaping = ("etds:aggregationThreshold", "etds:spatialGranularity")
    kept = [c for c in constraints if c["odrl:leftOperand"]["@id"] not in shaping]
    kept.append(
        {
            "odrl:leftOperand": {"@id": "etds:allowedColumns"},
            "odrl:operator": {"@id": "odrl:eq"},
            "odrl:rightOperand": ALLOWED,
        }
    )
    document["policy"]["odrl:permission"][0]["odrl:constraint"] = kept
    streaming = parse_policy(
        document["policy"], processor=dsp_processor(), context=document["@context"]
    )
    regional = _context(Scope.DATAPLANE, ["FRJ"], "regional_agency")
    plan = build_plan(streaming, regional, schema=dataset.schema, profile=profile)
    values = pa.chunked_array([b.column("nuts3").dictionary for b in batches]).to_pylist()
    codes = pa.array(sorted({code for code in values if code.startswith("FRJ")}))
    ours, plain, ours_rows, plain_rows = _alternating(
        lambda: _consume(plan, batches), lambda: _plain_filter(batches, codes), runs
    )
    assert ours_rows == plain_rows, (ours_rows, plain_rows)
    results.append(
        ("projection + filter (regional agency FRJ)", rows / ours, rows / plain, ours_rows)
    )

    national = _context(Scope.DATAPLANE, ["FR"], "national_agency")
    plan = build_plan(contract, national, schema=dataset.schema, profile=profile)
    assert plan.aggregation is not None
    keys = [key.name for key in plan.aggregation.keys]
    ours, plain, ours_rows, plain_rows = _alternating(
        lambda: _consume(plan, batches), lambda: _plain_aggregate(batches, keys), runs
    )
    assert ours_rows == plain_rows, (ours_rows, plain_rows)
    label = "aggregation + suppression (national agency)"
    results.append((label, rows / ours, rows / plain, ours_rows))
    return rows, results


def _data(args: argparse.Namespace, scratch: Path) -> Path:
    candidates = [args.data] if args.data else [ROOT / "var" / "bench" / "barometer"]
    for candidate in candidates:
        if candidate is not None and any(Path(candidate).glob("*/*.parquet")):
            return Path(candidate)
    out = scratch / "barometer"
    print(f"generating {args.rows:,} barometer rows into {out} …", file=sys.stderr)
    generate_barometer(out, seed=1, rows=args.rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5 (medians of 5 or more runs)")
    print(f"python {platform.python_version()}, pyarrow {pa.__version__}, numpy {np.__version__}")
    print(f"machine: {platform.machine()}, {_cpu_model()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d}")
    print("\n| policy | evaluations/s |\n|---|---:|")
    for label, rate in _evaluations(args.runs):
        print(f"| {label} | {rate:,.0f} |")
    with tempfile.TemporaryDirectory() as scratch:
        rows, results = _enforcement(_data(args, Path(scratch)), args.runs)
    print(f"\n{rows:,} input rows\n")
    print("| operation | plan rows/s | plain pyarrow rows/s | plan ÷ plain time | output rows |")
    print("|---|---:|---:|---:|---:|")
    for label, ours, plain, output in results:
        print(f"| {label} | {ours:,.0f} | {plain:,.0f} | {plain / ours:.2f} | {output:,} |")


if __name__ == "__main__":
    main()

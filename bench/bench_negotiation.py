"""Benchmark of contract negotiation (results go to docs/benchmarks.md, "Contract negotiation").

An authority, a provider node (B) and a consumer node (A) run as real processes on 127.0.0.1,
as in the end-to-end tests (``tests/e2e/two_nodes.py``): real access tokens and DPoP proofs,
real HTTP between the nodes. A *complete negotiation* is the consumer's management API
``POST /management/v3/contractnegotiations`` (a ``ContractRequest`` with ``autoAccept``, for
the offer of ``sustainable-tourism-indicators`` that B's catalogue shows A, under an ``auto``
contract definition whose policy A satisfies) until both sides are ``FINALIZED``: four DSP
messages (request, agreement, verification, finalized event) and their acknowledgements.

Measured on SQLite files (each node its own) and on PostgreSQL (a throwaway cluster as the tests
start it, one database per node; ``--no-postgres`` or ``--no-sqlite`` skips one), on fresh nodes
and databases for each, after ``--warmup`` negotiations (tokens, connections, caches):

* **latency**: ``--latency`` negotiations one after the other; time from the POST to the
  consumer recording FINALIZED; p50 and p99;
* **throughput**: ``--negotiations`` negotiations with K in flight (``--in-flight``, e.g. 16 and
  64): N / (time from the first POST until all N are FINALIZED on both sides), and the latency
  of each negotiation under that load;
* per phase, the CPU time (user + system) of each process per negotiation: consumer, provider,
  authority, this benchmark (the client) and, on PostgreSQL, the database server (postmaster
  and backends); the share of the machine's cores that was busy (every process, not only
  these); on PostgreSQL also each node's database transactions per negotiation
  (``pg_stat_database``; the ping of a pooled connection that sat idle for over a second
  counts as one).

FINALIZED is observed, by default, in the consumer's log (one JSON object per line, written by
the node as it records the state; the line's timestamp, in milliseconds, ends the latency), so
that watching costs the nodes nothing; ``--observe poll`` polls ``GET …/{id}/state`` every
``--poll-ms`` instead. After each phase every negotiation is checked through both management
APIs: FINALIZED on both sides, the same agreement id, the agreement stored on both nodes.
``--workdir`` keeps the nodes' logs and databases (the node pids are printed on stderr, for a
sampling profiler such as ``py-spy record --pid``).

Usage::

    .venv/bin/python bench/bench_negotiation.py --latency 200 --negotiations 500 --in-flight 16 64
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

# The tests' helpers (the authority, the two nodes, the PostgreSQL cluster); the checkout first,
# so that the tests' own connector/ folder does not shadow the package.
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT), str(_ROOT / "examples")]
sys.path += [str(_ROOT / "tests"), str(_ROOT / "tests" / "e2e")]

from dataspace_support import NODE_A, NODE_B, Dataspace, running_dataspace
from pg_cluster import PostgresCluster, find_bindir
from two_nodes import API_KEY, TwoNodes, start_two_nodes

from connector.http.transport import AiohttpTransport
from etds_examples.nodeproc import RunningService

EDC_VOCAB = "https://w3id.org/edc/v0.0.1/ns/"
MACHINE = "machine"  # CPU seconds of all the machine's cores (busy, not idle)
NEGOTIATIONS = "/management/v3/contractnegotiations"
AGREEMENTS = "/management/v3/contractagreements"
ASSET = "sustainable-tourism-indicators"
DEADLINE_S = 120.0  # for one negotiation, and for the provider to settle after a phase
FOLLOW_INTERVAL_S = 0.005
PG_STATS_FLUSH_S = 1.5


class BenchFailure(RuntimeError):
    """A negotiation did not end FINALIZED on both sides (the message says which and why)."""


@contextmanager
def dataspace(root: Path) -> Iterator[tuple[Dataspace, RunningService]]:
    """An authority process knowing A (a regional agency) and B, as the tests' fixture."""

    def register(space: Dataspace) -> None:
        space.register(NODE_A, org_type="regional_agency", country="FR", nuts=["FRJ"])
        space.register(NODE_B, org_type="research", country="FR")

    with running_dataspace(root, register) as running:
        yield running


class LogFollower:
    """Follows the consumer's JSON log: when a line says a negotiation is FINALIZED, the
    negotiation's waiter gets the line's timestamp (epoch seconds); TERMINATED fails it."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._file.seek(0, os.SEEK_END)
        self._partial = b""
        self._seen: dict[str, float | BenchFailure] = {}
        self._waiters: dict[str, asyncio.Future[float]] = {}

    def close(self) -> None:
        self._file.close()

    async def run(self) -> None:
        while True:
            chunk = self._file.read()
            if not chunk:
                await asyncio.sleep(FOLLOW_INTERVAL_S)
                continue
            lines = (self._partial + chunk).split(b"\n")
            self._partial = lines.pop()
            for line in lines:
                self._read(line)

    def _read(self, line: bytes) -> None:
        if b"FINALIZED" not in line and b"TERMINATED" not in line and b"terminated" not in line:
            return  # the other lines (most of them) are not parsed
        try:
            entry = json.loads(line)
        except ValueError:
            return
        negotiation = entry.get("negotiation") if isinstance(entry, dict) else None
        if not isinstance(negotiation, str):
            return
        outcome: float | BenchFailure
        if entry.get("state") == "FINALIZED":
            outcome = datetime.fromisoformat(entry["ts"]).timestamp()
        elif entry.get("state") == "TERMINATED" or "terminated" in str(entry.get("msg")):
            outcome = BenchFailure(f"negotiation {negotiation} terminated: {line.decode()}")
        else:
            return
        self._seen[negotiation] = outcome
        waiter = self._waiters.pop(negotiation, None)
        if waiter is not None and not waiter.done():
            _settle(waiter, outcome)

    async def finalized(self, negotiation: str) -> float:
        """The epoch time at which the consumer recorded ``negotiation`` FINALIZED."""
        waiter = asyncio.get_running_loop().create_future()
        if negotiation in self._seen:
            _settle(waiter, self._seen[negotiation])
        else:
            self._waiters[negotiation] = waiter
        return await asyncio.wait_for(waiter, DEADLINE_S)


def _settle(waiter: asyncio.Future[float], outcome: float | BenchFailure) -> None:
    if isinstance(outcome, BenchFailure):
        waiter.set_exception(outcome)
    else:
        waiter.set_result(outcome)


@dataclass(frozen=True)
class PostgresStats:
    """Committed and rolled back transactions of each node's database (``pg_stat_database``)."""

    url: str
    databases: dict[str, str]  # node → database name

    def transactions(self) -> dict[str, int]:
        with psycopg.connect(self.url) as connection:
            rows = connection.execute(
                "SELECT datname, xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = ANY(%s)",
                [list(self.databases.values())],
            ).fetchall()
        counts = {str(name): int(count) for name, count in rows}
        return {node: counts[database] for node, database in self.databases.items()}


@dataclass(frozen=True)
class Phase:
    """One measured run: negotiations per second, latency p50/p99 (ms), CPU ms per negotiation
    of each process (user + system)."""

    mode: str
    count: int
    rate: float
    p50: float
    p99: float
    cpu: dict[str, float]
    busy: float
    """The share of all the machine's cores that was busy during the phase (0 to 1)."""
    transactions: dict[str, float] | None
    """Database transactions per negotiation of each node (PostgreSQL only)."""


@dataclass
class Bench:
    """Starts negotiations on the consumer and waits for them to be FINALIZED there."""

    consumer: httpx.AsyncClient
    provider: httpx.AsyncClient
    request: dict[str, Any]
    follower: LogFollower | None
    poll_s: float
    processes: dict[str, psutil.Process]
    databases: PostgresStats | None
    postmaster: psutil.Process | None
    started: list[str] = field(default_factory=list)

    async def negotiate(self) -> float:
        """One complete negotiation (on the consumer's side); its latency in seconds."""
        wall, began = time.time(), time.perf_counter()
        response = await self.consumer.post(NEGOTIATIONS, json=self.request)
        if response.status_code != 200:
            raise BenchFailure(f"starting a negotiation: HTTP {response.status_code}")
        negotiation = str(response.json()["@id"])
        self.started.append(negotiation)
        if self.follower is not None:
            return await self.follower.finalized(negotiation) - wall
        deadline = began + DEADLINE_S
        while True:
            state = (await self.consumer.get(f"{NEGOTIATIONS}/{negotiation}/state")).json()
            if state["state"] == "FINALIZED":
                return time.perf_counter() - began
            if state["state"] == "TERMINATED" or time.perf_counter() > deadline:
                raise BenchFailure(f"negotiation {negotiation} is {state['state']}")
            await asyncio.sleep(self.poll_s)

    async def _transactions(self) -> dict[str, int] | None:
        if self.databases is None:
            return None
        await asyncio.sleep(PG_STATS_FLUSH_S)  # backends publish their counters about every 1 s
        return await asyncio.to_thread(self.databases.transactions)

    def _cpu(self) -> dict[str, float]:
        cpu = {name: sum(p.cpu_times()[:2]) for name, p in self.processes.items()}
        if self.postmaster is not None:
            # The database server: the postmaster, its live backends, and (children_*) the
            # backends that exited since it started (pooled connections come and go).
            own = self.postmaster.cpu_times()
            total = own.user + own.system + own.children_user + own.children_system
            for backend in self.postmaster.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):  # exited meanwhile
                    total += sum(backend.cpu_times()[:2])
            cpu["database"] = total
        times = psutil.cpu_times()
        cpu[MACHINE] = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        return cpu

    async def phase(self, mode: str, count: int, in_flight: int) -> Phase:
        """``count`` negotiations, ``in_flight`` at a time, until all are FINALIZED on both
        sides; then checked through both management APIs."""
        first = len(self.started)
        latencies: list[float] = []
        remaining = iter(range(count))

        async def worker() -> None:
            for _ in remaining:
                latencies.append(await self.negotiate())

        transactions_before = await self._transactions()
        cpu_before, began = self._cpu(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        await self.provider_settled()
        elapsed, cpu_after = time.perf_counter() - began, self._cpu()
        transactions_after = await self._transactions()
        await self.verify(self.started[first:])
        latencies.sort()
        return Phase(
            mode=mode,
            count=count,
            rate=count / elapsed,
            p50=statistics.median(latencies) * 1000,
            p99=latencies[min(count - 1, int(count * 0.99))] * 1000,
            cpu={
                name: (cpu_after[name] - cpu_before[name]) * 1000 / count
                for name in cpu_after
                if name != MACHINE
            },
            busy=(cpu_after[MACHINE] - cpu_before[MACHINE]) / (elapsed * (os.cpu_count() or 1)),
            transactions=None
            if transactions_before is None or transactions_after is None
            else {
                name: (transactions_after[name] - transactions_before[name]) / count
                for name in transactions_after
            },
        )

    async def provider_settled(self) -> None:
        """Wait until the provider has no negotiation that is not FINALIZED (it records
        FINALIZED when the consumer acknowledges the event, just after the consumer)."""
        deadline = time.perf_counter() + DEADLINE_S
        query = _query([("state", "!=", "FINALIZED")], limit=10)
        while True:
            response = await self.provider.post(f"{NEGOTIATIONS}/request", json=query)
            if response.status_code != 200:
                raise BenchFailure(f"provider query: HTTP {response.status_code}")
            left = response.json()
            if not left:
                return
            if time.perf_counter() > deadline:
                raise BenchFailure(f"provider negotiations not FINALIZED: {left[:3]}")
            await asyncio.sleep(0.01)

    async def verify(self, negotiations: Sequence[str]) -> None:
        """Every negotiation FINALIZED on both sides with one agreement stored by both."""
        consumer = await _records(self.consumer, NEGOTIATIONS, "id", negotiations)
        _check_finalized(consumer, len(negotiations), "consumer")
        agreement_of = {n["consumerPid"]: n["contractAgreementId"] for n in consumer}
        provider = await _records(self.provider, NEGOTIATIONS, "consumerPid", list(agreement_of))
        _check_finalized(provider, len(negotiations), "provider")
        for negotiation in provider:
            if agreement_of[negotiation["consumerPid"]] != negotiation["contractAgreementId"]:
                raise BenchFailure(f"agreements differ: {negotiation}")
        for side, client in (("consumer", self.consumer), ("provider", self.provider)):
            stored = await _records(client, AGREEMENTS, "id", list(agreement_of.values()))
            if len(stored) != len(negotiations):
                raise BenchFailure(f"{side}: {len(stored)} agreements, not {len(negotiations)}")


def _query(filters: Sequence[tuple[str, str, Any]], *, limit: int) -> dict[str, Any]:
    return {
        "@context": {"@vocab": EDC_VOCAB},
        "@type": "QuerySpec",
        "limit": limit,
        "filterExpression": [
            {"operandLeft": left, "operator": op, "operandRight": right}
            for left, op, right in filters
        ],
    }


async def _records(
    client: httpx.AsyncClient, path: str, key: str, wanted: Sequence[str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), 500):
        chunk = list(wanted[start : start + 500])
        response = await client.post(
            f"{path}/request", json=_query([(key, "in", chunk)], limit=1000)
        )
        if response.status_code != 200:
            raise BenchFailure(f"{path}/request: HTTP {response.status_code}: {response.text}")
        found += response.json()
    return found


def _check_finalized(found: list[dict[str, Any]], expected: int, side: str) -> None:
    finalized = [n for n in found if n["state"] == "FINALIZED" and n.get("contractAgreementId")]
    if len(found) != expected or len(finalized) != expected:
        states = sorted({n["state"] for n in found})
        raise BenchFailure(f"{side}: {len(finalized)} of {expected} FINALIZED (states {states})")


def _client(base_url: str, headers: dict[str, str]) -> httpx.AsyncClient:
    """The benchmark's client of a node's management API, on the nodes' own transport for peer
    messages (aiohttp's connection pool and C parser: a third to a half of httpcore's CPU per
    request, see "HTTP floor"), so that the load generator takes less of the cores the nodes
    share with it. Its idle connections are dropped (after
    :data:`~connector.http.transport.KEEPALIVE_SECONDS`) before uvicorn closes them (5 s), so
    that no request goes out on a connection the node is closing."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=60,
        trust_env=False,
        transport=AiohttpTransport(max_connections=200),
    )


async def _contract_request(consumer: httpx.AsyncClient, provider_url: str) -> dict[str, Any]:
    """A ContractRequest for the offer of ASSET that B's catalogue shows A."""
    response = await consumer.post(
        "/management/v3/catalog/request",
        json={
            "@context": {"@vocab": EDC_VOCAB},
            "counterPartyAddress": provider_url + "/protocol/2025-1",
            "counterPartyId": NODE_B,
        },
    )
    if response.status_code != 200:
        raise BenchFailure(f"catalogue request: HTTP {response.status_code}: {response.text}")
    catalogue = response.json()
    dataset = next(d for d in catalogue["dcat:dataset"] if d["@id"] == ASSET)
    offers = dataset["odrl:hasPolicy"]
    offer = offers[0] if isinstance(offers, list) else offers
    return {
        "@context": catalogue["@context"],
        "@type": "ContractRequest",
        "counterPartyAddress": provider_url + "/protocol/2025-1",
        "counterPartyId": NODE_B,
        "protocol": "dataspace-protocol-http:2025-1",
        "autoAccept": True,
        "policy": {**offer, "odrl:target": {"@id": ASSET}},
    }


async def measure(
    nodes: TwoNodes,
    authority: RunningService,
    databases: PostgresStats | None,
    postmaster: psutil.Process | None,
    args: argparse.Namespace,
) -> list[Phase]:
    """The phases on two running nodes: a warm-up, sequential, then each ``--in-flight``."""
    follower = None if args.observe == "poll" else LogFollower(nodes.consumer.log_file)
    headers = {"X-Api-Key": API_KEY}
    processes = {
        "consumer": psutil.Process(nodes.consumer.process.pid),
        "provider": psutil.Process(nodes.provider.process.pid),
        "authority": psutil.Process(authority.process.pid),
        "bench": psutil.Process(),
    }
    async with (
        _client(nodes.consumer.url, headers) as consumer,
        _client(nodes.provider.url, headers) as provider,
    ):
        request = await _contract_request(consumer, nodes.provider.url)
        bench = Bench(
            consumer,
            provider,
            request,
            follower,
            args.poll_ms / 1000,
            processes,
            databases,
            postmaster,
        )
        following = asyncio.create_task(follower.run()) if follower is not None else None
        try:
            await bench.phase("warm-up", args.warmup, 1)  # tokens, connections, caches
            phases = [await bench.phase("sequential", args.latency, 1)]
            for in_flight in args.in_flight:
                phases.append(
                    await bench.phase(f"{in_flight} in flight", args.negotiations, in_flight)
                )
        finally:
            if following is not None:
                following.cancel()
            if follower is not None:
                follower.close()
    return phases


def machine() -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )  # fmt: skip
    commit = subprocess.run(
        ["git", "-C", str(_ROOT), "describe", "--always", "--dirty"],
        capture_output=True, text=True, check=False,
    ).stdout.strip() or "not a git checkout"  # fmt: skip
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("uvicorn", "fastapi", "httpx", "SQLAlchemy", "psycopg")
    )
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d}; commit {commit}",
        f"- machine: `nproc` = {os.cpu_count()}, CPU `{cpu}`, {memory_kb / 2**20:.1f} GiB RAM, "
        f"Linux {platform.release()}",
        f"- software: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{versions}",
    ]


def _durable(cluster: PostgresCluster) -> None:
    """Commits as a production server makes them (``--durable``): each waits for its WAL to
    reach the disk (the tests' cluster turns that off, for speed)."""
    with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as admin:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            admin.execute(f"ALTER SYSTEM SET {setting} = on")
        admin.execute("SELECT pg_reload_conf()")


def run(args: argparse.Namespace, root: Path) -> tuple[list[tuple[str, Phase]], str]:
    """Both backends (each on fresh databases and nodes); the phases and PostgreSQL's version."""
    results: list[tuple[str, Phase]] = []
    with ExitStack() as stack:
        space, authority = stack.enter_context(dataspace(root / "dataspace"))
        bindir = None if args.no_postgres else find_bindir()
        cluster, postgres = None, ""
        if bindir is not None:  # the same throwaway cluster as the tests
            cluster = PostgresCluster(bindir=bindir)
            cluster.start()
            stack.callback(cluster.stop)
            if args.durable:
                _durable(cluster)
            postgres = subprocess.run(
                [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()
        backends = [] if args.no_sqlite else ["SQLite"]
        backends += ["PostgreSQL"] if cluster is not None else []
        for backend in backends:
            urls, stats = {}, None
            if cluster is not None and backend == "PostgreSQL":
                names = {"provider": "bench_provider", "consumer": "bench_consumer"}
                urls = {f"{node}_db": cluster.create_database(name) for node, name in names.items()}
                if args.postgres_socket:
                    urls = {f"{node}_db": cluster.socket_url(name) for node, name in names.items()}
                stats = PostgresStats(cluster.url().replace("+psycopg", ""), names)
            # "auto" passed as no option at all: a checkout from before the option runs too
            # (bench/compare_negotiation.py), and gets the same.
            options = {} if args.run_on_loop == "auto" else {"run_on_loop": args.run_on_loop}
            with start_two_nodes(space, root / backend.lower(), **urls, **options) as nodes:
                _note(
                    f"{backend}: provider pid {nodes.provider.process.pid}, consumer pid "
                    f"{nodes.consumer.process.pid}, load average {os.getloadavg()[0]:.1f}"
                )
                postmaster = None
                if cluster is not None and backend == "PostgreSQL":
                    pid = (cluster.datadir / "postmaster.pid").read_text().split()[0]
                    postmaster = psutil.Process(int(pid))
                for phase in asyncio.run(measure(nodes, authority, stats, postmaster, args)):
                    results.append((backend, phase))
                    _note(f"{backend}: {phase}")
                _note(f"{backend}: load average {os.getloadavg()[0]:.1f}")
    return results, postgres


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=int, default=200, help="sequential negotiations")
    parser.add_argument("--negotiations", type=int, default=500, help="per throughput run")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--observe", choices=("log", "poll"), default="log")
    parser.add_argument("--poll-ms", type=float, default=2.0)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--postgres-socket",
        action="store_true",
        help="the nodes reach PostgreSQL through its Unix socket (default: TCP to 127.0.0.1)",
    )
    parser.add_argument(
        "--run-on-loop",
        choices=("auto", "always", "never"),
        default="always",
        help="the nodes' database.run_on_loop (always: PostgreSQL work on the event loop too)",
    )
    parser.add_argument(
        "--durable",
        action="store_true",
        help="PostgreSQL commits wait for the disk (fsync, synchronous_commit on): production",
    )
    parser.add_argument("--workdir", type=Path, help="keep logs and databases here (empty folder)")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        results, postgres = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory() as folder:
            results, postgres = run(args, Path(folder))
    print("\n".join(machine()) + (f", {postgres}" if postgres else ""))
    observed = "the consumer's log" if args.observe == "log" else f"polling every {args.poll_ms} ms"
    print(f"- FINALIZED observed through {observed}")
    print(f"- the nodes' database.run_on_loop: {args.run_on_loop}")
    if postgres:
        durability = "on (--durable)" if args.durable else "off (as in the tests)"
        print(f"- PostgreSQL fsync and synchronous_commit: {durability}")
    print()
    print(
        "| database | mode | negotiations | negotiations/s | latency p50 / p99 ms "
        "| CPU ms per negotiation: consumer / provider / authority / bench / database "
        "| machine busy | transactions per negotiation: consumer / provider |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for backend, phase in results:
        transactions = (
            "n/a"
            if phase.transactions is None
            else " / ".join(f"{phase.transactions[n]:.1f}" for n in ("consumer", "provider"))
        )
        cpu = " / ".join(
            f"{phase.cpu[name]:.1f}" if name in phase.cpu else "n/a"
            for name in ("consumer", "provider", "authority", "bench", "database")
        )
        print(
            f"| {backend} | {phase.mode} | {phase.count} | {phase.rate:.1f} "
            f"| {phase.p50:.1f} / {phase.p99:.1f} | {cpu} | {phase.busy:.0%} | {transactions} |"
        )


if __name__ == "__main__":
    main()

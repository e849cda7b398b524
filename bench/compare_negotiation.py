"""Two revisions' negotiation throughput, run alternately (results go to docs/benchmarks.md,
"Contract negotiation": the alternating pairs).

This machine's speed drifts by up to 2x over a day and varies by 30 % from one run to the next,
so a table of one revision against an older table shows little. This runs
``bench/bench_negotiation.py`` from a checkout of each revision in turn (``--pairs`` times, the
base first), on the same machine in the same hour, and prints every run and the paired ratios
(head / base) of negotiations per second and of the nodes' CPU per negotiation (consumer +
provider), with their medians.

Each revision is checked out with ``git worktree add --detach`` into a temporary folder (removed
at the end) and run with this interpreter, its ``PYTHONPATH`` pointing at that checkout (and
its ``examples``): both revisions need the dependencies of this virtualenv. Both run the same
load generator script, this working tree's ``bench/bench_negotiation.py`` (uncommitted edits
included), copied into each checkout: it shares the cores with the nodes, and a revision's own,
older one would weigh differently on its throughput. What it imports (the test helpers that
start the nodes, the HTTP transport of its client) still comes from each revision's tree; a
revision it cannot use fails the run. ``HEAD``'s
uncommitted changes are not part of ``HEAD``; commit them (or stash them) first.

Usage (the arguments after ``--`` go to ``bench_negotiation.py``; the first throughput phase it
prints is compared)::

    .venv/bin/python bench/compare_negotiation.py --base HEAD~1 --head HEAD --pairs 4 -- \\
        --no-postgres --latency 2 --negotiations 300 --in-flight 16
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path("bench") / "bench_negotiation.py"
DEFAULT_BENCH_ARGS = [
    "--no-postgres",
    "--latency",
    "2",
    "--negotiations",
    "300",
    "--in-flight",
    "16",
]


@dataclass(frozen=True)
class Run:
    revision: str
    rate: float  # negotiations per second
    cpu: float  # consumer + provider CPU ms per negotiation
    busy: float  # share of the machine's cores busy (every process)
    server: float | None  # the PostgreSQL server's CPU ms per negotiation (None on SQLite)


@contextmanager
def checkout(revision: str, folder: Path) -> Iterator[Path]:
    """``revision`` checked out (detached) in ``folder``, removed afterwards."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder), revision],
        check=True,
    )
    try:
        shutil.copyfile(ROOT / BENCH, folder / BENCH)  # the same load generator for both
        yield folder
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
            check=False,
        )


def first_throughput(output: str) -> tuple[float, float, float, float | None]:
    """(negotiations/s, consumer + provider CPU ms per negotiation, share of the machine busy,
    the database server's CPU ms per negotiation or None) of the first ``… in flight`` row of
    ``bench_negotiation.py``'s table."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 7 and cells[1].endswith("in flight"):
            # consumer / provider / authority / bench / database server ("n/a" on SQLite)
            parts = cells[5].replace("n/a", "-").split("/")
            cpu = [None if value.strip() == "-" else float(value) for value in parts]
            busy = float(cells[6].rstrip("%")) / 100
            consumer, provider = cpu[0], cpu[1]
            assert consumer is not None, line
            assert provider is not None, line
            server = cpu[4] if len(cpu) > 4 else None
            return float(cells[3]), consumer + provider, busy, server
    raise ValueError("no throughput row in the benchmark's output")


def run_once(tree: Path, revision: str, bench_args: Sequence[str]) -> Run:
    environment = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'examples'}"}
    finished = subprocess.run(
        [sys.executable, str(BENCH), *bench_args],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        sys.stderr.write(finished.stderr[-2000:])
        raise SystemExit(f"{revision}: the benchmark failed (exit {finished.returncode})")
    return Run(revision, *first_throughput(finished.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", default="HEAD~1", help="the revision compared against")
    parser.add_argument("--head", default="HEAD", help="the revision measured")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("bench_args", nargs="*", help="arguments of bench_negotiation.py")
    options = parser.parse_args()
    bench_args = options.bench_args or DEFAULT_BENCH_ARGS
    ratios: list[tuple[float, float]] = []
    server_ratios: list[float] = []
    busy: dict[str, list[float]] = {options.base: [], options.head: []}
    with tempfile.TemporaryDirectory(prefix="etds-compare-") as scratch:
        base_dir, head_dir = Path(scratch) / "base", Path(scratch) / "head"
        with checkout(options.base, base_dir), checkout(options.head, head_dir):
            print(f"bench_negotiation.py {' '.join(bench_args)}")
            print(
                "| pair | revision | negotiations/s | CPU ms per negotiation (both nodes) "
                "| database server CPU ms per negotiation | machine busy |"
            )
            print("|---:|---|---:|---:|---:|---:|")
            for pair in range(1, options.pairs + 1):
                base = run_once(base_dir, options.base, bench_args)
                head = run_once(head_dir, options.head, bench_args)
                for run in (base, head):
                    server = "n/a" if run.server is None else f"{run.server:.1f}"
                    print(
                        f"| {pair} | {run.revision} | {run.rate:.1f} | {run.cpu:.1f} "
                        f"| {server} | {run.busy:.0%} |"
                    )
                ratios.append((head.rate / base.rate, head.cpu / base.cpu))
                if head.server and base.server:
                    server_ratios.append(head.server / base.server)
                busy[options.base].append(base.busy)
                busy[options.head].append(head.busy)
    rates = [rate for rate, _ in ratios]
    cpus = [cpu for _, cpu in ratios]
    print()
    print(
        f"{options.head} / {options.base}, {len(ratios)} pairs: negotiations/s median ratio "
        f"{statistics.median(rates):.2f} ({min(rates):.2f}-{max(rates):.2f}); CPU per "
        f"negotiation median ratio {statistics.median(cpus):.2f} "
        f"({min(cpus):.2f}-{max(cpus):.2f}); "
        f"machine busy, median: {options.base} {statistics.median(busy[options.base]):.0%}, "
        f"{options.head} {statistics.median(busy[options.head]):.0%}"
    )
    if server_ratios:
        print(
            f"database server CPU per negotiation median ratio "
            f"{statistics.median(server_ratios):.2f} "
            f"({min(server_ratios):.2f}-{max(server_ratios):.2f})"
        )


if __name__ == "__main__":
    main()

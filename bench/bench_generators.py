"""Benchmark of the sample-data generators (results go to docs/benchmarks.md).

Each generator runs in a fresh Python process so that its peak resident memory (``VmHWM``
of that process) is its own: the barometer for ``--rows`` rows (default 10 million, one weekly
snapshot), the indicators and the presence dataset at their default sizes. The parent measures
wall time (process start to exit, imports included); the child reports the generator's own
time, rows, files and bytes. Prints the machine and a markdown table.

Usage::

    .venv/bin/python bench/bench_generators.py --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

CHILD = """
import json, sys
from pathlib import Path
name, out, size = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
if name == "barometer":
    from etds_examples.barometer import generate_barometer
    report = generate_barometer(out, seed=1, rows=size)
elif name == "indicators":
    from etds_examples.indicators import generate_indicators
    report = generate_indicators(out, seed=1)
else:
    from etds_examples.presence import generate_presence
    report = generate_presence(out, seed=1)
print(json.dumps({
    "rows": report.rows,
    "files": len(report.files),
    "bytes": report.bytes_written,
    "seconds": report.seconds,
    # VmHWM: this process's own peak (ru_maxrss would include the forking parent's RSS)
    "peak_kib": int(next(
        line for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    ).split()[1]),
}))
"""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _run(name: str, size: int, workdir: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(EXAMPLES), os.environ.get("PYTHONPATH", "")]),
    }
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, name, str(workdir / name), str(size)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall = time.perf_counter() - started
    result: dict[str, float] = json.loads(completed.stdout)
    result["wall"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="barometer rows")
    args = parser.parse_args()
    print(f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    nproc = len(os.sched_getaffinity(0))
    print(f"- machine: {os.cpu_count()} CPUs (nproc {nproc}), {_cpu_model()}")
    versions = f"Python {platform.python_version()}, pyarrow {pyarrow.__version__}"
    print(f"- {versions}, {platform.platform()}")
    print()
    print(
        "| generator | size argument | rows | files | MB written | generator s | wall s "
        "| rows/s | peak RSS MiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    runs = (
        ("barometer", args.rows, f"rows={args.rows:,}"),
        ("indicators", 0, "years=5 (default)"),
        ("presence", 0, "days=31 (default)"),
    )
    with tempfile.TemporaryDirectory(prefix="bench-generators-") as tmp:
        for name, size, label in runs:
            r = _run(name, size, Path(tmp))
            print(
                f"| {name} | {label} | {int(r['rows']):,} | {int(r['files'])} "
                f"| {r['bytes'] / 1e6:.1f} | {r['seconds']:.1f} | {r['wall']:.1f} "
                f"| {r['rows'] / r['wall']:,.0f} | {r['peak_kib'] / 1024:.0f} |"
            )


if __name__ == "__main__":
    main()

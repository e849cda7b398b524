"""Instructions per contract negotiation, counted with callgrind (results in docs/benchmarks.md).

The two nodes of ``bench_negotiation.py`` (an authority, provider B and consumer A as real
processes on 127.0.0.1, SQLite files) run under ``valgrind --tool=callgrind`` with
instrumentation off while they start. After ``--warmup`` negotiations (tokens, connections,
caches) instrumentation is switched on and the counters zeroed, ``--negotiations`` complete
negotiations run one after the other, and the counters are dumped after the nodes have gone
quiet. The result is each node's instructions per negotiation.

Unlike CPU time, the count does not depend on how fast this machine is at the moment nor on what
else runs on it: the same code gives the same count to within about 1 %, run after run. It is
the way to compare two revisions of the hot path on this noisy machine (changes of a few
percent drown in the noise of negotiations per second). It does not show how well the two nodes
overlap under load (``bench_negotiation.py`` and ``compare_negotiation.py`` do), and the nodes
run about 50 times slower under callgrind, so timing-dependent paths (the dispatcher batching
under load) are not what they are in production: count sequential negotiations only.

Needs valgrind (Debian package ``valgrind``). Usage::

    .venv/bin/python bench/count_negotiation.py --negotiations 20 --warmup 5
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_negotiation import (  # after the path setup above: it sets up its own
    API_KEY,
    Bench,
    LogFollower,
    TwoNodes,
    _contract_request,
    dataspace,
    machine,
    start_two_nodes,
)

START_TIMEOUT_S = 600.0  # a node imports and starts about ten times slower under valgrind
QUIET_S = 4.0  # after the last negotiation: the provider records FINALIZED, the dispatchers idle


def _control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True)


def _instructions(out: Path, pid: int) -> int:
    """The instruction count of ``pid``'s last dump (``out.<pid>.<n>``)."""
    dumps = sorted(out.glob(f"out.{pid}.*"), key=lambda path: int(path.suffix[1:]))
    if not dumps:
        raise RuntimeError(f"callgrind wrote no dump for process {pid}")
    for line in dumps[-1].read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {dumps[-1]}")


async def _count(nodes: TwoNodes, out: Path, args: argparse.Namespace) -> dict[str, float]:
    follower = LogFollower(nodes.consumer.log_file)
    headers = {"X-Api-Key": API_KEY}
    pids = {"consumer": nodes.consumer.process.pid, "provider": nodes.provider.process.pid}
    async with (
        httpx.AsyncClient(
            base_url=nodes.consumer.url, headers=headers, timeout=600, trust_env=False
        ) as consumer,
        httpx.AsyncClient(
            base_url=nodes.provider.url, headers=headers, timeout=600, trust_env=False
        ) as provider,
    ):
        request = await _contract_request(consumer, nodes.provider.url)
        bench = Bench(consumer, provider, request, follower, 0.002, {}, None, None)
        following = asyncio.create_task(follower.run())
        try:
            for _ in range(args.warmup):
                await bench.negotiate()
            await asyncio.sleep(QUIET_S)
            for pid in pids.values():
                _control("--instr=on", pid)
            await asyncio.sleep(1)
            for pid in pids.values():
                _control("--zero", pid)
            for _ in range(args.negotiations):
                await bench.negotiate()
            await asyncio.sleep(QUIET_S)
            for pid in pids.values():
                _control("--dump", pid)
        finally:
            following.cancel()
            follower.close()
    return {name: _instructions(out, pid) / args.negotiations for name, pid in pids.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--negotiations", type=int, default=20, help="counted, one at a time")
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.error("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="etds-count-") as work, ExitStack() as stack:
        root, out = Path(work), Path(work) / "callgrind"
        out.mkdir()
        wrapper = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/out.%p",
        ]
        space, _authority = stack.enter_context(dataspace(root / "dataspace"))
        nodes = stack.enter_context(
            start_two_nodes(
                space, root / "sqlite", node_wrapper=wrapper, start_timeout=START_TIMEOUT_S
            )
        )
        counts = asyncio.run(_count(nodes, out, args))
    print("\n".join(machine()))
    print(f"- {args.negotiations} sequential negotiations on SQLite after {args.warmup} of warm-up")
    print()
    print("| node | instructions per negotiation |")
    print("|---|---:|")
    for name, count in counts.items():
        print(f"| {name} | {count / 1e6:.2f} M |")


if __name__ == "__main__":
    main()

"""The cost of the HTTP stack alone (results go to docs/benchmarks.md, "Contract negotiation").

A bare FastAPI endpoint under uvicorn, in its own process on 127.0.0.1, answers a POST of a
small JSON body (a DSP-sized message) with a small JSON body, and an ``httpx.AsyncClient`` in
this process calls it: no middleware, no token, no database, no JSON-LD. The CPU time of the
server and of the client per request, sequentially and with ``--in-flight`` requests at once, is
the floor under every DSP message a node receives or sends (each complete negotiation is four
of them, each received by one node and sent by the other, plus the management call that starts
it).

Usage::

    .venv/bin/python bench/bench_http_floor.py --requests 3000 --in-flight 1 16 \
        --transport httpx aiohttp

``--transport aiohttp`` puts the client on :class:`connector.http.transport.AiohttpTransport`,
the transport the negotiation dispatcher sends peer messages with; ``httpx`` is httpx's own.
The client runs on uvloop, as the node's dispatcher does under uvicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import psutil
import uvloop
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connector.http.transport import AiohttpTransport

BODY: dict[str, Any] = {
    "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
    "@type": "ContractRequestMessage",
    "consumerPid": "urn:uuid:7b1f1c52-6c57-4a7e-9d0b-1a6f0e7f6a10",
    "offer": {
        "@id": "urn:etds:offer:sustainable-tourism-indicators:regional-agencies",
        "target": "sustainable-tourism-indicators",
        "permission": [{"action": "use"}],
    },
    "callbackAddress": "http://127.0.0.1:1/protocol/2025-1",
}


def build_app() -> FastAPI:
    app = FastAPI()

    @app.post("/negotiations/request")
    async def request(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(
            {
                "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                "@type": "ContractNegotiation",
                "providerPid": "urn:uuid:0d6f3e0a-3c52-4d3e-8a43-5b7f9b8d2c11",
                "consumerPid": body.get("consumerPid"),
                "state": "REQUESTED",
            },
            status_code=201,
        )

    return app


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def measure(
    url: str, server: psutil.Process, requests: int, in_flight: int, transport: str
) -> str:
    chosen = AiohttpTransport(max_connections=in_flight) if transport == "aiohttp" else None
    async with httpx.AsyncClient(base_url=url, trust_env=False, transport=chosen) as client:
        for _ in range(200):  # warm-up: connections, caches
            (await client.post("/negotiations/request", json=BODY)).raise_for_status()
        me = psutil.Process()
        server_before, client_before = _cpu(server), _cpu(me)
        started = time.perf_counter()
        numbers = iter(range(requests))

        async def worker() -> None:
            for _ in numbers:
                response = await client.post("/negotiations/request", json=BODY)
                response.raise_for_status()
                response.json()

        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.perf_counter() - started
        server_ms = (_cpu(server) - server_before) / requests * 1000
        client_ms = (_cpu(me) - client_before) / requests * 1000
    return (
        f"| {transport} | {in_flight} | {requests:,} | {requests / elapsed:,.0f} "
        f"| {server_ms:.2f} | {client_ms:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 16])
    parser.add_argument(
        "--transport", nargs="+", choices=["httpx", "aiohttp"], default=["httpx", "aiohttp"]
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    port = _free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/docs", trust_env=False)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.05)
        print(
            "| client transport | in flight | requests | requests/s | server CPU ms/request "
            "| client CPU ms/request |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        server = psutil.Process(process.pid)
        for transport in args.transport:
            for in_flight in args.in_flight:
                print(uvloop.run(measure(url, server, args.requests, in_flight, transport)))
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()

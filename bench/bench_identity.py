"""Benchmark of identity (results go to docs/benchmarks.md, section "Identity").

1. Tokens issued per second by a real authority process (``etds authority serve`` on
   127.0.0.1, SQLite): each request is a full ``client_credentials`` grant — a new client
   assertion (ES256) and DPoP proof signed by the client, the authority checking both, recording
   both ``jti``s in its database and signing an EdDSA access token. Sequential, and with
   ``--concurrency`` requests in flight.
2. Verifications per second at a node (in-process, JWKS cached after the first request), of
   the same real token, three ways:
   ``token`` — the access token only (signature and claims);
   ``token + DPoP, no replay insert`` — plus the DPoP proof (signature, method, URL, ``ath``,
   key binding), its single use not recorded;
   ``token + DPoP + replay insert`` — the full check of a request, including the atomic insert
   of the proof's ``jti`` into the node's database (``--database-url``, default SQLite).
   Proofs are created before the clock starts: only verification is timed.

Usage::

    .venv/bin/python bench/bench_identity.py --tokens 300 --verifications 3000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from connector.identity import keys
from connector.identity.access import AccessCheck, Credentials
from connector.identity.authority import registry
from connector.identity.client import TokenClient
from connector.identity.dpop import create_proof
from connector.identity.jwks import JwksCache
from connector.identity.replay import ReplayGuard
from connector.identity.settings import TrustedIssuer
from connector.identity.verifier import TokenVerifier
from connector.store.database import Database
from connector.store.migrate import upgrade
from etds_examples.nodeproc import free_port, stop

A, B = "urn:bench:a", "urn:bench:b"
B_URL = "http://node-b.bench/protocol/2025-1/catalog/request"


class NoReplayInsert(ReplayGuard):
    """Accepts every proof without recording it (to time the checks without the database)."""

    def first_use(
        self, kind: str, namespace: str, jti: str, *, expires_at: float, now: float
    ) -> bool:
        return True


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _key(path: Path, key_type: keys.KeyType) -> Path:
    keys.write_private_key(path, keys.private_key_pem(keys.generate_key(key_type)))
    return path


def _start_authority(root: Path) -> tuple[subprocess.Popen[bytes], str, Database]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = Database.from_url(f"sqlite:///{root / 'authority.db'}")
    upgrade(database)
    now = datetime.now(UTC)
    for participant in (A, B):
        key_file = _key(root / f"{participant[-1]}.pem", "ec")
        registration = registry.Registration(
            id=participant,
            name=participant,
            keys=[keys.read_public_jwk(key_file)],
            org_type="research",
            country="FR",
            nuts=["FRJ"],
        )
        registry.register(database, registration, now=now)
    config = root / "authority.toml"
    signing_key = _key(root / "authority.pem", "ed25519")
    config.write_text(
        f'issuer = "{url}"\n[database]\nurl = "sqlite:///{root / "authority.db"}"\n'
        f'[logging]\nlevel = "WARNING"\n[[signing_keys]]\nfile = "{signing_key}"\n'
    )
    command = [sys.executable, "-m", "connector", "authority", "serve", "--config", str(config)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETDS_")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health/ready", timeout=1, trust_env=False).status_code == 200:
                return process, url, database
        except httpx.TransportError:
            time.sleep(0.05)
    stop(process)
    raise SystemExit("the authority did not start")


async def _rate(count: int, concurrency: int, work: Callable[[], Awaitable[object]]) -> float:
    done = 0

    async def worker() -> None:
        nonlocal done
        while done < count:
            done += 1
            await work()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def _issuance(url: str, root: Path, count: int, concurrency: int) -> list[tuple[str, float]]:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        tokens = TokenClient(
            authority=url,
            client_id=A,
            client_key=keys.load_signing_key(root / "a.pem"),
            dpop_key=keys.ephemeral_key(),
            async_client=http,
        )

        async def one() -> None:
            tokens.forget(B)
            await tokens.token(B)

        await _rate(20, 1, one)  # warm-up: metadata, connections
        return [
            ("sequential", await _rate(count, 1, one)),
            (f"{concurrency} concurrent", await _rate(count, concurrency, one)),
        ]


async def _verification(
    url: str, root: Path, count: int, node_database: Database
) -> list[tuple[str, float]]:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        tokens = TokenClient(
            authority=url,
            client_id=A,
            client_key=keys.load_signing_key(root / "a.pem"),
            dpop_key=keys.ephemeral_key(),
            async_client=http,
        )
        token = (await tokens.token(B)).value
        assert tokens.dpop_key is not None
        verifier = TokenVerifier(
            [TrustedIssuer(issuer=url)],
            JwksCache(http, ttl=3600, min_refetch=30, max_bytes=65536),
            leeway=30,
            max_age=600,
        )
        await verifier.verify(token, audience=B, use="protocol")  # fills the JWKS cache
        proofs = [
            create_proof(
                tokens.dpop_key, method="POST", url=B_URL, now=time.time(), access_token=token
            )
            for _ in range(2 * count)
        ]
        checks = {
            name: AccessCheck(
                verifier,
                guard,
                public_url="http://node-b.bench",
                accept_bearer=False,
                dpop_max_age=600,
                leeway=30,
            )
            for name, guard in (
                ("off", NoReplayInsert(node_database)),
                ("on", ReplayGuard(node_database)),
            )
        }
        pending = iter(proofs)

        async def full(check: AccessCheck) -> None:
            presented = Credentials("dpop", token, (next(pending),))
            await check.check(presented, method="POST", url=B_URL, audience=B, use="protocol")

        return [
            (
                "token",
                await _rate(count, 1, lambda: verifier.verify(token, audience=B, use="protocol")),
            ),
            ("token + DPoP, no replay insert", await _rate(count, 1, lambda: full(checks["off"]))),
            ("token + DPoP + replay insert", await _rate(count, 1, lambda: full(checks["on"]))),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=300, help="token requests per run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--verifications", type=int, default=3000, help="checks per run")
    parser.add_argument("--database-url", default=None, help="the node's database (replay)")
    args = parser.parse_args()
    print(f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    print(
        f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {_cpu_model()}"
    )
    print(f"- Python {platform.python_version()}, {platform.platform()}")
    with tempfile.TemporaryDirectory(prefix="bench-identity-") as tmp:
        root = Path(tmp)
        process, url, authority_db = _start_authority(root)
        node_database = Database.from_url(args.database_url or f"sqlite:///{root / 'node.db'}")
        upgrade(node_database)
        print(f"- node database: {node_database.backend}")
        print()
        try:
            issued = asyncio.run(_issuance(url, root, args.tokens, args.concurrency))
            verified = asyncio.run(_verification(url, root, args.verifications, node_database))
        finally:
            stop(process)
            authority_db.dispose()
            node_database.dispose()
    print("| measure | mode | per second |")
    print("|---|---|---:|")
    for mode, rate in issued:
        print(f"| tokens issued (authority process) | {mode} | {rate:,.0f} |")
    for mode, rate in verified:
        print(f"| verifications (node, cached JWKS) | {mode} | {rate:,.0f} |")


if __name__ == "__main__":
    main()

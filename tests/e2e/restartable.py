"""Nodes a fault test can kill with SIGKILL and start again — same port, same configuration, same
database — so that the callback addresses the peer stored stay valid across the crash.

:func:`start_pair` sets up provider B and consumer A like :func:`two_nodes.start_two_nodes` (B's
datasets and contract definitions, each node its own SQLite file, ``extra_config`` appended to both
configuration files) but yields :class:`RestartableNode` objects instead of context-managed
processes. Each incarnation of a node logs to its own file (``provider.1.log``, ``provider.2.log``…)
so that a failure shows the log of the process that failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from dataspace_support import NODE_A, NODE_B, Dataspace
from dsp_provider import DATASETS, define_contracts, generate_data
from two_nodes import TCK_DATASETS, add_assets, write_config

from connector.store.database import Database
from connector.store.migrate import upgrade
from etds_examples.nodeproc import START_TIMEOUT_S, ServiceFailedToStart, free_port, stop


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class RestartableNode:
    """One ``etds serve`` node on a fixed port that can die and come back (no threads: the test
    drives it). ``incarnations`` counts the processes started so far."""

    def __init__(self, name: str, config_file: Path, *, port: int, log_dir: Path) -> None:
        self.name = name
        self.config_file = config_file
        self.port = port
        self.log_dir = log_dir
        self.incarnations = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        """The log of the current (or last) incarnation."""
        return self.log_dir / f"{self.name}.{self.incarnations}.log"

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def spawn(self) -> None:
        """Start a new process (without waiting for it); the previous one must be gone."""
        if self.alive:
            raise RuntimeError(f"{self.name} is still running")
        self.incarnations += 1
        command = [sys.executable, "-m", "connector", "serve", "--config", str(self.config_file)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ETDS_")}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment
            )

    def wait_ready(self) -> None:
        """Return once ``/health/ready`` answers 200; ServiceFailedToStart if the process exits
        or is not ready after the start timeout."""
        process = self._process
        if process is None:
            raise RuntimeError(f"{self.name} was never started")
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise ServiceFailedToStart(
                        f"{self.name} exited with status {process.returncode}:\n"
                        + _tail(self.log_file)
                    )
                try:
                    if client.get(self.url + "/health/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise ServiceFailedToStart(f"{self.name} was not ready in time:\n{_tail(self.log_file)}")

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def kill(self) -> None:
        """SIGKILL the running process and reap it: no shutdown code runs."""
        process = self._process
        if process is None or process.poll() is not None:
            raise RuntimeError(f"{self.name} is not running")
        process.kill()
        process.wait()

    def stop(self) -> None:
        """Stop gracefully (teardown)."""
        if self._process is not None:
            stop(self._process)


@dataclass
class Pair:
    provider: RestartableNode
    consumer: RestartableNode

    def both(self) -> tuple[RestartableNode, RestartableNode]:
        return self.provider, self.consumer


@contextmanager
def start_pair(dataspace: Dataspace, root: Path, *, extra_config: str = "") -> Iterator[Pair]:
    """Provider B (its datasets registered) and consumer A, both running; stopped at the end
    whatever state the test left them in."""
    data = generate_data(root / "data")
    provider_db = f"sqlite:///{root / 'provider.db'}"
    database = Database.from_url(provider_db)
    upgrade(database)
    define_contracts(database, {**DATASETS, **dict.fromkeys(TCK_DATASETS, "indicators")})
    database.dispose()
    nodes = []
    for name, participant in (("provider", NODE_B), ("consumer", NODE_A)):
        port = free_port()
        config = write_config(
            root / f"{name}.toml",
            participant=participant,
            port=port,
            dataspace=dataspace,
            data=data,
            db=f"sqlite:///{root / f'{name}.db'}",
            extra=extra_config,
        )
        nodes.append(RestartableNode(name, config, port=port, log_dir=root / "logs"))
    pair = Pair(provider=nodes[0], consumer=nodes[1])
    try:
        for node in pair.both():
            node.spawn()
        for node in pair.both():
            node.wait_ready()
        add_assets(pair.provider.url)
        yield pair
    finally:
        for node in pair.both():
            node.stop()

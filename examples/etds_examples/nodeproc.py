"""Run ``etds`` services as real processes on 127.0.0.1 (the demo and the end-to-end tests).

:func:`run_service` starts a command, waits until ``/health/ready`` answers, yields its URL, and
stops it (SIGTERM, then SIGKILL if it does not exit) — also when the block raises. Its logs go to
a file, shown in the error when the service does not start. :func:`run_node` runs ``etds serve``
(the authority's runner is in :mod:`etds_examples.authorityproc`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class ServiceFailedToStart(RuntimeError):
    """The service exited or did not become ready in time; the message ends with its log."""


@dataclass(frozen=True)
class RunningService:
    url: str
    process: subprocess.Popen[bytes]
    log_file: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServiceFailedToStart(
                    f"{process.args!r} exited with status {process.returncode}:\n" + _tail(log_file)
                )
            try:
                if client.get(url + "/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise ServiceFailedToStart(f"the node was not ready after {timeout:.0f} s:\n{_tail(log_file)}")


def stop(process: subprocess.Popen[bytes]) -> int:
    """Stop ``process`` gracefully (SIGTERM), or kill it; returns its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def stopped_cleanly(returncode: int | None) -> bool:
    """Whether an exit status is a clean stop: uvicorn shuts down gracefully on SIGTERM, then
    re-raises the signal, so the status is 0 or -SIGTERM."""
    return returncode in (0, -signal.SIGTERM)


@contextmanager
def run_service(
    arguments: list[str],
    *,
    port: int,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    wrapper: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT_S,
) -> Iterator[RunningService]:
    """Start ``python -m connector <arguments> --host 127.0.0.1 --port <port>`` and yield it
    once ``/health/ready`` answers. ``ETDS_*`` variables of this process are not passed on.
    ``wrapper``: a command to run it under (``valgrind --tool=callgrind …``, for a benchmark).
    """
    command = [*wrapper, sys.executable, "-m", "connector", *arguments]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ETDS_")}
    environment.update(env or {})
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=log, stderr=subprocess.STDOUT, env=environment
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log_file, start_timeout)
        yield RunningService(url=url, process=process, log_file=log_file)
    finally:
        stop(process)


def run_node(
    config_file: Path,
    *,
    port: int,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    wrapper: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT_S,
) -> contextlib.AbstractContextManager[RunningService]:
    """``etds serve --config config_file`` on ``127.0.0.1:port`` (``wrapper``,
    ``start_timeout``: see :func:`run_service`)."""
    return run_service(
        ["serve", "--config", str(config_file)],
        port=port,
        log_file=log_file,
        env=env,
        wrapper=wrapper,
        start_timeout=start_timeout,
    )

"""Run ``etds authority serve`` as a real process on 127.0.0.1 (security and end-to-end tests).

:func:`run_authority` starts the authority with a settings file, waits until ``/health/ready``
answers, yields its URL, and stops it (SIGTERM, then SIGKILL) — also when the block raises. Its
logs go to a file, shown in the error when it does not start. :func:`write_authority_config`
writes a development settings file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from etds_examples.nodeproc import stop

START_TIMEOUT_S = 60.0


class AuthorityFailedToStart(RuntimeError):
    """The authority exited or did not become ready in time; the message ends with its log."""


@dataclass(frozen=True)
class RunningAuthority:
    url: str
    process: subprocess.Popen[bytes]
    log_file: Path


def write_authority_config(
    path: Path,
    *,
    port: int,
    database_url: str,
    signing_keys: Sequence[Path],
    extra: str = "",
) -> Path:
    """A development settings file for an authority on ``127.0.0.1:port``."""
    keys = "".join(f'[[signing_keys]]\nfile = "{key}"\n' for key in signing_keys)
    path.write_text(
        f'issuer = "http://127.0.0.1:{port}"\nport = {port}\n{extra}\n'
        f'[database]\nurl = "{database_url}"\n[logging]\nlevel = "INFO"\n{keys}'
    )
    return path


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AuthorityFailedToStart(
                    f"the authority exited with status {process.returncode}:\n{_tail(log_file)}"
                )
            try:
                if client.get(url + "/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise AuthorityFailedToStart(f"not ready after {START_TIMEOUT_S:.0f} s:\n{_tail(log_file)}")


@contextmanager
def run_authority(
    config_file: Path, *, port: int, log_file: Path, env: Mapping[str, str] | None = None
) -> Iterator[RunningAuthority]:
    """Start ``etds authority serve --config config_file`` and yield it once it is ready."""
    command = [sys.executable, "-m", "connector", "authority", "serve"]
    command += ["--config", str(config_file), "--host", "127.0.0.1", "--port", str(port)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ETDS_")}
    environment.update(env or {})
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log_file)
        yield RunningAuthority(url=url, process=process, log_file=log_file)
    finally:
        stop(process)

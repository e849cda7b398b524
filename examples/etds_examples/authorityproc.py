"""Run ``etds authority serve`` as a real process on 127.0.0.1 (security and end-to-end tests);
:func:`write_authority_config` writes a development settings file for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from etds_examples.nodeproc import RunningService, run_service


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


def run_authority(
    config_file: Path, *, port: int, log_file: Path, env: Mapping[str, str] | None = None
) -> AbstractContextManager[RunningService]:
    """``etds authority serve --config config_file`` on ``127.0.0.1:port``."""
    return run_service(
        ["authority", "serve", "--config", str(config_file)], port=port, log_file=log_file, env=env
    )

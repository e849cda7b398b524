"""A throwaway PostgreSQL cluster for tests: initdb into a temporary folder, start, stop, delete.

The cluster listens only on 127.0.0.1 (a free port) with its unix socket inside the temporary
folder, trusts local connections, and trades durability for speed (``fsync``,
``synchronous_commit`` and ``full_page_writes`` off). Its log stays in the folder and is quoted
when start-up fails.

It is created with the ``C.UTF-8`` locale and UTF-8 encoding, like a production server with a
UTF-8 locale: ``lower()`` (and so ``ilike``) folds the case of every Unicode letter, not ASCII
only, while strings still sort by code point. Where the system has no ``C.UTF-8`` locale,
``initdb`` falls back to ``--no-locale`` and :attr:`PostgresCluster.locale_note` says so (tests
that need Unicode case folding skip with that note).

``initdb`` and ``postgres`` refuse to run as root. When the tests run as root (containers, CI), the
server runs as the ``postgres`` system user, or, when there is none, as a system user
``etds-pg`` created for the purpose; the temporary folder is handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "etds"
LOCALE = "C.UTF-8"
FALLBACK_SYSTEM_USER = "etds-pg"
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "log_min_messages": "warning",
}


class ClusterError(RuntimeError):
    """The cluster could not be created or started (the message says why)."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None`` if not installed.

    Looked up in order: ``PATH``, ``pg_config --bindir``, ``/usr/lib/postgresql/*/bin`` (newest).
    """
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip():
            candidates.append(Path(found.stdout.strip()))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(path) for path in versions)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _system_user_for_root() -> str:
    """The unprivileged user that runs the server when we are root (created if needed)."""
    for name in ("postgres", FALLBACK_SYSTEM_USER):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    useradd = shutil.which("useradd")
    if useradd is None:
        raise ClusterError(
            "running as root, but there is no 'postgres' user and no useradd to create "
            f"{FALLBACK_SYSTEM_USER!r}; create an unprivileged user for PostgreSQL"
        )
    created = subprocess.run(
        [
            useradd,
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_SYSTEM_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        raise ClusterError(f"could not create user {FALLBACK_SYSTEM_USER!r}: {created.stderr}")
    return FALLBACK_SYSTEM_USER


@dataclass
class PostgresCluster:
    """One running cluster; use :meth:`start` then :meth:`stop` (both idempotent)."""

    bindir: Path
    root: Path | None = None
    port: int | None = None
    run_as: str | None = None
    locale_note: str | None = None

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.root is not None
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
            user=self.run_as,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        )

    def start(self) -> None:
        """initdb into a fresh temporary folder and start the server (waits until ready)."""
        if self.root is not None:
            return
        self.root = Path(tempfile.mkdtemp(prefix="etds-pg-"))
        self.locale_note = None
        try:
            if os.geteuid() == 0:
                self.run_as = _system_user_for_root()
                shutil.chown(self.root, user=self.run_as)
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise

    def _initdb(self) -> None:
        created = self._run_initdb("--locale", LOCALE)
        if created.returncode != 0 and "invalid locale name" in created.stderr:
            shutil.rmtree(self.datadir, ignore_errors=True)
            created = self._run_initdb("--no-locale")
            self.locale_note = (
                f"the {LOCALE} locale is not installed, so the test cluster runs with --no-locale "
                "(LC_CTYPE=C) and PostgreSQL folds ASCII case only; install the locale (glibc "
                f"2.35+ has it built in; otherwise e.g. localedef -i C -f UTF-8 {LOCALE})"
            )
        if created.returncode != 0:
            raise ClusterError(f"initdb failed:\n{created.stdout}\n{created.stderr}")

    def _run_initdb(self, *locale: str) -> subprocess.CompletedProcess[str]:
        return self._run(
            str(self.bindir / "initdb"),
            "--pgdata", str(self.datadir),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            *locale,
            "--no-sync",
        )  # fmt: skip

    def _start_server(self, attempts: int = 3) -> None:
        assert self.root is not None
        for _ in range(attempts):
            self.port = _free_port()
            settings = {
                **_SETTINGS,
                "port": str(self.port),
                "unix_socket_directories": f"'{self.root}'",
            }
            with (self.datadir / "postgresql.auto.conf").open("w", encoding="utf-8") as conf:
                conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
            started = self._run(
                str(self.bindir / "pg_ctl"),
                "--pgdata", str(self.datadir),
                "--log", str(self.logfile),
                "--wait",
                "--timeout", "60",
                "start",
            )  # fmt: skip
            if started.returncode == 0:
                return
            # Most likely the port was taken between probing and binding; try another one.
        log = self.logfile.read_text(errors="replace") if self.logfile.exists() else "(no log)"
        raise ClusterError(f"PostgreSQL did not start after {attempts} attempts; its log:\n{log}")

    def stop(self) -> None:
        """Stop the server (immediately: the data is thrown away) and delete the folder."""
        if self.root is None:
            return
        if (self.datadir / "postmaster.pid").exists():
            self._run(
                str(self.bindir / "pg_ctl"),
                "--pgdata", str(self.datadir),
                "--mode", "immediate",
                "--wait",
                "stop",
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
        self.port = None

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3, over TCP to 127.0.0.1)."""
        assert self.port is not None, "the cluster is not started"
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` through the cluster's Unix socket."""
        assert self.port is not None, "the cluster is not started"
        assert self.root is not None, "the cluster is not started"
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.root}&port={self.port}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        assert self.port is not None, "the cluster is not started"
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def create_database(self, name: str) -> str:
        """Create the empty database ``name`` (a plain identifier) and return its URL."""
        if not name.isidentifier():
            raise ValueError(f"not a plain identifier: {name!r}")
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting whoever still uses it."""
        if not name.isidentifier():
            raise ValueError(f"not a plain identifier: {name!r}")
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def connect_where_nothing_listens() -> None:
    """Connect to PostgreSQL on 127.0.0.1:1, where nothing listens: raises the driver's real
    error, as SQLAlchemy wraps it (an ``OperationalError``), as when the server is down."""
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://etds@127.0.0.1:1/etds?connect_timeout=2")
    try:
        engine.connect()
    finally:
        engine.dispose()

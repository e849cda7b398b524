"""The ``etds`` command, run in-process with click's runner."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from tls_support import private_ca

from connector.cli import cli
from etds_examples.nodeproc import free_port


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("ETDS_CONFIG", "ETDS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "config", "generate", "assets", "db"):
        assert command in result.output


def test_config_check_prints_a_summary_without_secrets(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        '[node]\nparticipant_id = "did:web:x.example"\n'
        '[database]\nurl = "postgresql+psycopg://etds:hunter2@db.example/etds"\n'
    )
    result = runner.invoke(cli, ["config", "check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "did:web:x.example" in result.output
    assert "postgresql+psycopg" in result.output
    assert "hunter2" not in result.output


def test_generate_barometer_writes_the_requested_rows(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "barometer"
    args = ["generate", "barometer", "--out", str(out), "--rows", "20000", "--campsites", "50"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "20,000 rows" in result.output
    files = sorted(out.rglob("*.parquet"))
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == 20_000
    again = runner.invoke(cli, args)
    assert again.exit_code == 1
    assert "not empty" in again.output


def test_generate_with_a_secret_key_file(runner: CliRunner, tmp_path: Path) -> None:
    key = tmp_path / "pseudonym.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef\n")
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = runner.invoke(
            cli,
            ["generate", "barometer", "--out", str(out), "--rows", "5000", "--campsites", "20"]
            + (["--key-file", str(key)] if name == "b" else []),
        )
        assert result.exit_code == 0, result.output
        outputs.append(pq.read_table(sorted(out.rglob("*.parquet"))[0], columns=["campsite_pid"]))
    assert outputs[0].column(0).to_pylist() != outputs[1].column(0).to_pylist()


def test_generate_rejects_a_bad_date(runner: CliRunner, tmp_path: Path) -> None:
    args = ["generate", "presence", "--out", str(tmp_path / "p"), "--start", "01/07/2024"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_generate_indicators_and_presence(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        ["generate", "indicators", "--out", str(tmp_path / "i"), "--years", "1", "--format", "csv"],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "i" / "indicators.csv").is_file()
    result = runner.invoke(
        cli, ["generate", "presence", "--out", str(tmp_path / "p"), "--days", "2"]
    )
    assert result.exit_code == 0, result.output


def test_db_upgrade_and_current(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "state.db"}"\n')
    before = runner.invoke(cli, ["db", "current", "--config", str(config)])
    assert "(empty database)" in before.output
    upgraded = runner.invoke(cli, ["db", "upgrade", "--config", str(config)])
    assert upgraded.exit_code == 0, upgraded.output
    after = runner.invoke(cli, ["db", "current", "--config", str(config)])
    current, newest = (line.split()[-1] for line in after.output.splitlines()[:2])
    assert current == newest


def test_assets_list_reports_an_unreachable_node(runner: CliRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(cli, ["assets", "list", "--url", url, "--api-key", "k"])
    assert result.exit_code == 1
    assert "cannot reach the node" in result.output


def test_assets_add_needs_a_file_or_a_path(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["assets", "add", "--name", "x"])
    assert result.exit_code == 2
    assert "--path" in result.output


class _EmptyList(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_assets_commands_trust_the_listed_private_authority(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = private_ca(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyList)
    server.socket = authority.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        command = ["assets", "list", "--url", f"https://127.0.0.1:{server.server_port}"]
        refused = runner.invoke(cli, [*command, "--api-key", "k"])
        assert refused.exit_code == 1
        assert "CERTIFICATE_VERIFY_FAILED" in refused.output
        monkeypatch.setenv("ETDS_SECURITY__TLS_CA_FILE", str(authority.ca_file))
        listed = runner.invoke(cli, [*command, "--api-key", "k", "--json"])
        assert listed.exit_code == 0, listed.output
        assert listed.output.strip() == "[]"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

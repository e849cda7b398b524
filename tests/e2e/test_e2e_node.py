"""A real `etds serve` process on 127.0.0.1 driven by the `etds` CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from etds_examples.indicators import generate_indicators
from etds_examples.nodeproc import free_port, run_node, stopped_cleanly

pytestmark = pytest.mark.e2e

API_KEY = "e2e-administrator-key"
ASSETS = Path(__file__).resolve().parents[2] / "examples" / "etds_examples" / "assets"


def _etds(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )


def _config(tmp_path: Path, db_url: str, port: int) -> Path:
    data = tmp_path / "data"
    generate_indicators(data / "indicators", seed=1, years=1, format="csv")
    config = tmp_path / "node.toml"
    config.write_text(
        f"""
[node]
participant_id = "did:web:e2e.example"
public_url = "http://127.0.0.1:{port}"
[database]
url = "{db_url}"
[management]
api_keys = ["{API_KEY}"]
[storage]
data_roots = ["{data}"]
"""
    )
    return config


def test_node_serves_assets_added_by_the_cli_and_keeps_them(tmp_path: Path, db_url: str) -> None:
    port = free_port()
    config = _config(tmp_path, db_url, port)
    with run_node(config, port=port, log_file=tmp_path / "node.log") as node:
        common = ["--url", node.url, "--api-key", API_KEY]
        added = _etds("assets", "add", str(ASSETS / "barometer.json"), *common)
        assert added.returncode == 0, added.stderr
        assert added.stdout.strip() == "booking-barometer"
        csv = _etds(
            "assets", "add", "--id", "indicators", "--name", "Indicators",
            "--path", "indicators/", "--format", "csv", *common,
        )  # fmt: skip
        assert csv.returncode == 0, csv.stderr
        refused = _etds("assets", "add", "--id", "x", "--path", "../outside", *common)
        assert refused.returncode == 1
        assert "path" in refused.stderr
        duplicate = _etds("assets", "add", str(ASSETS / "barometer.json"), *common)
        assert duplicate.returncode == 1
        assert "409" in duplicate.stderr

    # A restarted node still has its assets.
    with run_node(config, port=port, log_file=tmp_path / "node-2.log") as node:
        listed = _etds("assets", "list", "--json", "--url", node.url, "--api-key", API_KEY)
        assert listed.returncode == 0, listed.stderr
        assets = {asset["@id"]: asset for asset in json.loads(listed.stdout)}
        assert set(assets) == {"booking-barometer", "indicators"}
        assert assets["indicators"]["dataAddress"]["format"] == "csv"
        response = httpx.get(
            node.url + "/management/v3/assets/booking-barometer",
            headers={"X-Api-Key": "wrong"},
            trust_env=False,
        )
        assert response.status_code == 401
    assert stopped_cleanly(node.process.returncode)
    logs = [json.loads(line) for line in (tmp_path / "node-2.log").read_text().splitlines()]
    assert any(entry["msg"] == "node stopped" for entry in logs)
    access = [entry for entry in logs if entry["logger"] == "etds.access"]
    assert any(entry["status"] == 401 and entry["request_id"] for entry in access)


def test_invalid_settings_stop_the_node_with_every_reason(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('profile = "production"\n[node]\nport = 0\n')
    result = _etds("serve", "--config", str(config))
    assert result.returncode == 2
    assert "node.port" in result.stderr
    config.write_text('profile = "production"\n')
    result = _etds("config", "check", "--config", str(config))
    assert result.returncode == 2
    assert "management.api_keys" in result.stderr
    assert "security.signing_key_file" in result.stderr


def test_a_node_runs_under_the_wrapper_command_it_is_given(tmp_path: Path) -> None:
    # bench/count_negotiation.py runs the nodes under valgrind this way.
    port = free_port()
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'node.db'}", port)
    wrapper = ["env", "WRAPPED_BY_THE_TEST=yes"]
    with run_node(config, port=port, log_file=tmp_path / "node.log", wrapper=wrapper) as node:
        environment = Path(f"/proc/{node.process.pid}/environ").read_bytes().split(b"\0")
        assert b"WRAPPED_BY_THE_TEST=yes" in environment
        assert httpx.get(node.url + "/health/ready", trust_env=False).status_code == 200

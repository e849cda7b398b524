"""``etds keys`` and ``etds authority`` (registry commands), run in-process with click's runner."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.identity import keys


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("ETDS_CONFIG", "ETDS_AUTHORITY_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    key = tmp_path / "authority.pem"
    keys.write_private_key(key, keys.private_key_pem(keys.generate_key("ed25519")))
    path = tmp_path / "authority.toml"
    path.write_text(
        f'issuer = "http://127.0.0.1:8180"\n[database]\nurl = "sqlite:///{tmp_path}/a.db"\n'
        f'[[signing_keys]]\nfile = "{key}"\n'
    )
    return path


def test_keys_generate_and_show(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "node.pem"
    result = runner.invoke(cli, ["keys", "generate", "--type", "ed25519", "--out", str(out)])
    assert result.exit_code == 0, result.output
    jwk = json.loads(result.output)
    assert jwk["alg"] == "EdDSA"
    assert jwk["kid"] == keys.load_signing_key(out).kid
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = runner.invoke(cli, ["keys", "generate", "--out", str(out)])
    assert again.exit_code == 1
    assert "--force" in again.output
    replaced = runner.invoke(cli, ["keys", "generate", "--out", str(out), "--force"])
    assert json.loads(replaced.output)["alg"] == "ES256"
    shown = runner.invoke(cli, ["keys", "show", str(out)])
    assert json.loads(shown.output) == json.loads(replaced.output)
    (tmp_path / "bad.pem").write_text("nope")
    assert runner.invoke(cli, ["keys", "show", str(tmp_path / "bad.pem")]).exit_code == 1


def test_register_list_suspend_reinstate_revoke(
    runner: CliRunner, config: Path, tmp_path: Path
) -> None:
    key = tmp_path / "a.pem"
    runner.invoke(cli, ["keys", "generate", "--out", str(key)])
    base = ["authority", "register", "--config", str(config)]
    result = runner.invoke(
        cli,
        [
            *base,
            *("--id", "urn:p:a", "--name", "Agence A", "--key-file", str(key)),
            *("--org-type", "regional_agency", "--country", "FR", "--nuts", "FRJ"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "registered urn:p:a  [active]" in result.output
    duplicate = runner.invoke(
        cli, [*base, "--id", "urn:p:a", "--name", "A", "--key-file", str(key)]
    )
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    jwk = json.dumps(keys.ephemeral_key().public_jwk())
    admin = runner.invoke(
        cli,
        [
            *base,
            *("--id", "urn:admin:a", "--name", "Admin", "--jwk", jwk),
            *("--scope", "management:read", "--audience", "https://a.example/management"),
        ],
    )
    assert admin.exit_code == 0, admin.output
    listed = runner.invoke(cli, ["authority", "list", "--config", str(config), "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [row["id"] for row in rows] == ["urn:admin:a", "urn:p:a"]
    assert rows[1]["nuts"] == ["FRJ"]
    assert rows[1]["kids"] == [keys.load_signing_key(key).kid]
    assert rows[0]["audiences"] == ["https://a.example/management"]

    def status(command: str) -> str:
        result = runner.invoke(cli, ["authority", command, "--config", str(config), "urn:p:a"])
        assert result.exit_code == 0, result.output
        return result.output

    assert "[suspended]" in status("suspend")
    suspended = runner.invoke(
        cli, ["authority", "list", "--config", str(config), "--status", "suspended"]
    )
    assert suspended.output.startswith("urn:p:a  [suspended]")
    assert "[active]" in status("reinstate")
    assert "[revoked]" in status("revoke")
    final = runner.invoke(cli, ["authority", "reinstate", "--config", str(config), "urn:p:a"])
    assert final.exit_code == 1
    assert "revoked for good" in final.output


def test_set_keys_and_input_errors(runner: CliRunner, config: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "1.pem", tmp_path / "2.pem"
    for path in (first, second):
        runner.invoke(cli, ["keys", "generate", "--out", str(path)])
    base = ["authority", "register", "--config", str(config), "--id", "urn:p:b", "--name", "B"]
    assert runner.invoke(cli, base).exit_code == 2  # no key given
    assert runner.invoke(cli, [*base, "--jwk", "{not json"]).exit_code == 2
    bad_country = runner.invoke(cli, [*base, "--key-file", str(first), "--country", "FRA"])
    assert bad_country.exit_code == 1
    assert "country" in bad_country.output
    assert runner.invoke(cli, [*base, "--key-file", str(first)]).exit_code == 0
    rotated = runner.invoke(
        cli,
        [
            *("authority", "set-keys", "--config", str(config), "urn:p:b"),
            *("--key-file", str(first), "--key-file", str(second)),
        ],
    )
    assert rotated.exit_code == 0, rotated.output
    listed = runner.invoke(cli, ["authority", "list", "--config", str(config), "--json"])
    assert len(json.loads(listed.output)["kids"]) == 2
    missing = runner.invoke(cli, ["authority", "suspend", "--config", str(config), "urn:p:none"])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output


def test_a_bad_configuration_is_reported(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "authority.toml"
    config.write_text('issuer = "http://authority.example"\n')
    result = runner.invoke(cli, ["authority", "list", "--config", str(config)])
    assert result.exit_code == 2
    assert "signing_keys" in result.output
    assert "this machine" in result.output

"""Settings: sources and precedence, validation messages, the production profile's refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector.settings import (
    DEVELOPMENT_API_KEY,
    SettingsError,
    load_settings,
)

STRONG_KEY = "k" * 40


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ETDS_"):
            monkeypatch.delenv(name)


def _signing_key(tmp_path: Path, mode: int = 0o600) -> Path:
    key = tmp_path / "signing.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(mode)
    return key


def _client_key(tmp_path: Path) -> Path:
    key = tmp_path / "client.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o600)
    return key


def _production_toml(tmp_path: Path, **replace: str) -> Path:
    values = {
        "participant_id": "did:web:atout-france.example",
        "public_url": "https://connector.atout-france.example",
        "api_key": STRONG_KEY,
        "allow_hosts": '["partner.example"]',
        "allow_http": "false",
        "signing_key": str(_signing_key(tmp_path)),
        "database": "postgresql+psycopg://etds@db.example:5432/etds",
        "client_key": str(_client_key(tmp_path)),
    }
    values.update(replace)
    config = tmp_path / "node.toml"
    config.write_text(
        f"""
profile = "production"
[database]
url = "{values["database"]}"
[node]
participant_id = "{values["participant_id"]}"
public_url = "{values["public_url"]}"
[management]
api_keys = ["{values["api_key"]}"]
[identity]
authority = "https://authority.dataspace.example"
client_key_file = "{values["client_key"]}"
[[identity.trusted_issuers]]
issuer = "https://authority.dataspace.example"
[security]
callback_allow_hosts = {values["allow_hosts"]}
allow_http_callbacks = {values["allow_http"]}
signing_key_file = "{values["signing_key"]}"
"""
    )
    return config


def test_development_defaults_are_turnkey() -> None:
    settings = load_settings()
    assert settings.profile == "development"
    assert settings.management.all_api_keys() == [DEVELOPMENT_API_KEY]
    assert settings.database.url.get_secret_value().startswith("sqlite:///")


def test_toml_file_then_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\nport = 9001\nname = "from-file"\n[logging]\nformat = "text"\n')
    monkeypatch.setenv("ETDS_NODE__PORT", "9002")
    settings = load_settings(config)
    assert settings.node.port == 9002
    assert settings.node.name == "from-file"
    assert settings.logging.format == "text"


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\nname = "via-env"\n')
    monkeypatch.setenv("ETDS_CONFIG", str(config))
    assert load_settings().node.name == "via-env"


def test_invalid_values_name_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        '[node]\nport = 70000\n[database]\nurl = "mysql://x"\n[limits]\nunknown = 1\n'
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    text = "\n".join(caught.value.messages)
    assert "node.port" in text
    assert "database.url" in text
    assert "limits.unknown" in text


def test_a_negotiation_lease_must_outlive_a_send(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text("[negotiation]\ntimeout_seconds = 20\nlease_seconds = 15\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    text = "\n".join(caught.value.messages)
    assert "negotiation" in text
    assert "lease_seconds (15.0) must be greater than timeout_seconds (20.0)" in text
    config.write_text("[negotiation]\ntimeout_seconds = 20\nlease_seconds = 21\n")
    assert load_settings(config).negotiation.lease_seconds == 21


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")


def test_toml_syntax_error_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text("[node\nport = 1\n")
    with pytest.raises(SettingsError, match=r"node\.toml"):
        load_settings(config)


def test_safe_production_settings_load(tmp_path: Path) -> None:
    settings = load_settings(_production_toml(tmp_path))
    assert settings.profile == "production"


@pytest.mark.parametrize(
    ("replace", "complaint"),
    [
        ({"api_key": DEVELOPMENT_API_KEY}, "development default key"),
        ({"api_key": "short"}, "at least 32 characters"),
        ({"allow_hosts": '["127.0.0.1"]'}, "loopback"),
        ({"allow_hosts": '["localhost"]'}, "loopback"),
        ({"allow_hosts": '["169.254.169.254"]'}, "loopback or link-local"),
        # other spellings of loopback, which resolvers accept as well
        ({"allow_hosts": '["localhost."]'}, "loopback"),
        ({"allow_hosts": '["127.1"]'}, "loopback"),
        ({"allow_hosts": '["0x7f.1"]'}, "loopback"),
        ({"allow_hosts": '["2130706433"]'}, "loopback"),
        ({"allow_hosts": '["[::ffff:127.0.0.1]"]'}, "loopback"),
        ({"allow_hosts": '["fe80::1%eth0"]'}, "loopback or link-local"),
        ({"allow_http": "true"}, "allow_http_callbacks"),
        ({"public_url": "http://connector.example"}, "https"),
        ({"participant_id": "urn:etds:participant:development"}, "participant_id"),
        ({"signing_key": "/nonexistent/key.pem"}, "does not exist"),
        ({"database": "sqlite:///var/etds.db"}, "PostgreSQL"),
        ({"client_key": "/nonexistent/client.pem"}, "identity.client_key_file"),
    ],
)
def test_production_refuses_unsafe_values(
    tmp_path: Path, replace: dict[str, str], complaint: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_production_toml(tmp_path, **replace))
    assert any(complaint in message for message in caught.value.messages), caught.value.messages


def test_production_refuses_a_signing_key_readable_by_others(tmp_path: Path) -> None:
    key = tmp_path / "loose.pem"
    key.write_text("x")
    key.chmod(0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_settings(_production_toml(tmp_path, signing_key=str(key)))


def test_production_lists_every_problem_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(profile="production")
    assert len(caught.value.messages) >= 5


def test_api_keys_file_is_read(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"\n{STRONG_KEY}\n  other-key  \n")
    config = tmp_path / "node.toml"
    config.write_text(f'[management]\napi_keys = []\napi_keys_file = "{keys}"\n')
    assert load_settings(config).management.all_api_keys() == [STRONG_KEY, "other-key"]


def test_object_stores_are_checked_at_load(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        '[storage.object_stores.minio]\nendpoint_override = "https://minio:9000"\n'
        '[storage.object_stores.other]\naccess_key = "only-half"\n'
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    text = "\n".join(caught.value.messages)
    assert "storage.object_stores.minio" in text
    assert "scheme" in text
    assert "storage.object_stores.other" in text
    assert "together" in text


def test_storage_settings_become_the_sources_configuration(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        '[storage]\ndata_roots = ["rel/data"]\nbatch_readahead = 0\n'
        '[storage.object_stores.minio]\nendpoint_override = "127.0.0.1:9000"\nscheme = "http"\n'
        'access_key = "a"\nsecret_key = "s3cr3t"\n'
    )
    sources = load_settings(config).storage.to_config()
    assert sources.data_roots == (Path.cwd() / "rel/data",)
    assert sources.batch_readahead == 0
    assert sources.object_stores["minio"].secret_key == "s3cr3t"
    assert "s3cr3t" not in repr(sources)


def test_production_refuses_unsafe_object_stores(tmp_path: Path) -> None:
    config = _production_toml(tmp_path)
    config.write_text(
        config.read_text()
        + '[storage.object_stores.meta]\nendpoint_override = "169.254.169.254"\nscheme = "http"\n'
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    text = "\n".join(caught.value.messages)
    assert "storage.object_stores.meta.scheme" in text
    assert "169.254.169.254" in text


def test_production_refuses_an_api_keys_file_readable_by_others(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(STRONG_KEY + "\n")
    keys.chmod(0o644)
    config = _production_toml(tmp_path)
    config.write_text(
        config.read_text().replace("[management]", f'[management]\napi_keys_file = "{keys}"')
    )
    with pytest.raises(SettingsError, match="api_keys_file"):
        load_settings(config)
    keys.chmod(0o600)
    assert load_settings(config).management.all_api_keys() == [STRONG_KEY, STRONG_KEY]


def test_missing_api_keys_file_is_a_settings_error(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'[management]\napi_keys_file = "{tmp_path / "absent"}"\n')
    with pytest.raises(SettingsError, match=r"management\.api_keys_file"):
        load_settings(config)

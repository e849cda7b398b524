"""Identity settings of a node and of the authority: defaults, checks, production refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from connector.identity.authority.settings import AuthoritySettings, load_authority_settings
from connector.identity.settings import IdentitySettings, TrustedIssuer, identity_problems
from connector.settings import SettingsError


def test_a_trusted_issuer_defaults_to_the_strict_profile() -> None:
    trusted = TrustedIssuer(issuer="https://authority.example")
    assert trusted.algorithms == ["ES256", "EdDSA"]
    assert trusted.token_types == ["at+jwt"]
    assert trusted.use == ["protocol"]
    assert trusted.protocol_scope == "dsp"


@pytest.mark.parametrize(
    "fields",
    [
        {"issuer": "ftp://authority.example"},
        {"issuer": "https://authority.example?x=1"},
        {"issuer": "https://authority.example", "algorithms": ["HS256"]},
        {"issuer": "https://authority.example", "algorithms": ["none"]},
        {"issuer": "https://authority.example", "algorithms": []},
        {"issuer": "https://authority.example", "claims": {"role": "x"}},
        {"issuer": "https://authority.example", "use": ["admin"]},
    ],
)
def test_unusable_trusted_issuers_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TrustedIssuer.model_validate(fields)


def test_identity_settings_checks() -> None:
    issuer = {"issuer": "https://authority.example"}
    with pytest.raises(ValidationError, match="listed once"):
        IdentitySettings.model_validate({"trusted_issuers": [issuer, issuer]})
    with pytest.raises(ValidationError, match="authority is not"):
        IdentitySettings(client_key_file=Path("k.pem"))
    assert IdentitySettings().accept_bearer_tokens is False


def test_production_problems_of_a_node(tmp_path: Path) -> None:
    assert len(identity_problems(IdentitySettings())) == 2
    key = tmp_path / "node.pem"
    key.write_text("k")
    os.chmod(key, 0o644)
    settings = IdentitySettings(
        authority="http://authority.example",
        client_key_file=key,
        trusted_issuers=[TrustedIssuer(issuer="http://authority.example")],
    )
    problems = identity_problems(settings)
    assert any("identity.authority: must be an https" in p for p in problems)
    assert any("trusted_issuers[http://authority.example]" in p for p in problems)
    assert any("chmod 600" in p for p in problems)
    os.chmod(key, 0o600)
    safe = IdentitySettings(
        authority="https://authority.example",
        client_key_file=key,
        trusted_issuers=[TrustedIssuer(issuer="https://authority.example")],
    )
    assert identity_problems(safe) == []


def _write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "authority.toml"
    config.write_text(text)
    return config


def test_authority_settings_from_a_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write(
        tmp_path,
        'issuer = "http://127.0.0.1:8180/"\n'
        "token_lifetime_seconds = 120\n"
        '[[signing_keys]]\nfile = "a.pem"\n'
        '[[signing_keys]]\nfile = "b.pem"\nactivate_at = 2026-06-01T00:00:00Z\n',
    )
    monkeypatch.setenv("ETDS_AUTHORITY_PORT", "9999")
    settings = load_authority_settings(config)
    assert settings.issuer == "http://127.0.0.1:8180"  # no trailing slash: tokens' iss
    assert settings.port == 9999
    assert settings.token_lifetime_seconds == 120
    assert settings.require_dpop is True
    assert [key.file.name for key in settings.signing_keys] == ["a.pem", "b.pem"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('issuer = "http://127.0.0.1"\n', "signing_keys"),
        ('issuer = "http://authority.example"\n[[signing_keys]]\nfile="a.pem"\n', "this machine"),
        ('[[signing_keys]]\nfile="a.pem"\ntoken_lifetime_seconds = 3600\n', "signing_keys"),
        ("token_lifetime_seconds = 3600\n[[signing_keys]]\nfile='a.pem'\n", "less than or equal"),
        (
            '[[signing_keys]]\nfile="a.pem"\nactivate_at=2026-06-01T00:00:00\n',
            "time zone",
        ),
        (
            '[[signing_keys]]\nfile="a.pem"\nactivate_at=2026-06-01T00:00:00Z\n'
            "retire_at=2026-05-01T00:00:00Z\n",
            "after activate_at",
        ),
        ("this is not toml", "authority.toml"),
    ],
)
def test_invalid_authority_settings(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_authority_settings(_write(tmp_path, text))


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_authority_settings(tmp_path / "nope.toml")


def test_production_refusals_of_the_authority(tmp_path: Path) -> None:
    key = tmp_path / "a.pem"
    key.write_text("k")
    os.chmod(key, 0o640)
    with pytest.raises(ValidationError) as refused:
        AuthoritySettings(
            profile="production",
            issuer="http://127.0.0.1:8180",
            require_dpop=False,
            signing_keys=[{"file": key}],
        )
    message = str(refused.value)
    for expected in ("https", "require_dpop", "PostgreSQL", "chmod 600"):
        assert expected in message
    os.chmod(key, 0o600)
    settings = AuthoritySettings(
        profile="production",
        issuer="https://authority.example",
        database={"url": "postgresql+psycopg://etds@db.example/authority"},
        signing_keys=[{"file": key}],
    )
    assert settings.require_dpop is True

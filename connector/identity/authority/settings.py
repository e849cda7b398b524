"""Typed settings of the dataspace authority (``etds authority serve --config authority.toml``).

They follow the node's conventions: a TOML file, then ``ETDS_AUTHORITY_*`` variables (``__``
between nested names), validated at start-up, with a production profile that refuses what is
only safe on a laptop (see :func:`authority_problems`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    SettingsConfigDict,
)

from connector.identity.settings import (
    Section,
    ShortStr,
    Url,
    check_url,
    is_loopback,
    secret_file_problem,
)
from connector.settings import (
    DatabaseSettings,
    LimitsSettings,
    LoggingSettings,
    Profile,
    TomlSettings,
    UnsafeForProduction,
    load_toml_settings,
)


class SigningKeySettings(Section):
    """One of the authority's signing keys (a PEM file) and its place in a rotation."""

    file: Path
    activate_at: datetime | None = None
    """From when it signs (published at once, so verifiers know it beforehand)."""
    retire_at: datetime | None = None
    """From when it is neither used nor published (after its last token expired)."""

    @model_validator(mode="after")
    def _ordered(self) -> SigningKeySettings:
        for moment in (self.activate_at, self.retire_at):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("activate_at and retire_at need a time zone (…Z or +01:00)")
        if self.activate_at and self.retire_at and self.retire_at <= self.activate_at:
            raise ValueError("retire_at must come after activate_at")
        return self


class AuthoritySettings(TomlSettings):
    """Settings of the dataspace authority (see docs/identity.md)."""

    model_config = SettingsConfigDict(
        env_prefix="ETDS_AUTHORITY_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    profile: Profile = "development"
    issuer: Url = "http://127.0.0.1:8180"
    """The authority's public URL: ``iss`` of its tokens, ``aud`` of client assertions."""
    host: ShortStr = "127.0.0.1"
    port: int = Field(default=8180, ge=1, le=65535)
    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url=SecretStr("sqlite:///var/authority.db"))
    )
    signing_keys: list[SigningKeySettings] = Field(min_length=1)
    token_lifetime_seconds: int = Field(default=300, ge=10, le=300)
    assertion_max_lifetime_seconds: int = Field(default=300, ge=10, le=300)
    leeway_seconds: int = Field(default=30, ge=0, le=120)
    require_dpop: bool = True
    dpop_max_age_seconds: int = Field(default=60, ge=5, le=300)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        check_url(value)
        parts = urlsplit(value)
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            raise ValueError("an http:// issuer must be on this machine (127.0.0.1, localhost)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_is_safe(self) -> AuthoritySettings:
        if self.profile == "production":
            problems = authority_problems(self)
            if problems:
                raise UnsafeForProduction(problems)
        return self


def authority_problems(settings: AuthoritySettings) -> list[str]:
    """Why ``settings`` is unsafe for the production profile (empty if it is not)."""
    problems: list[str | None] = []
    if not settings.issuer.startswith("https://"):
        problems.append("issuer: must be an https:// URL")
    if not settings.require_dpop:
        problems.append("require_dpop: tokens must be bound to the client's key in production")
    if settings.database.url.get_secret_value().startswith("sqlite"):
        problems.append("database.url: production uses PostgreSQL (postgresql+psycopg://…)")
    for index, key in enumerate(settings.signing_keys):
        problems.append(secret_file_problem(f"signing_keys[{index}].file", key.file))
    return [problem for problem in problems if problem]


def load_authority_settings(config_file: Path | None = None, **overrides: Any) -> AuthoritySettings:
    """Load the authority's settings from ``config_file`` (or ``$ETDS_AUTHORITY_CONFIG``) and the
    environment; :class:`~connector.settings.SettingsError` with one line per problem."""
    return load_toml_settings(AuthoritySettings, config_file, "ETDS_AUTHORITY_CONFIG", overrides)

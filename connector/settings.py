"""Typed settings of a node: a TOML file and ``ETDS_*`` variables, validated at start-up.

Precedence (highest first): explicit arguments, environment variables (``ETDS_`` prefix, ``__``
between nested names, e.g. ``ETDS_DATABASE__URL``), the TOML file, then the defaults below.

Two profiles exist. ``development`` has turnkey defaults (loopback addresses, a well-known API key,
SQLite under ``./var``). ``production`` refuses every value that is only safe on a developer's
laptop: default API keys, loopback callback allow-lists, plain-HTTP public URLs and object stores,
a missing signing key, secret files readable by others, SQLite instead of PostgreSQL. Every refusal
names the setting and says what to do.

Relative paths are relative to the working directory of the process.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from connector.identity.settings import IdentitySettings, identity_problems, secret_file_problem
from connector.sources.config import ObjectStoreConfig, SourceConfig

DEVELOPMENT_API_KEY = "etds-development-key"
DEVELOPMENT_PARTICIPANT_ID = "urn:etds:participant:development"
MIN_PRODUCTION_API_KEY_LENGTH = 32

Profile = Literal["development", "production"]
Mode = Literal["auto", "manual"]
ShortStr = Annotated[str, Field(min_length=1, max_length=512)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSettings(_Section):
    """Who the node is and where it listens."""

    participant_id: ShortStr = DEVELOPMENT_PARTICIPANT_ID
    name: ShortStr = "etds-connector"
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8181")
    host: ShortStr = "127.0.0.1"
    port: int = Field(default=8181, ge=1, le=65535)


class DatabaseSettings(_Section):
    """Where state is stored: SQLite (embedded default) or PostgreSQL (production)."""

    url: SecretStr = SecretStr("sqlite:///var/etds.db")
    auto_migrate: bool = True
    echo: bool = False
    pool_size: int = Field(default=30, ge=1, le=1000)
    max_overflow: int = Field(default=10, ge=0, le=1000)
    worker_threads: int | None = Field(default=None, ge=1, le=1000)
    """Threads applying negotiation messages at once (default: 2 on SQLite; 4 on PostgreSQL,
    at most (pool_size + max_overflow) // 2)."""
    run_on_loop: Literal["auto", "always", "never"] = "auto"
    """Where negotiation messages are applied: ``auto`` on the event loop itself on SQLite
    when no other thread writes (the node stalls while another process writes to the file),
    on the worker threads on PostgreSQL; ``always`` on the event loop on PostgreSQL too (for
    a server on this machine with fast commits: the node waits for each round trip);
    ``never`` on the worker threads. ``true`` and ``false`` (the earlier form) mean ``auto``
    and ``never``."""

    @field_validator("run_on_loop", mode="before")
    @classmethod
    def _run_on_loop_booleans(cls, value: object) -> object:
        if isinstance(value, bool):
            return "auto" if value else "never"
        return value

    @field_validator("url")
    @classmethod
    def _supported_backend(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if not url.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
            raise ValueError(
                "must start with sqlite:/// or postgresql+psycopg:// (e.g. "
                "postgresql+psycopg://etds@db.example:5432/etds)"
            )
        return value


class ManagementSettings(_Section):
    """Administrator API credentials."""

    api_keys: list[SecretStr] = Field(default_factory=lambda: [SecretStr(DEVELOPMENT_API_KEY)])
    api_keys_file: Path | None = None

    @field_validator("api_keys_file")
    @classmethod
    def _key_file_readable(cls, path: Path | None) -> Path | None:
        if path is not None:
            try:
                path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"cannot read {path} ({exc.strerror})") from None
            except UnicodeDecodeError:
                raise ValueError(f"{path} is not UTF-8 text") from None
        return path

    def all_api_keys(self) -> list[str]:
        """Keys from the settings plus one per non-empty line of ``api_keys_file``."""
        keys = [k.get_secret_value() for k in self.api_keys]
        if self.api_keys_file is not None:
            text = self.api_keys_file.read_text(encoding="utf-8")
            keys.extend(line.strip() for line in text.splitlines() if line.strip())
        return keys


class SecuritySettings(_Section):
    """Keys and outbound-address rules."""

    signing_key_file: Path | None = None
    callback_allow_hosts: list[ShortStr] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "::1"]
    )
    allow_http_callbacks: bool = True
    tls_ca_file: Path | None = None
    """PEM certificates of authorities trusted for outbound HTTPS besides the public ones."""

    @field_validator("tls_ca_file")
    @classmethod
    def _usable_ca_file(cls, value: Path | None) -> Path | None:
        from connector.http.tls import outbound_ssl_context

        if value is not None:
            outbound_ssl_context(value)  # UnusableCaFile (a ValueError): a settings error
        return value


class ObjectStoreSettings(_Section):
    """An S3-compatible object store that data addresses refer to by name."""

    endpoint_override: ShortStr | None = None
    region: ShortStr = "us-east-1"
    scheme: Literal["https", "http"] = "https"
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    anonymous: bool = False
    connect_timeout: float = 5.0
    request_timeout: float = 30.0
    max_attempts: int = 3
    tls_ca_file: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ObjectStoreSettings:
        self.to_config()  # the data sources' own checks, reported as a settings error
        return self

    def to_config(self) -> ObjectStoreConfig:
        return ObjectStoreConfig(
            endpoint_override=self.endpoint_override,
            region=self.region,
            scheme=self.scheme,
            access_key=self.access_key.get_secret_value() if self.access_key else None,
            secret_key=self.secret_key.get_secret_value() if self.secret_key else None,
            anonymous=self.anonymous,
            connect_timeout=self.connect_timeout,
            request_timeout=self.request_timeout,
            max_attempts=self.max_attempts,
            tls_ca_file=self.tls_ca_file,
        )


class StorageSettings(_Section):
    """Where asset data may be read from."""

    data_roots: list[Path] = Field(default_factory=lambda: [Path("var/data")])
    object_stores: dict[str, ObjectStoreSettings] = Field(default_factory=dict)
    batch_rows: int = Field(default=131_072, ge=1_024, le=4_194_304)
    batch_readahead: int = Field(default=2, ge=0, le=16)

    @model_validator(mode="after")
    def _consistent(self) -> StorageSettings:
        self.to_config()
        return self

    def to_config(self) -> SourceConfig:
        """The data sources' configuration (relative data roots made absolute)."""
        return SourceConfig(
            data_roots=tuple(self.data_roots),
            object_stores={name: store.to_config() for name, store in self.object_stores.items()},
            batch_rows=self.batch_rows,
            batch_readahead=self.batch_readahead,
        )


class CatalogueSettings(_Section):
    """How the node describes itself and its datasets in the DCAT-AP catalogue it publishes."""

    title: dict[str, ShortStr] = Field(
        default_factory=lambda: {"en": "Tourism data catalogue", "fr": "Catalogue de données"}
    )
    description: dict[str, Annotated[str, Field(min_length=1, max_length=4000)]] = Field(
        default_factory=lambda: {
            "en": "Tourism datasets shared through the European Tourism Data Space.",
            "fr": "Données touristiques partagées dans l'espace européen des données du tourisme.",
        }
    )
    publisher_name: ShortStr = "etds-connector operator"
    publisher_homepage: AnyHttpUrl | None = None
    publisher_type: ShortStr | None = None
    contact_name: ShortStr | None = None
    contact_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)] | None = None
    licence: ShortStr = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
    page_size: int = Field(default=50, ge=1, le=1000)
    profile_interval_seconds: float = Field(default=300.0, ge=0)

    @field_validator("title", "description")
    @classmethod
    def _languages(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError('give at least one language, e.g. {en = "…"}')
        for language in value:
            if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*", language):
                raise ValueError(f"{language!r} is not a language tag such as 'fr' or 'en'")
        return value


class NegotiationSettings(_Section):
    """How contract negotiation messages are sent: retries, backoff, leases between replicas."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    retry_base_seconds: float = Field(default=0.5, gt=0, le=60)
    retry_max_seconds: float = Field(default=60.0, gt=0, le=3600)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    poll_seconds: float = Field(default=1.0, gt=0, le=60)

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> NegotiationSettings:
        # A claimed message is sent within timeout_seconds; a lease that ran out before would
        # let another replica send the same message again.
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError(
                f"lease_seconds ({self.lease_seconds}) must be greater than timeout_seconds "
                f"({self.timeout_seconds})"
            )
        return self


class LimitsSettings(_Section):
    """Input caps applied before any parsing."""

    max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=64 * 1_048_576)
    max_json_depth: int = Field(default=32, ge=4, le=256)
    max_json_nodes: int = Field(default=20_000, ge=100, le=1_000_000)


class LoggingSettings(_Section):
    """Log level and format (one JSON object per line, or human-readable text)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class TomlSettings(BaseSettings):
    """Settings read from init arguments, then the environment, then a TOML file (set by
    :func:`load_toml_settings`), then the defaults."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file")
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if toml_file is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=toml_file),)
        return sources


class Settings(TomlSettings):
    """All settings of a node; see docs/configuration.md for each one."""

    model_config = SettingsConfigDict(
        env_prefix="ETDS_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    profile: Profile = "development"
    node: NodeSettings = Field(default_factory=NodeSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    management: ManagementSettings = Field(default_factory=ManagementSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    catalogue: CatalogueSettings = Field(default_factory=CatalogueSettings)
    negotiation: NegotiationSettings = Field(default_factory=NegotiationSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.profile == "production":
            problems = production_problems(self)
            if problems:
                raise UnsafeForProduction(problems)
        return self


def _is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine or its link, however it is written (``localhost.``,
    ``127.1``, ``0x7f.1``, ``2130706433``, ``[::ffff:127.0.0.1]``…)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            name.split("%", 1)[0]
        )
    except ValueError:
        try:  # the shorthand IPv4 forms resolvers accept
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except (OSError, ValueError):  # ValueError: a NUL in the name
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified or address.is_link_local


def _node_problems(node: NodeSettings) -> list[str]:
    problems = []
    if node.participant_id == DEVELOPMENT_PARTICIPANT_ID:
        problems.append("node.participant_id: set the participant id the dataspace knows you by")
    if node.public_url.scheme != "https":
        problems.append("node.public_url: must be an https:// URL")
    return problems


def _management_problems(management: ManagementSettings) -> list[str | None]:
    problems: list[str | None] = []
    keys = management.all_api_keys()
    if not keys:
        problems.append("management.api_keys: at least one administrator API key is required")
    for key in keys:
        if key == DEVELOPMENT_API_KEY:
            problems.append("management.api_keys: the development default key is not allowed")
        elif len(key) < MIN_PRODUCTION_API_KEY_LENGTH:
            problems.append(
                f"management.api_keys: keys must have at least {MIN_PRODUCTION_API_KEY_LENGTH} "
                "characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
    if management.api_keys_file is not None:
        problems.append(secret_file_problem("management.api_keys_file", management.api_keys_file))
    return problems


def _security_problems(security: SecuritySettings) -> list[str | None]:
    problems: list[str | None] = []
    loopback = [h for h in security.callback_allow_hosts if _is_loopback_host(h)]
    if loopback:
        problems.append(
            "security.callback_allow_hosts: loopback or link-local hosts are not allowed "
            f"({', '.join(loopback)})"
        )
    if security.allow_http_callbacks:
        problems.append("security.allow_http_callbacks: must be false (callbacks use https)")
    if security.signing_key_file is None:
        problems.append("security.signing_key_file: a signing key is required")
    else:
        problems.append(secret_file_problem("security.signing_key_file", security.signing_key_file))
    return problems


def _storage_problems(database: DatabaseSettings, storage: StorageSettings) -> list[str]:
    problems = []
    if database.url.get_secret_value().startswith("sqlite"):
        problems.append(
            "database.url: production uses PostgreSQL (postgresql+psycopg://…); SQLite is for "
            "development and single-machine trials"
        )
    for name, store in storage.object_stores.items():
        if store.scheme != "https":
            problems.append(f"storage.object_stores.{name}.scheme: must be https")
        host = (store.endpoint_override or "").rsplit(":", 1)[0]
        if host and _is_loopback_host(host):
            problems.append(
                f"storage.object_stores.{name}.endpoint_override: loopback or link-local "
                f"addresses (cloud metadata services) are not allowed ({host})"
            )
    return problems


def production_problems(settings: Settings) -> list[str]:
    """Every reason why ``settings`` is unsafe for the production profile (empty if none)."""
    problems = [
        *_node_problems(settings.node),
        *_management_problems(settings.management),
        *_security_problems(settings.security),
        *_storage_problems(settings.database, settings.storage),
        *identity_problems(settings.identity),
    ]
    return [problem for problem in problems if problem]


class UnsafeForProduction(ValueError):
    """Raised by validation of the production profile; ``problems`` lists each unsafe value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("unsafe for production: " + "; ".join(problems))
        self.problems = problems


class SettingsError(Exception):
    """The settings cannot be loaded; ``messages`` says why, one line per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("invalid settings:\n" + "\n".join(f"  - {m}" for m in messages))
        self.messages = messages


def _describe(error: Mapping[str, Any]) -> list[str]:
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, UnsafeForProduction):
        return [f"unsafe for production: {problem}" for problem in cause.problems]
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return [f"{location}: {message}" if location else message]


T = TypeVar("T", bound=TomlSettings)


def load_toml_settings(
    settings_cls: type[T], config_file: Path | None, env_var: str, overrides: dict[str, Any]
) -> T:
    """``settings_cls`` from ``config_file`` (or ``$<env_var>``), the environment and
    ``overrides``; :class:`SettingsError` with one readable line per problem."""
    if config_file is None and os.environ.get(env_var):
        config_file = Path(os.environ[env_var])
    if config_file is not None and not config_file.is_file():
        raise SettingsError([f"configuration file {config_file} does not exist"])
    configured = type(
        settings_cls.__name__,
        (settings_cls,),
        {"model_config": SettingsConfigDict(toml_file=config_file), "__module__": __name__},
    )
    try:
        loaded: T = configured(**overrides)
    except ValidationError as exc:
        raise SettingsError([line for e in exc.errors() for line in _describe(e)]) from None
    except ValueError as exc:  # TOML syntax errors surface as ValueError subclasses
        raise SettingsError([f"{config_file}: {exc}"]) from None
    return loaded


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load and validate the node's settings from ``config_file`` (or ``$ETDS_CONFIG``) and the
    environment. Raises :class:`SettingsError` with one readable line per problem."""
    return load_toml_settings(Settings, config_file, "ETDS_CONFIG", overrides)

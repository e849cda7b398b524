"""Typed settings of a node's identity: ``IdentitySettings`` (its ``[identity]`` section).

A node trusts one or more issuers (the embedded authority, or any OAuth/OIDC provider), each with
its own algorithm allow-list, accepted ``typ`` values and claim mapping, and says which of them
may also issue administrator tokens. Its outbound tokens come from one ``authority``, with the
node's own key (``client_key_file``) as its client credential (RFC 7523 ``private_key_jwt``).

This module imports nothing of the node's own settings (``connector.settings`` embeds
``IdentitySettings``); the authority's settings are in :mod:`connector.identity.authority.settings`.
"""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connector.identity.algorithms import DEFAULT_ALGORITHMS, Algorithm

ShortStr = Annotated[str, Field(min_length=1, max_length=512)]
Use = Literal["protocol", "management"]
CLAIM_NAMES = ("sub", "client_id", "membership", "org_type", "country", "nuts", "scope")
"""The claims a :class:`~connector.identity.claims.Participant` carries (after mapping)."""


def check_url(value: str) -> str:
    """``value`` if it is an http(s) URL with a host and no query or fragment."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError("must have no query and no fragment")
    return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Url = Annotated[str, Field(min_length=8, max_length=512)]


class Section(BaseModel):
    """A frozen settings section refusing unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TrustedIssuer(Section):
    """An issuer whose tokens this node accepts, and how to read them."""

    issuer: Url
    """Compared exactly (character for character) with each token's ``iss``."""
    jwks_url: Url | None = None
    """Its key set; without it, discovered from RFC 8414 or OpenID Connect metadata."""
    algorithms: list[Algorithm] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    token_types: list[ShortStr] = Field(default_factory=lambda: ["at+jwt"])
    """Accepted ``typ`` header values (RFC 9068 ``at+jwt``; some providers use others)."""
    claims: dict[ShortStr, ShortStr] = Field(default_factory=dict)
    """Our claim name → the provider's claim (a dotted path for nested claims), e.g.
    ``{org_type = "organisation_type", client_id = "azp"}``."""
    protocol_scope: ShortStr | None = "dsp"
    """A scope protocol tokens from this issuer must carry (none required when unset)."""
    use: list[Use] = Field(default_factory=lambda: list[Use](["protocol"]))

    @field_validator("issuer", "jwks_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("algorithms", "use")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one value")
        return value

    @field_validator("claims")
    @classmethod
    def _known_claims(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CLAIM_NAMES))
        if unknown:
            raise ValueError(f"unknown claim(s) {', '.join(unknown)}; use {', '.join(CLAIM_NAMES)}")
        return value


class IdentitySettings(Section):
    """How a node proves who it is (outbound) and whom it believes (inbound)."""

    authority: Url | None = None
    """Issuer URL of the authority this node asks for tokens (outbound DSP calls)."""
    client_id: ShortStr | None = None
    """Our client id at the authority (default: the node's participant id)."""
    client_key_file: Path | None = None
    """Our private key (PEM, 0600) for client assertions; its public JWK is registered."""
    dpop_key_file: Path | None = None
    """The key DPoP proofs are signed with (default: a new in-memory key at each start)."""
    protocol_scope: ShortStr = "dsp"
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    accept_bearer_tokens: bool = False
    """Also accept tokens without a DPoP binding (peers that cannot do DPoP)."""
    management_audience: Url | None = None
    """Audience of administrator tokens (default: ``<public_url>/management``)."""
    leeway_seconds: int = Field(default=30, ge=0, le=120)
    max_token_age_seconds: int = Field(default=600, ge=60, le=3600)
    dpop_max_age_seconds: int = Field(default=60, ge=5, le=300)
    jwks_cache_seconds: int = Field(default=300, ge=0, le=86_400)
    jwks_min_refetch_seconds: float = Field(default=30.0, ge=0, le=3600)
    http_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    max_document_bytes: int = Field(default=262_144, ge=4_096, le=4_194_304)

    @field_validator("authority", "management_audience")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @model_validator(mode="after")
    def _unique_issuers(self) -> IdentitySettings:
        issuers = [trusted.issuer for trusted in self.trusted_issuers]
        if len(issuers) != len(set(issuers)):
            raise ValueError("trusted_issuers: each issuer may be listed once")
        if self.client_key_file is not None and self.authority is None:
            raise ValueError("client_key_file is set but authority is not")
        return self


def secret_file_problem(setting: str, path: Path) -> str | None:
    """Why ``path`` is not a safe secret file (absent, not a file, readable by others)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return f"{setting}: {path} does not exist"
    if not stat.S_ISREG(mode):
        return f"{setting}: {path} is not a regular file"
    if mode & 0o077:
        return f"{setting}: {path} must not be readable by others (chmod 600)"
    return None


def identity_problems(identity: IdentitySettings) -> list[str]:
    """Why ``identity`` is unsafe for the production profile (empty if it is not)."""
    problems: list[str | None] = []
    if not identity.trusted_issuers:
        problems.append("identity.trusted_issuers: trust at least one issuer (the authority)")
    if identity.authority is None or identity.client_key_file is None:
        problems.append("identity.authority and identity.client_key_file are required")
    urls = [("identity.authority", identity.authority)]
    urls += [(f"identity.trusted_issuers[{t.issuer}]", t.issuer) for t in identity.trusted_issuers]
    urls += [
        (f"identity.trusted_issuers[{t.issuer}].jwks_url", t.jwks_url)
        for t in identity.trusted_issuers
    ]
    problems += [
        f"{name}: must be an https:// URL"
        for name, url in urls
        if url and not url.startswith("https://")
    ]
    for name, path in (
        ("client_key_file", identity.client_key_file),
        ("dpop_key_file", identity.dpop_key_file),
    ):
        if path is not None:
            problems.append(secret_file_problem(f"identity.{name}", path))
    return [problem for problem in problems if problem]

"""Who a verified token says the caller is: :class:`Participant`, and the claim mapping that reads
tokens of external identity providers.

Policies see the dataspace's claim names whatever the issuer: ``sub`` (participant id),
``client_id``, ``membership``, ``org_type``, ``country``, ``nuts`` (a list of NUTS codes) and
``scope`` (space-separated). A provider with another layout is configured with a mapping from
our names to its claims (dotted paths reach nested claims: ``organisation.type``); a claim the
mapping does not name is read under our own name. Nothing else of the token reaches policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from connector.identity.settings import CLAIM_NAMES

MAX_CLAIM_LENGTH = 512
MAX_LIST_ITEMS = 64


class ClaimError(ValueError):
    """A claim of a verified token has a shape we cannot use."""


@dataclass(frozen=True)
class Participant:
    """A caller authenticated by a verified access token: what policies evaluate.

    ``claims`` is read-only (lists are tuples inside it); :meth:`claims_dict` gives a plain copy
    with lists, for libraries that want one.
    """

    id: str
    claims: Mapping[str, Any]
    issuer: str
    token_id: str

    @property
    def scopes(self) -> frozenset[str]:
        """The token's scopes."""
        return frozenset(str(self.claims.get("scope", "")).split())

    def claims_dict(self) -> dict[str, Any]:
        """A mutable copy of ``claims`` (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.claims.items()}


def _at_path(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_CLAIM_LENGTH:
        raise ClaimError(f"claim {name} must be a non-empty string")
    return value


def _normalise(name: str, value: Any) -> Any:
    if name == "nuts":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or len(items) > MAX_LIST_ITEMS:
            raise ClaimError("claim nuts must be a string or a list of strings")
        return tuple(_text(name, item) for item in items)
    if name == "scope":
        if isinstance(value, list):  # some providers send an array (e.g. "scp")
            return " ".join(_text(name, item) for item in value)
        return _text(name, value) if value != "" else ""
    return _text(name, value)


def map_claims(claims: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Our claims, read from a verified token's ``claims`` through ``mapping`` (our name →
    the provider's claim path)."""
    mapped: dict[str, Any] = {}
    for name in CLAIM_NAMES:
        value = _at_path(claims, mapping.get(name, name))
        if value is not None:
            mapped[name] = _normalise(name, value)
    if "sub" not in mapped:
        raise ClaimError("the token names no subject (sub)")
    return mapped


def participant_from(claims: Mapping[str, Any], *, issuer: str, token_id: str) -> Participant:
    """A :class:`Participant` of already-mapped ``claims``."""
    return Participant(
        id=str(claims["sub"]),
        claims=MappingProxyType(dict(claims)),
        issuer=issuer,
        token_id=token_id,
    )

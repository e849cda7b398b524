"""NUTS regions: codes, IRIs, the hierarchy, spatial granularity, and the requester's regions.

A NUTS code is its country's two letters followed by one character per level: ``FR`` (level 0),
``FRJ`` (1), ``FRJ1`` (2), ``FRJ13`` (3). The hierarchy is in the code itself: a region contains
exactly the regions whose codes start with its own, so no table is needed (``FR ⊃ FRJ ⊃ FRJ1 ⊃
FRJ13``). Policies name regions by their EU vocabulary IRI,
``http://data.europa.eu/nuts/code/FRJ13``.

The requester's regions come from verified token claims: ``nuts`` (the regions of competence, a
code or a list of codes), else ``country`` (ISO 3166-1 alpha-2, turned into the NUTS country
code: Greece is ``EL`` in NUTS).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Any

from policies.vocabulary import NUTS

_CODE = re.compile(r"[A-Z]{2}[A-Z0-9]{0,3}")
_ISO_TO_NUTS = {"GR": "EL"}
MAX_LEVEL = 3


class Granularity(IntEnum):
    """Spatial granularity of delivered data: the NUTS level of its finest geography."""

    COUNTRY = 0
    NUTS1 = 1
    REGION = 2
    DEPARTEMENT = 3

    @property
    def label(self) -> str:
        """The name used in policies (``departement``, ``region``, ``nuts1``, ``country``)."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Granularity:
        for member in cls:
            if member.label == label:
                return member
        names = ", ".join(repr(member.label) for member in cls)
        raise ValueError(f"unknown spatial granularity {label!r} (expected one of {names})")


def is_code(text: str) -> bool:
    """True for a syntactically valid NUTS code (levels 0 to 3)."""
    return _CODE.fullmatch(text) is not None


def level(code: str) -> int:
    """The NUTS level of a code (``FR`` → 0, ``FRJ13`` → 3)."""
    return len(code) - 2


def contains(outer: str, inner: str) -> bool:
    """True if region ``outer`` contains region ``inner`` (or is it)."""
    return inner.startswith(outer)


def code_from_iri(iri: str) -> str:
    """The NUTS code of ``http://data.europa.eu/nuts/code/<code>`` (ValueError otherwise)."""
    if not iri.startswith(NUTS):
        raise ValueError(f"expected a NUTS IRI ({NUTS}<code>), got {iri!r}")
    code = iri[len(NUTS) :]
    if not is_code(code):
        raise ValueError(f"{iri!r} does not end with a NUTS code of level 0 to 3")
    return code


def iri_from_code(code: str) -> str:
    return NUTS + code


def _codes(raw: Any) -> tuple[str, ...]:
    items: Iterable[Any] = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"the 'nuts' claim must be a code or a list of codes, got {raw!r}")
    codes: list[str] = []
    for item in items:
        if not isinstance(item, str) or not is_code(item):
            raise ValueError(f"the 'nuts' claim holds {item!r}, which is not a NUTS code")
        codes.append(item)
    return tuple(dict.fromkeys(codes))


def claimed_regions(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The requester's regions of competence (empty when the claims name none).

    Raises ValueError when a claim is malformed: a region restriction must not be computed from
    a claim it cannot read.
    """
    raw = claims.get("nuts")
    if raw is not None:
        return _codes(raw)
    return ()


def requester_regions(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """Where the requester is: its ``nuts`` regions, else its ``country`` as a NUTS code."""
    regions = claimed_regions(claims)
    if regions:
        return regions
    country = claims.get("country")
    if country is None:
        return ()
    if not isinstance(country, str) or re.fullmatch(r"[A-Z]{2}", country) is None:
        raise ValueError(f"the 'country' claim {country!r} is not an ISO 3166-1 alpha-2 code")
    return (_ISO_TO_NUTS.get(country, country),)

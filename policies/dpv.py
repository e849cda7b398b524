"""The part of DPV (Data Privacy Vocabulary) purposes the tourism data space uses, as a hierarchy.

``odrl:purpose`` constraints name DPV purposes (``https://w3id.org/dpv#ProvideOfficialStatistics``)
and ``isA`` follows DPV's broader-purpose links: official statistics is a public benefit, which is
a purpose. The subset ships as data (``dpv_purposes.json``: each purpose with its broader
purposes, as DPV 2.0 publishes them; a purpose may have several, e.g. commercial research is both
research and a commercial purpose). A purpose outside the subset is unknown: validation refuses it
in a policy, and a requested purpose outside it only matches itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType


class PurposeTaxonomy:
    """Purposes (full IRIs) and their broader purposes, closed transitively."""

    def __init__(self, broader: Mapping[str, tuple[str, ...]]) -> None:
        for purpose, parents in broader.items():
            for parent in parents:
                if parent not in broader:
                    raise ValueError(f"{purpose} names an unknown broader purpose {parent}")
        closure: dict[str, frozenset[str]] = {}
        for purpose in broader:
            seen: set[str] = set()
            pending = [purpose]
            while pending:
                current = pending.pop()
                if current not in seen:
                    seen.add(current)
                    pending.extend(broader[current])
            closure[purpose] = frozenset(seen)
        self._ancestors = MappingProxyType(closure)

    def __contains__(self, purpose: object) -> bool:
        return purpose in self._ancestors

    def __len__(self) -> int:
        return len(self._ancestors)

    @property
    def purposes(self) -> frozenset[str]:
        return frozenset(self._ancestors)

    def is_a(self, purpose: str, broader: str) -> bool:
        """True if ``purpose`` is ``broader`` or a narrower purpose of it."""
        if purpose == broader:
            return True
        ancestors = self._ancestors.get(purpose)
        return ancestors is not None and broader in ancestors


def load_dpv_purposes() -> PurposeTaxonomy:
    """The bundled DPV purpose subset (read from package data on each call; callers keep it)."""
    text = resources.files("policies").joinpath("dpv_purposes.json").read_text(encoding="utf-8")
    document = json.loads(text)
    namespace = document["namespace"]
    return PurposeTaxonomy(
        {
            namespace + name: tuple(namespace + parent for parent in parents)
            for name, parents in document["purposes"].items()
        }
    )

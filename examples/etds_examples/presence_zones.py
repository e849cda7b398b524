"""Zones of the visitor-presence dataset: the 101 départements plus groups of communes and sites.

A zone has an id (``dep-34``, ``grp-bassin-arcachon``, ``site-aeroport-nice``), a French label,
a kind (``departement``, ``commune_group``, ``site``), the département it lies in, a seasonal
profile (:mod:`etds_examples.seasonality`) and peak daily volumes for each visitor category.
For départements the volumes follow the population and the profile (tourists at the summer peak:
~25 % of the population on the coast, ~20 % in the mountains, 4-15 % in cities, 8 % inland);
for the other zones they are set by hand to plausible orders of magnitude (a beach, a ski
resort, two airports, heritage sites, a metropolitan area).
"""

from __future__ import annotations

from dataclasses import dataclass

from etds_examples.geography import Departements
from etds_examples.seasonality import profile_of

ZONE_KINDS = ("departement", "commune_group", "site")
_TOURIST_RATIO = {"urban": 0.04, "overseas": 0.05, "coastal": 0.25, "mountain": 0.2, "inland": 0.08}
_TOURIST_RATIO_SPECIAL = {"75": 0.15, "06": 0.2, "13": 0.08}
_INTERNATIONAL = {"urban": 0.25, "overseas": 0.05, "coastal": 0.15, "mountain": 0.2, "inland": 0.08}
_INTERNATIONAL_SPECIAL = {"75": 0.45, "06": 0.35, "73": 0.3, "74": 0.3}


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone and its peak daily volumes per visitor category."""

    zone_id: str
    label: str
    kind: str
    departement: str  # INSEE code of the département the zone lies in
    profile: str
    residents: float
    tourists: float
    day_visitors: float
    transit: float
    international_share: float


_OTHER_ZONES = (
    Zone("grp-bassin-arcachon", "Bassin d'Arcachon", "commune_group", "33", "beach",
         60_000, 90_000, 40_000, 2_000, 0.12),
    Zone("grp-ile-de-re", "Île de Ré", "commune_group", "17", "beach",
         17_000, 80_000, 25_000, 500, 0.08),
    Zone("grp-golfe-saint-tropez", "Golfe de Saint-Tropez", "commune_group", "83", "beach",
         55_000, 120_000, 45_000, 3_000, 0.3),
    Zone("grp-presquile-crozon", "Presqu'île de Crozon", "commune_group", "29", "beach",
         16_000, 30_000, 12_000, 300, 0.1),
    Zone("grp-cote-basque", "Côte basque", "commune_group", "64", "beach",
         130_000, 110_000, 50_000, 8_000, 0.25),
    Zone("grp-vallee-chamonix", "Vallée de Chamonix-Mont-Blanc", "commune_group", "74", "ski",
         13_000, 60_000, 20_000, 6_000, 0.45),
    Zone("grp-metropole-lyon", "Métropole de Lyon", "commune_group", "69", "urban",
         1_400_000, 60_000, 90_000, 40_000, 0.3),
    Zone("site-plage-grande-motte", "Plage de La Grande-Motte", "site", "34", "beach",
         900, 25_000, 30_000, 100, 0.1),
    Zone("site-dune-du-pilat", "Dune du Pilat", "site", "33", "heritage",
         50, 8_000, 12_000, 200, 0.2),
    Zone("site-mont-saint-michel", "Mont-Saint-Michel", "site", "50", "heritage",
         30, 3_000, 25_000, 500, 0.45),
    Zone("site-pont-du-gard", "Pont du Gard", "site", "30", "heritage",
         20, 500, 6_000, 300, 0.3),
    Zone("site-val-thorens", "Station de Val Thorens", "site", "73", "ski",
         2_000, 25_000, 3_000, 200, 0.5),
    Zone("site-aeroport-nice", "Aéroport Nice Côte d'Azur", "site", "06", "airport",
         50, 6_000, 4_000, 40_000, 0.55),
    Zone("site-aeroport-cdg", "Aéroport Paris-Charles de Gaulle", "site", "95", "airport",
         200, 15_000, 8_000, 180_000, 0.6),
)  # fmt: skip


def build_zones(departements: Departements, populations: dict[str, int]) -> tuple[Zone, ...]:
    """All zones: the départements (in file order) followed by the groups and sites."""
    zones = []
    for dep in departements:
        profile = profile_of(dep)
        population = float(populations[dep.code])
        ratio = _TOURIST_RATIO_SPECIAL.get(dep.code, _TOURIST_RATIO[profile])
        zones.append(
            Zone(
                zone_id=f"dep-{dep.code}",
                label=dep.name,
                kind="departement",
                departement=dep.code,
                profile=profile,
                residents=population,
                tourists=population * ratio,
                day_visitors=population * 0.05,
                transit=population * 0.015,
                international_share=_INTERNATIONAL_SPECIAL.get(dep.code, _INTERNATIONAL[profile]),
            )
        )
    for zone in _OTHER_ZONES:
        departements.by_code(zone.departement)  # fails loudly on a typo in the table above
        zones.append(zone)
    return tuple(zones)

"""Daily volumes of the visitor-presence dataset, broken down by origin and length of stay.

For each zone and day the model takes the zone's peak volumes (:mod:`etds_examples.presence_zones`)
times its seasonal activity, with more day visitors at weekends and on public holidays, a few
residents away in summer, and Saturday peaks of transit in summer. Volumes are then split:

- by origin: French visitors by département with a gravity-like weight (population, x4 from the
  same region, x2.5 from Île-de-France; day visitors come mostly from the same region),
  foreign visitors by country (neighbouring countries heavier near their border);
- tourists by nights stayed, 1-13 (13 = "13 or more"): a mix of short breaks (geometric) and
  week-long stays (around 7 nights, plus the 13+ tail), the long stays weighing more in the
  high season, at the coast and in the mountains, and for foreign visitors;
- each combination's count is a Poisson draw around its expected value; combinations with no one
  are absent, as in the real product.

Provenance: ``local`` (from the zone's own département: residents, and visitors of zones smaller
than a département), ``regional`` (same region), ``national`` (rest of France) or
``international`` (``origin_departement`` null).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from etds_examples.geography import Departements
from etds_examples.presence_zones import Zone
from etds_examples.seasonality import activity

MAX_STAY = 13
INTERNATIONAL_ORIGINS = ("DE", "GB", "BE", "NL", "CH", "IT", "ES", "US", "LU", "PT", "PL", "CN")
PROVENANCES = ("local", "regional", "national", "international")
_INTERNATIONAL_BASE = np.array([18, 16, 14, 10, 8, 9, 8, 7, 2, 2, 2, 4], dtype=np.float64)
_BORDER_BOOSTS = (
    (frozenset({"59", "62", "02", "08", "80"}), {"BE": 4.0, "NL": 1.5}),
    (frozenset({"67", "68", "57", "54", "90", "25"}), {"DE": 3.0, "CH": 2.0, "LU": 2.0}),
    (frozenset({"74", "73", "01", "39"}), {"CH": 4.0, "IT": 1.5}),
    (frozenset({"06", "83", "04", "05", "2A", "2B"}), {"IT": 3.0, "CH": 1.5}),
    (frozenset({"64", "65", "66", "11", "31", "09"}), {"ES": 4.0}),
    (frozenset({"29", "22", "56", "35", "50", "14", "24"}), {"GB": 2.5}),
)
_LONG_STAY = {"coastal": (0.15, 0.55), "beach": (0.15, 0.55), "mountain": (0.15, 0.55),
              "ski": (0.2, 0.55), "overseas": (0.5, 0.1), "inland": (0.1, 0.4)}  # fmt: skip
_LONG_STAY_DEFAULT = (0.05, 0.15)
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ZoneMix:
    """Per-zone origin weights and provenance codes, drawn once per seed."""

    tourist_origin: FloatArray  # (zones, départements), rows sum to 1
    day_origin: FloatArray  # (zones, départements), rows sum to 1
    international: FloatArray  # (zones, countries), rows sum to 1
    provenance: NDArray[np.int64]  # (zones, départements), index into PROVENANCES


def _normalise(weights: FloatArray) -> FloatArray:
    result: FloatArray = weights / weights.sum(axis=1, keepdims=True)
    return result


def build_mix(
    zones: tuple[Zone, ...],
    departements: Departements,
    populations: dict[str, int],
    rng: np.random.Generator,
) -> ZoneMix:
    """Origin weights of every zone (deterministic for a given generator state)."""
    population = np.array([populations[d.code] for d in departements], dtype=np.float64)
    region = np.array([d.region_code for d in departements])
    overseas = np.array([d.overseas for d in departements])
    idf = region == "11"
    shape = (len(zones), len(departements))
    tourist, day = np.empty(shape), np.empty(shape)
    provenance = np.empty(shape, dtype=np.int64)
    international = np.empty((len(zones), len(INTERNATIONAL_ORIGINS)))
    for z, zone in enumerate(zones):
        home = departements.by_code(zone.departement)
        same_region = region == home.region_code
        own = np.array([d.code == home.code for d in departements])
        w = population * np.where(same_region, 4.0, 1.0) * np.where(idf & ~same_region, 2.5, 1.0)
        if home.overseas:
            w = population * np.where(overseas, 0.1, 0.3 + 2.7 * idf)
        else:
            w = w * np.where(overseas, 0.05, 1.0)
        d = population * np.where(same_region, 15.0, 0.15 if not home.overseas else 0.001)
        local = zone.kind != "departement"
        w = np.where(own, population if local else 0.0, w) * rng.lognormal(0.0, 0.3, len(w))
        d = np.where(own, 40.0 * population if local else 0.0, d) * rng.lognormal(0.0, 0.3, len(d))
        tourist[z], day[z] = w, d
        provenance[z] = np.where(own, 0, np.where(same_region, 1, 2))
        mix = _INTERNATIONAL_BASE.copy()
        for codes, boosts in _BORDER_BOOSTS:
            if home.code in codes:
                for country, factor in boosts.items():
                    mix[INTERNATIONAL_ORIGINS.index(country)] *= factor
        international[z] = mix * rng.lognormal(0.0, 0.2, len(mix))
    return ZoneMix(_normalise(tourist), _normalise(day), _normalise(international), provenance)


def stay_distribution(long_share: FloatArray) -> FloatArray:
    """(len(long_share), 13) probabilities of 1…13 nights for the given long-stay shares."""
    nights = np.arange(1, MAX_STAY + 1, dtype=np.float64)
    short = np.where(nights < MAX_STAY, 0.55 ** (nights - 1.0), 0.0)
    long = np.exp(-0.5 * ((nights - 7.0) / 2.5) ** 2) + 0.8 * (nights == MAX_STAY)
    short, long = short / short.sum(), long / long.sum()
    result: FloatArray = (1.0 - long_share)[:, None] * short + long_share[:, None] * long
    return result


@dataclass(frozen=True)
class DayVolumes:
    """Expected volumes of one day, per zone and category (before the split by origin)."""

    tourists: FloatArray
    day_visitors: FloatArray
    residents: FloatArray
    transit: FloatArray
    long_share: FloatArray


def day_volumes(zones: tuple[Zone, ...], doy: int, weekday: int, holiday: bool) -> DayVolumes:
    """Expected volumes of every zone on a day given by its day of year and weekday."""
    level = np.array([activity(zone.profile, np.array([doy]))[0] for zone in zones])
    weekend = weekday >= 5
    tourists = np.array([z.tourists for z in zones]) * level * (1.1 if weekend else 1.0)
    busy = 1.5 if weekend or holiday else 1.0
    day_visitors = np.array([z.day_visitors for z in zones]) * (0.3 + 0.7 * level) * busy
    away = np.array([0.1 if z.profile in ("urban", "inland") else 0.03 for z in zones])
    residents = np.array([z.residents for z in zones]) * (1.0 - away * level)
    saturday_rush = 1.6 if weekday == 5 else 1.0
    transit = np.array([z.transit for z in zones]) * (0.7 + 0.3 * level)
    transit = transit * np.where(level > 0.6, saturday_rush, 1.0)
    base, lift = np.array([_LONG_STAY.get(z.profile, _LONG_STAY_DEFAULT) for z in zones]).T
    return DayVolumes(tourists, day_visitors, residents, transit, base + lift * level)

"""The synthetic panel of campsites behind the booking barometer.

Each campsite gets a SIRET (14 digits, Luhn-valid like real ones), a pseudonym
``HMAC-SHA256(key, SIRET)`` truncated to 16 hex digits, a département, a star rating, a number of
pitches split between accommodation types, an opening season, a climate profile and a mix of
customer origins x sales channels. The SIRET and the key never leave this module's objects: the
barometer only writes pseudonyms.

Realistic-shape choices (rough orders of magnitude of the French campsite stock, leaning towards
the larger, better-rated campsites that run a booking system and opt in to a barometer):

- départements: weight ``1 + 1.5 coastal + 0.7 mountain + 0.5 south``, times a boost for the big
  camping départements (Dordogne, Ardèche, Vendée, Charente-Maritime, Landes, Lot, Hérault,
  Finistère, Morbihan, Var, Gironde, Pyrénées-Orientales…); none in Paris's inner suburbs and
  almost none in Paris; overseas x0.15;
- stars: mostly 3★ and 4★, 5★ and 4★ more common on the coast; pitches log-normal around a
  median that grows with the stars (45 for 1★ to 420 for 5★; about 240 on average); mobile
  homes take a larger share of pitches in higher-rated campsites; ~30 % have no "other rental"
  (chalets, tents, cabins);
- seasons: most open early April to late September; Mediterranean and south-west coast from late
  March to late October; mountain sites mid-May to late September; a few (85 % overseas, 12 %
  mountain, 4 % elsewhere) all year;
- origins (:data:`~etds_examples.barometer_codes.CUSTOMER_COUNTRIES`): France about 60 %, then
  Germany, the Netherlands, Britain, Belgium, Switzerland, Italy, Spain, ten smaller markets and
  ``ZZ`` for the rest; the Dutch and Germans heavier in the south-west and the Alps, the
  British in Brittany, Normandy and Dordogne, the Belgians in the north, the Swiss and Italians
  on the Mediterranean, Germans and Swiss near the Rhine; per-campsite Dirichlet noise;
- channels: direct web first, then desk/phone, OTAs, tour operators (only some campsites, mostly
  with Dutch, British and German customers) and chain central booking (chain members only).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from etds_examples.barometer_codes import (
    CAPACITY_BAND_LOWER_BOUNDS,
    CHANNELS,
    CUSTOMER_COUNTRIES,
    STAR_RATINGS,
)
from etds_examples.geography import Departement, Departements
from etds_examples.randomness import child_rng

CLIMATES = ("coastal_south", "coastal_north", "inland", "mountain", "overseas")
_STAGE_CAMPSITES = 1
_SOUTH_REGIONS = frozenset({"76", "93", "94"})
_SOUTH_EXTRA = frozenset({"17", "24", "33", "40", "47", "64", "07", "26", "84"})
_HEAVY = {
    "85": 3.4, "17": 3.0, "07": 3.6, "83": 2.0, "40": 2.4, "24": 4.0, "34": 2.2, "29": 2.2,
    "56": 2.2, "66": 1.8, "33": 2.0, "26": 2.0, "44": 1.8, "22": 1.6, "30": 1.6, "2B": 0.9,
    "11": 1.2, "64": 1.3, "74": 1.8, "2A": 0.8, "50": 1.3, "46": 2.4, "06": 0.9, "73": 1.6,
    "13": 0.6, "59": 0.5, "69": 0.5, "31": 0.8, "67": 1.2, "68": 1.2, "38": 1.2, "05": 1.5,
    "04": 1.5, "84": 1.6,
}  # fmt: skip
_NONE = frozenset({"92", "93", "94"})
_STAR_P = np.array([0.02, 0.12, 0.38, 0.32, 0.08, 0.08])
_STAR_P_COAST = np.array([0.01, 0.07, 0.32, 0.40, 0.15, 0.05])
_MEDIAN_PITCHES = np.array([45.0, 80.0, 150.0, 260.0, 420.0, 50.0])
_MOBIL_HOME_SHARE = np.array([0.05, 0.15, 0.35, 0.50, 0.60, 0.10])
_STAR_OCCUPANCY = np.array([0.80, 0.88, 1.00, 1.08, 1.12, 0.80])
_ORIGIN_BASE = {
    "FR": 0.60, "DE": 0.09, "NL": 0.09, "GB": 0.05, "BE": 0.05, "CH": 0.025, "IT": 0.015,
    "ES": 0.015, "LU": 0.006, "DK": 0.008, "SE": 0.005, "NO": 0.003, "AT": 0.004, "PL": 0.004,
    "CZ": 0.003, "IE": 0.003, "PT": 0.002, "US": 0.003, "ZZ": 0.015,
}  # fmt: skip
_ORIGIN_BOOSTS: tuple[tuple[frozenset[str], dict[str, float]], ...] = (
    (frozenset({"24", "33", "40", "47", "64", "46", "17"}), {"NL": 1.8, "DE": 1.3, "GB": 1.5}),
    (frozenset({"73", "74", "38", "05", "04", "26"}), {"NL": 1.8, "DE": 1.4, "BE": 1.3, "CH": 1.5}),
    (frozenset({"29", "56", "22", "35", "50", "14", "76", "24"}), {"GB": 2.2, "DE": 1.2}),
    (
        frozenset({"06", "83", "13", "2A", "2B", "84", "34", "30", "11", "66"}),
        {"DE": 1.5, "CH": 1.8, "IT": 2.0, "NL": 1.1},
    ),
    (frozenset({"66", "64", "11", "31", "09", "65"}), {"ES": 2.5}),
    (frozenset({"67", "68", "88", "90", "25", "39", "70"}), {"DE": 2.2, "CH": 1.8, "NL": 1.3}),
    (frozenset({"59", "62", "80", "02", "08"}), {"BE": 3.0, "NL": 1.3, "GB": 1.5}),
)
_TOUR_OPERATOR = CHANNELS.index("tour_operator")
_CHAIN_CENTRAL = CHANNELS.index("chain_central")
_CHANNEL_BASE = np.array([0.46, 0.20, 0.14, 0.07, 0.08, 0.05])
# Affinity of origins for channels (CHANNELS order); countries not listed use _OTHER_AFFINITY.
_AFFINITY = {
    "FR": (1.0, 1.3, 0.9, 0.4, 1.0, 1.0),
    "DE": (1.0, 0.6, 1.1, 2.5, 1.0, 0.8),
    "NL": (1.0, 0.5, 1.0, 2.5, 1.0, 0.8),
    "GB": (1.0, 0.5, 1.3, 2.5, 1.0, 0.8),
    "BE": (1.0, 0.7, 1.0, 1.5, 1.0, 0.8),
    "DK": (1.0, 0.5, 1.1, 2.0, 1.0, 0.8),
    "SE": (1.0, 0.5, 1.1, 2.0, 1.0, 0.8),
    "NO": (1.0, 0.5, 1.1, 2.0, 1.0, 0.8),
    "US": (1.0, 0.4, 2.5, 0.8, 1.0, 1.0),
    "ZZ": (1.0, 0.6, 2.0, 1.0, 1.0, 1.2),
}
_OTHER_AFFINITY = (1.0, 0.6, 1.4, 1.2, 1.0, 0.8)
_AFFINITY_MATRIX = np.array([_AFFINITY.get(c, _OTHER_AFFINITY) for c in CUSTOMER_COUNTRIES])


@dataclass(frozen=True)
class Campsites:
    """Column-oriented campsite panel; row ``i`` of every array is campsite ``i``."""

    pids: tuple[str, ...]
    departement: NDArray[np.int16]  # index into the Departements collection
    star: NDArray[np.int8]  # index into STAR_RATINGS
    capacity_band: NDArray[np.int8]  # index into CAPACITY_BANDS
    pitches: NDArray[np.int32]
    units: NDArray[np.int32]  # (count, 3) units per ACCOMMODATION_TYPES
    open_doy: NDArray[np.int64]  # first open night, day of year
    close_doy: NDArray[np.int64]  # last open night, day of year
    all_year: NDArray[np.bool_]
    climate: NDArray[np.int8]  # index into CLIMATES
    occupancy_factor: NDArray[np.float64]  # stars x popularity
    foreign_share: NDArray[np.float64]
    segment_p: NDArray[np.float64]  # (count, countries x channels), country-major, rows sum to 1

    @property
    def count(self) -> int:
        return len(self.pids)


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check (as SIREN and SIRET do)."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def is_luhn_valid(number: str) -> bool:
    """True when the digit string passes the Luhn check."""
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def default_key(seed: int) -> bytes:
    """A key derived from the seed, for sample data only: anyone knowing the seed can derive it."""
    return hashlib.sha256(f"etds-examples/barometer-pseudonym-key/{seed}".encode()).digest()


def pseudonymise(key: bytes, siret: str) -> str:
    """``HMAC-SHA256(key, SIRET)`` as hex, truncated to 16 characters."""
    return hmac.new(key, siret.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def _sirets(rng: np.random.Generator, count: int) -> list[str]:
    sirets: list[str] = []
    seen: set[str] = set()
    while len(sirets) < count:
        siren = str(rng.integers(10_000_000, 100_000_000))
        siren += luhn_check_digit(siren)
        nic = f"{rng.integers(1, 100):04d}"
        siret = siren + nic + luhn_check_digit(siren + nic)
        if siret not in seen:
            seen.add(siret)
            sirets.append(siret)
    return sirets


def _is_south(departement: Departement) -> bool:
    return departement.region_code in _SOUTH_REGIONS or departement.code in _SOUTH_EXTRA


def departement_weights(departements: Departements) -> NDArray[np.float64]:
    """Relative number of campsites per département (in collection order)."""
    weights = np.ones(len(departements))
    for i, dep in enumerate(departements):
        weights[i] = 1.0 + 1.5 * dep.coastal + 0.7 * dep.mountain + 0.5 * _is_south(dep)
        weights[i] *= _HEAVY.get(dep.code, 1.0)
        if dep.overseas:
            weights[i] *= 0.15
        elif dep.region_code == "11":
            weights[i] *= 0.02 if dep.code == "75" else 0.5
        if dep.code in _NONE:
            weights[i] = 0.0
    return weights


def _origin_mix(departement: Departement) -> NDArray[np.float64]:
    mix = np.array([_ORIGIN_BASE[country] for country in CUSTOMER_COUNTRIES])
    for codes, boosts in _ORIGIN_BOOSTS:
        if departement.code in codes:
            for country, factor in boosts.items():
                mix[CUSTOMER_COUNTRIES.index(country)] *= factor
    if departement.overseas:
        mix *= 0.1
        mix[CUSTOMER_COUNTRIES.index("FR")] *= 15.0
        mix[CUSTOMER_COUNTRIES.index("ZZ")] *= 15.0
    result: NDArray[np.float64] = mix / mix.sum()
    return result


def _climate(dep: Departement, draw: float) -> int:
    if dep.overseas:
        return CLIMATES.index("overseas")
    if dep.coastal and draw < 0.72:
        return CLIMATES.index("coastal_south" if _is_south(dep) else "coastal_north")
    if dep.mountain and draw < 0.9:
        return CLIMATES.index("mountain")
    return CLIMATES.index("inland")


def _season(climate: int, rng: np.random.Generator) -> tuple[int, int]:
    name = CLIMATES[climate]
    if name == "coastal_south":
        return int(rng.normal(84, 12)), int(rng.normal(293, 14))
    if name == "mountain":
        return int(rng.normal(135, 12)), int(rng.normal(263, 10))
    return int(rng.normal(95, 10)), int(rng.normal(268, 10))


def generate_campsites(
    departements: Departements, *, seed: int, count: int, key: bytes
) -> Campsites:
    """Draw ``count`` campsites deterministically from ``seed``; pseudonyms use ``key``."""
    if count < 1:
        raise ValueError("count must be positive")
    rng = child_rng(seed, _STAGE_CAMPSITES)
    weights = departement_weights(departements)
    dep_index = np.sort(rng.choice(len(departements), size=count, p=weights / weights.sum()))
    pids = tuple(pseudonymise(key, siret) for siret in _sirets(rng, count))
    if len(set(pids)) != count:
        raise RuntimeError("pseudonym collision; use another key")
    coastal = np.array([departements[int(i)].coastal for i in dep_index])
    star = np.where(
        coastal,
        rng.choice(len(STAR_RATINGS), size=count, p=_STAR_P_COAST),
        rng.choice(len(STAR_RATINGS), size=count, p=_STAR_P),
    ).astype(np.int8)
    drawn = _MEDIAN_PITCHES[star] * rng.lognormal(0.0, 0.55, count)
    pitches = np.clip(drawn, 8, 2500).astype(np.int32)
    band = (np.searchsorted(CAPACITY_BAND_LOWER_BOUNDS, pitches, side="right") - 1).astype(np.int8)
    mobil_home = np.round(
        pitches * np.clip(_MOBIL_HOME_SHARE[star] * rng.lognormal(0, 0.3, count), 0, 0.9)
    )
    other = np.round(pitches * rng.beta(2.0, 30.0, count)) * (rng.random(count) > 0.3)
    other = np.minimum(other, pitches - mobil_home)
    units = np.stack([pitches - mobil_home - other, mobil_home, other], axis=1).astype(np.int32)

    climate = np.empty(count, dtype=np.int8)
    open_doy = np.empty(count, dtype=np.int64)
    close_doy = np.empty(count, dtype=np.int64)
    all_year = np.empty(count, dtype=np.bool_)
    segment_p = np.empty((count, len(CUSTOMER_COUNTRIES) * len(CHANNELS)))
    foreign = np.empty(count)
    high_rated = (star == STAR_RATINGS.index("4")) | (star == STAR_RATINGS.index("5"))
    tour_operator_p = np.where(coastal & high_rated, 0.6, 0.25)
    chain_p = np.where(high_rated, 0.45, 0.2)
    for i, dep_i in enumerate(dep_index):
        dep = departements[int(dep_i)]
        climate[i] = _climate(dep, float(rng.random()))
        all_year_p = 0.85 if dep.overseas else 0.12 if dep.mountain else 0.04
        all_year[i] = rng.random() < all_year_p
        open_doy[i], close_doy[i] = (1, 366) if all_year[i] else _season(int(climate[i]), rng)
        origins = rng.dirichlet(60.0 * _origin_mix(dep))
        channels = rng.dirichlet(40.0 * _CHANNEL_BASE)
        channels[_TOUR_OPERATOR] *= rng.random() < tour_operator_p[i]
        channels[_CHAIN_CENTRAL] *= rng.random() < chain_p[i]
        combos = origins[:, None] * channels[None, :] * _AFFINITY_MATRIX
        segment_p[i] = (combos / combos.sum()).ravel()
        foreign[i] = 1.0 - origins[0]
    popularity = rng.lognormal(0.0, 0.2, count)
    return Campsites(
        pids=pids,
        departement=dep_index.astype(np.int16),
        star=star,
        capacity_band=band,
        pitches=pitches,
        units=units,
        open_doy=open_doy,
        close_doy=close_doy,
        all_year=all_year,
        climate=climate,
        occupancy_factor=_STAR_OCCUPANCY[star] * popularity,
        foreign_share=foreign,
        segment_p=segment_p,
    )

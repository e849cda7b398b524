"""Hidden model behind the sustainable tourism indicators, and the series it publishes.

Everything starts from each département's population and bed places (per 100 residents: ~16 on
the coast, ~14 in the mountains and ~45 in the big ski départements 73, 74 and 05, ~5 inland,
~4 in cities and ~9 in Paris) and a monthly occupancy following the département's seasonal
profile (:mod:`etds_examples.seasonality`), with a 2 % yearly trend and the 2020-2021 COVID-19
collapse when those years are in range. Then:

- nights = bed places x days x occupancy; arrivals = nights / length of stay (longer in summer
  on the coast and in winter in the mountains); the published average length of stay is
  nights / arrivals, so nights ≈ arrivals x length of stay up to rounding;
- NUTS 2 values are sums (nights, arrivals, bed places) or ratios of sums (occupancy, length of
  stay, intensity) of the NUTS 3 ones;
- non-residents are a share of arrivals (Paris and the Alps highest, lower during COVID);
  same-day visitors are proportional to arrivals;
- spending, GDP share, employment, seasonal jobs, transport modes and the environmental
  indicators are annual per region, derived from the same nights and a few regional constants
  (seasonal job share grows with the summer peak; energy per night falls ~2 % a year).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from etds_examples.calendar_fr import day_number, day_of_year
from etds_examples.geography import Departements
from etds_examples.seasonality import activity, profile_of

FloatArray = NDArray[np.float64]
_BEDS_PER_100 = {"urban": 4.0, "overseas": 7.0, "coastal": 16.0, "mountain": 14.0, "inland": 5.0}
_BEDS_SPECIAL = {"75": 9.0, "73": 45.0, "74": 45.0, "05": 45.0}
_NON_RESIDENT = {"urban": 0.35, "overseas": 0.08, "coastal": 0.2, "mountain": 0.25, "inland": 0.15}
_NON_RESIDENT_SPECIAL = {"75": 0.6, "06": 0.45, "73": 0.4, "74": 0.4, "67": 0.35, "68": 0.35}
_SAME_DAY_RATIO = {"urban": 2.2, "overseas": 0.6, "coastal": 1.4, "mountain": 1.0, "inland": 1.6}
_SPEND = {"urban": 140.0, "overseas": 95.0, "coastal": 85.0, "mountain": 95.0, "inland": 70.0}
_ENERGY = {"urban": 18.0, "overseas": 24.0, "coastal": 21.0, "mountain": 28.0, "inland": 20.0}
# car, rail, air, other (sea, coach…)
_MODES = {
    "urban": (30.0, 35.0, 30.0, 5.0),
    "overseas": (1.0, 0.0, 93.0, 6.0),
    "coastal": (78.0, 12.0, 6.0, 4.0),
    "mountain": (80.0, 12.0, 4.0, 4.0),
    "inland": (82.0, 10.0, 3.0, 5.0),
}
_MODES_SPECIAL = {"FR10": (20.0, 35.0, 40.0, 5.0), "FRM0": (4.0, 0.0, 58.0, 38.0)}
# Monthly multipliers for the COVID-19 years (January … December).
_COVID = {
    2020: (1.0, 1.0, 0.45, 0.05, 0.15, 0.55, 0.85, 0.9, 0.7, 0.55, 0.15, 0.3),
    2021: (0.3, 0.3, 0.3, 0.3, 0.5, 0.8, 0.92, 0.92, 0.92, 0.85, 0.85, 0.85),
}


@dataclass(frozen=True)
class Series:
    """Values of one indicator for each geo (rows) and period (columns)."""

    indicator_id: str
    geos: tuple[str, ...]
    periods: tuple[str, ...]
    values: FloatArray  # shape (len(geos), len(periods))


class _Regions:
    """Sums NUTS 3 matrices into NUTS 2 ones."""

    def __init__(self, departements: Departements) -> None:
        self.codes = departements.nuts2_codes()
        position = {code: i for i, code in enumerate(self.codes)}
        self.index = np.array([position[d.nuts2] for d in departements])

    def sum(self, values: FloatArray) -> FloatArray:
        result = np.zeros((len(self.codes), *values.shape[1:]))
        np.add.at(result, self.index, values)
        return result

    def dominant(self, weights: FloatArray, labels: list[str]) -> list[str]:
        """Per region, the label of its département with the largest weight."""
        best: list[str] = []
        for region in range(len(self.codes)):
            members = np.flatnonzero(self.index == region)
            best.append(labels[int(members[np.argmax(weights[members])])])
        return best


def _year_factor(years: NDArray[np.int64], months: NDArray[np.int64]) -> FloatArray:
    trend = 1.02 ** (years - 2019.0)
    covid = np.array(
        [_COVID.get(int(y), (1.0,) * 12)[int(m) - 1] for y, m in zip(years, months, strict=True)]
    )
    result: FloatArray = trend * covid
    return result


def _ratio(numerator: FloatArray, denominator: FloatArray, digits: int) -> FloatArray:
    result: FloatArray = np.round(numerator / np.maximum(denominator, 1e-9), digits)
    return result


def build_series(
    departements: Departements,
    populations: dict[str, int],
    *,
    first_year: int,
    years: int,
    rng: np.random.Generator,
) -> list[Series]:
    """All indicator series for ``years`` calendar years starting with ``first_year``."""
    deps = list(departements)
    codes = [d.code for d in deps]
    nuts3 = tuple(d.nuts3 for d in deps)
    regions = _Regions(departements)
    profiles = [profile_of(d) for d in deps]
    year_list = np.arange(first_year, first_year + years)
    month_year = np.repeat(year_list, 12)
    month_number = np.tile(np.arange(1, 13), years)
    starts = np.array(
        [day_number(date(int(y), int(m), 1)) for y, m in zip(month_year, month_number, strict=True)]
    )
    days = np.diff(np.append(starts, day_number(date(first_year + years, 1, 1)))).astype(np.float64)
    monthly = tuple(f"{y}-{m:02d}" for y, m in zip(month_year, month_number, strict=True))
    annual = tuple(str(y) for y in year_list)

    level = np.stack([activity(p, day_of_year(starts + 14)) for p in profiles])
    population = np.array([populations[c] for c in codes], dtype=np.float64)
    per_100 = np.array(
        [_BEDS_SPECIAL.get(c, _BEDS_PER_100[p]) for c, p in zip(codes, profiles, strict=True)]
    )
    beds = np.round(population * per_100 * rng.lognormal(0.0, 0.2, len(deps)) / 100.0)
    occupancy = (0.08 + 0.8 * level) * _year_factor(month_year, month_number)
    occupancy = np.clip(occupancy * rng.lognormal(0.0, 0.05, level.shape), 0.01, 0.95)
    nights = np.round(beds[:, None] * days[None, :] * occupancy)
    base_stay = np.array([{"urban": 1.9, "overseas": 5.5}.get(p, 2.2) for p in profiles])
    stay_lift = np.array(
        [{"coastal": 2.6, "mountain": 2.0, "inland": 1.0}.get(p, 0.2) for p in profiles]
    )
    stay = (base_stay[:, None] + stay_lift[:, None] * level) * rng.lognormal(0.0, 0.05, level.shape)
    arrivals = np.maximum(np.round(nights / stay), 1.0)

    non_resident = np.array(
        [
            _NON_RESIDENT_SPECIAL.get(c, _NON_RESIDENT[p])
            for c, p in zip(codes, profiles, strict=True)
        ]
    )
    covid_share = np.where(month_year == 2020, 0.4, np.where(month_year == 2021, 0.6, 1.0))
    non_resident_arrivals = np.round(
        arrivals * (non_resident[:, None] + 0.05 * level) * covid_share
    )
    same_day_ratio = np.array([_SAME_DAY_RATIO[p] for p in profiles])
    same_day = np.round(arrivals * same_day_ratio[:, None] * (0.85 + 0.3 * level))

    r_nights, r_arrivals, r_beds = regions.sum(nights), regions.sum(arrivals), regions.sum(beds)
    r_population = regions.sum(population)
    capacity = r_beds[:, None] * days[None, :]
    series = [
        Series("tourist_nights", nuts3, monthly, nights),
        Series("tourist_nights", regions.codes, monthly, r_nights),
        Series("tourist_arrivals", nuts3, monthly, arrivals),
        Series("tourist_arrivals", regions.codes, monthly, r_arrivals),
        Series("non_resident_arrivals", regions.codes, monthly, regions.sum(non_resident_arrivals)),
        Series("same_day_visitors", regions.codes, monthly, regions.sum(same_day)),
        Series("average_length_of_stay", nuts3, monthly, _ratio(nights, arrivals, 2)),
        Series("average_length_of_stay", regions.codes, monthly, _ratio(r_nights, r_arrivals, 2)),
        Series("occupancy_rate", regions.codes, monthly, _ratio(100.0 * r_nights, capacity, 1)),
    ]
    yearly_nights = nights.reshape(len(deps), years, 12).sum(axis=2)
    r_yearly_nights = regions.sum(yearly_nights)
    beds_ratio = np.repeat(_ratio(100.0 * beds, population, 2)[:, None], years, axis=1)
    r_beds_ratio = np.repeat(_ratio(100.0 * r_beds, r_population, 2)[:, None], years, axis=1)
    intensity = _ratio(1000.0 * yearly_nights, population[:, None], 1)
    r_intensity = _ratio(1000.0 * r_yearly_nights, r_population[:, None], 1)
    series += [
        Series("tourism_intensity", nuts3, annual, intensity),
        Series("tourism_intensity", regions.codes, annual, r_intensity),
        Series("bed_places_per_100_residents", nuts3, annual, beds_ratio),
        Series("bed_places_per_100_residents", regions.codes, annual, r_beds_ratio),
    ]
    regional = _RegionalYears(
        codes=regions.codes,
        profiles=regions.dominant(nights.sum(axis=1), profiles),
        monthly_nights=r_nights.reshape(len(regions.codes), years, 12),
        same_day=regions.sum(same_day).reshape(len(regions.codes), years, 12).sum(axis=2),
        population=r_population,
        years=year_list,
    )
    return series + _regional_annual(regional, annual, rng)


@dataclass(frozen=True)
class _RegionalYears:
    """NUTS 2 inputs of the annual regional indicators."""

    codes: tuple[str, ...]
    profiles: list[str]  # dominant seasonal profile of each region
    monthly_nights: FloatArray  # (regions, years, 12)
    same_day: FloatArray  # (regions, years)
    population: FloatArray  # (regions,)
    years: NDArray[np.int64]


def _transport_shares(regional: _RegionalYears, rng: np.random.Generator) -> FloatArray:
    """(regions, years, 4) shares of car, rail, air and other arrivals, summing to 100."""
    modes = np.array(
        [
            _MODES_SPECIAL.get(code, _MODES[profile])
            for code, profile in zip(regional.codes, regional.profiles, strict=True)
        ]
    )
    drawn = modes[:, None, :] * rng.lognormal(0.0, 0.05, (len(modes), len(regional.years), 4))
    shares: FloatArray = np.round(100.0 * drawn / drawn.sum(axis=2, keepdims=True), 1)
    shares[:, :, 0] = np.round(100.0 - shares[:, :, 1:].sum(axis=2), 1)
    return shares


def _regional_annual(
    regional: _RegionalYears, annual: tuple[str, ...], rng: np.random.Generator
) -> list[Series]:
    """Annual regional indicators: economy, employment, transport and environment."""
    count, years = len(regional.codes), len(regional.years)
    elapsed = (regional.years - regional.years[0]).astype(np.float64)[None, :]
    inflation = 1.03**elapsed
    south = np.array([c[:3] in {"FRJ", "FRL", "FRM", "FRY"} for c in regional.codes])[:, None]

    def noisy(base: FloatArray, sigma: float) -> FloatArray:
        result: FloatArray = base * rng.lognormal(0.0, sigma, (count, years))
        return result

    def rounded(values: FloatArray, digits: int) -> FloatArray:
        result: FloatArray = np.round(np.maximum(values, 0.0), digits).astype(np.float64)
        return result

    spend_base = np.array([_SPEND[p] for p in regional.profiles])[:, None]
    spend = noisy(spend_base * rng.lognormal(0.0, 0.08, (count, 1)) * inflation, 0.02)
    capital = np.where(np.array(regional.codes) == "FR10", 1.6, 1.0)[:, None]
    gdp = regional.population[:, None] * 34_000.0 * capital * inflation
    nights = regional.monthly_nights.sum(axis=2)
    # x2.2: what tourists staying in second homes or with friends and family also spend.
    gdp_share = 2.2 * (nights + 0.35 * regional.same_day) * spend / gdp * 100.0
    monthly = regional.monthly_nights
    peak = monthly.max(axis=2) / np.maximum(monthly.mean(axis=2), 1.0)
    seasonal_jobs = np.clip(5.0 + 18.0 * (peak - 1.0), 3.0, 60.0)
    shares = _transport_shares(regional, rng)
    energy_base = np.array([_ENERGY[p] for p in regional.profiles])[:, None]
    trend = 0.98 ** np.arange(-1, years, dtype=np.float64)
    energy: FloatArray = energy_base * rng.lognormal(0.0, 0.1, (count, 1)) * trend
    energy = energy * rng.lognormal(0.0, 0.015, (count, years + 1))
    reduction = 100.0 * (energy[:, :-1] - energy[:, 1:]) / energy[:, :-1]
    waste = noisy(1.5 * 0.99**elapsed + 0.3 * south, 0.06)
    water = noisy(220.0 + 120.0 * south, 0.07)
    renewable = np.minimum(noisy(18.0 + 1.5 * elapsed + 8.0 * south, 0.08), 100.0)
    certified = np.minimum(noisy(3.0 + 0.8 * elapsed, 0.15), 100.0)
    codes = regional.codes
    return [
        Series("daily_spend_per_tourist", codes, annual, rounded(spend, 1)),
        Series("tourism_gdp_share", codes, annual, rounded(gdp_share, 2)),
        Series("tourism_employment_share", codes, annual, rounded(noisy(1.1 * gdp_share, 0.05), 2)),
        Series("seasonal_jobs_share", codes, annual, rounded(noisy(seasonal_jobs, 0.05), 1)),
        Series("arrivals_share_car", codes, annual, shares[:, :, 0]),
        Series("arrivals_share_rail", codes, annual, shares[:, :, 1]),
        Series("arrivals_share_air", codes, annual, shares[:, :, 2]),
        Series("arrivals_share_other", codes, annual, shares[:, :, 3]),
        Series("waste_per_tourist_night", codes, annual, rounded(waste, 2)),
        Series("water_per_tourist_night", codes, annual, rounded(water, 0)),
        Series("energy_per_tourist_night", codes, annual, rounded(energy[:, 1:], 2)),
        Series("energy_per_tourist_night_reduction", codes, annual, np.round(reduction, 2)),
        Series("renewable_energy_share", codes, annual, rounded(renewable, 1)),
        Series("certified_enterprises_share", codes, annual, rounded(certified, 1)),
    ]

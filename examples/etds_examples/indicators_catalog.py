"""The sustainable tourism indicators produced by :mod:`etds_examples.indicators`.

Each indicator has an id, a unit, a frequency (``monthly`` periods ``YYYY-MM``, ``annual``
periods ``YYYY``) and the NUTS levels it is published at (2 = region of the former 27 regions,
3 = département). They follow domain.md §2 (ETIS / EU Tourism Dashboard style). Two additions
make the set checkable: ``tourist_arrivals`` (all arrivals; Eurostat ``tour_occ_arn2``), so that
nights ≈ arrivals x average length of stay can be verified, and the four
``arrivals_share_*`` indicators, which spell out "arrivals by transport mode" (they add up to
100 per region and year).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """Definition of one published indicator."""

    indicator_id: str
    unit: str
    frequency: str  # "monthly" or "annual"
    levels: tuple[int, ...]  # NUTS levels
    reference: str  # Eurostat table or framework the series imitates
    description: str

    @property
    def source(self) -> str:
        """Value of the ``source`` column: synthetic, with the series it imitates."""
        return f"synthetic ({self.reference})"


INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("tourist_nights", "nights", "monthly", (2, 3), "Eurostat tour_occ_nin2m",
          "Nights spent in tourist accommodation establishments"),
    IndicatorSpec("tourist_arrivals", "arrivals", "monthly", (2, 3), "Eurostat tour_occ_arn2",
          "Arrivals at tourist accommodation establishments"),
    IndicatorSpec("non_resident_arrivals", "arrivals", "monthly", (2,), "Eurostat tour_occ_arn2",
          "Arrivals of non-residents of France"),
    IndicatorSpec("same_day_visitors", "persons", "monthly", (2,), "ETIS A.1.2",
          "Same-day visitors (excursionists)"),
    IndicatorSpec("average_length_of_stay", "nights_per_arrival", "monthly", (2, 3),
          "Eurostat tour_occ_nin2m / tour_occ_arn2", "Nights divided by arrivals"),
    IndicatorSpec("occupancy_rate", "percent", "monthly", (2,), "Eurostat tour_occ_nim",
          "Net occupancy rate of bed places"),
    IndicatorSpec("daily_spend_per_tourist", "EUR_per_person_per_day", "annual", (2,), "ETIS B.1.2",
          "Daily spending per overnight tourist"),
    IndicatorSpec("tourism_gdp_share", "percent", "annual", (2,), "EU Tourism Dashboard",
          "Tourism share of regional GDP"),
    IndicatorSpec("tourism_employment_share", "percent", "annual", (2,), "ETIS B.2.1",
          "Direct tourism employment as a share of total employment"),
    IndicatorSpec("seasonal_jobs_share", "percent", "annual", (2,), "ETIS B.2.3",
          "Share of tourism jobs that are seasonal"),
    IndicatorSpec("tourism_intensity", "nights_per_1000_inhabitants", "annual", (2, 3),
          "EU Tourism Dashboard", "Nights per 1,000 inhabitants"),
    IndicatorSpec("bed_places_per_100_residents", "bed_places_per_100_residents", "annual", (2, 3),
          "Eurostat tour_cap_nuts2", "Bed places in tourist accommodation per 100 residents"),
    IndicatorSpec("arrivals_share_car", "percent", "annual", (2,), "ETIS D.1.1",
          "Share of tourist arrivals by car"),
    IndicatorSpec("arrivals_share_rail", "percent", "annual", (2,), "ETIS D.1.1",
          "Share of tourist arrivals by rail"),
    IndicatorSpec("arrivals_share_air", "percent", "annual", (2,), "ETIS D.1.1",
          "Share of tourist arrivals by air"),
    IndicatorSpec("arrivals_share_other", "percent", "annual", (2,), "ETIS D.1.1",
          "Share of tourist arrivals by sea, coach and other modes"),
    IndicatorSpec("waste_per_tourist_night", "kg_per_night", "annual", (2,), "ETIS D.4.1",
          "Waste produced per tourist night"),
    IndicatorSpec("water_per_tourist_night", "L_per_night", "annual", (2,), "ETIS D.6.1",
          "Water consumption per tourist night"),
    IndicatorSpec("energy_per_tourist_night", "kWh_per_night", "annual", (2,), "ETIS D.7.1",
          "Energy consumption per tourist night"),
    IndicatorSpec("energy_per_tourist_night_reduction", "percent", "annual", (2,), "ETIS D.7.2",
          "Year-on-year reduction of energy consumption per tourist night"),
    IndicatorSpec("renewable_energy_share", "percent", "annual", (2,), "ETIS D.7.3",
          "Share of renewable energy in tourism establishments' consumption"),
    IndicatorSpec("certified_enterprises_share", "percent", "annual", (2,), "ETIS A.2.1",
          "Share of tourism enterprises with a sustainability certification"),
)  # fmt: skip

INDICATORS_BY_ID = {spec.indicator_id: spec for spec in INDICATORS}
FLAGS = ("", "p", "e")  # none, provisional, estimated (Eurostat flag letters)

"""Daily visitor presence measured by a mobile network (domain.md §3).

Columns: ``date, zone_id, zone_label, zone_departement, zone_nuts3, visitor_category, provenance,
origin_country, origin_departement, stay_nights, volume, suppressed``; ``zone_departement`` and
``zone_nuts3`` locate every zone (a département, a group of communes or a site) in the département
it lies in, so that the data can be placed and filtered by region. One row per day x zone x
category x origin (country, and département for French visitors) x nights stayed, for every
combination where at least one person was counted. Choices:

- ``visitor_category``: ``touriste`` (non-resident who spent the night), ``excursionniste``
  (non-resident present by day only), ``resident``, ``transit``;
- ``stay_nights`` is 1-13 (13 = "13 or more") for ``touriste`` only and **null for the other
  categories**: a night count does not apply to them, and 0 would be mistaken for a measure;
- ``origin_departement`` is null for foreign visitors; residents are ``local`` with the zone's
  own département; in a département zone a visitor cannot come from that département (they
  would be a resident); in smaller zones visitors from the same département are ``local``;
- **counts below 20 are never delivered**: such rows have ``volume`` null and ``suppressed``
  true; every delivered volume is at least 20.

Parameters of :func:`generate_presence`: ``days`` (the size argument, default 31) consecutive
days from ``start`` (default 2024-07-01). Output: zstd Parquet, one folder per calendar month,
``out_dir/2024-07/part-00000.parquet``; the folder names are plain (not ``key=value``) so that
reading ``out_dir`` as a dataset adds no column. A default run (July 2024) writes about
5.5 million rows, half of them suppressed.
The volumes come from :mod:`etds_examples.presence_model`.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from etds_examples.calendar_fr import day_number, day_of_year, holiday_nights
from etds_examples.geography import load_departements, load_populations
from etds_examples.parquet_output import PartWriter, ensure_empty_dir
from etds_examples.presence_model import (
    INTERNATIONAL_ORIGINS,
    MAX_STAY,
    PROVENANCES,
    ZoneMix,
    build_mix,
    day_volumes,
    stay_distribution,
)
from etds_examples.presence_zones import Zone, build_zones
from etds_examples.randomness import child_rng
from etds_examples.report import GenerationReport, Progress

DATASET = "presence"
DEFAULT_START = date(2024, 7, 1)
SUPPRESSION_THRESHOLD = 20
VISITOR_CATEGORIES = ("touriste", "excursionniste", "resident", "transit")
ORIGIN_COUNTRIES = ("FR", *INTERNATIONAL_ORIGINS)
_STAGE_MIX = 20
_STAGE_DAY = 21
_ROWS_PER_FILE = 10_000_000
_dictionary = pa.dictionary(pa.int16(), pa.string())

PRESENCE_SCHEMA = pa.schema(
    [
        pa.field("date", pa.date32(), nullable=False),
        pa.field("zone_id", _dictionary, nullable=False),
        pa.field("zone_label", _dictionary, nullable=False),
        pa.field("zone_departement", _dictionary, nullable=False),
        pa.field("zone_nuts3", _dictionary, nullable=False),
        pa.field("visitor_category", _dictionary, nullable=False),
        pa.field("provenance", _dictionary, nullable=False),
        pa.field("origin_country", _dictionary, nullable=False),
        pa.field("origin_departement", _dictionary, nullable=True),
        pa.field("stay_nights", pa.int8(), nullable=True),
        pa.field("volume", pa.int64(), nullable=True),
        pa.field("suppressed", pa.bool_(), nullable=False),
    ]
)

IntArray = NDArray[np.int64]


class _Rows:
    """Column buffers of one day's rows (indices into the code lists; -1 stands for null)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[IntArray]] = {
            k: [] for k in ("zone", "category", "provenance", "country", "dep", "stay", "count")
        }

    def add(self, counts: IntArray, category: str, **columns: IntArray) -> None:
        """Keep the non-zero counts of an array; ``columns`` broadcast against ``counts``."""
        positions = np.nonzero(counts)
        self.parts["count"].append(counts[positions])
        self.parts["category"].append(
            np.full(len(positions[0]), VISITOR_CATEGORIES.index(category))
        )
        for name in ("zone", "provenance", "country", "dep", "stay"):
            values = np.broadcast_to(columns[name], counts.shape)
            self.parts[name].append(values[positions].astype(np.int64))

    def table(
        self, day: int, zones: tuple[Zone, ...], dep_codes: tuple[str, ...], nuts3: tuple[str, ...]
    ) -> pa.Table:
        cols = {name: np.concatenate(values) for name, values in self.parts.items()}
        order = np.lexsort(
            (cols["stay"], cols["dep"], cols["country"], cols["category"], cols["zone"])
        )
        cols = {name: values[order] for name, values in cols.items()}
        suppressed = cols["count"] < SUPPRESSION_THRESHOLD

        def dictionary(indices: IntArray, values: tuple[str, ...]) -> pa.Array:
            return pa.DictionaryArray.from_arrays(
                pa.array(indices.astype(np.int16), mask=indices < 0), pa.array(values)
            )

        return pa.Table.from_pydict(
            {
                "date": pa.array(np.full(len(order), day, dtype=np.int32), type=pa.date32()),
                "zone_id": dictionary(cols["zone"], tuple(z.zone_id for z in zones)),
                "zone_label": dictionary(cols["zone"], tuple(z.label for z in zones)),
                "zone_departement": dictionary(cols["zone"], tuple(z.departement for z in zones)),
                "zone_nuts3": dictionary(cols["zone"], nuts3),
                "visitor_category": dictionary(cols["category"], VISITOR_CATEGORIES),
                "provenance": dictionary(cols["provenance"], PROVENANCES),
                "origin_country": dictionary(cols["country"], ORIGIN_COUNTRIES),
                "origin_departement": dictionary(cols["dep"], dep_codes),
                "stay_nights": pa.array(cols["stay"], type=pa.int8(), mask=cols["stay"] < 1),
                "volume": pa.array(cols["count"], type=pa.int64(), mask=suppressed),
                "suppressed": pa.array(suppressed),
            },
            schema=PRESENCE_SCHEMA,
        )


def _day_table(
    day: int,
    *,
    zones: tuple[Zone, ...],
    mix: ZoneMix,
    dep_codes: tuple[str, ...],
    zone_nuts3: tuple[str, ...],
    home: IntArray,
    rng: np.random.Generator,
) -> pa.Table:
    """Draw the counts of one day and return its rows."""
    v = day_volumes(
        zones,
        int(day_of_year(np.array([day]))[0]),
        (day + 3) % 7,
        bool(holiday_nights(np.array([day]))[0]),
    )
    share = np.array([z.international_share for z in zones])
    zone = np.arange(len(zones))[:, None]
    dep = np.arange(len(dep_codes))[None, :]
    country = np.arange(1, len(ORIGIN_COUNTRIES))[None, :]
    stay = np.arange(1, MAX_STAY + 1)[None, None, :]
    french, abroad, none = np.array(0), np.array(3), np.array(-1)
    rows = _Rows()

    national_stay = stay_distribution(v.long_share)[:, None, :]
    lam = ((1.0 - share) * v.tourists)[:, None, None] * mix.tourist_origin[:, :, None]
    rows.add(
        rng.poisson(lam * national_stay),
        "touriste",
        zone=zone[:, :, None],
        provenance=mix.provenance[:, :, None],
        country=french,
        dep=dep[:, :, None],
        stay=stay,
    )
    foreign_stay = stay_distribution(np.minimum(v.long_share + 0.15, 0.95))[:, None, :]
    lam = (share * v.tourists)[:, None, None] * mix.international[:, :, None]
    rows.add(
        rng.poisson(lam * foreign_stay),
        "touriste",
        zone=zone[:, :, None],
        provenance=abroad,
        country=country[:, :, None],
        dep=none,
        stay=stay,
    )
    for category, volume, origin, foreign_share in (
        ("excursionniste", v.day_visitors, mix.day_origin, 0.5 * share),
        ("transit", v.transit, mix.tourist_origin, share),
    ):
        lam = ((1.0 - foreign_share) * volume)[:, None] * origin
        rows.add(
            rng.poisson(lam),
            category,
            zone=zone,
            provenance=mix.provenance,
            country=french,
            dep=dep,
            stay=none,
        )
        lam = (foreign_share * volume)[:, None] * mix.international
        rows.add(
            rng.poisson(lam),
            category,
            zone=zone,
            provenance=abroad,
            country=country,
            dep=none,
            stay=none,
        )
    rows.add(
        rng.poisson(v.residents)[:, None],
        "resident",
        zone=zone,
        provenance=french,  # index 0 of PROVENANCES is "local"
        country=french,
        dep=home[:, None],
        stay=none,
    )
    return rows.table(day, zones, dep_codes, zone_nuts3)


def _month_runs(start: date, days: int) -> list[tuple[str, list[date]]]:
    """The requested days grouped by calendar month, in order."""
    runs: dict[str, list[date]] = {}
    for offset in range(days):
        current = start + timedelta(days=offset)
        runs.setdefault(current.strftime("%Y-%m"), []).append(current)
    return list(runs.items())


def generate_presence(
    out_dir: Path,
    *,
    seed: int = 0,
    days: int = 31,
    start: date = DEFAULT_START,
    progress: Progress | None = None,
) -> GenerationReport:
    """Write ``days`` days of presence from ``start`` under ``out_dir`` (one folder a month)."""
    started = time.perf_counter()
    if days < 1:
        raise ValueError("days must be at least 1")
    departements = load_departements()
    populations = load_populations()
    zones = build_zones(departements, populations)
    mix = build_mix(zones, departements, populations, child_rng(seed, _STAGE_MIX))
    dep_codes = departements.codes
    home = np.array([departements.index_of(z.departement) for z in zones], dtype=np.int64)
    zone_nuts3 = tuple(departements.by_code(z.departement).nuts3 for z in zones)
    ensure_empty_dir(out_dir)
    files: list[Path] = []
    total_bytes = rows = 0
    for month, month_days in _month_runs(start, days):
        with PartWriter(
            out_dir / month, PRESENCE_SCHEMA, rows_per_file=_ROWS_PER_FILE, progress=progress
        ) as writer:
            for current in month_days:
                rng = child_rng(seed, _STAGE_DAY, current.toordinal())
                table = _day_table(
                    day_number(current),
                    zones=zones,
                    mix=mix,
                    dep_codes=dep_codes,
                    zone_nuts3=zone_nuts3,
                    home=home,
                    rng=rng,
                )
                writer.write(table)
                rows += table.num_rows
        files += writer.files
        total_bytes += writer.bytes_written
    return GenerationReport(
        dataset=DATASET,
        rows=rows,
        files=tuple(files),
        bytes_written=total_bytes,
        seconds=time.perf_counter() - started,
    )

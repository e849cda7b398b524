"""Expansion of booked cells into barometer rows (one per customer origin x sales channel).

For a chunk of cells with their allocated row counts ``k``:

- the ``k`` segments of a cell are the top ``k`` of ``log p + Gumbel`` (weighted sampling without
  replacement, Gumbel-top-k), with ``p`` the campsite's origin x channel mix and the Gumbel noise
  counter-based, so the same segments lead week after week;
- the cell's booked units are split between its rows: one each, the rest in proportion to
  ``p`` times a log-normal noise, with exact integer sums (systematic rounding inside each cell);
- bookings = units minus the few extra units of multi-unit bookings (4 %);
  person-nights = units plus a Poisson number of extra people (mean party size per accommodation
  type, larger for Dutch, Belgian and German families), so ``person_nights >= bookings >= 1``;
- the lead time of a row is the days until the night plus an exponential wait whose mean grows
  with the season peak and is longer for foreign customers and tour operators; its bucket is
  therefore never shorter than ``stay_date - snapshot_date``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from etds_examples.barometer_codes import (
    ACCOMMODATION_TYPES,
    CAPACITY_BANDS,
    CHANNELS,
    CUSTOMER_COUNTRIES,
    FILE_SCHEMA,
    LEAD_TIME_BUCKETS,
    LEAD_TIME_UPPER_DAYS,
    STAR_RATINGS,
)
from etds_examples.barometer_model import Cells
from etds_examples.campsites import Campsites
from etds_examples.randomness import hash_uint64, hash_uniform

_SEGMENT_KEY = 21
_MULTI_UNIT_SHARE = 0.04
_PARTY_SIZE = np.array([2.7, 3.6, 2.9])  # per ACCOMMODATION_TYPES
_PARTY_BY_COUNTRY = {
    "NL": 1.1,
    "BE": 1.08,
    "DE": 1.05,
    "GB": 1.05,
    "IT": 1.05,
    "ES": 1.05,
    "ZZ": 0.9,
}
_COUNTRY_PARTY = np.array([_PARTY_BY_COUNTRY.get(c, 1.0) for c in CUSTOMER_COUNTRIES])
_LEAD_BY_COUNTRY = {"FR": 0.0, "IT": 20.0, "ES": 20.0, "ZZ": 15.0, "BE": 30.0, "CH": 30.0}
_COUNTRY_LEAD = np.array([_LEAD_BY_COUNTRY.get(c, 40.0) for c in CUSTOMER_COUNTRIES])
_CHANNEL_LEAD = np.array([0.0, -5.0, -8.0, 60.0, 10.0, 0.0])
_CHANNELS = len(CHANNELS)


def _dictionary(indices: NDArray[np.integer], values: tuple[str, ...] | list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices.astype(np.int16)), pa.array(values, type=pa.string())
    )


def choose_segments(
    cells: Cells, counts: NDArray[np.int64], segment_p: NDArray[np.float64], seed: int
) -> NDArray[np.int64]:
    """Segment index (country-major) of every row, cell after cell, best-ranked first."""
    probabilities = segment_p[cells.campsite]
    segments = np.arange(probabilities.shape[1], dtype=np.int64)
    cell_hash = hash_uint64(seed, cells.campsite, cells.night, cells.accommodation, _SEGMENT_KEY)
    uniform = hash_uniform(seed, cell_hash.view(np.int64)[:, None], segments[None, :])
    with np.errstate(divide="ignore"):
        scores = np.log(probabilities) - np.log(-np.log(uniform + 1e-300))
    order = np.argsort(-scores, axis=1)
    cell_of_row = np.repeat(np.arange(len(cells)), counts)
    starts = np.cumsum(counts) - counts
    position = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    result: NDArray[np.int64] = order[cell_of_row, position]
    return result


def split_exact(
    totals: NDArray[np.int64],
    counts: NDArray[np.int64],
    weights: NDArray[np.float64],
    offsets: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Split ``totals[c]`` between the ``counts[c] >= 1`` rows of cell ``c`` by ``weights``.

    Rows are grouped cell after cell; the parts are non-negative integers that sum exactly to
    each total (systematic rounding with the cell's ``offsets`` in ``[0, 1)``).
    """
    starts = np.cumsum(counts) - counts
    cell_of_row = np.repeat(np.arange(len(counts)), counts)
    share = weights / np.add.reduceat(weights, starts)[cell_of_row]
    targets = share * totals[cell_of_row]
    running = np.cumsum(targets)
    local = running - (running[starts] - targets[starts])[cell_of_row]
    local = np.clip(local, 0.0, totals[cell_of_row].astype(np.float64))
    ends = starts + counts - 1
    local[ends] = totals
    previous = np.empty_like(local)
    previous[1:] = local[:-1]
    previous[starts] = 0.0
    offset = offsets[cell_of_row]
    result: NDArray[np.int64] = (np.floor(local + offset) - np.floor(previous + offset)).astype(
        np.int64
    )
    return result


def build_rows(
    cells: Cells,
    counts: NDArray[np.int64],
    campsites: Campsites,
    *,
    departement_codes: tuple[str, ...],
    nuts3_codes: tuple[str, ...],
    snapshot_day: int,
    seed: int,
    rng: np.random.Generator,
) -> pa.Table:
    """Rows of the given cells (every ``counts`` entry at least 1) as a table of FILE_SCHEMA."""
    segment = choose_segments(cells, counts, campsites.segment_p, seed)
    country, channel = np.divmod(segment, _CHANNELS)
    cell_of_row = np.repeat(np.arange(len(cells)), counts)
    site = cells.campsite[cell_of_row]
    accommodation = cells.accommodation[cell_of_row]

    weights = campsites.segment_p[site, segment] * rng.lognormal(0.0, 0.5, len(segment))
    extra = split_exact(cells.booked - counts, counts, weights, rng.random(len(cells)))
    units = 1 + extra
    bookings = units - rng.binomial(units - 1, _MULTI_UNIT_SHARE)
    party = _PARTY_SIZE[accommodation] * _COUNTRY_PARTY[country]
    person_nights = units + rng.poisson(units * (party - 1.0))

    days_ahead = cells.night[cell_of_row] - snapshot_day
    mean_wait = 15.0 + 70.0 * cells.peak[cell_of_row] + _COUNTRY_LEAD[country]
    mean_wait = np.maximum(mean_wait + _CHANNEL_LEAD[channel], 3.0)
    lead = days_ahead + np.floor(rng.exponential(mean_wait)).astype(np.int64)
    lead_bucket = np.searchsorted(LEAD_TIME_UPPER_DAYS, lead, side="left")

    available = cells.available[cell_of_row]
    dep = campsites.departement[site]
    columns = {
        "campsite_pid": _dictionary(site, list(campsites.pids)),
        "departement_code": _dictionary(dep, departement_codes),
        "nuts3": _dictionary(dep, nuts3_codes),
        "star_rating": _dictionary(campsites.star[site], STAR_RATINGS),
        "capacity_band": _dictionary(campsites.capacity_band[site], CAPACITY_BANDS),
        "stay_date": pa.array(cells.night[cell_of_row].astype(np.int32), type=pa.date32()),
        "accommodation_type": _dictionary(accommodation, ACCOMMODATION_TYPES),
        "units_available": pa.array(available.astype(np.int32)),
        "units_booked": pa.array(units.astype(np.int32)),
        "occupancy_rate": pa.array(units / available),
        "bookings": pa.array(bookings.astype(np.int32)),
        "person_nights": pa.array(person_nights.astype(np.int32)),
        "lead_time_bucket": _dictionary(lead_bucket, LEAD_TIME_BUCKETS),
        "customer_country": _dictionary(country, CUSTOMER_COUNTRIES),
        "channel": _dictionary(channel, CHANNELS),
    }
    return pa.Table.from_pydict(columns, schema=FILE_SCHEMA)

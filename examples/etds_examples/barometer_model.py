"""Occupancy model of the booking barometer and exact allocation of rows to booked cells.

A *cell* is one campsite x night of stay x accommodation type seen from one snapshot. For every
open cell within the horizon the model computes:

- the final occupancy the night will reach: a seasonal curve per climate (summer peak late July
  to mid-August; a winter bump in the mountains; flatter overseas with a dry-season peak), lifted
  on Friday and Saturday nights and around public holidays outside the peak, times the campsite's
  star/popularity factor, a factor per accommodation type (mobile homes fill best) and a
  log-normal noise per cell;
- the share of it already booked at the snapshot, ``1 / (1 + (d / d50) ** 1.5)`` where ``d`` is
  the number of days until the night; peak nights and campsites with many foreign customers book
  earlier (larger ``d50``), so far nights are emptier;
- booked units ``floor(available x occupancy x share + h)`` with ``h`` a counter-based uniform of
  the cell: it does not depend on the snapshot, so bookings only grow as the night approaches.

The number of output rows per booked cell (distinct origin x channel segments) is then allocated
so that the snapshot has exactly the requested number of rows: targets proportional to
``booked ** 0.8`` capped by ``min(booked, segments offered)`` (water-filling), rounded by
systematic sampling, which keeps the total exact and each count within one of its target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from etds_examples.calendar_fr import day_of_year, holiday_nights, seasonal_bump, weekdays
from etds_examples.campsites import CLIMATES, Campsites
from etds_examples.randomness import hash_normal, hash_uniform

ROWS_EXPONENT = 0.8
_TYPE_FACTOR = np.array([0.90, 1.08, 0.95])
_MAX_OCCUPANCY = 0.97
# Per climate: floor, summer amplitude, summer peak (day of year), summer width (days).
_SUMMER = {
    "coastal_south": (0.14, 0.84, 213.0, 28.0),
    "coastal_north": (0.10, 0.86, 215.0, 23.0),
    "inland": (0.10, 0.76, 212.0, 23.0),
    "mountain": (0.08, 0.78, 210.0, 20.0),
    "overseas": (0.45, 0.25, 200.0, 35.0),
}
# Extra bumps per climate: (amplitude, peak day of year, width).
_EXTRA_BUMPS = {
    "mountain": ((0.30, 45.0, 20.0), (0.15, 360.0, 6.0)),
    "overseas": ((0.25, 50.0, 45.0), (0.20, 358.0, 8.0)),
}
_NOISE_KEY = 11
_ROUNDING_KEY = 12


@dataclass(frozen=True)
class Cells:
    """Booked cells of one snapshot, in campsite, night, accommodation-type order."""

    campsite: NDArray[np.int64]
    night: NDArray[np.int64]  # day number of the night of stay
    accommodation: NDArray[np.int64]  # index into ACCOMMODATION_TYPES
    available: NDArray[np.int64]
    booked: NDArray[np.int64]
    peak: NDArray[np.float64]  # how close the night is to the seasonal peak, in [0, 1]

    def __len__(self) -> int:
        return len(self.campsite)

    def select(self, keep: slice | NDArray[np.bool_]) -> Cells:
        """The cells picked by a slice or a boolean mask."""
        return Cells(
            campsite=self.campsite[keep],
            night=self.night[keep],
            accommodation=self.accommodation[keep],
            available=self.available[keep],
            booked=self.booked[keep],
            peak=self.peak[keep],
        )


def season_level(climate: NDArray[np.int8], doy: NDArray[np.int64]) -> NDArray[np.float64]:
    """Expected occupancy of an average campsite by climate and day of year (before noise)."""
    level = np.zeros(doy.shape)
    for index, name in enumerate(CLIMATES):
        mask = climate == index
        floor, amplitude, peak, width = _SUMMER[name]
        value = floor + amplitude * seasonal_bump(doy[mask], peak, width)
        for bump_amplitude, bump_peak, bump_width in _EXTRA_BUMPS.get(name, ()):
            value += bump_amplitude * seasonal_bump(doy[mask], bump_peak, bump_width)
        level[mask] = value
    return level


def _open_nights(campsites: Campsites, doy: NDArray[np.int64]) -> NDArray[np.bool_]:
    """(campsites, nights) mask of nights on which each campsite is open."""
    opens = campsites.open_doy[:, None] <= doy[None, :]
    closes = doy[None, :] <= campsites.close_doy[:, None]
    result: NDArray[np.bool_] = (opens & closes) | campsites.all_year[:, None]
    return result


def booked_cells(campsites: Campsites, *, seed: int, snapshot_day: int, horizon_days: int) -> Cells:
    """Cells of the snapshot starting on ``snapshot_day`` that have at least one booking."""
    nights = snapshot_day + np.arange(horizon_days, dtype=np.int64)
    doy = day_of_year(nights)
    site_idx, night_idx = np.nonzero(_open_nights(campsites, doy))
    site_idx = np.repeat(site_idx, 3)
    night_idx = np.repeat(night_idx, 3)
    accommodation = np.tile(np.arange(3, dtype=np.int64), len(site_idx) // 3)
    available = campsites.units[site_idx, accommodation].astype(np.int64)
    keep = available > 0
    site_idx, night_idx = site_idx[keep], night_idx[keep]
    accommodation, available = accommodation[keep], available[keep]
    night = nights[night_idx]

    climate = campsites.climate[site_idx]
    level = season_level(climate, doy[night_idx])
    floor = np.array([_SUMMER[name][0] for name in CLIMATES])[climate]
    amplitude = np.array([_SUMMER[name][1] for name in CLIMATES])[climate]
    peak = np.clip((level - floor) / amplitude, 0.0, 1.0)
    weekend = np.isin(weekdays(night), (4, 5))
    uplift = (1.0 + 0.25 * (1.0 - peak) * weekend) * (
        1.0 + 0.45 * (1.0 - peak) * holiday_nights(night)
    )
    noise = np.exp(0.12 * hash_normal(seed, site_idx, night, accommodation, _NOISE_KEY))
    occupancy = level * uplift * _TYPE_FACTOR[accommodation] * noise
    occupancy = np.minimum(occupancy * campsites.occupancy_factor[site_idx], _MAX_OCCUPANCY)

    days_ahead = (night - snapshot_day).astype(np.float64)
    half_booked = (30.0 + 180.0 * peak) * (1.0 + 0.6 * campsites.foreign_share[site_idx])
    share = 1.0 / (1.0 + (days_ahead / half_booked) ** 1.5)
    rounding = hash_uniform(seed, site_idx, night, accommodation, _ROUNDING_KEY)
    booked = np.floor(available * occupancy * share + rounding).astype(np.int64)
    has_bookings = booked > 0
    return Cells(
        campsite=site_idx[has_bookings].astype(np.int64),
        night=night[has_bookings],
        accommodation=accommodation[has_bookings],
        available=available[has_bookings],
        booked=booked[has_bookings],
        peak=peak[has_bookings],
    )


def _water_fill(
    weights: NDArray[np.float64], caps: NDArray[np.int64], total: int
) -> NDArray[np.float64]:
    """Real targets ``min(cap, alpha * weight)`` summing to ``total`` (all weights positive)."""
    ratio = caps / weights
    order = np.argsort(ratio, kind="stable")
    sorted_ratio = ratio[order]
    capped_sum = np.concatenate(([0.0], np.cumsum(caps[order], dtype=np.float64)))
    weight_rest = np.concatenate((np.cumsum(weights[order][::-1])[::-1], [0.0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = (total - capped_sum) / weight_rest
    # First split point j where the uncapped remainder's alpha stays below the next cap ratio.
    valid = alphas[:-1] <= sorted_ratio
    j = int(np.argmax(valid)) if valid.any() else len(weights)
    if j == len(weights):
        return caps.astype(np.float64)
    result: NDArray[np.float64] = np.minimum(caps.astype(np.float64), alphas[j] * weights)
    return result


def allocate_exact(
    weights: NDArray[np.float64], caps: NDArray[np.int64], total: int, offset: float
) -> NDArray[np.int64]:
    """Integers ``k`` with ``sum(k) == total``, ``0 <= k <= caps`` and ``k ≈ alpha * weights``.

    ``offset`` in ``[0, 1)`` is the random start of the systematic rounding.
    """
    caps = caps.astype(np.int64)
    if total < 0 or int(caps.sum()) < total:
        raise ValueError(f"cannot place {total} rows in cells holding at most {int(caps.sum())}")
    if total == 0:
        return np.zeros(len(caps), dtype=np.int64)
    targets = _water_fill(weights, caps, total)
    cumulative = np.minimum(np.cumsum(targets), float(total))
    cumulative[-1] = float(total)
    edges = np.floor(np.concatenate(([0.0], cumulative)) + offset).astype(np.int64)
    counts = np.minimum(np.diff(edges), caps)
    missing = total - int(counts.sum())
    while missing > 0:  # only when float rounding pushed a count over its cap
        room = np.flatnonzero(counts < caps)[:missing]
        counts[room] += 1
        missing -= len(room)
    return counts


def offered_segments(campsites: Campsites) -> NDArray[np.int64]:
    """Number of origin x channel segments each campsite can sell to."""
    result: NDArray[np.int64] = np.count_nonzero(campsites.segment_p > 0, axis=1).astype(np.int64)
    return result


def row_caps(cells: Cells, segments: NDArray[np.int64]) -> NDArray[np.int64]:
    """Most rows a cell can have: one booked unit and one distinct segment per row."""
    result: NDArray[np.int64] = np.minimum(cells.booked, segments[cells.campsite])
    return result


def allocate_rows(
    cells: Cells, segments: NDArray[np.int64], total: int, offset: float
) -> NDArray[np.int64]:
    """Rows per cell for a snapshot of exactly ``total`` rows (see :func:`allocate_exact`).

    ``segments`` is the number of origin x channel segments each campsite offers.
    """
    weights = cells.booked.astype(np.float64) ** ROWS_EXPONENT
    return allocate_exact(weights, row_caps(cells, segments), total, offset)

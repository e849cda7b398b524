"""Occupancy model and exact row allocation of the barometer."""

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etds_examples.barometer_model import allocate_exact, booked_cells, offered_segments, row_caps
from etds_examples.barometer_rows import split_exact
from etds_examples.calendar_fr import day_number, months_of
from etds_examples.campsites import generate_campsites
from etds_examples.geography import load_departements

PANEL = generate_campsites(load_departements(), seed=2, count=300, key=b"m" * 32)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.01, 100.0), st.integers(0, 60)), min_size=1, max_size=60),
    st.floats(0.0, 0.999),
    st.data(),
)
def test_allocate_exact_hits_the_total_within_caps(
    cells: list[tuple[float, int]], offset: float, data: st.DataObject
) -> None:
    weights = np.array([w for w, _ in cells])
    caps = np.array([c for _, c in cells], dtype=np.int64)
    total = data.draw(st.integers(0, int(caps.sum())))
    counts = allocate_exact(weights, caps, total, offset)
    assert int(counts.sum()) == total
    assert (counts >= 0).all()
    assert (counts <= caps).all()


def test_allocate_exact_follows_the_weights() -> None:
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    counts = allocate_exact(weights, np.full(4, 1000, dtype=np.int64), 1000, 0.3)
    assert np.abs(counts - 100 * weights).max() <= 1
    capped = allocate_exact(weights, np.array([1000, 1000, 1000, 50]), 1000, 0.3)
    assert capped[3] == 50
    assert int(capped.sum()) == 1000


def test_allocate_exact_refuses_an_impossible_total() -> None:
    with pytest.raises(ValueError, match="at most 3"):
        allocate_exact(np.ones(3), np.ones(3, dtype=np.int64), 4, 0.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 20)), min_size=1, max_size=30))
def test_split_exact_preserves_totals(cells: list[tuple[int, int]]) -> None:
    totals = np.array([t for t, _ in cells], dtype=np.int64)
    counts = np.array([k for _, k in cells], dtype=np.int64)
    rng = np.random.default_rng(len(cells))
    parts = split_exact(
        totals, counts, rng.random(int(counts.sum())) + 0.01, rng.random(len(cells))
    )
    assert (parts >= 0).all()
    starts = np.cumsum(counts) - counts
    assert np.array_equal(np.add.reduceat(parts, starts), totals)


def test_booked_cells_are_within_capacity_and_seasonal() -> None:
    cells = booked_cells(PANEL, seed=2, snapshot_day=day_number(date(2025, 5, 5)), horizon_days=210)
    assert (cells.booked >= 1).all()
    assert (cells.booked <= cells.available).all()
    month = months_of(cells.night)
    summer = np.isin(month, (7, 8))
    shoulder = np.isin(month, (5, 6, 9))
    summer_rate = cells.booked[summer].sum() / cells.available[summer].sum()
    shoulder_rate = cells.booked[shoulder].sum() / cells.available[shoulder].sum()
    assert summer_rate > 2 * shoulder_rate


def test_bookings_only_grow_as_the_night_approaches() -> None:
    first = booked_cells(PANEL, seed=2, snapshot_day=day_number(date(2025, 5, 5)), horizon_days=120)
    later = booked_cells(
        PANEL, seed=2, snapshot_day=day_number(date(2025, 5, 26)), horizon_days=120
    )
    key_first = {
        (c, n, a): b
        for c, n, a, b in zip(
            first.campsite, first.night, first.accommodation, first.booked, strict=True
        )
    }
    common = 0
    for c, n, a, b in zip(
        later.campsite, later.night, later.accommodation, later.booked, strict=True
    ):
        if (c, n, a) in key_first:
            common += 1
            assert b >= key_first[(c, n, a)]
    assert common > 1000


def test_row_caps_respect_bookings_and_segments() -> None:
    cells = booked_cells(PANEL, seed=2, snapshot_day=day_number(date(2025, 6, 2)), horizon_days=60)
    segments = offered_segments(PANEL)
    caps = row_caps(cells, segments)
    assert (caps <= cells.booked).all()
    assert (caps <= segments[cells.campsite]).all()

"""Weekly campsite booking barometer (domain.md §1): generator and reader.

One row per snapshot x campsite x night of stay x accommodation type x customer origin x sales
channel; that key is unique. Each weekly snapshot has **exactly** ``rows`` rows and is written as
hive-partitioned, zstd-compressed Parquet::

    out_dir/snapshot_date=2025-05-05/part-00000.parquet
    out_dir/snapshot_date=2025-05-12/part-00000.parquet

``snapshot_date`` lives in the folder name only (the usual hive layout; a copy inside the files
would clash with partition discovery). :func:`open_barometer` reads the folder back as a
:class:`pyarrow.dataset.Dataset` with the full schema and ``snapshot_date`` typed as a date.

Semantics of the measures (per row, i.e. per origin x channel segment of a night):
``units_available`` is the campsite's number of units of that accommodation type (repeated on
each segment row of the night); ``units_booked``, ``bookings`` and ``person_nights`` count that
segment only, so they add up across rows; ``occupancy_rate = units_booked / units_available`` is
the segment's share of the capacity, and summing it over the rows of a night and type gives the
night's occupancy (never above 0.97). ``lead_time_bucket`` is the segment's typical lead time.

Parameters of :func:`generate_barometer`:

- ``rows``: rows per snapshot (the size argument). Around 1,400 campsites a real snapshot has
  8-10 million rows. Rows go to booked nights in proportion to ``booked ** 0.8``: small values
  keep the shape (busy summer nights keep their rows, quiet and far-off nights lose theirs
  first, one row then carries all the night's bookings); large values split a night's bookings
  into more origin x channel segments. A snapshot holds at most one row per booked unit and
  segment (about 12.8 million with the defaults; less for a winter snapshot): more raises
  ``ValueError`` before anything is written. Close to that limit most rows carry one or two
  units and the minor origins weigh more than their share of bookings;
- ``campsites`` (1,400), ``weeks`` (1), ``first_snapshot`` (a Monday; default 2025-05-05),
  ``horizon_days`` (210: nights from the snapshot Monday to the end of the season);
- ``key``: HMAC key of the pseudonyms (at least 16 bytes). By default it is derived from the
  seed, which is fine for sample data only. The key and the SIRETs are never written;
- ``row_group_rows`` (~1 M) and ``rows_per_file`` (5 M): output layout. Memory stays bounded by
  one row group plus the per-snapshot cell arrays (a few tens of MB), whatever ``rows`` is.

Campsites and the occupancy model are described in :mod:`etds_examples.campsites`,
:mod:`etds_examples.barometer_model` and :mod:`etds_examples.barometer_rows`.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from etds_examples.barometer_codes import BAROMETER_SCHEMA, FILE_SCHEMA, PARTITION_COLUMN
from etds_examples.barometer_model import (
    allocate_rows,
    booked_cells,
    offered_segments,
    row_caps,
)
from etds_examples.barometer_rows import build_rows
from etds_examples.calendar_fr import day_number
from etds_examples.campsites import Campsites, default_key, generate_campsites
from etds_examples.geography import load_departements
from etds_examples.parquet_output import PartWriter, ensure_empty_dir
from etds_examples.randomness import child_rng
from etds_examples.report import GenerationReport, Progress

DATASET = "barometer"
DEFAULT_FIRST_SNAPSHOT = date(2025, 5, 5)
_MAX_CAMPSITES = 30_000
_CELLS_PER_BLOCK = 8_192  # bounds the (cells x segments) working arrays to a few MB
_STAGE_ALLOCATION = 2
_STAGE_ROWS = 3


def _validate(
    *, rows: int, campsites: int, weeks: int, first_snapshot: date, horizon_days: int, key: bytes
) -> None:
    if rows < 0:
        raise ValueError("rows must not be negative")
    if not 1 <= campsites <= _MAX_CAMPSITES:
        raise ValueError(f"campsites must be between 1 and {_MAX_CAMPSITES}")
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    if first_snapshot.weekday() != 0:
        raise ValueError("first_snapshot must be a Monday")
    if horizon_days < 1:
        raise ValueError("horizon_days must be positive")
    if len(key) < 16:
        raise ValueError("the pseudonymisation key must be at least 16 bytes")


def _snapshot_days(first_snapshot: date, weeks: int) -> list[date]:
    return [first_snapshot + timedelta(weeks=week) for week in range(weeks)]


def _check_capacity(
    panel: Campsites, *, seed: int, snapshots: list[date], rows: int, horizon_days: int
) -> None:
    """Fail before writing anything when a snapshot cannot hold ``rows`` rows."""
    segments = offered_segments(panel)
    for snapshot in snapshots:
        cells = booked_cells(
            panel, seed=seed, snapshot_day=day_number(snapshot), horizon_days=horizon_days
        )
        capacity = int(row_caps(cells, segments).sum())
        if capacity < rows:
            raise ValueError(
                f"the snapshot of {snapshot} holds at most {capacity} rows "
                f"(one per booked unit and segment); ask for fewer rows, more campsites, "
                f"a longer horizon or a snapshot closer to the summer"
            )


def _write_snapshot(
    writer: PartWriter,
    panel: Campsites,
    *,
    seed: int,
    week: int,
    snapshot_day: int,
    rows: int,
    horizon_days: int,
    codes: tuple[tuple[str, ...], tuple[str, ...]],
) -> None:
    """Allocate the snapshot's rows to booked cells and write them block by block."""
    cells = booked_cells(panel, seed=seed, snapshot_day=snapshot_day, horizon_days=horizon_days)
    offset = float(child_rng(seed, _STAGE_ALLOCATION, week).random())
    counts = allocate_rows(cells, offered_segments(panel), rows, offset)
    used = counts > 0
    cells, counts = cells.select(used), counts[used]
    for index, start in enumerate(range(0, len(counts), _CELLS_PER_BLOCK)):
        block = slice(start, start + _CELLS_PER_BLOCK)
        table = build_rows(
            cells.select(block),
            counts[block],
            panel,
            departement_codes=codes[0],
            nuts3_codes=codes[1],
            snapshot_day=snapshot_day,
            seed=seed,
            rng=child_rng(seed, _STAGE_ROWS, week, index),
        )
        writer.write(table)


def generate_barometer(
    out_dir: Path,
    *,
    seed: int = 0,
    rows: int = 1_000_000,
    campsites: int = 1_400,
    weeks: int = 1,
    first_snapshot: date = DEFAULT_FIRST_SNAPSHOT,
    horizon_days: int = 210,
    key: bytes | None = None,
    row_group_rows: int = 1_000_000,
    rows_per_file: int = 5_000_000,
    progress: Progress | None = None,
) -> GenerationReport:
    """Write ``weeks`` weekly snapshots of exactly ``rows`` rows each under ``out_dir``."""
    started = time.perf_counter()
    key = default_key(seed) if key is None else key
    _validate(
        rows=rows,
        campsites=campsites,
        weeks=weeks,
        first_snapshot=first_snapshot,
        horizon_days=horizon_days,
        key=key,
    )
    departements = load_departements()
    panel = generate_campsites(departements, seed=seed, count=campsites, key=key)
    snapshots = _snapshot_days(first_snapshot, weeks)
    _check_capacity(panel, seed=seed, snapshots=snapshots, rows=rows, horizon_days=horizon_days)
    codes = (departements.codes, tuple(d.nuts3 for d in departements))
    ensure_empty_dir(out_dir)
    files: list[Path] = []
    total_bytes = 0
    for week, snapshot in enumerate(snapshots):
        with PartWriter(
            out_dir / f"{PARTITION_COLUMN}={snapshot.isoformat()}",
            FILE_SCHEMA,
            rows_per_file=rows_per_file,
            row_group_rows=row_group_rows,
            progress=progress,
        ) as writer:
            _write_snapshot(
                writer,
                panel,
                seed=seed,
                week=week,
                snapshot_day=day_number(snapshot),
                rows=rows,
                horizon_days=horizon_days,
                codes=codes,
            )
        files.extend(writer.files)
        total_bytes += writer.bytes_written
    return GenerationReport(
        dataset=DATASET,
        rows=rows * weeks,
        files=tuple(files),
        bytes_written=total_bytes,
        seconds=time.perf_counter() - started,
    )


def open_barometer(path: Path) -> ds.Dataset:
    """The barometer under ``path`` as a dataset with :data:`BAROMETER_SCHEMA` columns."""
    partitioning = ds.partitioning(
        pa.schema([pa.field(PARTITION_COLUMN, pa.date32())]), flavor="hive"
    )
    return ds.dataset(path, format="parquet", partitioning=partitioning, schema=BAROMETER_SCHEMA)

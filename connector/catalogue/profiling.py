"""What the data itself says about an asset: rows, bytes, checksum, columns, places and dates.

One pass over two columns at most (the spatial and the temporal one) plus one read of the files'
bytes for the checksum. Columns are those the asset declares (private properties
``etds:spatialColumn`` / ``etds:temporalColumn``) or found by convention:

* spatial: a string column of NUTS codes (``nuts3``, ``zone_nuts3``, ``nuts``, ``nuts2``,
  ``geo``…); values that are not NUTS codes are ignored;
* temporal: the first date or timestamp column, else a string column of ISO dates or periods
  (``2025-05-05``, ``2024-07``, ``2024``), the coverage being from the start of the earliest period
  to the end of the latest.

The ``fingerprint`` (file paths, sizes and modification times) says when the data changed and the
profile must be recomputed.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.sources import SourceDescription, TabularSource

NUTS_CODE = re.compile(r"^[A-Z]{2}[0-9A-Z]{0,3}$")
SPATIAL_CANDIDATES = ("nuts3", "zone_nuts3", "nuts", "nuts2", "nuts_code", "geo", "region")
TEMPORAL_NAMES = ("date", "period", "month", "year", "snapshot_date", "stay_date")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class ProfileError(ValueError):
    """The data cannot be profiled as asked (e.g. a declared column does not exist)."""


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str


@dataclass(frozen=True)
class DataProfile:
    """Everything the catalogue publishes that comes from the data."""

    rows: int
    bytes: int
    files: int
    format: str
    media_type: str
    checksum: str
    columns: tuple[ColumnInfo, ...]
    spatial_column: str | None
    spatial: tuple[str, ...]
    temporal_column: str | None
    temporal_start: date | None
    temporal_end: date | None
    last_modified: datetime | None
    fingerprint: str
    series_column: str | None = None
    series: tuple[tuple[str, int], ...] = ()
    """Members of a dataset series: the values of ``series_column`` and their row counts."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["columns"] = [asdict(column) for column in self.columns]
        for key in ("temporal_start", "temporal_end", "last_modified"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value is not None else None
        data["spatial"] = list(self.spatial)
        data["series"] = [list(member) for member in self.series]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DataProfile:
        def when(key: str, kind: type[date] | type[datetime]) -> Any:
            value = data.get(key)
            return kind.fromisoformat(value) if value else None

        return cls(
            rows=int(data["rows"]),
            bytes=int(data["bytes"]),
            files=int(data["files"]),
            format=str(data["format"]),
            media_type=str(data["media_type"]),
            checksum=str(data["checksum"]),
            columns=tuple(ColumnInfo(**column) for column in data["columns"]),
            spatial_column=data.get("spatial_column"),
            spatial=tuple(data.get("spatial", ())),
            temporal_column=data.get("temporal_column"),
            temporal_start=when("temporal_start", date),
            temporal_end=when("temporal_end", date),
            last_modified=when("last_modified", datetime),
            fingerprint=str(data["fingerprint"]),
            series_column=data.get("series_column"),
            series=tuple((str(value), int(rows)) for value, rows in data.get("series", ())),
        )


def fingerprint(description: SourceDescription) -> str:
    """A digest of the files' paths, sizes and modification times."""
    digest = hashlib.sha256()
    for file in description.files:
        modified = file.modified.isoformat() if file.modified else "-"
        digest.update(f"{file.path}\x00{file.size}\x00{modified}\n".encode())
    return digest.hexdigest()


def _is_text(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return bool(pa.types.is_string(data_type) or pa.types.is_large_string(data_type))


def _is_temporal(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_date(data_type) or pa.types.is_timestamp(data_type))


def _choose_spatial(schema: pa.Schema, declared: str | None) -> str | None:
    if declared is not None:
        if declared not in schema.names:
            raise ProfileError(f"the declared spatial column {declared!r} does not exist")
        return declared
    for name in SPATIAL_CANDIDATES:
        if name in schema.names and _is_text(schema.field(name).type):
            return name
    return None


def _choose_temporal(schema: pa.Schema, declared: str | None) -> str | None:
    if declared is not None:
        if declared not in schema.names:
            raise ProfileError(f"the declared temporal column {declared!r} does not exist")
        return declared
    for field in schema:
        if _is_temporal(field.type):
            return str(field.name)
    for name in TEMPORAL_NAMES:
        if name in schema.names and _is_text(schema.field(name).type):
            return name
    return None


def _distinct_text(array: pa.Array) -> Iterable[str]:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary.take(pc.unique(array.indices).drop_null())
    return (value for value in pc.unique(array).to_pylist() if isinstance(value, str))


def _period_bounds(text: str) -> tuple[date, date] | None:
    match = _PERIOD.match(text)
    if match is None:
        return None
    year, month, day = (int(part) if part else None for part in match.groups())
    assert year is not None
    try:
        if day is not None and month is not None:
            single = date(year, month, day)
            return single, single
        if month is not None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        return None


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()
    assert isinstance(value, date)
    return value


class _Coverage:
    """Running minimum and maximum of the temporal column."""

    def __init__(self) -> None:
        self.start: date | None = None
        self.end: date | None = None

    def add(self, first: date, last: date) -> None:
        self.start = first if self.start is None else min(self.start, first)
        self.end = last if self.end is None else max(self.end, last)

    def add_array(self, array: pa.Array) -> None:
        if _is_temporal(array.type):
            bounds = pc.min_max(array).as_py()
            if bounds["min"] is not None:
                self.add(_as_date(bounds["min"]), _as_date(bounds["max"]))
            return
        for text in _distinct_text(array):
            period = _period_bounds(text)
            if period is not None:
                self.add(*period)


def _count_values(counts: dict[str, int], array: pa.Array) -> None:
    for entry in pc.value_counts(array).to_pylist():
        value = entry["values"]
        if value is not None:
            counts[str(value)] = counts.get(str(value), 0) + int(entry["counts"])


def profile_source(
    source: TabularSource,
    *,
    spatial_column: str | None = None,
    temporal_column: str | None = None,
    series_column: str | None = None,
) -> DataProfile:
    """Profile the data behind ``source`` (one pass over at most three columns, plus the
    bytes). ``series_column`` (declared only) makes the data a dataset series whose members
    are that column's values (e.g. the weekly ``snapshot_date``)."""
    description = source.describe()
    schema = source.schema
    spatial = _choose_spatial(schema, spatial_column)
    temporal = _choose_temporal(schema, temporal_column)
    if series_column is not None and series_column not in schema.names:
        raise ProfileError(f"the declared series column {series_column!r} does not exist")
    codes: set[str] = set()
    coverage = _Coverage()
    members: dict[str, int] = {}
    rows = 0
    columns = [name for name in (spatial, temporal, series_column) if name is not None]
    for batch in source.batches(columns=sorted(set(columns))):
        rows += batch.num_rows
        if spatial is not None:
            codes.update(c for c in _distinct_text(batch.column(spatial)) if NUTS_CODE.match(c))
        if temporal is not None:
            coverage.add_array(batch.column(temporal))
        if series_column is not None:
            _count_values(members, batch.column(series_column))
    if not columns:
        rows = source.count_rows()
    return DataProfile(
        rows=rows,
        bytes=description.total_bytes,
        files=len(description.files),
        format=description.format,
        media_type=description.media_type,
        checksum=source.checksum(),
        columns=tuple(ColumnInfo(str(f.name), str(f.type)) for f in schema),
        spatial_column=spatial,
        spatial=tuple(sorted(codes)),
        temporal_column=temporal,
        temporal_start=coverage.start,
        temporal_end=coverage.end,
        last_modified=description.last_modified,
        fingerprint=fingerprint(description),
        series_column=series_column,
        series=tuple(sorted(members.items())),
    )

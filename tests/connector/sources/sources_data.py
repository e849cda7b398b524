"""Test data of the source tests: a small booking-barometer-like table written in every format.

Imported by the test modules of this folder (a unique basename, see tests/ conventions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("parquet", "csv", "arrow")
SUFFIXES = {"parquet": ".parquet", "csv": ".csv", "arrow": ".arrow"}
PARTITION_KEY = "departement_code"
DEPARTEMENTS = ("01", "2A", "34")
#: What a CSV address declares so that its columns read back as written.
CSV_COLUMN_TYPES = {PARTITION_KEY: "string", "channel": "dictionary"}


def make_table(rows: int = 240) -> pa.Table:
    """Deterministic rows: codes with leading zeros, a date, a dictionary column, numbers."""
    i = np.arange(rows)
    start = dt.date(2024, 6, 1)
    return pa.table(
        {
            PARTITION_KEY: pa.array(np.array(DEPARTEMENTS)[i % 3]),
            "stay_date": pa.array([start + dt.timedelta(days=int(d)) for d in i % 30]),
            "channel": pa.array(np.array(["direct_web", "ota", "tour_operator"])[(i // 3) % 3])
            .dictionary_encode()
            .cast(pa.dictionary(pa.int32(), pa.string())),
            "customer_country": pa.array(np.array(["FR", "DE", "NL", "ZZ"])[i % 4]),
            "units_booked": pa.array((i * 7) % 50, pa.int64()),
            "occupancy_rate": pa.array((i % 10) / 10 + 0.05, pa.float64()),
        }
    )


def write_file(table: pa.Table, path: Path, fmt: str, *, chunk_rows: int = 32) -> Path:
    """Write ``table`` as ``fmt`` (several row groups / record batches), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=chunk_rows)
    elif fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        with pa.ipc.new_file(path, table.schema) as writer:
            writer.write_table(table, max_chunksize=chunk_rows)
    return path


def write_hive(table: pa.Table, base: Path, fmt: str, key: str = PARTITION_KEY) -> pa.Table:
    """Write one ``key=value`` folder per value; return the table a reader should rebuild.

    The expected table has the rows in folder order and the key as the last column, as a
    dictionary of strings (that is how partition columns are read).
    """
    parts = []
    for value in sorted(set(table[key].to_pylist())):
        part = table.filter(pc.field(key) == value)
        write_file(
            part.drop_columns([key]), base / f"{key}={value}" / f"part-0{SUFFIXES[fmt]}", fmt
        )
        parts.append(part)
    expected = pa.concat_tables(parts)
    column = expected[key].cast(pa.dictionary(pa.int32(), pa.string()))
    return expected.drop_columns([key]).append_column(key, column)


def decoded(table: pa.Table) -> pa.Table:
    """``table`` with dictionary columns decoded and one chunk, for content comparisons."""
    fields = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields)).combine_chunks()


def gather(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    """The table the batches form (test-side only: the served path never gathers)."""
    return pa.Table.from_batches(list(batches), schema=schema)


def address_for(fmt: str, path: str, **extra: Any) -> dict[str, Any]:
    """A LocalFile data address; CSV ones declare :data:`CSV_COLUMN_TYPES`."""
    address: dict[str, Any] = {"type": "LocalFile", "path": path, "format": fmt, **extra}
    if fmt == "csv":
        address.setdefault("column_types", CSV_COLUMN_TYPES)
    return address

"""Sustainable tourism indicators (domain.md §2) in long format.

Columns: ``indicator_id, geo, period, value, unit, source, flag`` — ``geo`` is a NUTS 2024 code
(NUTS 2 or NUTS 3 of France as listed in :mod:`etds_examples.indicators_catalog`), ``period`` is
``YYYY-MM`` for monthly and ``YYYY`` for annual indicators, ``value`` is a float64, ``source``
says the value is synthetic and which series it imitates, and ``flag`` is ``p`` (provisional:
the last three months and the annual values of the most recent year), ``e`` (estimated: about
2 % of the other values, at random) or the empty string.

Parameters of :func:`generate_indicators`: ``years`` (the size argument, default 5) calendar
years ending with ``last_year`` (default 2024, so 2020-2024 including the COVID-19 collapse) and
``format`` (``"parquet"``, zstd-compressed, or ``"csv"``). The output is one file,
``indicators.parquet`` or ``indicators.csv``, in ``out_dir``; the default run writes about
30,000 rows. The model behind the values is described in :mod:`etds_examples.indicators_model`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from etds_examples.geography import load_departements, load_populations
from etds_examples.indicators_catalog import INDICATORS_BY_ID
from etds_examples.indicators_model import Series, build_series
from etds_examples.parquet_output import COMPRESSION, ensure_empty_dir
from etds_examples.randomness import child_rng
from etds_examples.report import GenerationReport, Progress

DATASET = "indicators"
_STAGE_MODEL = 10
_STAGE_FLAGS = 11
_ESTIMATED_SHARE = 0.02
_dictionary = pa.dictionary(pa.int16(), pa.string())

INDICATORS_SCHEMA = pa.schema(
    [
        pa.field("indicator_id", _dictionary, nullable=False),
        pa.field("geo", _dictionary, nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("unit", _dictionary, nullable=False),
        pa.field("source", _dictionary, nullable=False),
        pa.field("flag", _dictionary, nullable=False),
    ]
)


def _flags(periods: list[str], last_year: int, rng: np.random.Generator) -> list[str]:
    provisional = {f"{last_year}", f"{last_year}-10", f"{last_year}-11", f"{last_year}-12"}
    estimated = rng.random(len(periods)) < _ESTIMATED_SHARE
    return [
        "p" if period in provisional else "e" if is_estimated else ""
        for period, is_estimated in zip(periods, estimated, strict=True)
    ]


def _table(series: list[Series], last_year: int, rng: np.random.Generator) -> pa.Table:
    ids: list[str] = []
    geos: list[str] = []
    periods: list[str] = []
    values: list[np.ndarray] = []
    for item in series:
        count = len(item.geos) * len(item.periods)
        ids += [item.indicator_id] * count
        geos += [geo for geo in item.geos for _ in item.periods]
        periods += list(item.periods) * len(item.geos)
        values.append(np.asarray(item.values, dtype=np.float64).ravel())
    specs = [INDICATORS_BY_ID[i] for i in ids]
    columns = {
        "indicator_id": pa.array(ids).dictionary_encode(),
        "geo": pa.array(geos).dictionary_encode(),
        "period": pa.array(periods, type=pa.string()),
        "value": pa.array(np.concatenate(values)),
        "unit": pa.array([s.unit for s in specs]).dictionary_encode(),
        "source": pa.array([s.source for s in specs]).dictionary_encode(),
        "flag": pa.array(_flags(periods, last_year, rng)).dictionary_encode(),
    }
    return pa.Table.from_pydict(columns).cast(INDICATORS_SCHEMA)


def generate_indicators(
    out_dir: Path,
    *,
    seed: int = 0,
    years: int = 5,
    last_year: int = 2024,
    format: Literal["parquet", "csv"] = "parquet",
    progress: Progress | None = None,
) -> GenerationReport:
    """Write the indicators of ``years`` years ending with ``last_year`` to ``out_dir``."""
    started = time.perf_counter()
    if years < 1:
        raise ValueError("years must be at least 1")
    if format not in ("parquet", "csv"):
        raise ValueError("format must be 'parquet' or 'csv'")
    departements = load_departements()
    series = build_series(
        departements,
        load_populations(),
        first_year=last_year - years + 1,
        years=years,
        rng=child_rng(seed, _STAGE_MODEL),
    )
    table = _table(series, last_year, child_rng(seed, _STAGE_FLAGS))
    ensure_empty_dir(out_dir)
    path = out_dir / f"{DATASET}.{format}"
    if format == "parquet":
        pq.write_table(table, path, compression=COMPRESSION, use_dictionary=True)
    else:
        plain = pa.table({name: table[name].cast(pa.string()) if name != "value" else table[name]
                          for name in table.column_names})  # fmt: skip
        pacsv.write_csv(plain, path)
    if progress is not None:
        progress(table.num_rows)
    return GenerationReport(
        dataset=DATASET,
        rows=table.num_rows,
        files=(path,),
        bytes_written=path.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def read_indicators(path: Path) -> pa.Table:
    """Read an ``indicators.parquet`` or ``indicators.csv`` file back with the schema above."""
    if path.suffix == ".csv":
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in INDICATORS_SCHEMA.names if name != "value"},
            strings_can_be_null=False,
        )
        return pacsv.read_csv(path, convert_options=convert).cast(INDICATORS_SCHEMA)
    return pq.read_table(path, schema=INDICATORS_SCHEMA)

"""Scans: filter-only columns, empty projections, files that disagree, compressed CSV, stops."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from sources_data import FORMATS, PARTITION_KEY, address_for, decoded, write_file, write_hive

from connector.sources import (
    SourceConfig,
    SourceFormatError,
    TabularSource,
    open_source,
    parse_data_address,
)


def open_local(config: SourceConfig, fmt: str, path: str, **extra: object) -> TabularSource:
    return open_source(parse_data_address(address_for(fmt, path, **extra)), config)


@pytest.mark.parametrize("fmt", FORMATS)
def test_filter_on_a_column_outside_the_projection(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    expected = write_hive(table, data_root / "b", fmt)
    source = open_local(config, fmt, "b")
    wanted = (pc.field("occupancy_rate") > 0.5) & (pc.field(PARTITION_KEY) != "34")

    batches = list(source.batches(columns=["channel"], filter=wanted))

    assert all(batch.schema.names == ["channel"] for batch in batches)
    rows = pa.Table.from_batches(batches)
    assert decoded(rows).equals(decoded(expected.filter(wanted).select(["channel"])))


@pytest.mark.parametrize("fmt", FORMATS)
def test_projection_of_partition_columns_only(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    expected = write_hive(table, data_root / "b", fmt)
    source = open_local(config, fmt, "b")

    rows = source.reader(columns=[PARTITION_KEY]).read_all()

    assert rows.schema.names == [PARTITION_KEY]
    assert rows[PARTITION_KEY].to_pylist() == expected[PARTITION_KEY].to_pylist()


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_projection_still_counts_rows(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_hive(table, data_root / "b", fmt)
    source = open_local(config, fmt, "b")

    batches = list(source.batches(columns=[]))

    assert all(batch.num_columns == 0 for batch in batches)
    assert sum(batch.num_rows for batch in batches) == table.num_rows


def test_filter_matching_nothing_yields_no_batches(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_hive(table, data_root / "b", "parquet")
    source = open_local(config, "parquet", "b")

    assert list(source.batches(filter=pc.field("units_booked") > 10_000)) == []
    assert list(source.batches(filter=pc.field(PARTITION_KEY) == "75")) == []
    assert source.count_rows(filter=pc.field(PARTITION_KEY) == "75") == 0


def test_file_beside_partition_folders_has_null_partition(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_hive(table, data_root / "b", "arrow")
    write_file(
        table.drop_columns([PARTITION_KEY]).slice(0, 7), data_root / "b" / "late.arrow", "arrow"
    )

    source = open_local(config, "arrow", "b")

    rows = source.reader(columns=[PARTITION_KEY]).read_all()
    assert rows.num_rows == table.num_rows + 7
    assert rows[PARTITION_KEY].null_count == 7


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_type_clash_in_a_later_file_names_file_and_column(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "m" / f"a.{fmt}", fmt)
    index = table.schema.get_field_index("units_booked")
    clash = table.set_column(index, "units_booked", pa.array([1.5] * table.num_rows))
    write_file(clash, data_root / "m" / f"b.{fmt}", fmt)
    source = open_local(config, fmt, "m")

    with pytest.raises(
        SourceFormatError, match=rf"^m/b\.{fmt}: column 'units_booked' is double, not int64$"
    ):
        list(source.batches())


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_column_in_a_later_file_names_file_and_column(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "m" / f"a.{fmt}", fmt)
    write_file(table.drop_columns(["customer_country"]), data_root / "m" / f"b.{fmt}", fmt)
    source = open_local(config, fmt, "m")

    with pytest.raises(SourceFormatError, match=r"b\.\w+: .*customer_country"):
        list(source.batches(columns=["customer_country"]))


def test_all_null_column_in_a_later_file_reads_as_nulls(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "m" / "a.parquet", "parquet")
    index = table.schema.get_field_index("occupancy_rate")
    empty = table.set_column(index, "occupancy_rate", pa.nulls(table.num_rows))
    write_file(empty, data_root / "m" / "b.parquet", "parquet")
    source = open_local(config, "parquet", "m")

    source.validate()
    rows = source.reader(columns=["occupancy_rate"]).read_all()

    assert rows.schema.field("occupancy_rate").type == pa.float64()
    assert rows["occupancy_rate"].null_count == table.num_rows


def test_compressed_csv_files(table: pa.Table, data_root: Path, config: SourceConfig) -> None:
    (data_root / "z").mkdir()
    for name, part in (("a", table.slice(0, 100)), ("b", table.slice(100))):
        with gzip.open(data_root / "z" / f"{name}.csv.gz", "wb") as out:
            pacsv.write_csv(part, out)

    source = open_local(config, "csv", "z")

    assert source.count_rows() == table.num_rows
    rows = source.reader().read_all()
    assert decoded(rows).equals(decoded(table))


@pytest.mark.parametrize("readahead", [0, 2])
def test_stopping_early_releases_the_stream(
    readahead: int, table: pa.Table, data_root: Path
) -> None:
    write_file(table, data_root / "t.parquet", "parquet")
    config = SourceConfig(data_roots=(data_root,), batch_rows=10, batch_readahead=readahead)
    stream = open_local(config, "parquet", "t.parquet").batches()

    first = next(stream)
    stream.close()

    assert first.num_rows == 10
    for thread in threading.enumerate():
        if thread.name == "etds-source-readahead":
            thread.join(5)
    assert not [t for t in threading.enumerate() if t.name == "etds-source-readahead"]

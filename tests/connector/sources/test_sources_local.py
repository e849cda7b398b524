"""Local Parquet, CSV and Arrow IPC sources: single files and hive folders, read back exactly."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sources_data import (
    FORMATS,
    PARTITION_KEY,
    SUFFIXES,
    address_for,
    decoded,
    gather,
    write_file,
    write_hive,
)

from connector.sources import (
    SourceConfig,
    SourceFormatError,
    SourceNotFound,
    SourceQueryError,
    TabularSource,
    open_source,
    parse_data_address,
)

DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def open_local(config: SourceConfig, fmt: str, path: str, **extra: object) -> TabularSource:
    return open_source(parse_data_address(address_for(fmt, path, **extra)), config)


@pytest.mark.parametrize("fmt", FORMATS)
def test_single_file_reads_back_schema_count_and_rows(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / f"barometer{SUFFIXES[fmt]}", fmt)

    source = open_local(config, fmt, f"barometer{SUFFIXES[fmt]}")

    assert source.schema.equals(table.schema)
    assert source.partition_columns == ()
    assert source.count_rows() == table.num_rows
    batches = list(source.batches())
    assert len(batches) > 1
    assert all(batch.schema.field("channel").type == DICTIONARY for batch in batches)
    assert decoded(gather(batches, source.schema)).equals(decoded(table))


@pytest.mark.parametrize("fmt", FORMATS)
def test_hive_folder_adds_partition_column_as_exact_strings(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    expected = write_hive(table, data_root / "barometer", fmt)

    source = open_local(config, fmt, "barometer/")

    assert source.partition_columns == (PARTITION_KEY,)
    assert source.schema.names == expected.schema.names
    assert source.schema.field(PARTITION_KEY).type == DICTIONARY
    assert source.count_rows() == table.num_rows
    rebuilt = gather(source.batches(), source.schema)
    assert decoded(rebuilt).equals(decoded(expected))
    assert set(rebuilt[PARTITION_KEY].to_pylist()) == {"01", "2A", "34"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_filter_on_partition_column(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    expected = write_hive(table, data_root / "barometer", fmt)
    source = open_local(config, fmt, "barometer")
    wanted = pc.field(PARTITION_KEY) == "01"

    rows = gather(source.batches(filter=wanted), source.schema)

    assert rows.num_rows == 80
    assert set(rows[PARTITION_KEY].to_pylist()) == {"01"}
    assert decoded(rows).equals(decoded(expected.filter(wanted)))
    assert source.count_rows(filter=wanted) == 80


@pytest.mark.parametrize("fmt", FORMATS)
def test_filter_on_data_column_and_projection(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    expected = write_hive(table, data_root / "barometer", fmt)
    source = open_local(config, fmt, "barometer")
    busy = pc.field("units_booked") >= 40
    columns = ["units_booked", PARTITION_KEY, "channel"]

    batches = list(source.batches(columns=columns, filter=busy))

    assert all(batch.schema.names == columns for batch in batches)
    assert all(batch.schema.field("channel").type == DICTIONARY for batch in batches)
    rows = pa.Table.from_batches(batches)
    assert rows.num_rows == expected.filter(busy).num_rows > 0
    assert decoded(rows).equals(decoded(expected.filter(busy).select(columns)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_batches_respect_batch_rows(
    fmt: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / f"b{SUFFIXES[fmt]}", fmt, chunk_rows=240)
    source = open_local(config, fmt, f"b{SUFFIXES[fmt]}")

    default = [batch.num_rows for batch in source.batches()]
    small = [batch.num_rows for batch in source.batches(batch_rows=7)]

    assert max(default) <= config.batch_rows
    assert max(small) <= 7
    assert sum(default) == sum(small) == table.num_rows


def test_reader_streams_the_projected_schema(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    expected = write_hive(table, data_root / "barometer", "parquet")
    source = open_local(config, "parquet", "barometer")

    reader = source.reader(columns=["stay_date", PARTITION_KEY])

    assert reader.schema.names == ["stay_date", PARTITION_KEY]
    assert decoded(reader.read_all()).equals(decoded(expected.select(["stay_date", PARTITION_KEY])))


def test_partitioning_none_reads_folders_without_partition_columns(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_hive(table, data_root / "barometer", "parquet")

    source = open_local(config, "parquet", "barometer", partitioning="none")

    assert source.partition_columns == ()
    assert PARTITION_KEY not in source.schema.names
    assert source.count_rows() == table.num_rows
    assert source.describe().partitioning == "none"


def test_nested_partitions_and_null_partition(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    base = data_root / "nested"
    write_file(table.slice(0, 10), base / "year=2024" / "week=01" / "a.parquet", "parquet")
    write_file(
        table.slice(10, 5),
        base / "year=2024" / "week=__HIVE_DEFAULT_PARTITION__" / "b.pq",
        "parquet",
    )
    write_file(table.slice(15, 5), base / "year=2025" / "week=a%2Fb" / "c.parquet", "parquet")

    source = open_local(config, "parquet", "nested")

    assert source.partition_columns == ("year", "week")
    rows = source.reader(columns=["year", "week"]).read_all()
    assert rows["year"].to_pylist() == ["2024"] * 15 + ["2025"] * 5
    assert rows["week"].to_pylist() == ["01"] * 10 + [None] * 5 + ["a/b"] * 5
    assert source.count_rows(filter=pc.field("week").is_null()) == 5


def test_hidden_and_foreign_files_are_ignored(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    base = data_root / "barometer"
    write_file(table, base / "part-0.parquet", "parquet")
    (base / "_SUCCESS").write_bytes(b"")
    (base / ".part-0.parquet.crc").write_bytes(b"not parquet")
    (base / "README.md").write_text("notes", encoding="utf-8")
    (base / "_temporary").mkdir()
    (base / "_temporary" / "part-9.parquet").write_bytes(b"half written")
    (base / ".hidden.parquet").write_bytes(b"junk")

    source = open_local(config, "parquet", "barometer")

    assert [f.path for f in source.describe().files] == ["part-0.parquet"]
    assert source.count_rows() == table.num_rows


def test_describe_lists_files_with_sizes_and_times(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_hive(table, data_root / "barometer", "parquet")
    source = open_local(config, "parquet", "barometer/")

    description = source.describe()

    names = [f"{PARTITION_KEY}={v}/part-0.parquet" for v in ("01", "2A", "34")]
    assert [f.path for f in description.files] == names
    sizes = [os.path.getsize(data_root / "barometer" / name) for name in names]
    assert [f.size for f in description.files] == sizes
    assert description.total_bytes == sum(sizes)
    assert all(
        f.modified is not None and f.modified.utcoffset() is not None for f in description.files
    )
    assert description.last_modified == max(f.modified for f in description.files if f.modified)
    assert description.location == "barometer/"
    assert description.format == "parquet"
    assert description.media_type == "application/vnd.apache.parquet"
    assert description.partitioning == "hive"
    assert description.partition_columns == (PARTITION_KEY,)
    assert str(data_root) not in repr(description)


def test_checksum_is_sha256_of_the_files_in_path_order(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_hive(table, data_root / "barometer", "parquet")
    source = open_local(config, "parquet", "barometer/")
    names = [f.path for f in source.describe().files]
    expected = hashlib.sha256(
        b"".join((data_root / "barometer" / name).read_bytes() for name in names)
    ).hexdigest()
    assert source.checksum(chunk_bytes=1000) == expected
    assert source.checksum() == expected


def test_describe_single_file_uses_its_name(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "x" / "snap.arrow", "arrow")

    description = open_local(config, "arrow", "x/snap.arrow").describe()

    assert [f.path for f in description.files] == ["snap.arrow"]
    assert description.media_type == "application/vnd.apache.arrow.file"
    assert description.partitioning == "none"


def test_arrow_ipc_batches_are_zero_copy_from_the_memory_map(
    data_root: Path, config: SourceConfig
) -> None:
    big = pa.table({"x": pa.array(range(400_000), pa.int64())})
    write_file(big, data_root / "big.arrow", "arrow", chunk_rows=100_000)
    source = open_local(config, "arrow", "big.arrow")
    before = pa.total_allocated_bytes()

    batches = list(source.batches(batch_rows=100_000))

    assert sum(batch.num_rows for batch in batches) == 400_000
    # 3.2 MB of int64 are held in `batches`, yet none of it came from Arrow's allocator.
    assert pa.total_allocated_bytes() - before < 100_000


def test_csv_delimiter_and_declared_types(data_root: Path, config: SourceConfig) -> None:
    (data_root / "codes.csv").write_text(
        "departement_code;nuts3;nights\n01;FRK21;12\n2A;FRM01;7\n34;FRJ13;30\n", encoding="utf-8"
    )

    source = open_local(
        config,
        "csv",
        "codes.csv",
        delimiter=";",
        column_types={"departement_code": "string", "nuts3": "dictionary", "nights": "int32"},
    )

    assert source.schema == pa.schema(
        [("departement_code", pa.string()), ("nuts3", DICTIONARY), ("nights", pa.int32())]
    )
    rows = gather(source.batches(), source.schema)
    assert rows["departement_code"].to_pylist() == ["01", "2A", "34"]


def test_empty_folder_is_not_found(data_root: Path, config: SourceConfig) -> None:
    (data_root / "empty" / "sub").mkdir(parents=True)
    (data_root / "empty" / "notes.txt").write_text("x", encoding="utf-8")

    with pytest.raises(SourceNotFound, match="no parquet data files"):
        open_local(config, "parquet", "empty")


def test_missing_path_is_not_found(config: SourceConfig) -> None:
    with pytest.raises(SourceNotFound, match=r"missing\.parquet: no such file or folder"):
        open_local(config, "parquet", "missing.parquet")


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_that_is_not_of_the_format_is_a_format_error(
    fmt: str, data_root: Path, config: SourceConfig
) -> None:
    (data_root / "junk").write_bytes(b"\x00\x01\x02 not a data file \xff\xfe" * 10)

    with pytest.raises(SourceFormatError) as caught:
        open_local(config, fmt, "junk")

    assert caught.value.status == 422
    assert caught.value.log_detail


def test_corrupt_second_file_fails_while_streaming(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "d" / "a.parquet", "parquet")
    (data_root / "d" / "b.parquet").write_bytes(b"PAR1 this is not really parquet PAR1")
    source = open_local(config, "parquet", "d")

    with pytest.raises(SourceFormatError, match=r"^d: the data cannot be decoded$"):
        list(source.batches())


def test_corrupt_pages_are_a_format_error(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    path = data_root / "c.parquet"
    pq.write_table(table, path, compression="snappy", use_dictionary=False, row_group_size=240)
    raw = bytearray(path.read_bytes())
    for i in range(200, len(raw) // 2):
        raw[i] = (raw[i] * 7 + 3) % 256
    path.write_bytes(bytes(raw))

    with pytest.raises(SourceFormatError):
        list(open_local(config, "parquet", "c.parquet").batches())


def test_schema_mismatch_across_files(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "m" / "a.parquet", "parquet")
    changed = table.set_column(
        table.schema.get_field_index("units_booked"),
        "units_booked",
        pa.array([f"n{i}" for i in range(table.num_rows)]),
    )
    write_file(changed, data_root / "m" / "b.parquet", "parquet")
    source = open_local(config, "parquet", "m")

    with pytest.raises(
        SourceFormatError, match=r"b\.parquet differs from the first file: column 'units_booked'"
    ):
        source.validate()
    with pytest.raises(SourceFormatError):
        list(source.batches())


def test_missing_column_in_a_later_file(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "m" / "a.parquet", "parquet")
    write_file(table.drop_columns(["channel"]), data_root / "m" / "b.parquet", "parquet")

    with pytest.raises(SourceFormatError, match="column 'channel' is missing"):
        open_local(config, "parquet", "m").validate()


def test_validate_accepts_consistent_files(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_hive(table, data_root / "ok", "csv")

    open_local(config, "csv", "ok").validate()


def test_unknown_column_is_refused_before_streaming(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "t.parquet", "parquet")
    source = open_local(config, "parquet", "t.parquet")

    with pytest.raises(SourceQueryError, match="unknown columns: nope, nada") as caught:
        source.batches(columns=["channel", "nope", "nada"])
    assert caught.value.status == 400
    with pytest.raises(SourceQueryError, match="twice"):
        source.batches(columns=["channel", "channel"])


@pytest.mark.parametrize(
    ("bad_filter", "message"),
    [
        (pc.field("nope") == 1, "No match for FieldRef.Name\\(nope\\)"),
        (pc.field("units_booked") == "many", "invalid filter"),
        (pc.field("units_booked"), "must evaluate to bool"),
    ],
)
def test_invalid_filter_is_refused_before_streaming(
    bad_filter: pc.Expression, message: str, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "t.parquet", "parquet")
    source = open_local(config, "parquet", "t.parquet")

    with pytest.raises(SourceQueryError, match=message):
        source.batches(filter=bad_filter)
    with pytest.raises(SourceQueryError):
        source.count_rows(filter=bad_filter)


@pytest.mark.parametrize("rows", [0, -1, 2**40, True])
def test_invalid_batch_rows(
    rows: int, table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_file(table, data_root / "t.parquet", "parquet")

    with pytest.raises(SourceQueryError, match="batch_rows"):
        open_local(config, "parquet", "t.parquet").batches(batch_rows=rows)


def test_partition_filter_with_wrong_type_is_refused(
    table: pa.Table, data_root: Path, config: SourceConfig
) -> None:
    write_hive(table, data_root / "barometer", "parquet")

    with pytest.raises(SourceQueryError):
        open_local(config, "parquet", "barometer").batches(filter=pc.field(PARTITION_KEY) == 1)

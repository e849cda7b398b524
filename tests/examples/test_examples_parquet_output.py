"""Chunked Parquet output shared by the generators."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etds_examples.parquet_output import PartWriter, ensure_empty_dir
from etds_examples.report import GenerationReport

SCHEMA = pa.schema(
    [pa.field("n", pa.int64()), pa.field("c", pa.dictionary(pa.int16(), pa.string()))]
)


def _chunk(start: int, count: int) -> pa.Table:
    codes = pa.DictionaryArray.from_arrays(
        pa.array([i % 2 for i in range(count)], pa.int16()), pa.array(["a", "b"])
    )
    return pa.table({"c": codes, "n": pa.array(range(start, start + count), pa.int64())})


def test_row_groups_files_and_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    with PartWriter(
        tmp_path, SCHEMA, rows_per_file=25, row_group_rows=10, progress=seen.append
    ) as writer:
        for start in range(0, 60, 6):
            writer.write(_chunk(start, 6))
    assert [p.name for p in writer.files] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert sum(seen) == 60 == writer.rows
    files = [pq.ParquetFile(p) for p in writer.files]
    assert [f.metadata.num_rows for f in files] == [25, 25, 10]
    assert files[0].metadata.num_row_groups >= 2
    table = pa.concat_tables(pq.read_table(p) for p in writer.files)
    assert table["n"].to_pylist() == list(range(60))
    assert table.schema.field("c").type == SCHEMA.field("c").type
    assert writer.bytes_written == sum(p.stat().st_size for p in writer.files)


def test_empty_output_still_has_a_file(tmp_path: Path) -> None:
    with PartWriter(tmp_path, SCHEMA, rows_per_file=10) as writer:
        pass
    assert pq.read_table(writer.files[0]).num_rows == 0


def test_a_failure_does_not_add_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), PartWriter(tmp_path, SCHEMA, rows_per_file=10) as writer:
        raise RuntimeError("generator failed")
    assert writer.files == []


def test_ensure_empty_dir(tmp_path: Path) -> None:
    ensure_empty_dir(tmp_path / "new" / "deep")
    assert (tmp_path / "new" / "deep").is_dir()
    ensure_empty_dir(tmp_path / "new" / "deep")
    with pytest.raises(FileExistsError):
        ensure_empty_dir(tmp_path / "new")


def test_invalid_sizes() -> None:
    with pytest.raises(ValueError, match="positive"):
        PartWriter(Path("unused"), SCHEMA, rows_per_file=0)


def test_report_throughput() -> None:
    report = GenerationReport("x", rows=100, files=(), bytes_written=0, seconds=4.0)
    assert report.rows_per_second == 25.0
    assert (
        GenerationReport("x", rows=1, files=(), bytes_written=0, seconds=0.0).rows_per_second == 0.0
    )

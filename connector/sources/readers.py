"""Pull-based readers of one data file: the physical columns a scan needs, batch after batch.

Arrow's dataset scanner decodes ahead of a slow consumer until about a gigabyte is buffered, which
a node serving several partners cannot afford; these readers decode only when asked:

- Parquet: one row group at a time (row groups ruled out by the filter's statistics are skipped),
  its column chunks fetched in coalesced reads and decoded batch by batch, columns in parallel.
- Arrow IPC: one record batch at a time with ``get_batch``; local files are memory-mapped, so a
  batch is a zero-copy view of the page cache.
- CSV: Arrow's streaming CSV reader, one block at a time, with every column's type fixed from
  the source schema so that all blocks and all files agree.

Each reader yields batches holding exactly ``columns`` (possibly more rows than a batch may carry;
the scan slices them). Missing columns raise :class:`SourceFormatError` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import MappingProxyType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from connector.sources.address import LocalFileAddress, S3Address
from connector.sources.errors import SourceFormatError

#: Bytes of CSV text parsed per block (and so roughly per raw batch).
CSV_BLOCK_BYTES = 4 * 1024 * 1024
_CSV_CODECS = MappingProxyType({".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"})


def raw_batches(
    address: LocalFileAddress | S3Address,
    fragment: ds.FileFragment,
    *,
    columns: Sequence[str],
    filter: pc.Expression | None,
    schema: pa.Schema,
    batch_rows: int,
    where: str,
) -> Iterator[pa.RecordBatch]:
    """Batches of ``columns`` from ``fragment``, read only as they are consumed.

    ``schema`` is the source schema (first file plus partitions); ``filter`` is only used to skip
    Parquet row groups, rows are filtered by the caller.
    """
    if address.format == "parquet":
        return _parquet(fragment, columns, filter, schema, batch_rows=batch_rows, where=where)
    if address.format == "arrow":
        return _ipc(fragment, columns, where)
    return _csv(address, fragment, columns, schema, where)


def _require(available: Sequence[str], columns: Sequence[str], where: str) -> None:
    missing = [name for name in columns if name not in available]
    if missing:
        raise SourceFormatError(f"{where}: missing columns: {', '.join(missing)}")


def _parquet(
    fragment: ds.ParquetFileFragment,
    columns: Sequence[str],
    filter: pc.Expression | None,
    schema: pa.Schema,
    *,
    batch_rows: int,
    where: str,
) -> Iterator[pa.RecordBatch]:
    fragment.ensure_complete_metadata()
    if filter is None:
        groups = list(range(fragment.num_row_groups))
    else:
        pieces = fragment.split_by_row_group(filter, schema=schema)
        groups = [group.id for piece in pieces for group in piece.row_groups]
    if not groups:
        return
    with fragment.open() as handle:
        file = pq.ParquetFile(handle, metadata=fragment.metadata, pre_buffer=True)
        _require(file.schema_arrow.names, columns, where)
        for group in groups:
            yield from file.iter_batches(
                batch_size=batch_rows, row_groups=[group], columns=list(columns), use_threads=True
            )


def _ipc(fragment: ds.FileFragment, columns: Sequence[str], where: str) -> Iterator[pa.RecordBatch]:
    with fragment.open() as handle:
        reader = pa.ipc.open_file(handle)
        _require(reader.schema.names, columns, where)
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index).select(list(columns))


def _csv(
    address: LocalFileAddress | S3Address,
    fragment: ds.FileFragment,
    columns: Sequence[str],
    schema: pa.Schema,
    where: str,
) -> Iterator[pa.RecordBatch]:
    # An empty include list means "every column" to Arrow: read the first one and drop it.
    include = list(columns) or [_first_physical_column(schema)]
    types = {field.name: field.type for field in schema if field.name in include}
    suffix = "." + fragment.path.rsplit(".", 1)[-1].lower()
    with fragment.open() as handle:
        stream = handle
        if suffix in _CSV_CODECS:
            stream = pa.CompressedInputStream(handle, _CSV_CODECS[suffix])
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    use_threads=True, block_size=CSV_BLOCK_BYTES, encoding="utf8"
                ),
                parse_options=pacsv.ParseOptions(delimiter=address.csv_delimiter),
                convert_options=pacsv.ConvertOptions(column_types=types, include_columns=include),
            )
        except pa.ArrowKeyError as exc:
            raise SourceFormatError(f"{where}: {exc}") from exc
        for batch in reader:
            yield batch.select(list(columns))


def _first_physical_column(schema: pa.Schema) -> str:
    name: str = schema.names[0]
    return name

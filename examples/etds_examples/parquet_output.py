"""Bounded-memory Parquet output shared by the generators.

:class:`PartWriter` receives Arrow tables chunk by chunk and writes each chunk as one row group of
zstd-compressed Parquet into ``part-00000.parquet``, ``part-00001.parquet``… in one folder,
starting a new file after ``rows_per_file`` rows. Only the chunk being written is in memory.
Dictionary-typed columns stay dictionary-encoded in the file and come back as dictionaries.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from etds_examples.report import Progress

COMPRESSION = "zstd"


def ensure_empty_dir(path: Path) -> None:
    """Create ``path`` (and parents); refuse a non-empty directory so no stale file is mixed in."""
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} is not empty; choose a new directory or remove it first")
    path.mkdir(parents=True, exist_ok=True)


class PartWriter:
    """Write chunks of one schema to numbered Parquet files in ``folder``."""

    def __init__(
        self,
        folder: Path,
        schema: pa.Schema,
        *,
        rows_per_file: int,
        row_group_rows: int = 1_000_000,
        progress: Progress | None = None,
    ) -> None:
        if rows_per_file < 1 or row_group_rows < 1:
            raise ValueError("rows_per_file and row_group_rows must be positive")
        self._folder = folder
        self._schema = schema
        self._rows_per_file = rows_per_file
        self._row_group_rows = row_group_rows
        self._progress = progress
        self._buffer: list[pa.Table] = []
        self._buffered_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_file = 0
        self.files: list[Path] = []
        self.rows = 0

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:  # keep what was written, but do not flush half a chunk or add an empty file
            self._buffer = []
            self._close_file()

    def write(self, table: pa.Table) -> None:
        """Append ``table``; a row group is written once enough rows are buffered."""
        self._buffer.append(table.select(self._schema.names).cast(self._schema))
        self._buffered_rows += table.num_rows
        if self._buffered_rows >= self._row_group_rows:
            self._flush()

    def _flush(self) -> None:
        """Write the buffered rows as one row group (split across files at ``rows_per_file``)."""
        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer)
        self._buffer = []
        self._buffered_rows = 0
        offset = 0
        while offset < table.num_rows:
            writer = self._current_writer()
            take = min(table.num_rows - offset, self._rows_per_file - self._rows_in_file)
            part = table.slice(offset, take)
            writer.write_table(part, row_group_size=max(take, 1))
            offset += take
            self._rows_in_file += take
            self.rows += take
            if self._rows_in_file >= self._rows_per_file:
                self._close_file()
            if self._progress is not None:
                self._progress(take)

    def close(self) -> None:
        """Flush, finish the current file; if nothing was written, still write one empty file."""
        self._flush()
        if not self.files:
            self._current_writer()
        self._close_file()

    @property
    def bytes_written(self) -> int:
        """Size on disk of the files closed so far."""
        return sum(path.stat().st_size for path in self.files if path.exists())

    def _current_writer(self) -> pq.ParquetWriter:
        if self._writer is None:
            self._folder.mkdir(parents=True, exist_ok=True)
            path = self._folder / f"part-{len(self.files):05d}.parquet"
            self._writer = pq.ParquetWriter(
                path, self._schema, compression=COMPRESSION, use_dictionary=True
            )
            self.files.append(path)
            self._rows_in_file = 0
        return self._writer

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

"""An opened source: its schema, its row count and a bounded stream of Arrow record batches.

:func:`open_source` locates the files (:mod:`connector.sources.locate`), reads hive partitions
from the folder names and the schema of the first file only, so opening costs one listing and one
footer whatever the size of the data. Streaming (:mod:`connector.sources.scan`) reads one file
after the other with pull-based readers and at most ``SourceConfig.batch_readahead`` batches
decoded ahead (:mod:`connector.sources.readahead`): memory stays flat however large the source
and however slow the consumer, about ``batch_readahead + 2`` batches plus, for Parquet, the
compressed column chunks of one row group. Batches are never gathered into a table; dictionary
columns stay dictionary-encoded; Arrow IPC batches are zero-copy views of a memory map.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from connector.sources.address import LocalFileAddress, S3Address
from connector.sources.config import SourceConfig
from connector.sources.description import SourceDescription, SourceFile
from connector.sources.errors import (
    ARROW_READ_ERRORS,
    SourceFormatError,
    SourceQueryError,
    translate_arrow_error,
)
from connector.sources.formats import FORMATS, file_format
from connector.sources.locate import Located, locate
from connector.sources.partitions import NULL_PARTITION, hive_keys, hive_schema, hive_values
from connector.sources.readahead import readahead
from connector.sources.scan import ScanPlan, ScanUnit, plan_scan, scan


def open_source(address: LocalFileAddress | S3Address, config: SourceConfig) -> TabularSource:
    """Open the data ``address`` points at; raises a :class:`SourceError` subclass otherwise."""
    located = locate(address, config)
    try:
        dataset, partition_columns = _dataset(address, located)
    except ARROW_READ_ERRORS as exc:
        raise translate_arrow_error(exc, source=address.location) from exc
    return TabularSource(address, located, dataset, partition_columns, config)


def _dataset(
    address: LocalFileAddress | S3Address, located: Located
) -> tuple[ds.FileSystemDataset, tuple[str, ...]]:
    """Discover partitions and the schema, then rebuild fragments that know their file sizes.

    Known sizes spare object stores one HEAD request per file when the file is opened. Returns
    the dataset and its partition columns.
    """
    fmt = file_format(address)
    keys: list[str] = []
    if located.is_folder and address.partitioning == "hive":
        keys = hive_keys(located.relative(info) for info in located.files)
    partitioning = None
    if keys:
        partitioning = ds.HivePartitioning.discover(
            infer_dictionary=True, schema=hive_schema(keys), null_fallback=NULL_PARTITION
        )
    discovered = ds.dataset(
        [info.path for info in located.files],
        filesystem=located.filesystem,
        format=fmt,
        partitioning=partitioning,
        partition_base_dir=located.base if keys else None,
    )
    partitions = {f.path: f.partition_expression for f in discovered.get_fragments()}
    fragments = [
        fmt.make_fragment(
            info.path,
            filesystem=located.filesystem,
            partition_expression=partitions[info.path],
            file_size=info.size,
        )
        for info in located.files
    ]
    dataset = ds.FileSystemDataset(
        fragments, schema=discovered.schema, format=fmt, filesystem=located.filesystem
    )
    return dataset, tuple(keys)


class TabularSource:
    """Tabular data behind one data address, ready to be counted, described and streamed."""

    def __init__(
        self,
        address: LocalFileAddress | S3Address,
        located: Located,
        dataset: ds.FileSystemDataset,
        partition_columns: tuple[str, ...],
        config: SourceConfig,
    ) -> None:
        self._address = address
        self._located = located
        self._dataset = dataset
        self._partition_columns = partition_columns
        self._config = config
        self._relative = {info.path: located.relative(info) for info in located.files}

    @property
    def location(self) -> str:
        """The address's own name for the data (path or ``s3://bucket/key``)."""
        return self._address.location

    @property
    def schema(self) -> pa.Schema:
        """Columns of the (first) file followed by the hive partition columns."""
        return self._dataset.schema

    @property
    def partition_columns(self) -> tuple[str, ...]:
        """Columns that come from ``name=value`` folders rather than from the files."""
        return self._partition_columns

    def count_rows(self, filter: pc.Expression | None = None) -> int:
        """Number of rows (matching ``filter``); Parquet and Arrow answer from file metadata."""
        self._plan(columns=[], filter=filter, batch_rows=None)
        try:
            return int(self._dataset.count_rows(filter=filter))
        except ARROW_READ_ERRORS as exc:
            raise translate_arrow_error(exc, source=self.location) from exc

    def batches(
        self,
        columns: Sequence[str] | None = None,
        filter: pc.Expression | None = None,
        batch_rows: int | None = None,
    ) -> Generator[pa.RecordBatch, None, None]:
        """Stream the rows as record batches of at most ``batch_rows`` rows, in file order.

        ``columns`` projects (and orders) the columns; ``filter`` keeps matching rows and skips
        the files whose partition values, and the Parquet row groups whose statistics, rule it
        out. Invalid arguments raise :class:`SourceQueryError` here, before the first batch;
        read failures raise a :class:`SourceError` from the iteration. ``close()`` the generator
        to stop early (a client gone away): its readahead thread then ends promptly.
        """
        plan = self._plan(columns=columns, filter=filter, batch_rows=batch_rows)
        return readahead(self._stream(plan), self._config.batch_readahead)

    def reader(
        self,
        columns: Sequence[str] | None = None,
        filter: pc.Expression | None = None,
        batch_rows: int | None = None,
    ) -> pa.RecordBatchReader:
        """The same stream as :meth:`batches`, as a reader for IPC writers and Arrow Flight."""
        plan = self._plan(columns=columns, filter=filter, batch_rows=batch_rows)
        schema = pa.schema([plan.schema.field(name) for name in plan.output], plan.schema.metadata)
        stream = readahead(self._stream(plan), self._config.batch_readahead)
        return pa.RecordBatchReader.from_batches(schema, stream)

    def describe(self) -> SourceDescription:
        """Files, sizes, dates and format, from the listing made when the source was opened."""
        return SourceDescription(
            location=self.location,
            format=self._address.format,
            media_type=FORMATS[self._address.format].media_type,
            partitioning="hive" if self._partition_columns else "none",
            partition_columns=self._partition_columns,
            files=tuple(
                SourceFile.from_info(self._located.relative(info), info)
                for info in self._located.files
            ),
        )

    def checksum(self, chunk_bytes: int = 4 * 1024 * 1024) -> str:
        """SHA-256 (hex) of the data files' bytes, concatenated in path order.

        Reads every byte once, in bounded chunks; for the catalogue's ``spdx:checksum``.
        """
        digest = hashlib.sha256()
        try:
            for info in self._located.files:
                with self._located.filesystem.open_input_stream(info.path) as stream:
                    while chunk := stream.read(chunk_bytes):
                        digest.update(chunk)
        except ARROW_READ_ERRORS as exc:
            raise translate_arrow_error(exc, source=self.location) from exc
        return digest.hexdigest()

    def validate(self) -> None:
        """Check that every file has the columns and types of the first one.

        Opening reads one file's schema only; this reads them all (Parquet and Arrow footers, the
        first block of each CSV file), which is what registering an asset should do. Raises
        :class:`SourceFormatError` naming the first file and column that differ.
        """
        reference: dict[str, pa.DataType] | None = None
        for fragment in self._dataset.get_fragments():
            try:
                physical = fragment.physical_schema
            except ARROW_READ_ERRORS as exc:
                raise translate_arrow_error(exc, source=self.location) from exc
            types = {field.name: field.type for field in physical}
            if reference is None:
                reference = types
                continue
            problem = _schema_difference(reference, types)
            if problem:
                raise SourceFormatError(
                    f"{self.location}: {self._relative[fragment.path]} differs from the first "
                    f"file: {problem}"
                )

    def _plan(
        self,
        *,
        columns: Sequence[str] | None,
        filter: pc.Expression | None,
        batch_rows: int | None,
    ) -> ScanPlan:
        return plan_scan(
            self.schema,
            self._partition_columns,
            columns=columns,
            filter=filter,
            batch_rows=self._config.batch_rows if batch_rows is None else batch_rows,
            location=self.location,
        )

    def _stream(self, plan: ScanPlan) -> Iterator[pa.RecordBatch]:
        """The batches of ``plan``, Arrow's exceptions translated into :class:`SourceError`."""
        try:
            fragments = list(self._dataset.get_fragments(filter=plan.filter))
        except ARROW_READ_ERRORS as exc:
            raise SourceQueryError(f"{self.location}: invalid filter") from exc
        units = (self._unit(fragment) for fragment in fragments)
        batches = scan(self._address, plan, units)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except ARROW_READ_ERRORS as exc:
                raise translate_arrow_error(exc, source=self.location) from exc
            yield batch

    def _unit(self, fragment: ds.FileFragment) -> ScanUnit:
        relative = self._relative[fragment.path]
        values = hive_values(relative) if self._partition_columns else {}
        return ScanUnit(fragment=fragment, partition_values=values, where=self._where(relative))

    def _where(self, relative: str) -> str:
        if not self._located.is_folder:
            return self.location
        return f"{self.location.rstrip('/')}/{relative}"


def _schema_difference(reference: dict[str, pa.DataType], other: dict[str, pa.DataType]) -> str:
    """The first column that differs (a null-typed column is compatible with any type)."""
    missing = sorted(reference.keys() - other.keys())
    if missing:
        return f"column {missing[0]!r} is missing"
    extra = sorted(other.keys() - reference.keys())
    if extra:
        return f"column {extra[0]!r} is not in the first file"
    for name, expected in reference.items():
        actual = other[name]
        if actual != expected and not (pa.types.is_null(actual) or pa.types.is_null(expected)):
            return f"column {name!r} is {actual}, not {expected}"
    return ""

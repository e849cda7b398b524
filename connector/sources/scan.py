"""A scan: which columns to read for a projection and a filter, and the batches that result.

:func:`plan_scan` validates a request against the source schema before anything is read (unknown
or repeated columns, a filter that names unknown columns, compares incompatible types or is not
boolean, an out-of-range batch size) and works out which columns the filter needs besides the
projection. :func:`scan` then reads file after file, slices raw batches to ``batch_rows`` (zero
copy), adds the partition columns, filters rows and drops the columns only the filter needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from connector.sources.address import LocalFileAddress, S3Address
from connector.sources.config import MAX_BATCH_ROWS
from connector.sources.errors import ARROW_READ_ERRORS, SourceFormatError, SourceQueryError
from connector.sources.partitions import PartitionColumns
from connector.sources.readers import raw_batches


@dataclass(frozen=True)
class ScanPlan:
    """What one scan reads and yields.

    ``needed`` is the projection plus the columns the filter uses, in schema order; ``physical``
    the part of it stored in the files (the rest are partition columns).
    """

    schema: pa.Schema
    output: tuple[str, ...]
    needed: tuple[str, ...]
    physical: tuple[str, ...]
    filter: pc.Expression | None
    batch_rows: int

    @property
    def needed_schema(self) -> pa.Schema:
        """The schema of batches before the filter-only columns are dropped."""
        fields = [self.schema.field(name) for name in self.needed]
        return pa.schema(fields, metadata=self.schema.metadata)


@dataclass(frozen=True)
class ScanUnit:
    """One file to scan: its fragment, its partition values and its name for error messages."""

    fragment: ds.FileFragment
    partition_values: Mapping[str, str | None]
    where: str


def plan_scan(
    schema: pa.Schema,
    partition_columns: Sequence[str],
    *,
    columns: Sequence[str] | None,
    filter: pc.Expression | None,
    batch_rows: int,
    location: str,
) -> ScanPlan:
    """Validate a request; every refusal is a :class:`SourceQueryError` naming the problem."""
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int):
        raise SourceQueryError("batch_rows must be an integer")
    if not 1 <= batch_rows <= MAX_BATCH_ROWS:
        raise SourceQueryError(f"batch_rows must be between 1 and {MAX_BATCH_ROWS}")
    output = _projection(schema, columns, location)
    referenced: set[str] = set()
    if filter is not None:
        referenced = _filter_columns(schema, filter, location)
    wanted = set(output) | referenced
    needed = tuple(name for name in schema.names if name in wanted)
    physical = tuple(name for name in needed if name not in partition_columns)
    return ScanPlan(schema, output, needed, physical, filter, batch_rows)


def _projection(schema: pa.Schema, columns: Sequence[str] | None, location: str) -> tuple[str, ...]:
    if columns is None:
        return tuple(schema.names)
    if isinstance(columns, str) or not all(isinstance(name, str) for name in columns):
        raise SourceQueryError("columns must be a list of column names")
    unknown = [name for name in columns if name not in schema.names]
    if unknown:
        raise SourceQueryError(f"{location}: unknown columns: {', '.join(unknown)}")
    if len(set(columns)) != len(columns):
        raise SourceQueryError(f"{location}: a column is requested twice")
    return tuple(columns)


def _filter_columns(schema: pa.Schema, filter: pc.Expression, location: str) -> set[str]:
    """Check ``filter`` on zero rows, then find the columns it reads.

    A column is referenced exactly when the filter no longer binds without it; binding an
    expression to an empty table costs microseconds and needs no access to its internals.
    """
    if not isinstance(filter, pc.Expression):
        raise SourceQueryError("filter must be a pyarrow.compute.Expression")
    try:
        schema.empty_table().filter(filter)
    except ARROW_READ_ERRORS as exc:
        message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SourceQueryError(
            f"{location}: invalid filter: {message}", log_detail=str(exc)
        ) from exc
    referenced = set()
    for index, name in enumerate(schema.names):
        try:
            schema.remove(index).empty_table().filter(filter)
        except ARROW_READ_ERRORS:
            referenced.add(name)
    return referenced


def scan(
    address: LocalFileAddress | S3Address, plan: ScanPlan, units: Iterable[ScanUnit]
) -> Iterator[pa.RecordBatch]:
    """The batches of ``plan`` over ``units``, in order, none empty, none over ``batch_rows``."""
    partitions = PartitionColumns(plan.batch_rows)
    needed_schema = plan.needed_schema
    for unit in units:
        raws = raw_batches(
            address,
            unit.fragment,
            columns=plan.physical,
            filter=plan.filter,
            schema=plan.schema,
            batch_rows=plan.batch_rows,
            where=unit.where,
        )
        for raw in raws:
            for offset in range(0, raw.num_rows, plan.batch_rows):
                piece = raw.slice(offset, plan.batch_rows)
                batch = _complete(piece, unit, plan, needed_schema, partitions)
                if plan.filter is not None:
                    batch = batch.filter(plan.filter)
                if plan.needed != plan.output:
                    batch = batch.select(list(plan.output))
                if batch.num_rows:
                    yield batch


def _complete(
    piece: pa.RecordBatch,
    unit: ScanUnit,
    plan: ScanPlan,
    needed_schema: pa.Schema,
    partitions: PartitionColumns,
) -> pa.RecordBatch:
    """``piece`` with the partition columns added and every column checked against the schema."""
    rows = piece.num_rows
    if not plan.needed:  # no column at all: keep the row count, which from_arrays would lose
        return piece.select([])
    arrays = []
    for field in needed_schema:
        if field.name not in plan.physical:
            arrays.append(partitions.column(unit.partition_values.get(field.name), rows))
            continue
        array = piece.column(field.name)
        if array.type != field.type:
            if not pa.types.is_null(array.type):
                raise SourceFormatError(
                    f"{unit.where}: column {field.name!r} is {array.type}, not {field.type}"
                )
            array = pa.nulls(rows, field.type)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=needed_schema)

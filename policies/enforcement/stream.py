"""Running a plan over a stream of record batches, and the report of what it did.

Batch by batch: the schema is checked (a batch that does not match the plan's input schema is an
error, never passed through), the row filter applied (a batch kept whole is passed on as it is,
zero-copy; a batch filtered out entirely is dropped), then the columns projected
(``RecordBatch.select``: zero-copy, dictionary columns kept) or the rows handed to the
aggregation, which yields its groups once the input is exhausted. :attr:`EnforcedStream.report`
counts as the stream goes; read it after the last batch for the full audit record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from policies.enforcement.aggregate import AggregationSpec, GroupAggregator, batches_of
from policies.enforcement.arrays import region_mask
from policies.errors import EnforcementError

if TYPE_CHECKING:
    from policies.enforcement.plan import EnforcementPlan


@dataclass(frozen=True, slots=True)
class EnforcementReport:
    """What a plan did to one stream (for audit)."""

    rows_in: int
    rows_out: int
    rows_filtered: int
    columns_removed: tuple[str, ...]
    groups: int | None
    groups_suppressed: int | None
    finished: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "rowsIn": self.rows_in,
            "rowsOut": self.rows_out,
            "rowsFiltered": self.rows_filtered,
            "columnsRemoved": list(self.columns_removed),
            "groups": self.groups,
            "groupsSuppressed": self.groups_suppressed,
            "finished": self.finished,
        }


class EnforcedStream(Iterator[pa.RecordBatch]):
    """The batches a plan lets through; iterate it once."""

    def __init__(self, plan: EnforcementPlan, batches: Iterable[pa.RecordBatch]) -> None:
        self._plan = plan
        self._rows_in = self._rows_out = self._rows_filtered = 0
        self._groups: int | None = None
        self._suppressed: int | None = None
        self._finished = False
        self._output = self._run(iter(batches))

    @property
    def schema(self) -> pa.Schema:
        return self._plan.output_schema

    @property
    def report(self) -> EnforcementReport:
        return EnforcementReport(
            rows_in=self._rows_in,
            rows_out=self._rows_out,
            rows_filtered=self._rows_filtered,
            columns_removed=self._plan.removed_columns,
            groups=self._groups,
            groups_suppressed=self._suppressed,
            finished=self._finished,
        )

    def __iter__(self) -> EnforcedStream:
        return self

    def __next__(self) -> pa.RecordBatch:
        batch = next(self._output)
        self._rows_out += batch.num_rows
        return batch

    def _checked(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not batch.schema.equals(self._plan.input_schema, check_metadata=False):
            raise EnforcementError(
                "a batch does not have the schema the enforcement plan was built for"
            )
        self._rows_in += batch.num_rows
        row_filter = self._plan.row_filter
        if row_filter is None or batch.num_rows == 0:
            return batch
        mask = region_mask(batch.column(row_filter.column), row_filter.regions)
        kept = pc.sum(mask).as_py() or 0
        self._rows_filtered += batch.num_rows - kept
        if kept == batch.num_rows:
            return batch
        return batch.filter(mask) if kept else batch.slice(0, 0)

    def _row_level(self, spec: AggregationSpec, batch: pa.RecordBatch) -> pa.RecordBatch:
        """A row-level threshold: each row is its own group (see the plan)."""
        if spec.count_of is not None:
            metric = pc.if_else(pc.is_valid(batch.column(spec.count_of)), 1, 0)
        else:
            metric = pc.fill_null(batch.column(spec.volume), 0)
        mask = pc.greater_equal(metric, spec.threshold or 0)
        kept = batch if pc.all(mask).as_py() else batch.filter(mask)
        self._groups = (self._groups or 0) + batch.num_rows
        self._suppressed = (self._suppressed or 0) + batch.num_rows - kept.num_rows
        schema = self._plan.output_schema
        columns = [kept.column(key.source) for key in spec.keys]
        columns += [kept.column(column) for column, _ in spec.measures]
        return pa.RecordBatch.from_arrays(columns, names=schema.names).cast(schema)

    def _run(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        plan = self._plan
        spec = plan.aggregation
        aggregator = None
        if spec is not None and not plan.row_level:
            aggregator = GroupAggregator(spec, plan.output_schema)
        elif spec is not None:
            self._groups = self._suppressed = 0
        for raw in batches:
            batch = self._checked(raw)
            if batch.num_rows == 0:
                continue
            if plan.projection is not None:
                yield batch.select(list(plan.projection))
            elif aggregator is not None:
                aggregator.add(batch)
            elif spec is not None:
                output = self._row_level(spec, batch)
                if output.num_rows:
                    yield output
        if aggregator is not None:
            table, self._groups, self._suppressed = aggregator.finish()
            yield from batches_of(table)
        self._finished = True

"""Aggregation with suppression in one bounded pass over a stream of record batches.

Each batch is grouped on its own (``Table.group_by``) into *partial* aggregates: sums, counts,
minima and maxima per group, and for a distinct-count threshold up to ``k = threshold`` distinct
values of the counted column per group. Partials wait in a list and are merged into the state
(``group_by`` again over state and partials) when they hold as many rows as the state (or a
floor of ``merge_rows``), so merging costs amortised O(partial rows) and memory stays within a
small multiple of the number of groups, whatever the number of rows.

Keeping at most ``k`` distinct values per group is exact for the question asked ("does this
group have at least k distinct values?"): if the state holds fewer than ``k`` values it holds all
of them, and the union of two such capped sets, capped again, still has ``min(k, true count)``
values. A merge unions the lists of the groups met in several partials only (the others keep
theirs). At the end, groups under the threshold are suppressed (dropped and counted) and the
measures computed (``mean`` = sum / count of non-null values).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policies.enforcement.arrays import region_prefix
from policies.enforcement.profile import Aggregate

_IDS = "__etds_ids"
_ROW = "__etds_row"
_ALL = "__etds_all"  # the one group key when the data are aggregated to a single group
VOLUME = "__etds_volume"
_ID = "__etds_id"
_ONLY_VALID = pc.CountOptions(mode="only_valid")
OUTPUT_BATCH_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class KeySource:
    """A group key: output column ``name`` from ``source``, cut to ``prefix`` characters when
    it is a coarser region derived from finer codes."""

    name: str
    source: str
    prefix: int | None = None


@dataclass(frozen=True, slots=True)
class AggregationSpec:
    keys: tuple[KeySource, ...]
    measures: tuple[tuple[str, Aggregate], ...]
    count_of: str | None
    volume: str | None
    threshold: int | None


@dataclass(frozen=True, slots=True)
class _Partial:
    """One partial aggregate column: ``name`` = ``first`` of ``source`` per batch, merged with
    ``merge``."""

    name: str
    source: str
    first: str
    merge: str


def _partials(spec: AggregationSpec) -> tuple[_Partial, ...]:
    partials: list[_Partial] = []
    for index, (column, how) in enumerate(spec.measures):
        if how is Aggregate.MEAN:
            partials.append(_Partial(f"__etds_p{index}_sum", column, "sum", "sum"))
            partials.append(_Partial(f"__etds_p{index}_count", column, "count", "sum"))
        else:
            merge = "sum" if how is Aggregate.SUM else how.value
            partials.append(_Partial(f"__etds_p{index}", column, how.value, merge))
    if spec.volume is not None and spec.threshold is not None:
        summed = [p.name for p in partials if p.source == spec.volume and p.first == "sum"]
        if not summed:
            partials.append(_Partial(VOLUME, spec.volume, "sum", "sum"))
    return tuple(partials)


def _volume_partial(spec: AggregationSpec, partials: tuple[_Partial, ...]) -> str | None:
    """The partial column holding the volume sum (shared with a summed measure of it)."""
    if spec.volume is None or spec.threshold is None:
        return None
    return next(p.name for p in partials if p.source == spec.volume and p.first == "sum")


class GroupAggregator:
    """Feeds batches, then :meth:`finish` gives the groups over the threshold as a table of
    ``schema`` (the plan's output schema: the keys, then the measures)."""

    def __init__(
        self, spec: AggregationSpec, schema: pa.Schema, *, merge_rows: int = 1_000_000
    ) -> None:
        self._spec = spec
        self._schema = schema
        self._partials = _partials(spec)
        self._volume = _volume_partial(spec, self._partials)
        self._keys = [key.name for key in spec.keys] or [_ALL]
        self._distinct = spec.count_of is not None and spec.threshold is not None
        self._cap = spec.threshold or 0
        self._merge_rows = merge_rows
        self._state: pa.Table | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def _prepare(self, batch: pa.RecordBatch) -> pa.Table:
        columns: dict[str, pa.Array] = {}
        if not self._spec.keys:
            columns[_ALL] = pa.nulls(batch.num_rows, pa.int8())
        for key in self._spec.keys:
            source = batch.column(key.source)
            columns[key.name] = source if key.prefix is None else region_prefix(source, key.prefix)
        for source in dict.fromkeys(partial.source for partial in self._partials):
            # hash_sum widens integers to 64 bits and floats to double by itself
            columns[f"__etds_v:{source}"] = batch.column(source)
        if self._distinct and self._spec.count_of is not None:
            columns[_ID] = batch.column(self._spec.count_of)
        return pa.table(columns)

    def _cap_ids(self, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        capped = pc.list_slice(ids, 0, self._cap)
        value_type = capped.type.value_type
        if pa.types.is_dictionary(value_type):
            capped = capped.cast(pa.list_(value_type.value_type))
        return capped

    def _group(self, table: pa.Table, *, first: bool) -> pa.Table:
        aggregations: list[tuple[str, str] | tuple[str, str, pc.FunctionOptions]] = []
        names: list[str] = []
        for partial in self._partials:
            column = f"__etds_v:{partial.source}" if first else partial.name
            how = partial.first if first else partial.merge
            aggregations.append((column, how))
            names.append(f"{column}_{how}")
        if self._distinct and first:
            aggregations.append((_ID, "distinct", _ONLY_VALID))
        grouped = table.group_by(self._keys, use_threads=False).aggregate(aggregations)
        columns = {key: grouped.column(key) for key in self._keys}
        for partial, name in zip(self._partials, names, strict=True):
            columns[partial.name] = grouped.column(name)
        if self._distinct and first:
            columns[_IDS] = self._cap_ids(grouped.column(f"{_ID}_distinct"))
        return pa.table(columns)

    @property
    def held_rows(self) -> int:
        """Rows held now (merged state and pending partials): bounded by the number of groups."""
        state = 0 if self._state is None else self._state.num_rows
        return state + self._pending_rows

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        partial = self._group(self._prepare(batch), first=True)
        self._pending.append(partial)
        self._pending_rows += partial.num_rows
        state_rows = 0 if self._state is None else self._state.num_rows
        if self._pending_rows >= max(state_rows, self._merge_rows):
            self._merge()

    def _union_ids(self, ids: pa.Array, members: pa.ListArray) -> pa.Array:
        """Per merged group, the capped distinct union of its members' capped id lists.

        A group met in one partial only keeps that partial's list (already distinct and
        capped); only groups met in several partials are unioned, through a small grouping of
        (group, id) pairs.
        """
        merged = ids.take(pc.list_element(members, 0))
        several = pc.greater(pc.list_value_length(members), 1)
        if not pc.any(several).as_py():
            return merged
        positions = pc.indices_nonzero(several)
        groups = members.filter(several)
        member_ids = ids.take(groups.flatten())
        owner = pc.list_parent_indices(groups).take(pc.list_parent_indices(member_ids))
        pairs = pa.table({"group": owner, _ID: member_ids.flatten()})
        union = pairs.group_by("group", use_threads=False).aggregate(
            [(_ID, "distinct", _ONLY_VALID)]
        )
        replaced = positions.take(union.column("group")).to_numpy()
        select = np.arange(len(merged), dtype=np.int64)
        select[replaced] = len(merged) + np.arange(len(replaced), dtype=np.int64)
        capped = self._cap_ids(union.column(f"{_ID}_distinct"))
        return pa.concat_arrays([merged, capped]).take(pa.array(select))

    def _merge(self) -> None:
        tables = ([self._state] if self._state is not None else []) + self._pending
        self._pending, self._pending_rows = [], 0
        if not tables:
            return
        combined = pa.concat_tables(tables).combine_chunks()
        if not self._distinct:
            self._state = self._group(combined, first=False)
            return
        ids = combined.column(_IDS).combine_chunks()
        rows = pa.array(np.arange(combined.num_rows, dtype=np.int64))
        table = combined.drop_columns([_IDS]).append_column(_ROW, rows)
        aggregations = [(partial.name, partial.merge) for partial in self._partials]
        grouped = table.group_by(self._keys, use_threads=False).aggregate(
            [*aggregations, (_ROW, "list")]
        )
        columns = {key: grouped.column(key) for key in self._keys}
        for partial in self._partials:
            columns[partial.name] = grouped.column(f"{partial.name}_{partial.merge}")
        members = grouped.column(f"{_ROW}_list").combine_chunks()
        columns[_IDS] = self._union_ids(ids, members)
        self._state = pa.table(columns)

    def finish(self) -> tuple[pa.Table, int, int]:
        """(groups at or over the threshold, number of groups, number suppressed)."""
        self._merge()
        state = self._state
        if state is None:
            return self._schema.empty_table(), 0, 0
        total = state.num_rows
        threshold = self._spec.threshold
        if threshold is not None:
            if self._distinct:
                metric = pc.list_value_length(state.column(_IDS))
            elif self._volume is not None:
                metric = pc.fill_null(state.column(self._volume), 0)
            else:
                raise ValueError("a threshold needs count_of or volume")
            state = state.filter(pc.greater_equal(metric, threshold))
        return self._result(state), total, total - state.num_rows

    def _result(self, state: pa.Table) -> pa.Table:
        columns = {key: state.column(key) for key in self._keys}
        for index, (column, how) in enumerate(self._spec.measures):
            if how is Aggregate.MEAN:
                total = pc.cast(state.column(f"__etds_p{index}_sum"), pa.float64())
                count = pc.cast(state.column(f"__etds_p{index}_count"), pa.float64())
                columns[column] = pc.if_else(
                    pc.equal(count, 0), pa.scalar(None, pa.float64()), pc.divide(total, count)
                )
            else:
                columns[column] = state.column(f"__etds_p{index}")
        return pa.table(columns).select(self._schema.names).cast(self._schema)


def batches_of(table: pa.Table) -> Iterator[pa.RecordBatch]:
    """A table as record batches of at most :data:`OUTPUT_BATCH_ROWS` rows."""
    yield from table.to_batches(max_chunksize=OUTPUT_BATCH_ROWS)

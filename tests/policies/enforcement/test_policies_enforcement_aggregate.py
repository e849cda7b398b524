"""The bounded aggregation on generated tables, against a naive reference: any batch split and
any merge schedule give the same groups, measures and suppressions."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.enforcement import Aggregate, AggregationSpec, GroupAggregator, KeySource
from policies.enforcement.arrays import region_mask, region_prefix

MEASURES = (("a", Aggregate.SUM), ("b", Aggregate.MIN), ("c", Aggregate.MAX), ("d", Aggregate.MEAN))
CODES = ["FRJ13", "FRJ15", "FRK24", "FRK21", "DE111", None]


@st.composite
def tables(draw: st.DrawFn) -> tuple[pa.Table, bool]:
    size = draw(st.integers(0, 120))
    rows = st.fixed_dictionaries(
        {
            "region": st.sampled_from(CODES[:-1]),
            "kind": st.sampled_from(["x", "y", None]),
            "id": st.sampled_from(["p", "q", "r", "s", "t", None]),
            "a": st.integers(-5, 50),
            "b": st.one_of(st.none(), st.integers(-5, 5)),
            "c": st.floats(-10, 10, allow_nan=False),
            "d": st.one_of(st.none(), st.integers(0, 9)),
        }
    )
    data = draw(st.lists(rows, min_size=size, max_size=size))
    dictionary = draw(st.booleans())
    schema = pa.schema(
        [
            ("region", pa.dictionary(pa.int16(), pa.string()) if dictionary else pa.string()),
            ("kind", pa.string()),
            ("id", pa.dictionary(pa.int8(), pa.string()) if dictionary else pa.string()),
            ("a", pa.int32()),
            ("b", pa.int16()),
            ("c", pa.float32()),
            ("d", pa.int64()),
        ]
    )
    return pa.Table.from_pylist(data, schema=schema), dictionary


def _output_schema(spec: AggregationSpec, source: pa.Schema) -> pa.Schema:
    fields = []
    for key in spec.keys:
        kind = source.field(key.source).type
        if key.prefix is not None and not pa.types.is_dictionary(kind):
            kind = pa.string()
        fields.append(pa.field(key.name, kind))
    for column, how in spec.measures:
        kind = source.field(column).type
        if how is Aggregate.SUM:
            kind = pa.int64() if pa.types.is_integer(kind) else pa.float64()
        elif how is Aggregate.MEAN:
            kind = pa.float64()
        fields.append(pa.field(column, kind))
    return pa.schema(fields)


def _reference(rows: list[dict[str, Any]], spec: AggregationSpec) -> tuple[Counter[Any], int, int]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = tuple(
            row[k.source]
            if k.prefix is None or row[k.source] is None
            else row[k.source][: k.prefix]
            for k in spec.keys
        )
        groups[key].append(row)
    kept: Counter[Any] = Counter()
    for key, members in groups.items():
        if spec.threshold is not None:
            if spec.count_of is not None:
                metric = len({m[spec.count_of] for m in members if m[spec.count_of] is not None})
            else:
                metric = sum(m[spec.volume] or 0 for m in members)  # type: ignore[index]
            if metric < spec.threshold:
                continue
        values = []
        for column, how in spec.measures:
            present = [m[column] for m in members if m[column] is not None]
            if not present:
                values.append(None)
            elif how is Aggregate.SUM:
                values.append(round(sum(present), 4))
            elif how is Aggregate.MIN:
                values.append(round(min(present), 4))
            elif how is Aggregate.MAX:
                values.append(round(max(present), 4))
            else:
                values.append(round(sum(present) / len(present), 4))
        kept[(*key, *values)] += 1
    return kept, len(groups), len(groups) - sum(kept.values())


def _rounded(table: pa.Table) -> Counter[Any]:
    return Counter(
        tuple(round(v, 4) if isinstance(v, float) else v for v in row.values())
        for row in table.to_pylist()
    )


@settings(max_examples=150, deadline=None)
@given(
    drawn=tables(),
    threshold=st.one_of(st.none(), st.integers(1, 4)),
    by=st.sampled_from(["count_of", "volume"]),
    prefix=st.sampled_from([None, 2, 3, 4]),
    batch_rows=st.integers(1, 40),
    merge_rows=st.sampled_from([1, 7, 1_000_000]),
    grouping=st.sampled_from(["region and kind", "kind", "one group"]),
)
def test_aggregation_matches_the_reference(  # noqa: PLR0917 (hypothesis draws)
    drawn: tuple[pa.Table, bool],
    threshold: int | None,
    by: str,
    prefix: int | None,
    batch_rows: int,
    merge_rows: int,
    grouping: str,
) -> None:
    table, _ = drawn
    keys = {
        "region and kind": (KeySource("geo", "region", prefix), KeySource("kind", "kind")),
        "kind": (KeySource("kind", "kind"),),
        "one group": (),
    }[grouping]
    spec = AggregationSpec(
        keys=keys,
        measures=MEASURES,
        count_of="id" if by == "count_of" else None,
        volume="a" if by == "volume" else None,
        threshold=threshold,
    )
    schema = _output_schema(spec, table.schema)
    aggregator = GroupAggregator(spec, schema, merge_rows=merge_rows)
    held = []
    for batch in table.to_batches(max_chunksize=batch_rows):
        aggregator.add(batch)
        held.append(aggregator.held_rows)
    result, groups, suppressed = aggregator.finish()
    expected, expected_groups, expected_suppressed = _reference(table.to_pylist(), spec)
    assert result.schema.equals(schema)
    assert _rounded(result) == expected
    assert (groups, suppressed) == (expected_groups, expected_suppressed)
    # memory: merged state plus pending partials, never more than about twice the groups
    assert max(held, default=0) <= 2 * max(groups, merge_rows) + batch_rows


def test_capped_distinct_values_stay_exact_across_merges() -> None:
    # one group, 5 distinct ids spread so that every batch brings one new and repeats others
    ids = ["p", "q", "p", "r", "q", "s", "p", "t"]
    table = pa.table({"k": ["x"] * len(ids), "id": ids, "v": [1] * len(ids)})
    for threshold, kept in ((5, 1), (6, 0)):
        spec = AggregationSpec(
            (KeySource("k", "k"),), (("v", Aggregate.SUM),), "id", None, threshold
        )
        schema = pa.schema([("k", pa.string()), ("v", pa.int64())])
        aggregator = GroupAggregator(spec, schema, merge_rows=1)
        for batch in table.to_batches(max_chunksize=2):
            aggregator.add(batch)
        result, groups, suppressed = aggregator.finish()
        assert (result.num_rows, groups, suppressed) == (kept, 1, 1 - kept)


def test_no_input_gives_an_empty_table_of_the_output_schema() -> None:
    spec = AggregationSpec((KeySource("k", "k"),), (("v", Aggregate.MEAN),), None, "v", 3)
    schema = pa.schema([("k", pa.string()), ("v", pa.float64())])
    result, groups, suppressed = GroupAggregator(spec, schema).finish()
    assert result.schema.equals(schema)
    assert result.num_rows == 0
    assert (groups, suppressed) == (0, 0)


@pytest.mark.parametrize("dictionary", [True, False])
def test_region_arrays(dictionary: bool) -> None:
    codes = pa.array(CODES)
    column = codes.dictionary_encode() if dictionary else codes
    mask = region_mask(column, (("FRJ", "DE1"), ("FRJ1", "DE")))
    assert mask.to_pylist() == [True, True, False, False, True, False]
    assert region_mask(column, ()).to_pylist() == [c is not None for c in CODES]
    cut = region_prefix(column, 4)
    assert cut.to_pylist() == ["FRJ1", "FRJ1", "FRK2", "FRK2", "DE11", None]
    if dictionary:
        assert pa.types.is_dictionary(cut.type)
        assert sorted(cut.dictionary.to_pylist()) == ["DE11", "FRJ1", "FRK2"]

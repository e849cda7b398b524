"""Enforcement plans on the sample data, against a naive reference computed with Python dicts
over ``to_pylist()``: same rows, same aggregates, same suppressed groups."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from catalog.contexts import dsp_processor
from etds_examples.barometer import generate_barometer, open_barometer
from etds_examples.presence import generate_presence
from policies import (
    DPV,
    ETDS,
    NUTS,
    ODRL,
    AgreementFacts,
    Constraint,
    EvaluationContext,
    Iri,
    Literal,
    Permission,
    Policy,
    PolicyKind,
    Scope,
    parse_policy,
)
from policies.enforcement import DatasetProfile, EnforcementPlan, build_plan
from policies.errors import EnforcementDenied, EnforcementError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
REGIONAL = {"sub": "did:web:occitanie.example", "membership": "active",
            "org_type": "regional_agency", "country": "FR", "nuts": ["FRJ"]}  # fmt: skip
BAROMETER_MEASURES = ("units_booked", "bookings", "person_nights")


def _example(name: str) -> Policy:
    document = json.loads((EXAMPLES / name).read_text())
    return parse_policy(document["policy"], processor=dsp_processor(), context=document["@context"])


def _profile(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / "dataset-profiles" / f"{name}.json").read_text())  # type: ignore[no-any-return]


def _context(claims: dict[str, Any] = REGIONAL) -> EvaluationContext:
    return EvaluationContext(
        Scope.DATAPLANE,
        claims,
        NOW,
        purpose=DPV + "ProvideOfficialStatistics",
        agreement=AgreementFacts("urn:agreement", NOW - timedelta(days=10)),
        transfer_count=1,
    )


@pytest.fixture(scope="module")
def barometer(tmp_path_factory: pytest.TempPathFactory) -> ds.Dataset:
    out = tmp_path_factory.mktemp("policies-barometer") / "data"
    generate_barometer(out, seed=3, rows=30_000, campsites=300, row_group_rows=4_000)
    return open_barometer(out)


@pytest.fixture(scope="module")
def presence(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """The first 40,000 rows of a day of presence (a whole day is ~180,000)."""
    out = tmp_path_factory.mktemp("policies-presence") / "data"
    generate_presence(out, seed=5, days=1)
    return ds.dataset(out, format="parquet").head(40_000)


Data = ds.Dataset | pa.Table


def _batches(data: Data, size: int = 5_000) -> Iterator[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        return iter(data.to_batches(max_chunksize=size))
    return data.to_batches(batch_size=size)


def _run(plan: EnforcementPlan, dataset: Data) -> tuple[list[dict[str, Any]], Any]:
    stream = plan.apply(_batches(dataset))
    batches = list(stream)
    for batch in batches:
        assert batch.schema.equals(plan.output_schema)
    table = pa.Table.from_batches(batches, schema=plan.output_schema)
    return table.to_pylist(), stream.report


def _rows_key(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Rows as a multiset (the order of groups is unspecified)."""
    return Counter(tuple(row[name] for name in sorted(row)) for row in rows)


def _reference_groups(
    rows: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], tuple[Any, ...]],
    key_names: tuple[str, ...],
    *,
    measures: tuple[str, ...],
    threshold: int,
    count_of: str | None = None,
    volume: str | None = None,
) -> tuple[list[dict[str, Any]], int, int]:
    sums: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen: dict[tuple[Any, ...], set[Any]] = defaultdict(set)
    volumes: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in rows:
        group = key(row)
        for measure in measures:
            if row[measure] is not None:
                sums[group][measure] += row[measure]
            else:
                sums[group].setdefault(measure, 0)
        if count_of is not None and row[count_of] is not None:
            seen[group].add(row[count_of])
        if volume is not None:
            volumes[group] += row[volume] or 0
    kept = []
    for group, values in sums.items():
        metric = len(seen[group]) if count_of is not None else volumes[group]
        if metric >= threshold:
            kept.append({**dict(zip(key_names, group, strict=True)), **values})
    return kept, len(sums), len(sums) - len(kept)


def test_barometer_contract_for_a_regional_agency(barometer: ds.Dataset) -> None:
    plan = build_plan(
        _example("barometer-contract.json"),
        _context(),
        schema=barometer.schema,
        profile=_profile("barometer"),
    )
    assert plan.row_filter is not None
    assert plan.row_filter.regions == (("FRJ",),)
    assert plan.aggregation is not None
    assert not plan.row_level
    rows, report = _run(plan, barometer)

    source = barometer.to_table().to_pylist()
    own = [row for row in source if row["nuts3"].startswith("FRJ")]
    names = ("nuts3", "departement_code", "snapshot_date", "stay_date", "accommodation_type",
             "customer_country")  # fmt: skip
    expected, groups, suppressed = _reference_groups(
        own,
        lambda row: tuple(row[name] for name in names),
        names,
        measures=BAROMETER_MEASURES,
        threshold=3,
        count_of="campsite_pid",
    )
    assert _rows_key(rows) == _rows_key(expected)
    assert 0 < suppressed < groups
    assert report.groups == groups
    assert report.groups_suppressed == suppressed
    assert report.rows_in == len(source)
    assert report.rows_filtered == len(source) - len(own)
    assert report.rows_out == len(rows)
    assert report.finished
    assert "campsite_pid" in report.columns_removed
    assert pa.types.is_dictionary(plan.output_schema.field("nuts3").type)
    described = json.loads(json.dumps(plan.describe()))
    assert described["aggregation"]["threshold"] == 3
    assert described["rowFilter"] == {"column": "nuts3", "regions": [["FRJ"]]}
    assert json.loads(json.dumps(report.to_dict()))["groupsSuppressed"] == suppressed


def _policy(*constraints: Constraint) -> Policy:
    return Policy(PolicyKind.SET, permissions=(Permission(ODRL + "use", constraints),))


def _c(operand: str, op: str, *values: Literal | Iri) -> Constraint:
    return Constraint(operand, ODRL + op, values)


def test_barometer_at_region_level_derives_nuts2(barometer: ds.Dataset) -> None:
    policy = _policy(
        _c(ETDS + "spatialGranularity", "eq", Literal("region")),
        _c(ETDS + "aggregationThreshold", "gt", Literal(4)),
        _c(ETDS + "rowRegion", "isPartOf", Iri(NUTS + "FRJ"), Iri(NUTS + "FRK")),
    )
    plan = build_plan(policy, _context(), schema=barometer.schema, profile=_profile("barometer"))
    assert plan.output_schema.names[0] == "nuts2"
    assert "departement_code" in plan.removed_columns
    assert "nuts3" in plan.removed_columns
    rows, report = _run(plan, barometer)
    source = [r for r in barometer.to_table().to_pylist() if r["nuts3"][:3] in ("FRJ", "FRK")]
    names = ("nuts2", "snapshot_date", "stay_date", "accommodation_type", "customer_country")
    expected, groups, suppressed = _reference_groups(
        source,
        lambda row: (row["nuts3"][:4], *(row[n] for n in names[1:])),
        names,
        measures=BAROMETER_MEASURES,
        threshold=5,
        count_of="campsite_pid",
    )
    assert _rows_key(rows) == _rows_key(expected)
    assert (report.groups, report.groups_suppressed) == (groups, suppressed)


def test_projection_and_filter_stream_zero_copy(barometer: ds.Dataset) -> None:
    allowed = ("nuts3", "stay_date", "bookings")
    policy = _policy(
        _c(ETDS + "allowedColumns", "eq", *(Literal(c) for c in allowed)),
        _c(ETDS + "rowRegion", "isPartOf", Iri(ETDS + "regionOfCompetence")),
    )
    national = {**REGIONAL, "nuts": ["FR"]}
    plan = build_plan(
        policy, _context(national), schema=barometer.schema, profile=_profile("barometer")
    )
    assert plan.projection == allowed
    assert plan.aggregation is None
    inputs = list(_batches(barometer))
    outputs = list(plan.apply(iter(inputs)))
    assert len(outputs) == len(inputs)
    for source, output in zip(inputs, outputs, strict=True):
        assert output.schema.names == list(allowed)
        # every row is French: the batch is passed through, its buffers shared
        assert output.column(0).buffers()[1].address == source.column("nuts3").buffers()[1].address
        assert pa.types.is_dictionary(output.schema.field("nuts3").type)

    regional = build_plan(
        policy, _context(), schema=barometer.schema, profile=_profile("barometer")
    )
    rows, report = _run(regional, barometer)
    expected = [
        {name: row[name] for name in allowed}
        for row in barometer.to_table().to_pylist()
        if row["nuts3"].startswith("FRJ")
    ]
    assert _rows_key(rows) == _rows_key(expected)
    assert report.groups is None
    assert report.rows_out == len(expected)


def test_presence_contract_applies_the_threshold_row_by_row(presence: pa.Table) -> None:
    plan = build_plan(
        _example("presence-contract.json"),
        _context({"sub": "did:web:x.example", "membership": "active"}),
        schema=presence.schema,
        profile=_profile("presence"),
    )
    assert plan.row_level
    rows, report = _run(plan, presence)
    source = presence.to_pylist()
    kept = [row for row in source if (row["volume"] or 0) >= 20]
    assert _rows_key(rows) == _rows_key(kept)
    assert report.groups == len(source)
    assert report.groups_suppressed == len(source) - len(kept)
    assert report.columns_removed == ()


def test_presence_by_region_sums_volumes(presence: pa.Table) -> None:
    policy = _policy(
        _c(ETDS + "aggregationThreshold", "gteq", Literal(20)),
        _c(ETDS + "spatialGranularity", "gteq", Literal("departement")),
        _c(ETDS + "spatialGranularity", "gt", Literal("departement")),
        _c(ETDS + "allowedColumns", "eq", *(Literal(c) for c in
           ("zone_nuts3", "date", "visitor_category", "volume"))),
    )  # fmt: skip
    plan = build_plan(policy, _context(), schema=presence.schema, profile=_profile("presence"))
    assert plan.output_schema.names == ["nuts2", "date", "visitor_category", "volume"]
    rows, report = _run(plan, presence)
    names = ("nuts2", "date", "visitor_category")
    expected, groups, suppressed = _reference_groups(
        presence.to_pylist(),
        lambda row: (row["zone_nuts3"][:4], row["date"], row["visitor_category"]),
        names,
        measures=("volume",),
        threshold=20,
        volume="volume",
    )
    assert _rows_key(rows) == _rows_key(expected)
    assert (report.groups, report.groups_suppressed) == (groups, suppressed)


@pytest.mark.parametrize(
    ("constraints", "claims", "message"),
    [
        ((_c(ETDS + "allowedColumns", "eq", Literal("secret")),), REGIONAL, "not in the dataset"),
        (
            (
                _c(ETDS + "aggregationThreshold", "eq", Literal(3)),
                _c(ETDS + "aggregationThreshold", "gteq", Literal(5)),
            ),
            REGIONAL,
            "no value satisfies",
        ),
        (
            (
                _c(ETDS + "spatialGranularity", "eq", Literal("region")),
                _c(ETDS + "spatialGranularity", "eq", Literal("country")),
            ),
            REGIONAL,
            "contradicts",
        ),
        ((_c(ETDS + "spatialGranularity", "gt", Literal("country")),), REGIONAL, "coarser"),
    ],
)
def test_plans_that_cannot_be_built_fail_closed(
    barometer: ds.Dataset, constraints: tuple[Constraint, ...], claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(EnforcementError, match=message):
        build_plan(_policy(*constraints), _context(claims), schema=barometer.schema,
                   profile=_profile("barometer"))  # fmt: skip


def test_profiles_that_cannot_serve_the_policy(barometer: ds.Dataset) -> None:
    threshold = _policy(_c(ETDS + "aggregationThreshold", "gteq", Literal(3)))
    no_count = {key: value for key, value in _profile("barometer").items() if key != "count_of"}
    with pytest.raises(EnforcementError, match="neither count_of nor volume"):
        build_plan(threshold, _context(), schema=barometer.schema, profile=no_count)
    regions = _policy(_c(ETDS + "rowRegion", "isPartOf", Iri(NUTS + "FRJ")))
    with pytest.raises(EnforcementError, match="no region column"):
        build_plan(regions, _context(), schema=barometer.schema, profile={"dimensions": []})
    with pytest.raises(EnforcementError, match="no column 'campsite'"):
        build_plan(threshold, _context(), schema=barometer.schema,
                   profile={**_profile("barometer"), "count_of": "campsite"})  # fmt: skip


def test_a_denied_request_gets_no_plan(barometer: ds.Dataset) -> None:
    company = {**REGIONAL, "org_type": "company"}
    with pytest.raises(EnforcementDenied) as raised:
        build_plan(_example("barometer-contract.json"), _context(company),
                   schema=barometer.schema, profile=_profile("barometer"))  # fmt: skip
    assert not raised.value.decision.allowed
    assert "organisationType" in str(raised.value)


def test_batches_of_another_schema_are_refused(barometer: ds.Dataset) -> None:
    plan = build_plan(_policy(), _context(), schema=barometer.schema,
                      profile=DatasetProfile.from_mapping(_profile("barometer")))  # fmt: skip
    other = pa.record_batch({"nuts3": ["FRJ13"]})
    with pytest.raises(EnforcementError, match="schema"):
        list(plan.apply([other]))

"""Enforcement plans: what a consumer may receive of a dataset, derived from the agreement.

:func:`build_plan` evaluates the agreement policy for the request (data-plane scope, usually),
refuses with :class:`~policies.errors.EnforcementDenied` when it denies, takes the data-shaping
terms of the permission that granted it (:mod:`policies.enforcement.terms`) and fits them to the
dataset (its Arrow schema and :class:`~policies.enforcement.profile.DatasetProfile`):

- *row filter*: rows whose finest region code lies within the allowed regions (the requester's
  region of competence, or regions named in the policy);
- then either *projection* (the allowed columns; streaming, zero-copy) when nothing needs
  aggregating, or *aggregation* when the policy sets a threshold or a granularity coarser than
  the data's: group keys are the region at the allowed level (derived from finer codes when the
  dataset has no column at that level), coarser region columns, the département column at
  département level, and the profile's dimensions, all as far as allowed; values are the
  profile's measures; groups under the threshold are suppressed. When the group keys include
  the profile's row key and no coarser geography is needed, every row is its own group: the
  threshold is then applied row by row, streaming.

A plan that cannot be built fails closed with :class:`~policies.errors.EnforcementError`
(unknown column, a term the dataset profile cannot serve, conflicting terms). Plans are
immutable; :meth:`EnforcementPlan.apply` runs one over a stream of batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from policies.context import EvaluationContext
from policies.enforcement.aggregate import AggregationSpec, KeySource
from policies.enforcement.profile import Aggregate, DatasetProfile
from policies.enforcement.stream import EnforcedStream
from policies.enforcement.terms import EnforcementTerms, collect_terms
from policies.errors import EnforcementDenied, EnforcementError
from policies.evaluation import Evaluator
from policies.model import Policy
from policies.nuts import Granularity

_DERIVED_NAMES = {
    Granularity.COUNTRY: "country",
    Granularity.NUTS1: "nuts1",
    Granularity.REGION: "nuts2",
    Granularity.DEPARTEMENT: "nuts3",
}


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Rows whose code in ``column`` lies within one region of every group of ``regions``."""

    column: str
    regions: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class EnforcementPlan:
    """A plan over batches of ``input_schema`` producing batches of ``output_schema``.

    Exactly one of ``projection`` (streaming), ``aggregation`` (one bounded pass) applies;
    ``row_level`` marks an aggregation whose groups are single rows (streaming too).
    """

    input_schema: pa.Schema
    output_schema: pa.Schema
    terms: EnforcementTerms
    row_filter: RowFilter | None
    projection: tuple[str, ...] | None
    aggregation: AggregationSpec | None
    row_level: bool
    removed_columns: tuple[str, ...]
    granted_by: str | None = None

    def apply(self, batches: Iterable[pa.RecordBatch]) -> EnforcedStream:
        """The enforced stream of ``batches`` (an iterator; its ``report`` says what it did)."""
        return EnforcedStream(self, batches)

    def describe(self) -> dict[str, Any]:
        """The plan for audit logs and explanations (JSON-serialisable)."""
        aggregation = self.aggregation
        return {
            "grantedBy": self.granted_by,
            "rowFilter": None
            if self.row_filter is None
            else {
                "column": self.row_filter.column,
                "regions": [list(g) for g in self.row_filter.regions],
            },
            "columns": list(self.output_schema.names),
            "removedColumns": list(self.removed_columns),
            "aggregation": None
            if aggregation is None
            else {
                "keys": [key.name for key in aggregation.keys],
                "measures": {column: how.value for column, how in aggregation.measures},
                "threshold": aggregation.threshold,
                "countOf": aggregation.count_of,
                "volume": aggregation.volume,
                "rowLevel": self.row_level,
            },
            "granularity": None if self.terms.granularity is None else self.terms.granularity.label,
        }


def _measure_type(data_type: pa.DataType, how: Aggregate) -> pa.DataType:
    if how is Aggregate.MEAN:
        return pa.float64()
    if how is Aggregate.SUM:
        return pa.int64() if pa.types.is_integer(data_type) else pa.float64()
    return data_type


def _key_type(schema: pa.Schema, key: KeySource) -> pa.DataType:
    source = schema.field(key.source).type
    if key.prefix is None or pa.types.is_dictionary(source):
        return source
    return pa.string()


def _aggregation(
    terms: EnforcementTerms,
    schema: pa.Schema,
    profile: DatasetProfile,
    allowed: set[str],
    level: Granularity | None,
) -> AggregationSpec:
    keys: list[KeySource] = []
    finest = profile.finest_region
    if level is not None and finest is not None:
        keys.extend(
            KeySource(column, column)
            for region_level, column in sorted(profile.regions.items())
            if region_level <= level and column in allowed
        )
        if level not in profile.regions and finest[1] in allowed:
            name = _DERIVED_NAMES[level]
            if name in schema.names:
                raise EnforcementError(
                    f"the dataset has a column {name!r} the profile does not declare as the "
                    f"level-{int(level)} region: cannot derive that level under its name"
                )
            keys.append(KeySource(name, finest[1], 2 + int(level)))
        if profile.departement in allowed and level is Granularity.DEPARTEMENT:
            keys.append(KeySource(profile.departement, profile.departement))
    keys.extend(KeySource(column, column) for column in profile.dimensions if column in allowed)
    if terms.threshold is not None and profile.count_of is None and profile.volume is None:
        raise EnforcementError(
            "the policy sets an aggregation threshold but the dataset profile names neither "
            "count_of nor volume"
        )
    return AggregationSpec(
        keys=tuple(keys),
        measures=tuple((c, how) for c, how in profile.measures.items() if c in allowed),
        count_of=profile.count_of,
        volume=profile.volume,
        threshold=terms.threshold,
    )


def plan_from_terms(
    terms: EnforcementTerms,
    *,
    schema: pa.Schema,
    profile: DatasetProfile,
    granted_by: str | None = None,
) -> EnforcementPlan:
    """The plan that applies ``terms`` to a dataset of ``schema`` described by ``profile``."""
    profile.check(schema)
    if terms.columns is not None:
        unknown = [column for column in terms.columns if column not in schema.names]
        if unknown:
            raise EnforcementError(f"allowed columns not in the dataset: {unknown}")
    allowed = set(schema.names if terms.columns is None else terms.columns)
    finest = profile.finest_region
    if finest is None and (terms.row_regions or terms.granularity is not None):
        raise EnforcementError(
            "the policy restricts regions or spatial granularity, and the dataset profile "
            "names no region column"
        )
    row_filter = RowFilter(finest[1], terms.row_regions) if terms.row_regions and finest else None
    native = finest[0] if finest is not None else None
    coarsen = terms.granularity is not None and native is not None and terms.granularity < native
    if terms.threshold is None and not coarsen:
        projection = tuple(name for name in schema.names if name in allowed)
        removed = tuple(name for name in schema.names if name not in allowed)
        return EnforcementPlan(
            schema, pa.schema([schema.field(n) for n in projection]), terms, row_filter,
            projection, None, False, removed, granted_by,
        )  # fmt: skip
    level = terms.granularity if coarsen else native
    spec = _aggregation(terms, schema, profile, allowed, level)
    fields = [pa.field(key.name, _key_type(schema, key)) for key in spec.keys]
    fields += [
        pa.field(column, _measure_type(schema.field(column).type, how))
        for column, how in spec.measures
    ]
    output = pa.schema(fields)
    if any(name.startswith("__etds_") for name in output.names):
        raise EnforcementError("column names starting with '__etds_' are reserved")
    sources = {key.source for key in spec.keys if key.prefix is None}
    row_level = not coarsen and bool(profile.key) and set(profile.key) <= sources
    kept = sources | {column for column, _ in spec.measures}
    removed = tuple(name for name in schema.names if name not in kept)
    return EnforcementPlan(
        schema, output, terms, row_filter, None, spec, row_level, removed, granted_by
    )


def build_plan(
    policy: Policy,
    context: EvaluationContext,
    *,
    schema: pa.Schema,
    profile: DatasetProfile | Mapping[str, Any],
    evaluator: Evaluator | None = None,
) -> EnforcementPlan:
    """Evaluate ``policy`` for ``context`` and derive the plan for the permission that grants.

    Raises EnforcementDenied when the policy denies, EnforcementError when no plan fits.
    """
    checker = evaluator if evaluator is not None else Evaluator()
    decision = checker.evaluate(policy, context)
    if not decision.allowed or decision.granted_by is None:
        raise EnforcementDenied(decision)
    index = int(decision.granted_by.removeprefix("permission[").removesuffix("]"))
    terms = collect_terms(
        policy.permissions[index], decision.granted_by, context.claims, checker.taxonomy
    )
    described = (
        profile if isinstance(profile, DatasetProfile) else DatasetProfile.from_mapping(profile)
    )
    return plan_from_terms(terms, schema=schema, profile=described, granted_by=decision.granted_by)

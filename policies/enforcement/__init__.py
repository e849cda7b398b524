"""Enforcement plans: what a consumer may receive of a dataset, applied to Arrow record batches.

:func:`build_plan` (agreement policy + request context + dataset schema and profile → plan),
:meth:`EnforcementPlan.apply` (batches → enforced batches, with a report). See
:mod:`policies.enforcement.plan` for the rules and :mod:`policies.enforcement.profile` for the
dataset profile.
"""

from policies.enforcement.aggregate import AggregationSpec, GroupAggregator, KeySource
from policies.enforcement.plan import EnforcementPlan, RowFilter, build_plan, plan_from_terms
from policies.enforcement.profile import Aggregate, DatasetProfile
from policies.enforcement.stream import EnforcedStream, EnforcementReport
from policies.enforcement.terms import EnforcementTerms, collect_terms

__all__ = [
    "Aggregate",
    "AggregationSpec",
    "DatasetProfile",
    "EnforcedStream",
    "EnforcementPlan",
    "EnforcementReport",
    "EnforcementTerms",
    "GroupAggregator",
    "KeySource",
    "RowFilter",
    "build_plan",
    "collect_terms",
    "plan_from_terms",
]

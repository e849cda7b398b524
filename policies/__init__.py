"""Pure library: ODRL 2.2 usage policies — model, validation, evaluation, enforcement plans.

No HTTP, no database: plain objects in, plain objects out. The main entry points:

- :func:`parse_policy` (any JSON-LD form → :class:`Policy`), :func:`to_dsp`, :func:`to_edc`;
- :func:`validate_policy` / :func:`check_policy` (definition time, fail closed);
- :class:`Evaluator` / :func:`evaluate` (policy and :class:`EvaluationContext` → :class:`Decision`);
- :mod:`policies.enforcement` (agreement + claims + dataset → plan applied to Arrow batches;
  imported separately, it needs pyarrow).

``docs/policies.md`` documents the profile (namespace ``https://w3id.org/etds/policy#``).
"""

from policies.bindings import Binding, Missing, Observed, OperandRegistry, default_registry
from policies.context import AgreementFacts, EvaluationContext, Scope
from policies.decision import Decision, Outcome, Reason, Term
from policies.dpv import PurposeTaxonomy, load_dpv_purposes
from policies.errors import (
    EnforcementDenied,
    EnforcementError,
    Issue,
    PolicyError,
    PolicySyntaxError,
    PolicyValidationError,
)
from policies.evaluation import Evaluator, evaluate
from policies.jsonld import (
    dsp_context,
    edc_context,
    parse_policy,
    policy_from_expanded,
    to_dsp,
    to_edc,
)
from policies.model import (
    Constraint,
    ConstraintLike,
    Duty,
    Iri,
    Literal,
    LogicalConstraint,
    Permission,
    Policy,
    Prohibition,
    RightValue,
)
from policies.operands import REGION_OF_COMPETENCE, SPECS, OperandSpec, ValueKind
from policies.validation import check_policy, validate_policy
from policies.vocabulary import (
    DPV,
    ETDS,
    ETDS_PROFILE,
    NUTS,
    ODRL,
    USE,
    LogicalOperator,
    Operator,
    PolicyKind,
)

__all__ = [
    "DPV",
    "ETDS",
    "ETDS_PROFILE",
    "NUTS",
    "ODRL",
    "REGION_OF_COMPETENCE",
    "SPECS",
    "USE",
    "AgreementFacts",
    "Binding",
    "Constraint",
    "ConstraintLike",
    "Decision",
    "Duty",
    "EnforcementDenied",
    "EnforcementError",
    "EvaluationContext",
    "Evaluator",
    "Iri",
    "Issue",
    "Literal",
    "LogicalConstraint",
    "LogicalOperator",
    "Missing",
    "Observed",
    "OperandRegistry",
    "OperandSpec",
    "Operator",
    "Outcome",
    "Permission",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicySyntaxError",
    "PolicyValidationError",
    "Prohibition",
    "PurposeTaxonomy",
    "Reason",
    "RightValue",
    "Scope",
    "Term",
    "ValueKind",
    "check_policy",
    "default_registry",
    "dsp_context",
    "edc_context",
    "evaluate",
    "load_dpv_purposes",
    "parse_policy",
    "policy_from_expanded",
    "to_dsp",
    "to_edc",
    "validate_policy",
]

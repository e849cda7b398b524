"""Policies ⇄ JSON-LD: parse any form, write the DSP 2025-1 form and the EDC management form.

:func:`parse_policy` expands the document with the offline processor (an unknown remote context is
refused by it: nothing is fetched) and reads the one node it describes. Any JSON-LD form works:

- DSP compact (``{"@context": [DSP, ODRL profile], "@type": "Offer", "permission": …}``); a node
  embedded in a DSP message has no ``@context`` of its own: pass ``context=dsp_context()``;
- EDC management form (``"odrl:permission"``, ``{"@id": "odrl:use"}`` or the literal ``"use"``);
  the ``policy`` node of a PolicyDefinition: pass the envelope's context (e.g.
  ``context=edc_context()``) when the node does not carry one;
- expanded JSON-LD, or an expanded node (:func:`policy_from_expanded` skips the expansion).

:func:`to_dsp` writes the DSP compact form. Top-level (``context=True``) it carries
``"@context": [DSP context, ODRL profile, {"etds": …}]``: the DSP context alone does not define
``Offer`` outside the message types, hence the profile. Embedded (``context=False``) it is a
context-free node for a catalogue or a message. ODRL terms the DSP profile defines stay bare
(``use``, ``eq``), other ODRL terms are ``odrl:…``, the project's terms ``etds:…``. Numbers and
booleans are written as value objects (``{"@value": 3}``): the DSP schema allows a right operand
to be a string, an object or an array, not a bare number.

:func:`to_edc` writes the EDC management form (``odrl:`` prefixes, ``{"@id": …}`` for terms).

``parse_policy(to_dsp(p)) == p`` and ``parse_policy(to_edc(p)) == p`` for every policy ``p``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.contexts import DSPACE, DSPACE_CONTEXT_URL, ODRL_PROFILE_URL
from catalog.jsonld import JsonLdProcessingError, JsonLdProcessor
from policies.errors import PolicySyntaxError
from policies.expanded import policy_from_expanded
from policies.model import (
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
from policies.vocabulary import DPV, EDC, ETDS, ODRL, compact_term, prefixed_term


def dsp_context() -> list[Any]:
    """The ``@context`` of a top-level DSP policy (a fresh list on each call): what the DSP
    context gives an offer or agreement embedded in a message, where ``timestamp`` (of an
    agreement) is a term of the message's scoped context."""
    return [DSPACE_CONTEXT_URL, ODRL_PROFILE_URL, {"etds": ETDS, "timestamp": DSPACE + "timestamp"}]


def edc_context() -> dict[str, str]:
    """The ``@context`` of the EDC management form (a fresh dict on each call)."""
    return {"@vocab": EDC, "odrl": ODRL, "etds": ETDS, "dpv": DPV}


__all__ = [
    "dsp_context",
    "edc_context",
    "parse_policy",
    "policy_from_expanded",
    "to_dsp",
    "to_edc",
]


def parse_policy(
    document: Mapping[str, Any], *, processor: JsonLdProcessor, context: Any = None
) -> Policy:
    """The policy ``document`` describes, in any JSON-LD form.

    ``context`` applies when the document has no ``@context`` of its own (an embedded node).
    Raises :class:`~policies.errors.PolicySyntaxError` for anything that is not one readable
    policy, including invalid JSON-LD, unknown remote contexts and properties the context does
    not define (JSON-LD would silently drop them: a dropped ``prohibition`` or ``constraint``
    would make the policy allow more than it says).
    """
    if not isinstance(document, Mapping):
        raise PolicySyntaxError("", "a policy must be a JSON object")
    body = dict(document)
    if context is not None and "@context" not in body:
        body = {"@context": context, **body}
    try:
        expanded = processor.expand(body, strict=True)
    except JsonLdProcessingError as exc:
        raise PolicySyntaxError("", str(exc)) from None
    if len(expanded) != 1:
        raise PolicySyntaxError("", f"expected one policy node, the document has {len(expanded)}")
    return policy_from_expanded(expanded[0])


def _value(value: RightValue, *, bare_numbers: bool) -> Any:
    if isinstance(value, Iri):
        return {"@id": value.value}
    if value.datatype is not None:
        return {"@value": value.value, "@type": value.datatype}
    if isinstance(value, Literal) and (isinstance(value.value, str) or bare_numbers):
        return value.value
    return {"@value": value.value}


class _Writer:
    """Writes one form; the DSP and EDC forms differ only in how names and terms look."""

    def __init__(self, *, edc: bool, embedded: bool = False) -> None:
        self.edc = edc
        self.embedded = embedded

    def key(self, name: str) -> str:
        return f"odrl:{name}" if self.edc else name

    def term(self, iri: str) -> Any:
        if self.edc:
            return {"@id": prefixed_term(iri)}
        if self.embedded and iri.startswith(ETDS):
            # Embedded in a DSP message or catalogue, whose @context (strings only, per the
            # DSP schemas) declares no etds: prefix: the project's terms are written in full.
            return iri
        return compact_term(iri)

    def iri(self, iri: str) -> Any:
        return {"@id": iri} if self.edc else iri

    def constraint(self, constraint: ConstraintLike) -> dict[str, Any]:
        if isinstance(constraint, LogicalConstraint):
            return {
                self.key(constraint.operator.value): [
                    self.constraint(item) for item in constraint.constraints
                ]
            }
        values = [_value(item, bare_numbers=self.edc) for item in constraint.right_operand]
        written: dict[str, Any] = {
            self.key("leftOperand"): self.term(constraint.left_operand),
            self.key("operator"): self.term(constraint.operator),
            self.key("rightOperand"): values[0] if len(values) == 1 else values,
        }
        if constraint.data_type is not None:
            written["odrl:dataType"] = {"@id": constraint.data_type}
        if constraint.unit is not None:
            written["odrl:unit"] = {"@id": constraint.unit}
        return written

    def rule(self, rule: Permission | Prohibition | Duty) -> dict[str, Any]:
        written: dict[str, Any] = {self.key("action"): self.term(rule.action)}
        if rule.constraints:
            written[self.key("constraint")] = [self.constraint(c) for c in rule.constraints]
        if isinstance(rule, Permission) and rule.duties:
            written[self.key("duty")] = [self.rule(duty) for duty in rule.duties]
        return written

    def policy(self, policy: Policy) -> dict[str, Any]:
        written: dict[str, Any] = {}
        if policy.uid is not None:
            written["@id"] = policy.uid
        written["@type"] = self.key(policy.kind.value)
        if policy.profiles:
            profiles = [self.iri(item) for item in policy.profiles]
            written[self.key("profile")] = profiles[0] if len(profiles) == 1 else profiles
        for name in ("target", "assigner", "assignee"):
            value = getattr(policy, name)
            if value is not None:
                written[self.key(name)] = self.iri(value)
        for name, rules in (
            ("permission", policy.permissions),
            ("prohibition", policy.prohibitions),
            ("obligation", policy.obligations),
        ):
            if rules:
                written[self.key(name)] = [self.rule(rule) for rule in rules]
        return written


def to_dsp(policy: Policy, *, context: bool = True) -> dict[str, Any]:
    """The DSP 2025-1 compact form: with its own ``@context`` when ``context``; else a node to
    embed in a DSP message or catalogue (the project's terms then as full IRIs, since the DSP
    context declares no ``etds:`` prefix)."""
    if context:
        return {"@context": dsp_context(), **_Writer(edc=False).policy(policy)}
    return _Writer(edc=False, embedded=True).policy(policy)


def to_edc(policy: Policy, *, context: bool = True) -> dict[str, Any]:
    """The EDC management form (``odrl:`` prefixes), as management API responses carry it."""
    body = _Writer(edc=True).policy(policy)
    return {"@context": edc_context(), **body} if context else body

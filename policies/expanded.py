"""Expanded JSON-LD → the typed model (:mod:`policies.model`).

Reads one expanded policy node. Structure problems raise :class:`PolicySyntaxError` with the
path of the offending part; vocabulary is *not* judged here (an unknown action or left operand
is kept, by IRI, for :mod:`policies.validation` to refuse with its name). ODRL features the model
does not carry are refused rather than dropped: rule-level parties and targets, action
refinements, ``inheritFrom``, ``conflict``, consequences and remedies, constraint references,
``rightOperandReference``. Properties outside the ODRL namespace on the policy node are left to
the envelope (a DSP agreement's ``dspace:timestamp``); on rules and constraints they are refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from policies.errors import PolicySyntaxError
from policies.model import Constraint as AtomicConstraint
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
from policies.vocabulary import (
    ACTION,
    ASSIGNEE,
    ASSIGNER,
    CONSTRAINT,
    DATA_TYPE,
    DUTY,
    LEFT_OPERAND,
    LOGICAL_BY_IRI,
    OBLIGATION,
    ODRL,
    OPERATOR,
    PERMISSION,
    PROFILE,
    PROHIBITION,
    RIGHT_OPERAND,
    TARGET,
    UNIT,
    PolicyKind,
    prefixed_term,
    resolve_term,
)

MAX_NESTING = 16
_POLICY_TYPES = {kind.iri: kind for kind in PolicyKind} | {ODRL + "Policy": PolicyKind.SET}
_POLICY_KEYS = {PERMISSION, PROHIBITION, OBLIGATION, TARGET, ASSIGNER, ASSIGNEE, PROFILE}
_ATOMIC_KEYS = {LEFT_OPERAND, OPERATOR, RIGHT_OPERAND, DATA_TYPE, UNIT}
_CONSTRAINT_TYPES = {ODRL + "Constraint", ODRL + "LogicalConstraint"}


def _items(node: Mapping[str, Any], key: str) -> list[Any]:
    value = node.get(key, [])
    items = value if isinstance(value, list) else [value]
    flat: list[Any] = []
    for item in items:
        if isinstance(item, dict) and "@list" in item:
            inner = item["@list"]
            flat.extend(inner if isinstance(inner, list) else [inner])
        else:
            flat.append(item)
    return flat


def _node(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict) or "@value" in value:
        raise PolicySyntaxError(path, "expected a JSON-LD node (an object), got a value")
    return value


def _types(node: Mapping[str, Any]) -> list[str]:
    raw = node.get("@type", [])
    types = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, str) for item in types):
        raise PolicySyntaxError("@type", "types must be IRIs")
    return [resolve_term(item) for item in types]


def _term(node: Mapping[str, Any], key: str, path: str) -> str:
    """The single vocabulary term of ``key`` (``{"@id": …}`` or a string literal), resolved."""
    items = _items(node, key)
    if len(items) != 1:
        raise PolicySyntaxError(path, f"expected exactly one value, got {len(items)}")
    item = items[0]
    if isinstance(item, dict) and set(item) == {"@id"} and isinstance(item["@id"], str):
        return resolve_term(item["@id"])
    if isinstance(item, dict) and set(item) == {"@value"} and isinstance(item["@value"], str):
        return resolve_term(item["@value"])
    if isinstance(item, dict) and "@id" in item:
        raise PolicySyntaxError(path, "refinements and nested nodes are not supported here")
    raise PolicySyntaxError(path, "expected a term (an IRI or a name)")


def _iri(node: Mapping[str, Any], key: str, path: str) -> str | None:
    items = _items(node, key)
    if not items:
        return None
    if len(items) > 1:
        raise PolicySyntaxError(path, "several values are not supported here")
    return _iri_value(items[0], path)


def _iri_value(item: Any, path: str) -> str:
    if isinstance(item, dict) and set(item) == {"@id"} and isinstance(item["@id"], str):
        return item["@id"]
    if isinstance(item, dict) and set(item) == {"@value"} and isinstance(item["@value"], str):
        return item["@value"]
    if isinstance(item, dict) and "@id" in item:
        raise PolicySyntaxError(path, "parties and assets with properties are not supported")
    raise PolicySyntaxError(path, "expected an identifier")


def _reject_unknown(
    node: Mapping[str, Any], allowed: set[str], path: str, *, odrl_only: bool
) -> None:
    for key in node:
        if key.startswith("@") or key in allowed:
            continue
        if odrl_only and not key.startswith(ODRL):
            continue
        where = f"{path}.{prefixed_term(key)}" if path else prefixed_term(key)
        raise PolicySyntaxError(where, "this property is not supported")


def _right_value(item: Any, path: str) -> RightValue:
    if isinstance(item, dict) and set(item) == {"@id"} and isinstance(item["@id"], str):
        return Iri(item["@id"])
    if isinstance(item, dict) and "@value" in item and set(item) <= {"@value", "@type"}:
        value = item["@value"]
        datatype = item.get("@type")
        if datatype is not None and not isinstance(datatype, str):
            raise PolicySyntaxError(path, "a datatype must be an IRI")
        if datatype is not None:
            datatype = resolve_term(datatype)  # "xsd:integer" when the context lacks xsd
        if isinstance(value, float) and not math.isfinite(value):
            raise PolicySyntaxError(path, "numbers must be finite")
        if isinstance(value, (str, int, float, bool)):
            return Literal(value, datatype)
    if isinstance(item, dict) and "@language" in item:
        raise PolicySyntaxError(path, "language-tagged values are not supported")
    raise PolicySyntaxError(path, "expected a literal or an IRI")


def _constraint(value: Any, path: str, depth: int) -> ConstraintLike:
    if depth > MAX_NESTING:
        raise PolicySyntaxError(path, f"logical constraints nest deeper than {MAX_NESTING}")
    node = _node(value, path)
    if set(node) <= {"@id"}:
        raise PolicySyntaxError(path, "constraint references are not supported")
    if any(item not in _CONSTRAINT_TYPES for item in _types(node)):
        raise PolicySyntaxError(f"{path}.@type", "expected odrl:Constraint")
    logical = [key for key in node if key in LOGICAL_BY_IRI]
    if logical:
        if len(logical) > 1 or any(key in node for key in _ATOMIC_KEYS):
            raise PolicySyntaxError(path, "a logical constraint has exactly one operator")
        _reject_unknown(node, set(logical), path, odrl_only=False)
        operator = LOGICAL_BY_IRI[logical[0]]
        inner = f"{path}.{operator.value}"
        operands = tuple(
            _constraint(item, f"{inner}[{index}]", depth + 1)
            for index, item in enumerate(_items(node, logical[0]))
        )
        return LogicalConstraint(operator, operands)
    _reject_unknown(node, _ATOMIC_KEYS, path, odrl_only=False)
    right = tuple(
        _right_value(item, f"{path}.rightOperand") for item in _items(node, RIGHT_OPERAND)
    )
    if not right:
        raise PolicySyntaxError(f"{path}.rightOperand", "a constraint needs a right operand")
    return AtomicConstraint(
        left_operand=_term(node, LEFT_OPERAND, f"{path}.leftOperand"),
        operator=_term(node, OPERATOR, f"{path}.operator"),
        right_operand=right,
        data_type=_iri(node, DATA_TYPE, f"{path}.dataType"),
        unit=_iri(node, UNIT, f"{path}.unit"),
    )


def _constraints(node: Mapping[str, Any], path: str) -> tuple[ConstraintLike, ...]:
    return tuple(
        _constraint(item, f"{path}.constraint[{index}]", 1)
        for index, item in enumerate(_items(node, CONSTRAINT))
    )


def _rule_node(value: Any, path: str, rule_type: str, allowed: set[str]) -> Mapping[str, Any]:
    node = _node(value, path)
    if any(item != ODRL + rule_type for item in _types(node)):
        raise PolicySyntaxError(f"{path}.@type", f"expected odrl:{rule_type}")
    _reject_unknown(node, allowed, path, odrl_only=False)
    return node


def _duty(value: Any, path: str) -> Duty:
    node = _rule_node(value, path, "Duty", {ACTION, CONSTRAINT})
    return Duty(_term(node, ACTION, f"{path}.action"), _constraints(node, path))


def _permission(value: Any, path: str) -> Permission:
    node = _rule_node(value, path, "Permission", {ACTION, CONSTRAINT, DUTY})
    duties = tuple(
        _duty(item, f"{path}.duty[{index}]") for index, item in enumerate(_items(node, DUTY))
    )
    return Permission(_term(node, ACTION, f"{path}.action"), _constraints(node, path), duties)


def _prohibition(value: Any, path: str) -> Prohibition:
    node = _rule_node(value, path, "Prohibition", {ACTION, CONSTRAINT})
    return Prohibition(_term(node, ACTION, f"{path}.action"), _constraints(node, path))


def _reject_lookalikes(node: Mapping[str, Any]) -> None:
    """Refuse ``edc:permission`` and the like: a plain-JSON policy under a ``@vocab`` that is
    not ODRL would otherwise read as a policy without rules."""
    names = {key[len(ODRL) :] for key in _POLICY_KEYS}
    for key in node:
        local = key.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        if not key.startswith(ODRL) and local in names:
            raise PolicySyntaxError(key, f"this is not the ODRL term: write odrl:{local}")


def policy_from_expanded(node: Mapping[str, Any]) -> Policy:
    """The policy an expanded JSON-LD node describes (PolicySyntaxError if it is none)."""
    node = _node(node, "")
    types = _types(node)
    kinds = {_POLICY_TYPES[item] for item in types if item in _POLICY_TYPES}
    if len(types) > 1 or (types and not kinds):
        raise PolicySyntaxError("@type", "expected one of odrl:Set, odrl:Offer, odrl:Agreement")
    _reject_unknown(node, _POLICY_KEYS, "", odrl_only=True)
    _reject_lookalikes(node)
    uid = node.get("@id")
    if uid is not None and not isinstance(uid, str):
        raise PolicySyntaxError("@id", "expected an identifier")
    return Policy(
        kind=kinds.pop() if kinds else PolicyKind.SET,
        uid=uid,
        target=_iri(node, TARGET, "target"),
        assigner=_iri(node, ASSIGNER, "assigner"),
        assignee=_iri(node, ASSIGNEE, "assignee"),
        profiles=tuple(
            _iri_value(item, f"profile[{index}]")
            for index, item in enumerate(_items(node, PROFILE))
        ),
        permissions=tuple(
            _permission(item, f"permission[{index}]")
            for index, item in enumerate(_items(node, PERMISSION))
        ),
        prohibitions=tuple(
            _prohibition(item, f"prohibition[{index}]")
            for index, item in enumerate(_items(node, PROHIBITION))
        ),
        obligations=tuple(
            _duty(item, f"obligation[{index}]")
            for index, item in enumerate(_items(node, OBLIGATION))
        ),
    )

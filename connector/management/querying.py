"""EDC ``QuerySpec`` requests (offset, limit, filterExpression, sort) → store queries.

This module reads the JSON-LD shape; the store's :class:`~connector.store.query.QuerySpec` and
:class:`~connector.store.query.Criterion` check the values (operators, limits, operand types) and
raise :class:`~connector.store.errors.InvalidQuery`, a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connector.errors import BadRequest
from connector.management.vocabulary import EDC, node_types, single_literal, values
from connector.store.query import Criterion, QuerySpec

DEFAULT_LIMIT = 50
LIST_OPERATORS = frozenset({"in", "not in"})


def _integer(node: Mapping[str, Any], term: str, default: int) -> int:
    value = single_literal(node, EDC + term, term)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{term!r} must be an integer")
    return value


def _string(node: Mapping[str, Any], term: str) -> str | None:
    value = single_literal(node, EDC + term, term)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 512:
        raise BadRequest(f"{term!r} must be a non-empty string of at most 512 characters")
    return value


def parse_criterion(node: Any, resolve_field: Callable[[str], str]) -> Criterion:
    """One expanded EDC ``Criterion`` node (a filter expression, or an entry of a contract
    definition's ``assetsSelector``) as a store criterion; ``in``/``not in`` take a list."""
    if not isinstance(node, dict) or "@value" in node:
        raise BadRequest("a criterion must be an object with operandLeft/operator")
    left = _string(node, "operandLeft")
    operator = _string(node, "operator")
    if left is None or operator is None:
        raise BadRequest("a criterion needs 'operandLeft' and 'operator'")
    literals = []
    for value in values(node, EDC + "operandRight"):
        if not isinstance(value, dict) or "@value" not in value:
            raise BadRequest("'operandRight' must be literal values")
        literals.append(value["@value"])
    right: Any
    if operator.strip().lower() in LIST_OPERATORS:
        right = literals
    elif len(literals) == 1:
        right = literals[0]
    else:
        raise BadRequest(f"operator {operator!r} needs exactly one 'operandRight' value")
    return Criterion(resolve_field(left), operator, right)


def parse_query_spec(
    node: Mapping[str, Any] | None, resolve_field: Callable[[str], str]
) -> QuerySpec:
    """The store query a (possibly absent) expanded ``QuerySpec`` node asks for."""
    if node is None:
        return QuerySpec(offset=0, limit=DEFAULT_LIMIT)
    types = node_types(node)
    if types and EDC + "QuerySpec" not in types:
        raise BadRequest("the request body must be a QuerySpec")
    sort_order = (_string(node, "sortOrder") or "ASC").upper()
    if sort_order not in ("ASC", "DESC"):
        raise BadRequest("'sortOrder' must be ASC or DESC")
    sort_field = _string(node, "sortField")
    return QuerySpec(
        offset=_integer(node, "offset", 0),
        limit=_integer(node, "limit", DEFAULT_LIMIT),
        sort_field=resolve_field(sort_field) if sort_field else None,
        sort_order="DESC" if sort_order == "DESC" else "ASC",
        filters=tuple(
            parse_criterion(entry, resolve_field)
            for entry in values(node, EDC + "filterExpression")
        ),
    )

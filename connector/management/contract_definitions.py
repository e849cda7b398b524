"""``/management/v3/contractdefinitions``: which assets are offered under which policies
(EDC-compatible).

A contract definition names an **access policy** (who sees the assets in the catalogue), a
**contract policy** (the offer a consumer negotiates) and an ``assetsSelector``: EDC
``Criterion`` objects over the assets, ANDed; an empty selector selects every asset. Two etds
members say whether negotiations and transfers under it are decided automatically or wait for
an administrator: ``negotiationMode`` and ``transferMode``, each ``auto`` (default) or
``manual``.

Create (``POST``, 200 + ``IdResponse``), get, replace (``PUT`` with the whole definition, as EDC
does, or ``PUT …/{id}``; 204), delete (204) and query (``POST …/request``). Before anything is
stored, both policies must exist (an unknown one is a 400 naming it: bad input, not a missing
resource) and the selector must be a query the store can run over the assets; operand names
resolve as in asset queries (``name`` is ``https://w3id.org/edc/v0.0.1/ns/name``,
``dct:title`` a Dublin Core term, ``id``/``createdAt`` the asset's own fields) and are stored as
full IRIs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from catalog.jsonld import JsonLdProcessor, JsonObject
from connector.errors import BadRequest, FieldError
from connector.management.auth import AdminPrincipal
from connector.management.body import ExpandedBody, OptionalExpandedBody
from connector.management.querying import parse_criterion, parse_query_spec
from connector.management.resources import (
    body_id,
    epoch_millis,
    id_response,
    matching_id,
    one_node,
    path_id,
)
from connector.management.vocabulary import (
    EDC,
    EDC_CONTEXT,
    node_types,
    resolve_term,
    simplify_node,
    single_literal,
    unsimplify_node,
    values,
)
from connector.node import Node, NodeDep
from connector.store import errors as store_errors
from connector.store.query import Criterion, QuerySpec
from connector.store.records import ContractDefinitionRecord, Mode
from connector.store.repositories.assets import AssetRepository
from connector.store.repositories.contract_definitions import ContractDefinitionRepository

router = APIRouter(prefix="/contractdefinitions", tags=["contract definitions"])

KIND = "contract definition"
CONTRACT_DEFINITION_TYPE = EDC + "ContractDefinition"
MAX_CRITERIA = 64
_MODES: dict[str, Mode] = {"auto": "auto", "manual": "manual"}


def _policy_id(node: JsonObject, term: str) -> str:
    value = single_literal(node, EDC + term, term)
    if value is None:
        raise BadRequest(f"'{term}' is required", errors=[FieldError(term, "required")])
    if not isinstance(value, str) or not value or len(value) > 256:
        raise BadRequest(
            f"'{term}' must be a policy definition id",
            errors=[FieldError(term, "a string of 1 to 256 characters")],
        )
    return value


def _mode(node: JsonObject, term: str) -> Mode:
    value = single_literal(node, EDC + term, term)
    if value is None:
        return "auto"
    mode = _MODES.get(value) if isinstance(value, str) else None
    if mode is None:
        raise BadRequest(
            f"'{term}' must be 'auto' or 'manual'", errors=[FieldError(term, "auto or manual")]
        )
    return mode


def _selector(node: JsonObject) -> list[Criterion]:
    entries = values(node, EDC + "assetsSelector")
    if len(entries) > MAX_CRITERIA:
        raise BadRequest(f"'assetsSelector' holds at most {MAX_CRITERIA} criteria")
    criteria = []
    for index, entry in enumerate(entries):
        try:
            criteria.append(parse_criterion(entry, resolve_term))
        except BadRequest as exc:
            location = f"assetsSelector[{index}]"
            raise BadRequest(
                f"{location}: {exc.detail}", errors=[FieldError(location, exc.detail)]
            ) from None
    return criteria


def stored_selector(criteria: list[Criterion]) -> list[JsonObject]:
    """Criteria in the stored form the catalogue reads (full-IRI or field operands)."""
    return [{"operandLeft": c.left, "operator": c.op, "operandRight": c.right} for c in criteria]


def definition_from_request(
    node: JsonObject, identifier: str
) -> tuple[ContractDefinitionRecord, list[Criterion]]:
    """Validate an expanded ContractDefinition request: the record to store under
    ``identifier`` (policies and selector still to be checked against the store), and its
    selector's criteria."""
    types = node_types(node)
    if types and CONTRACT_DEFINITION_TYPE not in types:
        raise BadRequest(
            "the request body must be a ContractDefinition ('@type': 'ContractDefinition')"
        )
    criteria = _selector(node)
    now = datetime.now(UTC)
    record = ContractDefinitionRecord(
        id=identifier,
        access_policy_id=_policy_id(node, "accessPolicyId"),
        contract_policy_id=_policy_id(node, "contractPolicyId"),
        assets_selector=stored_selector(criteria),
        negotiation_mode=_mode(node, "negotiationMode"),
        transfer_mode=_mode(node, "transferMode"),
        private_properties=simplify_node(one_node(node, "privateProperties") or {}),
        created_at=now,
        updated_at=now,
    )
    return record, criteria


def _check_selector(session: Connection, criteria: list[Criterion]) -> None:
    """Refuse a selector the store cannot run over the assets (unknown field, bad operand…)."""
    if not criteria:
        return
    try:
        AssetRepository(session).count(QuerySpec(filters=tuple(criteria)))
    except store_errors.InvalidQuery as exc:
        raise BadRequest(
            f"invalid assetsSelector: {exc.message}",
            errors=[FieldError("assetsSelector", exc.message)],
        ) from None


def _store(
    node: Node, record: ContractDefinitionRecord, criteria: list[Criterion], *, create: bool
) -> ContractDefinitionRecord:
    """Create or replace ``record`` in one transaction (nothing is stored if a check fails)."""
    try:
        with node.database.transaction() as session:
            _check_selector(session, criteria)
            repository = ContractDefinitionRepository(session)
            return repository.create(record) if create else repository.update(record)
    except store_errors.NotFound as exc:
        if exc.kind != "policy definition":
            raise
        term = "accessPolicyId" if exc.id == record.access_policy_id else "contractPolicyId"
        raise BadRequest(
            f"{term}: policy definition {exc.id!r} does not exist",
            errors=[FieldError(term, f"unknown policy definition {exc.id!r}")],
        ) from None


def _operand_name(left: str) -> str:
    """A stored operand as a client names it: EDC-namespace IRIs by their bare name."""
    local = left.removeprefix(EDC)
    return local if local != left and local and ":" not in local else left


def render_definition(processor: JsonLdProcessor, record: ContractDefinitionRecord) -> JsonObject:
    """The EDC JSON-LD form of a contract definition."""
    expanded: JsonObject = {
        "@id": record.id,
        "@type": [CONTRACT_DEFINITION_TYPE],
        EDC + "accessPolicyId": [{"@value": record.access_policy_id}],
        EDC + "contractPolicyId": [{"@value": record.contract_policy_id}],
        EDC + "negotiationMode": [{"@value": record.negotiation_mode}],
        EDC + "transferMode": [{"@value": record.transfer_mode}],
        EDC + "createdAt": [{"@value": epoch_millis(record.created_at)}],
    }
    if record.private_properties:
        expanded[EDC + "privateProperties"] = [unsimplify_node(record.private_properties)]
    compacted = processor.compact(expanded, EDC_CONTEXT)
    selector: list[dict[str, Any]] = [
        {
            "@type": "Criterion",
            "operandLeft": _operand_name(str(criterion["operandLeft"])),
            "operator": criterion["operator"],
            "operandRight": criterion.get("operandRight"),
        }
        for criterion in record.assets_selector
    ]
    compacted["assetsSelector"] = selector
    return compacted


@router.post("", summary="Create a contract definition")
def create_contract_definition(
    _admin: AdminPrincipal, body: ExpandedBody, node: NodeDep
) -> JSONResponse:
    record, criteria = definition_from_request(body, body_id(body, KIND, generate=True))
    created = _store(node, record, criteria, create=True)
    return JSONResponse(id_response(node.jsonld, created.id, created.created_at))


@router.post("/request", summary="Query contract definitions")
def query_contract_definitions(
    _admin: AdminPrincipal, body: OptionalExpandedBody, node: NodeDep
) -> JSONResponse:
    spec = parse_query_spec(body, resolve_term)
    with node.database.read() as session:
        found = ContractDefinitionRepository(session).query(spec)
    return JSONResponse([render_definition(node.jsonld, record) for record in found])


@router.get("/{definition_id}", summary="Get a contract definition")
def get_contract_definition(
    _admin: AdminPrincipal, definition_id: str, node: NodeDep
) -> JSONResponse:
    with node.database.read() as session:
        record = ContractDefinitionRepository(session).get(path_id(definition_id, KIND))
    return JSONResponse(render_definition(node.jsonld, record))


@router.put("", status_code=204, summary="Replace a contract definition (id in the body)")
def update_contract_definition(
    _admin: AdminPrincipal, body: ExpandedBody, node: NodeDep
) -> Response:
    record, criteria = definition_from_request(body, body_id(body, KIND, generate=False))
    _store(node, record, criteria, create=False)
    return Response(status_code=204)


@router.put("/{definition_id}", status_code=204, summary="Replace a contract definition")
def replace_contract_definition(
    _admin: AdminPrincipal, definition_id: str, body: ExpandedBody, node: NodeDep
) -> Response:
    identifier = matching_id(body, path_id(definition_id, KIND), KIND)
    record, criteria = definition_from_request(body, identifier)
    _store(node, record, criteria, create=False)
    return Response(status_code=204)


@router.delete("/{definition_id}", status_code=204, summary="Delete a contract definition")
def delete_contract_definition(
    _admin: AdminPrincipal, definition_id: str, node: NodeDep
) -> Response:
    with node.database.transaction() as session:
        ContractDefinitionRepository(session).delete(path_id(definition_id, KIND))
    return Response(status_code=204)

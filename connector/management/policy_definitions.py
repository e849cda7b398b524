"""``/management/v3/policydefinitions``: the ODRL policies contract definitions refer to
(EDC-compatible), with two etds extensions, ``…/{id}/validate`` and ``…/{id}/explain``.

Create (``POST``, 200 + ``IdResponse``), get, replace (``PUT …/{id}``, 204), delete (204; 409
while a contract definition uses the policy) and query (``POST …/request``). A policy is read
from the request's expanded JSON-LD (so the envelope's ``@context``, and any context of the
policy node itself, apply) and validated before anything is stored: a policy this node cannot
evaluate is a 400 listing every issue, each located by its path in the policy
(``permission[0].constraint[1].leftOperand``).

The store keeps the DSP compact form (:func:`policies.to_dsp`, with its ``@context``), which the
catalogue reads; responses carry the EDC management form (:func:`policies.to_edc`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from catalog.jsonld import JsonLdProcessor, JsonObject
from connector.errors import BadRequest, FieldError, UnprocessableData
from connector.management.auth import AdminPrincipal
from connector.management.body import ExpandedBody, OptionalExpandedBody
from connector.management.explain import explain_body
from connector.management.policy_forms import response_context
from connector.management.querying import parse_query_spec
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
    node_types,
    resolve_term,
    simplify_node,
    unsimplify_node,
)
from connector.node import NodeDep
from connector.store.records import PolicyDefinitionRecord
from connector.store.repositories.policies import PolicyDefinitionRepository
from policies import (
    EvaluationContext,
    Policy,
    PolicyError,
    PolicySyntaxError,
    PolicyValidationError,
    check_policy,
    parse_policy,
    policy_from_expanded,
    to_dsp,
    to_edc,
    validate_policy,
)

router = APIRouter(prefix="/policydefinitions", tags=["policy definitions"])

KIND = "policy definition"
POLICY_DEFINITION_TYPE = EDC + "PolicyDefinition"
# ODRL names a plain-JSON client may write without the odrl: prefix; under the EDC @vocab they
# are EDC terms, which the policy reader rightly ignores or refuses. Named in the error.
_ODRL_NAMES = ("permission", "prohibition", "obligation", "Set", "Offer", "Agreement", "Policy")

ExplainContext = Annotated[EvaluationContext, Depends(explain_body)]


class InvalidPolicy(BadRequest):
    """The policy of a policy definition cannot be read, or this node cannot evaluate it."""

    slug = "invalid-policy"
    title = "Invalid Policy"

    @classmethod
    def refused(cls, what: str, exc: PolicyValidationError) -> InvalidPolicy:
        """``what`` (a policy, an offer) refused for every issue ``exc`` lists."""
        return cls(
            f"the {what} is refused ({len(exc.issues)} issue(s)): {exc}",
            errors=[FieldError(issue.path, issue.message) for issue in exc.issues],
        )


def _edc_named_odrl_terms(policy_node: JsonObject) -> list[str]:
    found = [name for name in _ODRL_NAMES if EDC + name in policy_node]
    found += [name for name in _ODRL_NAMES if EDC + name in node_types(policy_node)]
    return found


def _read_policy(policy_node: JsonObject) -> Policy:
    """The validated policy of an expanded ``policy`` node; :class:`InvalidPolicy` if none."""
    errors: list[FieldError]
    try:
        return validate_policy(policy_from_expanded(policy_node))
    except PolicySyntaxError as exc:
        detail = f"the policy cannot be read: {exc}"
        errors = [FieldError(exc.path or "policy", exc.message)]
    except PolicyValidationError as exc:
        refused = InvalidPolicy.refused("policy", exc)
        detail, errors = refused.detail, list(refused.errors)
    misnamed = _edc_named_odrl_terms(policy_node)
    if misnamed:
        detail += (
            f"; {', '.join(misnamed)} were read as EDC terms: write ODRL terms with the 'odrl:'"
            " prefix, or give the policy an ODRL @context"
        )
    raise InvalidPolicy(detail, errors=errors)


def definition_from_request(node: JsonObject, identifier: str) -> PolicyDefinitionRecord:
    """Validate an expanded PolicyDefinition request; the record to store under ``identifier``."""
    types = node_types(node)
    if types and POLICY_DEFINITION_TYPE not in types:
        raise BadRequest(
            "the request body must be a PolicyDefinition ('@type': 'PolicyDefinition')"
        )
    policy_node = one_node(node, "policy")
    if policy_node is None:
        raise BadRequest("'policy' is required", errors=[FieldError("policy", "required")])
    policy = _read_policy(policy_node)
    now = datetime.now(UTC)
    return PolicyDefinitionRecord(
        id=identifier,
        policy=to_dsp(policy),
        private_properties=simplify_node(one_node(node, "privateProperties") or {}),
        created_at=now,
        updated_at=now,
    )


def stored_policy(processor: JsonLdProcessor, record: PolicyDefinitionRecord) -> Policy:
    """The stored policy, parsed (:class:`PolicyError` if this version cannot read it)."""
    return parse_policy(record.policy, processor=processor)


def render_definition(processor: JsonLdProcessor, record: PolicyDefinitionRecord) -> JsonObject:
    """The EDC JSON-LD form of a policy definition.

    A stored policy this version of the node can no longer read (after an upgrade of the
    profile) is shown as stored, in the DSP form with its own ``@context``, so that it can still
    be inspected, fixed or deleted; ``…/validate`` says what is wrong with it.
    """
    expanded: JsonObject = {
        "@id": record.id,
        "@type": [POLICY_DEFINITION_TYPE],
        EDC + "createdAt": [{"@value": epoch_millis(record.created_at)}],
    }
    if record.private_properties:
        expanded[EDC + "privateProperties"] = [unsimplify_node(record.private_properties)]
    compacted = processor.compact(expanded, response_context())
    try:
        compacted["policy"] = to_edc(stored_policy(processor, record), context=False)
    except PolicyError:
        compacted["policy"] = dict(record.policy)
    return compacted


def _stored(node: NodeDep, policy_id: str) -> PolicyDefinitionRecord:
    with node.database.read() as session:
        return PolicyDefinitionRepository(session).get(path_id(policy_id, KIND))


@router.post("", summary="Create a policy definition")
def create_policy_definition(
    _admin: AdminPrincipal, body: ExpandedBody, node: NodeDep
) -> JSONResponse:
    record = definition_from_request(body, body_id(body, KIND, generate=True))
    with node.database.transaction() as session:
        created = PolicyDefinitionRepository(session).create(record)
    return JSONResponse(id_response(node.jsonld, created.id, created.created_at))


@router.post("/request", summary="Query policy definitions")
def query_policy_definitions(
    _admin: AdminPrincipal, body: OptionalExpandedBody, node: NodeDep
) -> JSONResponse:
    spec = parse_query_spec(body, resolve_term)
    with node.database.read() as session:
        found = PolicyDefinitionRepository(session).query(spec)
    return JSONResponse([render_definition(node.jsonld, record) for record in found])


@router.get("/{policy_id}", summary="Get a policy definition")
def get_policy_definition(_admin: AdminPrincipal, policy_id: str, node: NodeDep) -> JSONResponse:
    return JSONResponse(render_definition(node.jsonld, _stored(node, policy_id)))


@router.put("/{policy_id}", status_code=204, summary="Replace a policy definition")
def update_policy_definition(
    _admin: AdminPrincipal, policy_id: str, body: ExpandedBody, node: NodeDep
) -> Response:
    identifier = matching_id(body, path_id(policy_id, KIND), KIND)
    record = definition_from_request(body, identifier)
    with node.database.transaction() as session:
        PolicyDefinitionRepository(session).update(record)
    return Response(status_code=204)


@router.delete("/{policy_id}", status_code=204, summary="Delete a policy definition")
def delete_policy_definition(_admin: AdminPrincipal, policy_id: str, node: NodeDep) -> Response:
    with node.database.transaction() as session:
        PolicyDefinitionRepository(session).delete(path_id(policy_id, KIND))
    return Response(status_code=204)


@router.post("/{policy_id}/validate", summary="Validate the stored policy (etds extension)")
def validate_policy_definition(
    _admin: AdminPrincipal, policy_id: str, node: NodeDep
) -> JSONResponse:
    """Whether this node can still evaluate the stored policy (e.g. after an upgrade of the
    policy profile): ``{"valid": true}`` or ``{"valid": false, "issues": [...]}``."""
    record = _stored(node, policy_id)
    try:
        issues = check_policy(stored_policy(node.jsonld, record))
    except PolicySyntaxError as exc:
        unreadable = {"path": exc.path, "term": None, "message": exc.message}
        return JSONResponse({"valid": False, "issues": [unreadable]})
    if not issues:
        return JSONResponse({"valid": True})
    listed = [{"path": i.path, "term": i.term, "message": i.message} for i in issues]
    return JSONResponse({"valid": False, "issues": listed})


@router.post("/{policy_id}/explain", summary="Evaluate the stored policy (etds extension)")
def explain_policy_definition(
    _admin: AdminPrincipal, policy_id: str, context: ExplainContext, node: NodeDep
) -> JSONResponse:
    """The decision the stored policy gives for the described request, with its reasons."""
    record = _stored(node, policy_id)
    try:
        policy = stored_policy(node.jsonld, record)
    except PolicyError as exc:
        raise UnprocessableData(f"the stored policy cannot be read: {exc}") from None
    return JSONResponse(node.evaluator.evaluate(policy, context).to_dict())

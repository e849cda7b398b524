"""``/management/v3/assets``: what data the node offers, and where it lives (EDC-compatible).

Create (``POST``, 200 + ``IdResponse``), get, update (``PUT`` with the whole asset, 204), delete
(204; 409 while an agreement refers to the asset) and query (``POST …/request`` with a
``QuerySpec``). The data address is validated by :mod:`connector.sources` before anything is
stored; an invalid request stores nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from catalog.checks import language_tag
from catalog.jsonld import JsonLdProcessingError, JsonLdProcessor, JsonObject
from connector.catalogue.profiler import describe
from connector.errors import BadRequest, FieldError, UnprocessableData
from connector.management.auth import AdminPrincipal
from connector.management.body import ExpandedBody, OptionalExpandedBody
from connector.management.querying import parse_query_spec
from connector.management.resources import body_id, epoch_millis, id_response, one_node, path_id
from connector.management.vocabulary import (
    EDC,
    EDC_CONTEXT,
    node_types,
    resolve_term,
    simplify_node,
    unsimplify_node,
)
from connector.node import Node, NodeDep
from connector.sources import (
    DataAddressError,
    SourceConfig,
    check_data_address,
    parse_data_address,
)
from connector.store.records import AssetRecord
from connector.store.repositories.assets import AssetRepository
from connector.store.repositories.catalogue import CatalogueRepository

router = APIRouter(prefix="/assets", tags=["assets"])

ASSET_TYPES = frozenset({EDC + "Asset"})


def _one_node(node: JsonObject, term: str, *, required: bool) -> JsonObject | None:
    found = one_node(node, term)
    if found is None and required:
        raise BadRequest(f"'{term}' is required", errors=[FieldError(term, "required")])
    return found


def _plain(node: JsonObject, where: str) -> dict[str, Any]:
    """An expanded data-address node as the plain JSON the data sources read (EDC names)."""
    plain: dict[str, Any] = {}
    for iri, found in node.items():
        if iri in ("@type", "@id"):
            continue
        name = iri.removeprefix(EDC)
        if name == iri:
            raise DataAddressError(f"{where}: field {iri!r} is not supported")
        if len(found) != 1 or not isinstance(found[0], dict):
            raise DataAddressError(f"{where}.{name} must be a single value")
        value = found[0]
        plain[name] = value["@value"] if "@value" in value else _plain(value, f"{where}.{name}")
    return plain


def _data_address(node: JsonObject, sources_config: SourceConfig) -> dict[str, Any]:
    address_node = _one_node(node, "dataAddress", required=True)
    assert address_node is not None
    try:
        address = parse_data_address(_plain(address_node, "dataAddress"))
        check_data_address(address, sources_config)
    except DataAddressError as exc:
        raise DataAddressError(
            exc.detail if exc.detail.startswith("dataAddress") else f"dataAddress: {exc.detail}",
            errors=[FieldError(f"dataAddress.{e.location}", e.message) for e in exc.errors],
            log_detail=exc.log_detail,
        ) from None
    return address.model_dump(mode="json", exclude_none=True)


def asset_from_request(node: JsonObject, node_services: Node, *, generate_id: bool) -> AssetRecord:
    """Validate an expanded asset request and build the record to store (timestamps unset)."""
    types = node_types(node)
    if types and not ASSET_TYPES.intersection(types):
        raise BadRequest("the request body must be an Asset ('@type': 'Asset')")
    asset_id = body_id(node, "asset", generate=generate_id)
    properties_node = _one_node(node, "properties", required=True)
    assert properties_node is not None
    private_node = _one_node(node, "privateProperties", required=False) or {}
    properties = simplify_node(properties_node)
    private = simplify_node(private_node)
    duplicated = sorted(set(properties) & set(private))
    if duplicated:
        raise BadRequest(
            "the same keys cannot be both in 'properties' and 'privateProperties': "
            + ", ".join(duplicated)
        )
    properties[EDC + "id"] = asset_id
    _check_languages(properties_node, "properties")
    now = datetime.now(UTC)
    record = AssetRecord(
        id=asset_id,
        properties=properties,
        private_properties=private,
        data_address=_data_address(node, node_services.sources),
        created_at=now,
        updated_at=now,
        version=0,
    )
    try:  # what is stored must render back (e.g. no key left a compact IRI by its context)
        render_asset(node_services.jsonld, record)
    except JsonLdProcessingError as exc:
        raise BadRequest(f"the asset cannot be written back as JSON-LD: {exc}") from None
    try:  # and the catalogue must be able to show it (DCAT-AP: IRIs, durations, ids)
        node_services.catalogue.check_asset(record)
    except (ValueError, TypeError) as exc:
        raise BadRequest(
            f"the catalogue could not show this asset: {exc}",
            errors=[FieldError("properties", str(exc))],
        ) from None
    return record


def _check_languages(node: Any, where: str) -> None:
    """Refuse a language tag that is not BCP 47 (the catalogue shows the asset's texts with
    their languages, and could not show one with a malformed tag)."""
    stack: list[tuple[Any, str]] = [(node, where)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, list):
            stack.extend((item, path) for item in value)
        elif isinstance(value, dict):
            if "@language" in value:
                try:
                    language_tag(value["@language"], path)
                except ValueError as exc:
                    raise BadRequest(str(exc), errors=[FieldError(path, str(exc))]) from None
            for key, child in value.items():
                if not key.startswith("@"):
                    stack.append((child, f"{path}.{key.removeprefix(EDC)}"))


def render_asset(processor: JsonLdProcessor, asset: AssetRecord) -> JsonObject:
    """The EDC JSON-LD representation of ``asset`` (compacted, with its ``@context``)."""
    expanded: JsonObject = {
        "@id": asset.id,
        "@type": [EDC + "Asset"],
        EDC + "properties": [unsimplify_node(asset.properties)],
        EDC + "createdAt": [{"@value": epoch_millis(asset.created_at)}],
    }
    if asset.private_properties:
        expanded[EDC + "privateProperties"] = [unsimplify_node(asset.private_properties)]
    compacted = processor.compact(expanded, EDC_CONTEXT)
    compacted["dataAddress"] = {"@type": "DataAddress", **asset.data_address}
    return compacted


@router.post("", summary="Create an asset")
def create_asset(_admin: AdminPrincipal, body: ExpandedBody, node: NodeDep) -> JSONResponse:
    record = asset_from_request(body, node, generate_id=True)
    with node.database.transaction() as session:
        created = AssetRepository(session).create(record)
        describe(session, created)
    node.profiler.request(created.id)
    return JSONResponse(id_response(node.jsonld, created.id, created.created_at))


@router.post("/request", summary="Query assets")
def query_assets(_admin: AdminPrincipal, body: OptionalExpandedBody, node: NodeDep) -> JSONResponse:
    spec = parse_query_spec(body, resolve_term)
    with node.database.read() as session:
        found = AssetRepository(session).query(spec)
    return JSONResponse([render_asset(node.jsonld, asset) for asset in found])


@router.get("/{asset_id}", summary="Get an asset")
def get_asset(_admin: AdminPrincipal, asset_id: str, node: NodeDep) -> JSONResponse:
    with node.database.read() as session:
        asset = AssetRepository(session).get(path_id(asset_id, "asset"))
    return JSONResponse(render_asset(node.jsonld, asset))


@router.put("", status_code=204, summary="Replace an asset")
def update_asset(_admin: AdminPrincipal, body: ExpandedBody, node: NodeDep) -> Response:
    record = asset_from_request(body, node, generate_id=False)
    with node.database.transaction() as session:
        updated = AssetRepository(session).update(record)
        describe(session, updated)
    node.profiler.request(updated.id)
    return Response(status_code=204)


@router.post("/{asset_id}/profile", summary="Profile the asset's data now (etds extension)")
def profile_asset(_admin: AdminPrincipal, asset_id: str, node: NodeDep) -> JSONResponse:
    """Read the data behind the asset and refresh its catalogue metadata (places, time
    coverage, size, checksum, columns); 422 with the reason when the data cannot be read."""
    asset_id = path_id(asset_id, "asset")
    with node.database.read() as session:
        AssetRepository(session).get(asset_id)
    profile = node.profiler.profile(asset_id)
    if profile is None:
        with node.database.read() as session:
            entry = CatalogueRepository(session).get(asset_id)
        reason = entry.profile_error if entry and entry.profile_error else "unreadable data"
        raise UnprocessableData(f"the asset's data cannot be profiled: {reason}")
    return JSONResponse(profile.to_json())


@router.delete("/{asset_id}", status_code=204, summary="Delete an asset")
def delete_asset(_admin: AdminPrincipal, asset_id: str, node: NodeDep) -> Response:
    with node.database.transaction() as session:
        AssetRepository(session).delete(path_id(asset_id, "asset"))
    return Response(status_code=204)

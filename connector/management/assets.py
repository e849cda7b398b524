"""``/management/v3/assets``: what data the node offers, and where it lives (EDC-compatible).

Create (``POST``, 200 + ``IdResponse``), get, update (``PUT`` with the whole asset, 204), delete
(204; 409 while an agreement refers to the asset) and query (``POST …/request`` with a
``QuerySpec``). The data address is validated by :mod:`connector.sources` before anything is
stored; an invalid request stores nothing.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from catalog.jsonld import JsonLdProcessor, JsonObject
from connector.catalogue.profiler import describe
from connector.errors import BadRequest, FieldError, NotFound, UnprocessableData
from connector.management.auth import AdminPrincipal
from connector.management.body import ExpandedBody, OptionalExpandedBody
from connector.management.querying import parse_query_spec
from connector.management.vocabulary import (
    EDC,
    EDC_CONTEXT,
    node_types,
    resolve_term,
    simplify_node,
    unsimplify_node,
    values,
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
MAX_ID_LENGTH = 256
# Ids travel in URL paths: no whitespace, controls or URL delimiters, and no blank-node ids.
_VALID_ID = re.compile(r"^(?!_:)[^\s\x00-\x1f\x7f/\\?#%]{1,256}$")


def _asset_id(node: JsonObject, *, generate: bool) -> str:
    raw = node.get("@id")
    if raw is None:
        if generate:
            return str(uuid.uuid4())
        raise BadRequest("the asset '@id' is required")
    if not isinstance(raw, str) or not _VALID_ID.match(raw):
        raise BadRequest(
            f"the asset '@id' must be 1 to {MAX_ID_LENGTH} characters without spaces, control "
            "characters, '/', '\\', '?', '#' or '%', and not start with '_:'",
            errors=[FieldError("@id", "invalid identifier")],
        )
    return raw


def _path_id(asset_id: str) -> str:
    """An id from the URL path; one that no asset can have is simply not found."""
    if not _VALID_ID.match(asset_id):
        raise NotFound(f"asset {asset_id[:MAX_ID_LENGTH]!r} does not exist")
    return asset_id


def _one_node(node: JsonObject, term: str, *, required: bool) -> JsonObject | None:
    found = values(node, EDC + term)
    if not found:
        if required:
            raise BadRequest(f"'{term}' is required", errors=[FieldError(term, "required")])
        return None
    if len(found) != 1 or not isinstance(found[0], dict) or "@value" in found[0]:
        raise BadRequest(f"'{term}' must be one JSON object", errors=[FieldError(term, "object")])
    return dict(found[0])


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
    asset_id = _asset_id(node, generate=generate_id)
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
    now = datetime.now(UTC)
    return AssetRecord(
        id=asset_id,
        properties=properties,
        private_properties=private,
        data_address=_data_address(node, node_services.sources),
        created_at=now,
        updated_at=now,
        version=0,
    )


def render_asset(processor: JsonLdProcessor, asset: AssetRecord) -> JsonObject:
    """The EDC JSON-LD representation of ``asset`` (compacted, with its ``@context``)."""
    expanded: JsonObject = {
        "@id": asset.id,
        "@type": [EDC + "Asset"],
        EDC + "properties": [unsimplify_node(asset.properties)],
        EDC + "createdAt": [{"@value": int(asset.created_at.timestamp() * 1000)}],
    }
    if asset.private_properties:
        expanded[EDC + "privateProperties"] = [unsimplify_node(asset.private_properties)]
    compacted = processor.compact(expanded, EDC_CONTEXT)
    compacted["dataAddress"] = {"@type": "DataAddress", **asset.data_address}
    return compacted


def id_response(processor: JsonLdProcessor, identifier: str, created_at: datetime) -> JsonObject:
    expanded = {
        "@id": identifier,
        "@type": [EDC + "IdResponse"],
        EDC + "createdAt": [{"@value": int(created_at.timestamp() * 1000)}],
    }
    return processor.compact(expanded, EDC_CONTEXT)


@router.post("", summary="Create an asset")
def create_asset(body: ExpandedBody, node: NodeDep, _admin: AdminPrincipal) -> JSONResponse:
    record = asset_from_request(body, node, generate_id=True)
    with node.database.transaction() as session:
        created = AssetRepository(session).create(record)
        describe(session, created)
    node.profiler.request(created.id)
    return JSONResponse(id_response(node.jsonld, created.id, created.created_at))


@router.post("/request", summary="Query assets")
def query_assets(body: OptionalExpandedBody, node: NodeDep, _admin: AdminPrincipal) -> JSONResponse:
    spec = parse_query_spec(body, resolve_term)
    with node.database.read() as session:
        found = AssetRepository(session).query(spec)
    return JSONResponse([render_asset(node.jsonld, asset) for asset in found])


@router.get("/{asset_id}", summary="Get an asset")
def get_asset(asset_id: str, node: NodeDep, _admin: AdminPrincipal) -> JSONResponse:
    with node.database.read() as session:
        asset = AssetRepository(session).get(_path_id(asset_id))
    return JSONResponse(render_asset(node.jsonld, asset))


@router.put("", status_code=204, summary="Replace an asset")
def update_asset(body: ExpandedBody, node: NodeDep, _admin: AdminPrincipal) -> Response:
    record = asset_from_request(body, node, generate_id=False)
    with node.database.transaction() as session:
        updated = AssetRepository(session).update(record)
        describe(session, updated)
    node.profiler.request(updated.id)
    return Response(status_code=204)


@router.post("/{asset_id}/profile", summary="Profile the asset's data now (etds extension)")
def profile_asset(asset_id: str, node: NodeDep, _admin: AdminPrincipal) -> JSONResponse:
    """Read the data behind the asset and refresh its catalogue metadata (places, time
    coverage, size, checksum, columns); 422 with the reason when the data cannot be read."""
    asset_id = _path_id(asset_id)
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
def delete_asset(asset_id: str, node: NodeDep, _admin: AdminPrincipal) -> Response:
    with node.database.transaction() as session:
        AssetRepository(session).delete(_path_id(asset_id))
    return Response(status_code=204)

"""Discovery for administrators: fetch a peer's catalogue over the DSP (EDC-compatible
``/catalog/request`` and ``/catalog/dataset/request``), and search the catalogues the node knows
(``GET /catalog/search``, the node's own and every fetched one)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from catalog.dsp import dataset_to_dsp
from catalog.jsonld import JsonObject
from catalog.search import SearchQuery
from catalog.vocabulary import theme as theme_iri
from connector.errors import BadRequest
from connector.management.auth import AdminPrincipal
from connector.management.body import ExpandedBody
from connector.management.vocabulary import EDC, EDC_CONTEXT, single_literal, values
from connector.node import Node, NodeDep

router = APIRouter(prefix="/catalog", tags=["catalogue"])

PROTOCOLS = frozenset({"dataspace-protocol-http", "dataspace-protocol-http:2025-1"})
MAX_FILTERS = 32


def _text(node: JsonObject, term: str) -> str | None:
    value = single_literal(node, EDC + term, term)
    if value is not None and (not isinstance(value, str) or not value or len(value) > 2048):
        raise BadRequest(f"'{term}' must be a non-empty string")
    return value


def _required(node: JsonObject, term: str) -> str:
    value = _text(node, term)
    if value is None:
        raise BadRequest(f"'{term}' is required")
    return value


def _peer(node: JsonObject) -> tuple[str, str]:
    protocol = _text(node, "protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        raise BadRequest(f"unsupported protocol {protocol!r}; use {', '.join(sorted(PROTOCOLS))}")
    return _required(node, "counterPartyId"), _required(node, "counterPartyAddress")


def _filters(node: JsonObject) -> list[str]:
    query = values(node, EDC + "querySpec")
    if query and any(values(q, EDC + "filterExpression") for q in query if isinstance(q, dict)):
        raise BadRequest("querySpec filters are not supported; use 'filter' (DSP filter strings)")
    found = []
    for value in values(node, EDC + "filter"):
        if not isinstance(value, dict) or not isinstance(value.get("@value"), str):
            raise BadRequest("'filter' must be a list of strings such as \"keyword=camping\"")
        found.append(value["@value"])
    if len(found) > MAX_FILTERS:
        raise BadRequest(f"at most {MAX_FILTERS} filters")
    return found


def _edc_form(node: Node, document: dict[str, Any]) -> JsonObject:
    """A peer's DSP document as EDC tooling reads it (compacted with the EDC context)."""
    try:
        return node.jsonld.compact(document, EDC_CONTEXT)
    except ValueError as exc:
        raise BadRequest(f"the peer's document is not valid JSON-LD: {exc}") from None


@router.post("/request", summary="Fetch a peer's catalogue (DSP), stored for search")
async def request_catalog(
    _admin: AdminPrincipal, body: ExpandedBody, node: NodeDep
) -> JSONResponse:
    participant, address = _peer(body)
    document = await node.remote_catalogues.fetch(participant, address, _filters(body))
    return JSONResponse(_edc_form(node, document))


@router.post("/dataset/request", summary="Fetch one dataset of a peer's catalogue (DSP)")
async def request_dataset(
    _admin: AdminPrincipal, body: ExpandedBody, node: NodeDep
) -> JSONResponse:
    participant, address = _peer(body)
    dataset_id = body.get("@id")
    if not isinstance(dataset_id, str) or not dataset_id:
        raise BadRequest("the dataset '@id' is required")
    document = await node.remote_catalogues.dataset(participant, address, dataset_id)
    return JSONResponse(_edc_form(node, document))


class SearchParameters(BaseModel):
    """``GET /catalog/search`` query parameters."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    q: str | None = Field(default=None, max_length=500, description="keywords")
    theme: list[Annotated[str, Field(max_length=512)]] = Field(default_factory=list, max_length=20)
    region: list[Annotated[str, Field(max_length=512)]] = Field(
        default_factory=list, max_length=20, description="NUTS codes or IRIs"
    )
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    modified_since: date | None = Field(default=None, alias="modifiedSince")
    provider: list[Annotated[str, Field(max_length=512)]] = Field(
        default_factory=list, max_length=50
    )
    offset: int = Field(default=0, ge=0, le=100_000)
    limit: int = Field(default=20, ge=1, le=200)


@router.get("/search", summary="Search the own and fetched catalogues")
def search_catalogues(
    _admin: AdminPrincipal, params: Annotated[SearchParameters, Query()], node: NodeDep
) -> JSONResponse:
    themes = [t if ":" in t else theme_iri(t.upper()) for t in params.theme]
    try:
        query = SearchQuery(
            terms=(params.q,) if params.q else (),
            themes=tuple(themes),
            spatial=tuple(params.region),
            start=params.start,
            end=params.end,
            modified_since=params.modified_since,
        )
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    offset, limit = params.offset, params.limit
    providers = set(params.provider) if params.provider else None
    total, hits = node.discovery.search(query, providers=providers, offset=offset, limit=limit)
    return JSONResponse(
        {
            "total": total,
            "offset": offset,
            "limit": limit,
            "hits": [
                {
                    "participantId": hit.participant_id,
                    "score": hit.score,
                    # the node's own datasets include those it offers to nobody
                    "dataset": dataset_to_dsp(hit.dataset, context=False, offers_required=False),
                }
                for hit in hits
            ],
        }
    )

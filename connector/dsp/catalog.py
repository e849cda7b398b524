"""DSP 2025-1 catalogue: ``POST <base>/catalog/request``, ``GET <base>/catalog/datasets/{id}``.

Every call carries a verified access token; the catalogue is the one its participant may see.
Answers are the DSP JSON-LD form (``application/json``, ``application/ld+json``) or, on
``Accept``, RDF for harvesters (Turtle, N-Triples, RDF/XML). Pages are linked with RFC 8288
``Link`` headers (``rel="next"`` / ``rel="previous"``) carrying an opaque ``continuationToken``;
bodies are gzipped when the client accepts it. Errors are ``CatalogError`` messages.
"""

from __future__ import annotations

import gzip
import json
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response

from catalog.dsp import catalog_to_dsp, dataset_to_dsp
from catalog.filters import FilterError, parse_catalog_filters
from catalog.model import Catalog
from catalog.rdf import serialize
from connector.catalogue.service import Cursor
from connector.dsp.errors import answer_unknown_paths, dsp_route_class
from connector.dsp.messages import read_message
from connector.dsp.version import BASE_PATH
from connector.errors import BadRequest
from connector.identity.dependency import ParticipantDep
from connector.node import NodeDep

router = APIRouter(
    prefix=BASE_PATH + "/catalog",
    tags=["dataspace protocol"],
    route_class=dsp_route_class("CatalogError"),
)

JSON_TYPES = ("application/json", "application/ld+json")
RDF_TYPES = ("text/turtle", "application/n-triples", "application/rdf+xml")
GZIP_MIN_BYTES = 1024
Token = Annotated[str | None, Query(alias="continuationToken", max_length=1024)]


def _media_type(request: Request) -> str:
    """The answer's media type from ``Accept`` (DSP JSON unless RDF is preferred)."""
    accept = request.headers.get("accept", "")
    best, best_q = JSON_TYPES[0], -1.0
    for part in accept.split(","):
        kind, _, params = part.strip().partition(";")
        kind = kind.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if kind in (*JSON_TYPES, *RDF_TYPES) and q > best_q:
            best, best_q = kind, q
    return best


def _respond(request: Request, body: bytes, media_type: str, headers: dict[str, str]) -> Response:
    headers = {**headers, "Vary": "Accept, Accept-Encoding"}
    if len(body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=media_type, headers=headers)


def _render(request: Request, catalogue: Catalog, document: dict[str, Any]) -> tuple[bytes, str]:
    media_type = _media_type(request)
    if media_type in RDF_TYPES:
        base = str(request.url_for("get_dataset", dataset_id="x")).removesuffix("x")
        return serialize(catalogue, media_type, base=base), media_type
    return json.dumps(document, ensure_ascii=False).encode(), "application/json"


@router.post("/request", summary="Catalogue request (DSP CatalogRequestMessage)")
async def catalog_request(
    request: Request,
    node: NodeDep,
    participant: ParticipantDep,
    continuation_token: Annotated[
        str | None, Query(alias="continuationToken", max_length=1024)
    ] = None,
) -> Response:
    message = await read_message(request, "CatalogRequestMessage")
    try:
        query = parse_catalog_filters(
            message.values("https://w3id.org/dspace/2025/1/filter") or None
        )
    except FilterError as exc:
        raise BadRequest(f"unsupported filter: {exc}") from None
    cursor = Cursor.parse(continuation_token) if continuation_token else None
    limit = node.settings.catalogue.page_size

    def build() -> tuple[bytes, str, dict[str, str]]:
        page = node.catalogue.page(participant.claims, query, cursor, limit)
        body, media_type = _render(request, page.catalogue, catalog_to_dsp(page.catalogue))
        links = []
        for relation, target in (("next", page.next), ("previous", page.previous)):
            if target is not None:
                url = request.url.include_query_params(continuationToken=target.token())
                links.append(f'<{url}>; rel="{relation}"')
        return body, media_type, ({"Link": ", ".join(links)} if links else {})

    body, media_type, headers = await to_thread.run_sync(build)
    return _respond(request, body, media_type, headers)


@router.get("/datasets/{dataset_id}", name="get_dataset", summary="One dataset (DSP Dataset)")
async def get_dataset(
    participant: ParticipantDep, dataset_id: str, request: Request, node: NodeDep
) -> Response:
    def build() -> tuple[bytes, str]:
        dataset = node.catalogue.dataset(participant.claims, dataset_id)
        catalogue = node.catalogue.publication.catalogue([dataset])
        return _render(request, catalogue, dataset_to_dsp(dataset))

    body, media_type = await to_thread.run_sync(build)
    return _respond(request, body, media_type, {})


answer_unknown_paths(router)

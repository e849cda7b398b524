"""``GET /.well-known/dspace-version``: the protocol versions this node speaks (unauthenticated).

The path of each version is relative to the root the well-known document is served from; the
node's public URL may have a path of its own (a reverse proxy), which prefixes it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from connector.node import NodeDep

PROTOCOL_VERSION = "2025-1"
BASE_PATH = "/protocol/2025-1"

router = APIRouter(tags=["dataspace protocol"])


def dsp_base_url(public_url: str) -> str:
    """The DSP ``<base>`` partners call: the public URL + the 2025-1 base path."""
    return public_url.rstrip("/") + BASE_PATH


def version_document(auth: dict[str, Any] | None, service_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "version": PROTOCOL_VERSION,
        "path": BASE_PATH,
        "binding": "HTTPS",
        "serviceId": service_id,
    }
    if auth is not None:
        entry["auth"] = auth
    return {"protocolVersions": [entry]}


@router.get("/.well-known/dspace-version", summary="DSP versions (RFC 8615 well-known)")
def dspace_version(node: NodeDep) -> JSONResponse:
    return JSONResponse(version_document(node.protocol_auth, node.service_id))

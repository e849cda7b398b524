"""Liveness and readiness probes (unauthenticated, no secrets in the answer)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from connector.http.problem import problem_response
from connector.node import NodeDep
from connector.store.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])
log = logging.getLogger("etds.health")


@router.get("/health/live", summary="The process is up")
def live() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/health/ready", summary="The node can serve requests (database reachable, schema current)"
)
def ready(node: NodeDep) -> JSONResponse:
    try:
        with node.database.read() as session:
            session.execute(text("SELECT 1"))
        revision = current_revision(node.database)
    except Exception as exc:  # any failure of the database makes the node not ready
        log.warning("readiness check failed", extra={"error": type(exc).__name__})
        return problem_response(
            status=503,
            slug="not-ready",
            title="Service Unavailable",
            detail="the database is not reachable",
        )
    if revision != head_revision():
        return problem_response(
            status=503,
            slug="not-ready",
            title="Service Unavailable",
            detail="the database schema is not up to date; run `etds db upgrade`",
        )
    return JSONResponse({"status": "ready", "schema": revision})

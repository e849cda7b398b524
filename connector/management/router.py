"""The management API, under ``/management/v3`` and (older EDC clients) ``/management/v2``."""

from __future__ import annotations

from fastapi import APIRouter

from connector.management import (
    agreements,
    assets,
    catalog,
    contract_definitions,
    negotiations,
    policy_definitions,
)

VERSION_PREFIXES = ("/management/v3", "/management/v2")


def management_router() -> APIRouter:
    """All management resources, once; the app mounts it under each version prefix.

    FastAPI matches a request against each route in turn (twice, through included routers):
    what administrators' tools call for every contract (negotiations, agreements, catalogues)
    comes before what is set up once (assets, policies, contract definitions). No two of these
    routers share a path prefix, so the order changes nothing else."""
    router = APIRouter()
    router.include_router(negotiations.router)
    router.include_router(agreements.router)
    router.include_router(catalog.router)
    router.include_router(assets.router)
    router.include_router(policy_definitions.router)
    router.include_router(contract_definitions.router)
    return router

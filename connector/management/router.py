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
    """All management resources, once; the app mounts it under each version prefix."""
    router = APIRouter()
    router.include_router(assets.router)
    router.include_router(catalog.router)
    router.include_router(policy_definitions.router)
    router.include_router(contract_definitions.router)
    router.include_router(negotiations.router)
    router.include_router(agreements.router)
    return router

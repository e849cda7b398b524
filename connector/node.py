"""The services one node is made of, built once by :func:`connector.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from catalog.jsonld import JsonLdProcessor
from connector.settings import Settings
from connector.sources.config import ObjectStoreConfig, SourceConfig
from connector.store.database import Database


@dataclass(frozen=True)
class Node:
    """Everything a request handler may need. One per application; nothing global."""

    settings: Settings
    database: Database
    jsonld: JsonLdProcessor
    sources: SourceConfig
    admin_api_keys: tuple[str, ...]


def source_config(settings: Settings) -> SourceConfig:
    """The data-source configuration the storage settings describe."""
    storage = settings.storage
    stores = {
        name: ObjectStoreConfig(
            endpoint_override=store.endpoint_override,
            region=store.region,
            scheme=store.scheme,
            access_key=store.access_key.get_secret_value() if store.access_key else None,
            secret_key=store.secret_key.get_secret_value() if store.secret_key else None,
            anonymous=store.anonymous,
        )
        for name, store in storage.object_stores.items()
    }
    return SourceConfig(
        data_roots=tuple(root.resolve() for root in storage.data_roots),
        object_stores=stores,
        batch_rows=storage.batch_rows,
    )


def get_node(request: Request) -> Node:
    node = request.app.state.node
    assert isinstance(node, Node)
    return node


NodeDep = Annotated[Node, Depends(get_node)]

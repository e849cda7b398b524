"""The services one node is made of, built once by :func:`connector.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from catalog.jsonld import JsonLdProcessor
from connector.catalogue.discovery import Discovery
from connector.catalogue.profiler import Profiler
from connector.catalogue.remote import RemoteCatalogues
from connector.catalogue.service import CatalogueService
from connector.identity.service import NodeIdentity
from connector.settings import Settings
from connector.sources.config import SourceConfig
from connector.store.database import Database
from policies import Evaluator

if TYPE_CHECKING:  # they read DSP messages, whose module needs get_node from here
    from connector.negotiation.actions import AdministratorActions
    from connector.negotiation.dispatcher import NegotiationDispatcher
    from connector.negotiation.service import NegotiationService


@dataclass(frozen=True)
class Node:
    """Everything a request handler may need. One per application; nothing global."""

    settings: Settings
    database: Database
    jsonld: JsonLdProcessor
    sources: SourceConfig
    admin_api_keys: tuple[str, ...]
    profiler: Profiler
    evaluator: Evaluator
    """The one policy evaluator (catalogue visibility, explanations, later negotiation)."""
    catalogue: CatalogueService
    remote_catalogues: RemoteCatalogues
    discovery: Discovery
    identity: NodeIdentity
    service_id: str
    """The DSP DataService id: its ``endpointURL`` (the node's DSP base URL)."""
    protocol_auth: dict[str, Any] | None
    """The ``auth`` entry of ``/.well-known/dspace-version`` (how peers authenticate)."""
    negotiations: NegotiationService
    negotiation_actions: AdministratorActions
    negotiation_dispatcher: NegotiationDispatcher


def get_node(request: Request) -> Node:
    node = request.app.state.node
    assert isinstance(node, Node)
    return node


async def _node_dependency(request: Request) -> Node:
    """:func:`get_node` for routes. A coroutine, so that FastAPI calls it on the event loop: it
    runs a plain function dependency in a worker thread, a thread hand-off per request."""
    return get_node(request)


NodeDep = Annotated[Node, Depends(_node_dependency)]

"""``create_app(settings)``: the one place where a node is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI

from catalog.contexts import dsp_processor
from catalog.jsonld import JsonLdProcessor
from connector.catalogue.access import PolicyAccess
from connector.catalogue.builder import Publication
from connector.catalogue.discovery import Discovery
from connector.catalogue.profiler import Profiler
from connector.catalogue.remote import RemoteCatalogues
from connector.catalogue.service import CatalogueService
from connector.dsp import catalog as dsp_catalog
from connector.dsp import errors as dsp_errors
from connector.dsp import negotiations as dsp_negotiations
from connector.dsp import version
from connector.dsp.version import dsp_base_url
from connector.http import health
from connector.http.limits import BodySizeLimitMiddleware
from connector.http.paths import TrailingSlashMiddleware
from connector.http.problem import install_problem_handlers
from connector.http.requestlog import RequestLogMiddleware
from connector.http.tls import outbound_ssl_context
from connector.identity.dependency import install_identity
from connector.identity.service import NodeIdentity
from connector.management.router import VERSION_PREFIXES, management_router
from connector.negotiation.actions import AdministratorActions
from connector.negotiation.decisions import Decisions
from connector.negotiation.dispatcher import NegotiationDispatcher
from connector.negotiation.service import NegotiationService
from connector.negotiation.terms import Terms
from connector.node import Node
from connector.settings import Settings
from connector.store.database import Database
from connector.store.migrate import upgrade
from policies import Evaluator

log = logging.getLogger("etds.app")

RUN_ON_LOOP: dict[str, bool | None] = {"auto": None, "always": True, "never": False}
"""``database.run_on_loop`` as :class:`Database` takes it (None: SQLite only)."""


@dataclass(frozen=True)
class _Negotiation:
    service: NegotiationService
    actions: AdministratorActions
    dispatcher: NegotiationDispatcher


def _negotiation(  # noqa: PLR0917 - the services it wires
    settings: Settings,
    db: Database,
    identity: NodeIdentity,
    jsonld: JsonLdProcessor,
    evaluator: Evaluator,
    access: PolicyAccess,
    catalogue: CatalogueService,
    dsp_base: str,
    tls: ssl.SSLContext,
) -> _Negotiation:
    """Contract negotiation: the DSP side, administrators' actions, the dispatcher sending what
    either decides (woken by both)."""

    def clock() -> datetime:
        return datetime.now(UTC)

    participant_id = settings.node.participant_id
    dispatcher = NegotiationDispatcher(
        db,
        identity,
        participant_id=participant_id,
        callback_address=dsp_base,
        processor=jsonld,
        settings=settings.negotiation,
        security=settings.security,
        ssl_context=tls,
        clock=clock,
    )
    terms = Terms(participant_id=participant_id, processor=jsonld, access=access, clock=clock)
    service = NegotiationService(
        db,
        terms,
        Decisions(terms, evaluator, catalogue, clock=clock),
        catalogue=catalogue,
        security=settings.security,
        callback_address=dsp_base,
        clock=clock,
    )
    actions = AdministratorActions(
        db, terms, catalogue, security=settings.security, wake=dispatcher.wake, clock=clock
    )
    return _Negotiation(service, actions, dispatcher)


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    """Build the node's ASGI application.

    ``database`` may be given (tests share one); otherwise it is created from the settings. The
    application owns (and disposes of) a database it created. Schema migrations run at start-up
    when ``database.auto_migrate`` is set.
    """
    owns_database = database is None
    db = database or Database.from_url(
        settings.database.url.get_secret_value(),
        echo=settings.database.echo,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.max_overflow,
        worker_threads=settings.database.worker_threads,
        run_on_loop=RUN_ON_LOOP[settings.database.run_on_loop],
    )
    sources = settings.storage.to_config()
    dsp_base = dsp_base_url(str(settings.node.public_url))
    tls = outbound_ssl_context(settings.security.tls_ca_file)  # every outbound HTTPS call
    identity = NodeIdentity.from_settings(
        settings.identity,
        participant_id=settings.node.participant_id,
        public_url=str(settings.node.public_url),
        database=db,
        ssl_context=tls,
    )
    jsonld = dsp_processor()
    evaluator = Evaluator()
    access = PolicyAccess(jsonld, evaluator)
    catalogue = CatalogueService(db, access, Publication.from_settings(settings, dsp_base))
    negotiation = _negotiation(
        settings, db, identity, jsonld, evaluator, access, catalogue, dsp_base, tls
    )
    dispatcher = negotiation.dispatcher
    node = Node(
        settings=settings,
        database=db,
        jsonld=jsonld,
        sources=sources,
        admin_api_keys=tuple(settings.management.all_api_keys()),
        profiler=Profiler(db, sources),
        evaluator=evaluator,
        catalogue=catalogue,
        remote_catalogues=RemoteCatalogues(
            db, identity, settings.security, jsonld, ssl_context=tls
        ),
        discovery=Discovery(db, catalogue, jsonld),
        identity=identity,
        service_id=dsp_base,
        protocol_auth=identity.dspace_auth_entry(),
        negotiations=negotiation.service,
        negotiation_actions=negotiation.actions,
        negotiation_dispatcher=dispatcher,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.database.auto_migrate:
            upgrade(db)
        profiling = asyncio.create_task(
            node.profiler.run(settings.catalogue.profile_interval_seconds), name="profiler"
        )
        housekeeping = asyncio.create_task(identity.run_housekeeping(600), name="identity")
        dispatching = asyncio.create_task(dispatcher.run(), name="negotiation-dispatcher")
        # Long-lived start-up objects (modules, contexts, caches) move out of the collector's
        # generations, so full collections stay short on the request path (p99 latency).
        gc.collect()
        gc.freeze()
        log.info(
            "node started",
            extra={"participant_id": settings.node.participant_id, "profile": settings.profile},
        )
        try:
            yield
        finally:
            node.profiler.stop()
            await profiling
            dispatcher.stop()
            await dispatching
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            await identity.aclose()
            if owns_database:
                db.dispose()
            log.info("node stopped")

    app = FastAPI(
        title="etds-connector",
        summary="European Tourism Data Space connector node",
        version="0.1.0",
        lifespan=lifespan,
        # Trailing slashes are stripped before routing (TrailingSlashMiddleware): a redirect
        # to the slashed path would come back stripped, again and again.
        redirect_slashes=False,
    )
    app.state.node = node
    install_identity(app, identity)
    app.state.settings = settings
    install_problem_handlers(app)
    _install_middleware(app, settings)

    # Routes are matched in order, each router's in turn (twice per request in FastAPI): the
    # protocol messages peers send most come first. No two routers share a path prefix, so
    # the order changes nothing else.
    app.include_router(dsp_negotiations.router)
    app.include_router(dsp_catalog.router)
    management = management_router()
    for prefix in VERSION_PREFIXES:
        app.include_router(management, prefix=prefix)
    app.include_router(health.router)
    app.include_router(version.router)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    """The pure ASGI middleware, outermost last: trailing slashes, request log, body cap."""
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.limits.max_body_bytes,
        refusal=dsp_errors.protocol_refusal,
    )
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(TrailingSlashMiddleware)

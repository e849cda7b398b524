"""Fetching peers' catalogues over the DSP (as a consumer), for discovery and search.

A fetch follows the peer's ``Link: rel="next"`` pages (same origin only, at most ``max_pages``),
merges their datasets into one DSP ``Catalog`` document, checks that it reads as a catalogue,
and stores it as the peer's latest catalogue. Calls carry this node's access token for the peer
(``identity.auth(peer)``); the address is checked like any outbound URL; answers are size-capped
and redirects are not followed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from catalog.contexts import DSPACE_CONTEXT_URL
from catalog.dsp_read import CatalogParseError, catalog_from_dsp
from catalog.expanded import Bounds, DocumentTooLarge, check_bounds
from catalog.jsonld import JsonLdProcessor
from connector.errors import BadGateway, ServiceUnavailable
from connector.http.fetch import CookielessAsyncClient, FetchError, send
from connector.http.outbound import PublicAddressResolver, check_outbound_url_async
from connector.http.tls import outbound_ssl_context
from connector.http.transport import AiohttpTransport
from connector.identity.client import TokenRequestFailed
from connector.identity.service import NodeIdentity
from connector.settings import SecuritySettings
from connector.store.database import Database
from connector.store.records import RemoteCatalogueRecord
from connector.store.repositories.remote_catalogues import RemoteCatalogueRepository

log = logging.getLogger("etds.catalogue")

MAX_CATALOGUE_BYTES = 16 * 1024 * 1024
MAX_PAGES = 100


class RemoteCatalogues:
    """Fetches and keeps peers' catalogues."""

    def __init__(
        self,
        database: Database,
        identity: NodeIdentity,
        security: SecuritySettings,
        processor: JsonLdProcessor,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout_seconds: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._identity = identity
        self._security = security
        self._processor = processor
        self._transport = transport
        self._ssl_context = ssl_context or outbound_ssl_context(security.tls_ca_file)
        self._timeout = timeout_seconds
        self._clock = clock

    def _client(self, participant_id: str) -> httpx.AsyncClient:
        if self._identity.tokens is None:
            raise ServiceUnavailable(
                "this node cannot call peers: set identity.authority and identity.client_key_file"
            )
        return CookielessAsyncClient(
            auth=self._identity.auth(participant_id),
            # connects only where check_outbound_url would let it (DNS rebinding)
            transport=self._transport
            or AiohttpTransport(
                max_connections=2,
                resolver=PublicAddressResolver(self._security),
                ssl_context=self._ssl_context,
            ),
            trust_env=False,
            follow_redirects=False,
            timeout=self._timeout,
        )

    async def _json(self, client: httpx.AsyncClient, request: httpx.Request) -> tuple[Any, Any]:
        try:
            # One deadline for each answer (token, connection, every byte): a peer trickling
            # its body keeps each read under the read timeout, but not the whole under this.
            async with asyncio.timeout(self._timeout):
                answer = await send(client, request, max_bytes=MAX_CATALOGUE_BYTES)
        except TimeoutError:
            raise BadGateway(f"the peer did not answer within {self._timeout:g} s") from None
        except FetchError as exc:
            raise BadGateway(f"the peer's catalogue could not be fetched: {exc}") from None
        except TokenRequestFailed as exc:
            raise BadGateway(
                "no access token for this peer from the dataspace authority", log_detail=str(exc)
            ) from None
        if answer.status != 200:
            raise BadGateway(
                f"the peer answered HTTP {answer.status}",
                log_detail=answer.body[:500].decode(errors="replace"),
            )
        try:
            document = answer.json()
            check_bounds(document, Bounds())  # before any JSON-LD processing recurses into it
        except FetchError as exc:
            raise BadGateway(f"the peer's answer is not usable JSON: {exc}") from None
        except DocumentTooLarge as exc:
            raise BadGateway(f"the peer's answer is too large: {exc}") from None
        return document, answer.headers

    async def fetch(
        self, participant_id: str, address: str, filters: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The peer's whole catalogue (all pages merged), stored as its latest."""
        base = address.rstrip("/")
        url = await check_outbound_url_async(base + "/catalog/request", self._security)
        origin = urlsplit(url)[:2]
        body: dict[str, Any] = {"@context": [DSPACE_CONTEXT_URL], "@type": "CatalogRequestMessage"}
        if filters:
            body["filter"] = list(filters)
        merged: dict[str, Any] | None = None
        async with self._client(participant_id) as client:
            for _ in range(MAX_PAGES):
                document, headers = await self._json(
                    client, client.build_request("POST", url, json=body)
                )
                if not isinstance(document, dict):
                    raise BadGateway("the peer's catalogue is not a JSON object")
                if merged is None:
                    merged = document
                else:
                    merged.setdefault("dataset", []).extend(document.get("dataset", []))
                following = httpx.Response(200, headers=headers).links.get("next", {}).get("url")
                if not following:
                    break
                if urlsplit(following)[:2] != origin:
                    raise BadGateway("the peer's next page is on another origin; not followed")
                url = following
        assert merged is not None
        self._check(merged)
        with self._database.transaction() as session:
            RemoteCatalogueRepository(session).save(
                RemoteCatalogueRecord(
                    participant_id=participant_id,
                    address=base,
                    fetched_at=self._clock(),
                    document=merged,
                )
            )
        log.info(
            "peer catalogue fetched",
            extra={"participant_id": participant_id, "datasets": len(merged.get("dataset", []))},
        )
        return merged

    async def dataset(self, participant_id: str, address: str, dataset_id: str) -> dict[str, Any]:
        """One dataset of the peer's catalogue (``GET …/catalog/datasets/{id}``)."""
        url = f"{address.rstrip('/')}/catalog/datasets/{quote(dataset_id, safe='')}"
        await check_outbound_url_async(url, self._security)
        async with self._client(participant_id) as client:
            document, _headers = await self._json(client, client.build_request("GET", url))
        if not isinstance(document, dict):
            raise BadGateway("the peer's dataset is not a JSON object")
        return document

    def _check(self, document: dict[str, Any]) -> None:
        try:
            catalog_from_dsp(document, processor=self._processor)
        except CatalogParseError as exc:
            raise BadGateway(f"the peer's catalogue cannot be read: {exc}") from None

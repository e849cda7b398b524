"""Keeping the catalogue's knowledge of each asset current.

* :func:`describe` runs in the transaction that writes an asset: the searchable text and themes
  come from its properties.
* :meth:`Profiler.profile` reads an asset's data (in a worker thread) and stores its profile, or
  the reason it could not (a missing file is not an error of the node: the catalogue then shows
  the asset without data-derived metadata).
* :meth:`Profiler.refresh` re-profiles the assets never profiled and those whose files changed
  (new weekly snapshot, rewritten file) — run at start-up and every
  ``catalogue.profile_interval_seconds`` by one replica at a time (a lease).
* :meth:`Profiler.run` is the one worker (an asyncio task the application owns) that does both
  the refreshes and the profiling of assets just written (:meth:`Profiler.request`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time

from anyio import to_thread
from sqlalchemy import Connection

from connector.catalogue.profiling import DataProfile, ProfileError, fingerprint, profile_source
from connector.catalogue.properties import DCAT, ETDS, first_literal, iris, search_text
from connector.sources import SourceConfig, SourceError, open_source, parse_data_address
from connector.store.database import Database
from connector.store.errors import NotFound
from connector.store.query import QuerySpec
from connector.store.records import AssetRecord
from connector.store.repositories.assets import AssetRepository
from connector.store.repositories.catalogue import CatalogueRepository
from connector.store.repositories.leases import LeaseRepository

log = logging.getLogger("etds.catalogue")

LEASE = "catalogue-profiler"
SPATIAL_COLUMN = ETDS + "spatialColumn"
TEMPORAL_COLUMN = ETDS + "temporalColumn"
SERIES_COLUMN = ETDS + "seriesColumn"


def _now() -> datetime:
    return datetime.now(UTC)


def describe(session: Connection, asset: AssetRecord) -> None:
    """Index ``asset``'s properties for the catalogue (in the transaction that writes it)."""
    CatalogueRepository(session).describe(
        asset.id,
        search_text=search_text(asset.properties),
        themes=iris(asset.properties, DCAT + "theme"),
        modified=asset.updated_at,
    )


def _midnight(day: object) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=UTC)  # type: ignore[arg-type]


class Profiler:
    """Profiles assets' data and keeps the profiles current."""

    def __init__(
        self, database: Database, sources: SourceConfig, clock: Callable[[], datetime] = _now
    ) -> None:
        self._database = database
        self._sources = sources
        self._clock = clock
        self._holder = f"profiler-{uuid.uuid4().hex[:12]}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[str | None] | None = None
        self._stopping = False

    def profile(self, asset_id: str) -> DataProfile | None:
        """Profile one asset now; None (and the reason stored) when its data cannot be read."""
        with self._database.read() as session:
            try:
                asset = AssetRepository(session).get(asset_id)
            except NotFound:
                return None
        try:
            source = open_source(parse_data_address(asset.data_address), self._sources)
            result = profile_source(
                source,
                spatial_column=first_literal(asset.private_properties, SPATIAL_COLUMN),
                temporal_column=first_literal(asset.private_properties, TEMPORAL_COLUMN),
                series_column=first_literal(asset.private_properties, SERIES_COLUMN),
            )
        except (SourceError, ProfileError) as exc:
            reason = getattr(exc, "detail", None) or str(exc)
            log.info("asset data not profiled", extra={"asset_id": asset_id, "reason": reason})
            with self._database.transaction() as session:
                CatalogueRepository(session).save_profile_error(asset_id, reason, self._clock())
            return None
        with self._database.transaction() as session:
            CatalogueRepository(session).save_profile(
                asset_id,
                profile=result.to_json(),
                spatial=result.spatial,
                temporal=(_midnight(result.temporal_start), _midnight(result.temporal_end)),
                fingerprint=result.fingerprint,
                profiled_at=self._clock(),
                data_modified=result.last_modified,
            )
        log.info("asset data profiled", extra={"asset_id": asset_id, "rows": result.rows})
        return result

    def _changed(self, asset: AssetRecord, stored: str | None) -> bool:
        try:
            source = open_source(parse_data_address(asset.data_address), self._sources)
        except SourceError:
            return stored is not None  # data gone: profile again to record why
        return fingerprint(source.describe()) != stored

    def refresh(self, page_size: int = 500) -> int:
        """Re-profile the assets never profiled or whose files changed; returns how many."""
        with self._database.read() as session:
            pending = CatalogueRepository(session).unprofiled(limit=10_000)
        changed: list[str] = []
        offset = 0
        while True:
            with self._database.read() as session:
                page = AssetRepository(session).query(QuerySpec(offset=offset, limit=page_size))
                entries = CatalogueRepository(session).entries([asset.id for asset in page])
            for asset in page:
                entry = entries.get(asset.id)
                if (
                    entry is not None
                    and entry.profiled_at is not None
                    and self._changed(asset, entry.fingerprint)
                ):
                    changed.append(asset.id)
            if len(page) < page_size:
                break
            offset += page_size
        for asset_id in [*pending, *changed]:
            if self._stopping:
                break
            self.profile(asset_id)
        return len(pending) + len(changed)

    def request(self, asset_id: str) -> None:
        """Ask the running worker (:meth:`run`) to profile ``asset_id`` soon; thread-safe.

        Without a running worker (no application lifespan) the request is dropped: the next
        refresh finds the asset unprofiled or changed.
        """
        loop, queue = self._loop, self._queue
        if loop is None or queue is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(queue.put_nowait, asset_id)

    async def run(self, interval_seconds: float) -> None:
        """The worker: refresh at once and every ``interval_seconds`` (0: only at start-up)
        while this replica holds the lease, and profile the assets :meth:`request` names.

        :meth:`stop` ends it after the asset being profiled (threads cannot be interrupted, so
        the application waits for them instead of cancelling, and never disposes of the
        database under a running profile).
        """
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._stopping = False
        next_refresh: float | None = self._loop.time()
        try:
            while not self._stopping:
                timeout = (
                    None if next_refresh is None else max(0.0, next_refresh - self._loop.time())
                )
                try:
                    asset_id = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    await self._refresh_if_leader(interval_seconds)
                    next_refresh = (
                        self._loop.time() + interval_seconds if interval_seconds > 0 else None
                    )
                    continue
                if asset_id is None:
                    break
                try:
                    await to_thread.run_sync(self.profile, asset_id)
                except Exception:  # one asset's failure must not stop the worker
                    log.exception("profiling failed", extra={"asset_id": asset_id})
        finally:
            self._queue = None

    def stop(self) -> None:
        """Make :meth:`run` return once the work in progress is done (from the event loop)."""
        self._stopping = True
        if self._queue is not None:
            self._queue.put_nowait(None)

    async def _refresh_if_leader(self, interval_seconds: float) -> None:
        try:
            if await to_thread.run_sync(self._acquire, interval_seconds):
                count = await to_thread.run_sync(self.refresh)
                if count:
                    log.info("catalogue profiles refreshed", extra={"assets": count})
        except Exception:  # the worker must survive a failing database or source
            log.exception("catalogue profile refresh failed")

    def _acquire(self, interval_seconds: float) -> bool:
        ttl = max(60.0, 2 * interval_seconds)
        with self._database.transaction() as session:
            return LeaseRepository(session).acquire(LEASE, self._holder, ttl, self._clock())

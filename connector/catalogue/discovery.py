"""Search over the catalogues the node knows: its own and those fetched from peers.

Results are ranked by :func:`catalog.search.search` (keywords in titles, keywords and
descriptions; themes; NUTS regions both ways; time range; modified since). Peers' catalogues are
parsed once per fetch and kept in memory (keyed by the fetch time); the node's own datasets are
built for each search, in the administrators' view (every dataset, every offer).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from catalog.dsp_read import CatalogParseError, catalog_from_dsp
from catalog.jsonld import JsonLdProcessor
from catalog.model import Dataset
from catalog.search import SearchQuery, search
from connector.catalogue.service import CatalogueService
from connector.store.database import Database
from connector.store.repositories.remote_catalogues import RemoteCatalogueRepository


@dataclass(frozen=True)
class Found:
    """A search hit: whose catalogue it is in, the dataset, its relevance."""

    participant_id: str
    dataset: Dataset
    score: int


class Discovery:
    def __init__(
        self, database: Database, catalogue: CatalogueService, processor: JsonLdProcessor
    ) -> None:
        self._database = database
        self._catalogue = catalogue
        self._processor = processor
        self._parsed: dict[str, tuple[datetime, tuple[Dataset, ...]]] = {}
        self._lock = threading.Lock()

    def _remote(self, providers: Collection[str] | None) -> list[tuple[str, Dataset]]:
        with self._database.read() as session:
            records = RemoteCatalogueRepository(session).all()
        found: list[tuple[str, Dataset]] = []
        for record in records:
            if providers is not None and record.participant_id not in providers:
                continue
            with self._lock:
                cached = self._parsed.get(record.participant_id)
            if cached is None or cached[0] != record.fetched_at:
                try:
                    datasets = catalog_from_dsp(record.document, processor=self._processor).datasets
                except CatalogParseError:
                    datasets = ()
                cached = (record.fetched_at, tuple(datasets))
                with self._lock:
                    self._parsed[record.participant_id] = cached
            found.extend((record.participant_id, dataset) for dataset in cached[1])
        return found

    def search(
        self,
        query: SearchQuery,
        *,
        providers: Collection[str] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[int, list[Found]]:
        """``(total, one page of hits)`` over the own and fetched catalogues."""
        own = self._catalogue.publication.participant_id
        candidates: list[tuple[str, Dataset]] = []
        if providers is None or own in providers:
            candidates.extend((own, dataset) for dataset in self._catalogue.all_datasets())
        candidates.extend(self._remote(providers))
        owner = {id(dataset): participant for participant, dataset in candidates}
        hits = search((dataset for _, dataset in candidates), query)
        page = hits[offset : offset + limit]
        return len(hits), [Found(owner[id(hit.dataset)], hit.dataset, hit.score) for hit in page]

"""Filtering and ranking datasets: the node's DSP catalogue filters and its search API over its
own and fetched catalogues. Pure functions over model datasets.

Rules (a :class:`SearchQuery` combines them with AND; an empty query matches everything):

* **keywords**: every term must occur in a title, a keyword or a description of the dataset, in
  any language, ignoring case and accents (``hérault`` finds ``Herault``); a term matches inside
  a word (``camping`` finds ``campings``);
* **themes**: the dataset has one of the theme IRIs;
* **spatial**: one of the dataset's places overlaps one of the asked regions. Places and regions
  are NUTS codes, NUTS IRIs or EU country IRIs, compared through the NUTS hierarchy: ``FRJ``
  finds a dataset about ``FRJ13`` (and ``FR`` all French NUTS regions), and a dataset about the
  whole of ``FR`` is found for ``FRJ13``, which it covers. Other IRIs match only themselves;
* **time range**: one of the dataset's periods overlaps ``[start, end]`` (both inclusive, either
  open); a dataset without temporal coverage does not match a time range;
* **modified since**: the dataset's ``modified`` (else ``issued``) date is at or after it; a
  dataset with neither does not match.

Relevance (:func:`search`): for each term, 3 points if it occurs in a title, 2 if in a keyword,
1 if in a description (so at most 6 per term). Hits are sorted by decreasing score, then by
dataset id; equal ids (datasets of different catalogues) keep their input order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from catalog import checks
from catalog.model import Dataset, LangString
from catalog.regions import overlaps, region_code
from catalog.values import as_tuple, moment_key, store

TITLE_POINTS = 3
KEYWORD_POINTS = 2
DESCRIPTION_POINTS = 1
MAX_TERMS = 32


def normalise(text: str) -> str:
    """Lower case, accents removed, single spaces: ``"Hérault  Côte"`` → ``"herault cote"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


def _lower(value: date) -> datetime:
    return moment_key(value)


def _upper(value: date) -> datetime:
    """The end of a date (its next midnight, exclusive) or just after a datetime."""
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    return moment_key(value) + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for; see the module docstring for the rules."""

    terms: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    spatial: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    modified_since: date | None = None

    def __post_init__(self) -> None:
        terms = [normalise(term) for term in as_tuple(self.terms, "the search terms")]
        words = tuple(dict.fromkeys(word for term in terms for word in term.split()))
        if len(words) > MAX_TERMS:
            raise ValueError(f"a search has at most {MAX_TERMS} terms")
        store(self, "terms", words)
        store(self, "themes", as_tuple(self.themes, "the themes"))
        spatial = as_tuple(self.spatial, "the regions")
        for place in spatial:
            checks.identifier(place, "a region")
        store(self, "spatial", spatial)
        for name in ("start", "end", "modified_since"):
            value = getattr(self, name)
            if value is not None:
                checks.moment(value, name)
        if (
            self.start is not None
            and self.end is not None
            and _upper(self.end) <= _lower(self.start)
        ):
            raise ValueError("the time range ends before it starts")

    @classmethod
    def text(cls, query: str) -> SearchQuery:
        """A keyword search for the words of ``query``."""
        return cls(terms=(query,))


@dataclass(frozen=True, slots=True)
class Hit:
    dataset: Dataset
    score: int


@dataclass(frozen=True, slots=True)
class SearchText:
    """The normalised texts of a dataset that keywords are looked for in."""

    titles: tuple[str, ...]
    keywords: tuple[str, ...]
    descriptions: tuple[str, ...]
    places: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def of(cls, dataset: Dataset) -> SearchText:
        return cls(
            _normalised(dataset.titles),
            _normalised(dataset.keywords),
            _normalised(dataset.descriptions),
            _places(dataset),
        )

    def score(self, terms: tuple[str, ...]) -> int | None:
        """The relevance for normalised ``terms``; None if a term is missing."""
        total = 0
        for term in terms:
            points = (
                TITLE_POINTS * any(term in text for text in self.titles)
                + KEYWORD_POINTS * any(term in text for text in self.keywords)
                + DESCRIPTION_POINTS * any(term in text for text in self.descriptions)
            )
            if not points:
                return None
            total += points
        return total


def _normalised(values: Iterable[LangString]) -> tuple[str, ...]:
    return tuple(normalise(value.value) for value in values)


def keyword_score(dataset: Dataset, terms: tuple[str, ...]) -> int | None:
    """The relevance of ``dataset`` for normalised ``terms``; None if a term is missing."""
    return SearchText.of(dataset).score(terms)


def _places(dataset: Dataset) -> tuple[tuple[str, str | None], ...]:
    return tuple((place, region_code(place)) for place in dataset.spatial)


def in_regions(
    dataset: Dataset,
    regions: tuple[str, ...],
    places: tuple[tuple[str, str | None], ...] | None = None,
) -> bool:
    """Whether a place of ``dataset`` overlaps one of ``regions`` (see the module docstring);
    ``places``: the dataset's places with their NUTS codes, if already computed."""
    asked = [(region, region_code(region)) for region in regions]
    for place, code in _places(dataset) if places is None else places:
        for region, region_nuts in asked:
            if place == region or (code and region_nuts and overlaps(code, region_nuts)):
                return True
    return False


def in_time_range(dataset: Dataset, start: date | None, end: date | None) -> bool:
    """Whether a period of ``dataset`` overlaps ``[start, end]`` (open ends allowed)."""
    for period in dataset.temporal:
        if end is not None and period.start is not None and _lower(period.start) >= _upper(end):
            continue
        if start is not None and period.end is not None and _upper(period.end) <= _lower(start):
            continue
        return True
    return False


def modified_since(dataset: Dataset, since: date) -> bool:
    """Whether ``dataset`` was modified (else issued) at or after ``since``."""
    when = dataset.modified or dataset.issued
    return when is not None and _upper(when) > _lower(since)


def _passes(dataset: Dataset, query: SearchQuery, text: SearchText | None) -> bool:
    """Whether ``dataset`` meets the criteria other than keywords."""
    if query.themes and not set(query.themes) & set(dataset.themes):
        return False
    places = text.places if text is not None else None
    if query.spatial and not in_regions(dataset, query.spatial, places):
        return False
    has_range = query.start is not None or query.end is not None
    if has_range and not in_time_range(dataset, query.start, query.end):
        return False
    return query.modified_since is None or modified_since(dataset, query.modified_since)


def score(dataset: Dataset, query: SearchQuery, text: SearchText | None = None) -> int | None:
    """The relevance of ``dataset`` for ``query``, or None when it does not match
    (``text``: its :class:`SearchText`, if already computed)."""
    if not _passes(dataset, query, text):
        return None
    if not query.terms:
        return 0
    return (text or SearchText.of(dataset)).score(query.terms)


def matches(dataset: Dataset, query: SearchQuery) -> bool:
    return score(dataset, query) is not None


def _ranked(hits: list[Hit]) -> list[Hit]:
    hits.sort(key=lambda hit: (-hit.score, hit.dataset.id))
    return hits


def filter_datasets(datasets: Iterable[Dataset], query: SearchQuery) -> list[Dataset]:
    """The datasets matching ``query``, in their given order (for catalogue pages)."""
    return [dataset for dataset in datasets if matches(dataset, query)]


def search(datasets: Iterable[Dataset], query: SearchQuery) -> list[Hit]:
    """The datasets matching ``query``, most relevant first (see the module docstring)."""
    found = ((dataset, score(dataset, query)) for dataset in datasets)
    return _ranked([Hit(dataset, points) for dataset, points in found if points is not None])


class SearchIndex:
    """Datasets with their normalised texts computed once, for repeated searches over the same
    datasets (the node's own catalogue, fetched catalogues). Same rules as :func:`search`."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self._entries = tuple((dataset, SearchText.of(dataset)) for dataset in datasets)

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: SearchQuery) -> list[Hit]:
        found = ((dataset, score(dataset, query, text)) for dataset, text in self._entries)
        return _ranked([Hit(dataset, points) for dataset, points in found if points is not None])

    def filter(self, query: SearchQuery) -> list[Dataset]:
        """The matching datasets in their indexed order."""
        return [d for d, text in self._entries if score(d, query, text) is not None]

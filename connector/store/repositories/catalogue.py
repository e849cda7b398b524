"""Catalogue entries, and the one-statement page query the DSP catalogue is served from.

A catalogue page joins assets with their entries, keeps the assets that at least one visible
contract definition selects (each definition's ``assetsSelector`` is a list of criteria, ANDed),
applies the requester's filters, and says for each asset which definitions select it — in a
single SELECT whatever the number of datasets, so the statement count of a catalogue request
stays constant. Pages are keyset-paginated on the asset id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    false,
    or_,
    select,
    true,
)

from connector.store import query as q
from connector.store.errors import InvalidQuery
from connector.store.models import Asset, CatalogueEntry
from connector.store.records import AssetRecord, CatalogueEntryRecord
from connector.store.repositories._support import backend, record_from
from connector.store.repositories._upsert import upsert_if
from connector.store.repositories.assets import ASSET_FIELDS

_ASSETS: Table = Asset.__table__  # type: ignore[assignment]
_ENTRIES: Table = CatalogueEntry.__table__  # type: ignore[assignment]
MAX_PAGE = 1000


def tokens(values: Sequence[str]) -> str:
    """Values stored as `` a b c `` (leading and trailing space) for token LIKE matching."""
    cleaned = sorted({value.strip() for value in values if value.strip()})
    if any(" " in value for value in cleaned):
        raise ValueError("tokens cannot contain spaces")
    return " " + " ".join(cleaned) + " " if cleaned else " "


def _untokens(stored: str) -> tuple[str, ...]:
    return tuple(stored.split())


def _entry(row: Any) -> CatalogueEntryRecord | None:
    if row["search_text"] is None:
        return None
    return CatalogueEntryRecord(
        asset_id=row["id"],
        search_text=row["search_text"],
        themes=_untokens(row["themes"]),
        spatial=_untokens(row["spatial"]),
        temporal_start=row["temporal_start"],
        temporal_end=row["temporal_end"],
        modified=row["modified"],
        profile=row["profile"],
        fingerprint=row["fingerprint"],
        profiled_at=row["profiled_at"],
        profile_error=row["profile_error"],
    )


@dataclass(frozen=True)
class CatalogueFilters:
    """What a requester narrows the catalogue to; every non-empty part must hold.

    ``keywords`` are normalised terms (all must occur in the search text); ``themes``: any of
    these theme IRIs; ``spatial``: NUTS codes, a dataset matching when one of its codes overlaps
    one of them (``FRJ`` finds ``FRJ13``, and a dataset about all of ``FR`` is found for
    ``FRJ13``); ``modified_since``; ``temporal``: a coverage overlapping ``(start, end)`` (a
    dataset without coverage does not match); ``asset_ids``: only these.
    """

    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    spatial: tuple[str, ...] = ()
    modified_since: datetime | None = None
    temporal: tuple[datetime | None, datetime | None] | None = None
    asset_ids: tuple[str, ...] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        entries = _ENTRIES.c
        found: list[ColumnElement[bool]] = []
        found.extend(entries.search_text.contains(k, autoescape=True) for k in self.keywords)
        if self.themes:
            found.append(
                or_(*(entries.themes.contains(f" {t} ", autoescape=True) for t in self.themes))
            )
        if self.spatial:
            found.append(or_(*(_overlapping(entries.spatial, code) for code in self.spatial)))
        if self.modified_since is not None:
            found.append(entries.modified >= self.modified_since)
        if self.temporal is not None:
            start, end = self.temporal
            found.append(entries.temporal_start.is_not(None))
            if start is not None:
                found.append(entries.temporal_end >= start)
            if end is not None:
                found.append(entries.temporal_start <= end)
        if self.asset_ids is not None:
            found.append(_ASSETS.c.id.in_(self.asset_ids) if self.asset_ids else false())
        return found


def _overlapping(column: Any, code: str) -> ColumnElement[bool]:
    """Tokens starting with ``code``, or equal to one of its ancestors (its shorter prefixes of
    at least two letters: the regions containing it, up to the country)."""
    ancestors = [code[:length] for length in range(2, len(code))]
    return or_(
        column.contains(f" {code}", autoescape=True),
        *(column.contains(f" {ancestor} ", autoescape=True) for ancestor in ancestors),
    )


@dataclass(frozen=True)
class CatalogueItem:
    """One asset of a page, its entry (if any) and the indices of the selectors it matched."""

    asset: AssetRecord
    entry: CatalogueEntryRecord | None
    matched: tuple[int, ...]


@dataclass(frozen=True)
class CataloguePage:
    items: tuple[CatalogueItem, ...]
    has_more: bool
    """More items exist in the paging direction (after the last, or before the first)."""
    extra: dict[str, Any] = field(default_factory=dict)


def selecting(selector: Sequence[q.Criterion], backend_name: str) -> Select[Any]:
    """The statement of :meth:`CatalogueRepository.selects` for ``selector`` on ``backend_name``
    (run with ``{"selected_asset_id": …}``); raises InvalidQuery as :func:`query.conditions`."""
    return select(_ASSETS.c.id).where(
        _ASSETS.c.id == bindparam("selected_asset_id"),
        *q.conditions(selector, ASSET_FIELDS, backend_name),
    )


class CatalogueRepository:
    """Catalogue entries and catalogue pages."""

    def __init__(self, session: Connection) -> None:
        self._session = session

    def describe(
        self, asset_id: str, *, search_text: str, themes: Sequence[str], modified: datetime
    ) -> None:
        """Store what comes from the asset's properties, keeping the data-derived fields."""
        values = {
            "asset_id": asset_id,
            "search_text": search_text,
            "themes": tokens(themes),
            "spatial": " ",
            "modified": modified,
        }
        update = {"search_text": search_text, "themes": tokens(themes), "modified": modified}
        upsert_if(
            self._session, _ENTRIES, values, key=["asset_id"], update=update, condition=true()
        )

    def save_profile(
        self,
        asset_id: str,
        *,
        profile: dict[str, Any],
        spatial: Sequence[str],
        temporal: tuple[datetime | None, datetime | None],
        fingerprint: str,
        profiled_at: datetime,
        data_modified: datetime | None,
    ) -> bool:
        """Store a data profile; False when the asset has no entry (it was deleted meanwhile)."""
        entries = _ENTRIES.c
        values: dict[str, Any] = {
            "profile": profile,
            "spatial": tokens(spatial),
            "temporal_start": temporal[0],
            "temporal_end": temporal[1],
            "fingerprint": fingerprint,
            "profiled_at": profiled_at,
            "profile_error": None,
        }
        current = self._session.execute(
            select(entries.modified).where(entries.asset_id == asset_id).with_for_update()
        ).scalar()
        if current is None:
            return False
        if data_modified is not None and data_modified > current:
            values["modified"] = data_modified
        self._session.execute(
            _ENTRIES.update().where(entries.asset_id == asset_id).values(**values)
        )
        return True

    def save_profile_error(self, asset_id: str, error: str, at: datetime) -> None:
        self._session.execute(
            _ENTRIES.update()
            .where(_ENTRIES.c.asset_id == asset_id)
            .values(profile_error=error[:2000], profiled_at=at)
        )

    def get(self, asset_id: str) -> CatalogueEntryRecord | None:
        row = self._session.execute(
            select(_ENTRIES, _ENTRIES.c.asset_id.label("id")).where(_ENTRIES.c.asset_id == asset_id)
        ).first()
        return _entry(row._mapping) if row is not None else None

    def entries(self, asset_ids: Sequence[str]) -> dict[str, CatalogueEntryRecord]:
        """The entries of these assets (those that have one), in one statement."""
        if not asset_ids:
            return {}
        rows = self._session.execute(
            select(_ENTRIES, _ENTRIES.c.asset_id.label("id")).where(
                _ENTRIES.c.asset_id.in_(list(asset_ids))
            )
        )
        found = (_entry(row._mapping) for row in rows)
        return {entry.asset_id: entry for entry in found if entry is not None}

    def unprofiled(self, limit: int = 100) -> list[str]:
        """Assets whose data was never profiled (or whose entry is missing), oldest first."""
        statement = (
            select(_ASSETS.c.id)
            .select_from(_ASSETS.outerjoin(_ENTRIES, _ENTRIES.c.asset_id == _ASSETS.c.id))
            .where(or_(_ENTRIES.c.asset_id.is_(None), _ENTRIES.c.profiled_at.is_(None)))
            .order_by(_ASSETS.c.updated_at, _ASSETS.c.id)
            .limit(limit)
        )
        return list(self._session.execute(statement).scalars())

    def selects(
        self,
        selector: Sequence[q.Criterion],
        asset_id: str,
        statement: Select[Any] | None = None,
    ) -> bool:
        """Whether the asset ``asset_id`` exists and ``selector`` selects it: whether a
        :meth:`page` of that selector would list it (one statement reading one column, for
        checking one offer). ``statement``: :func:`selecting` of that selector on this backend,
        if the caller keeps it (a statement built anew costs SQLAlchemy a new cache key)."""
        if statement is None:
            statement = selecting(selector, backend(self._session))
        return self._session.execute(statement, {"selected_asset_id": asset_id}).first() is not None

    def page(
        self,
        selectors: Sequence[Sequence[q.Criterion]],
        filters: CatalogueFilters,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> CataloguePage:
        """One page of the assets some selector matches, with the indices of the matching ones.

        ``after``/``before`` are keyset cursors (asset ids); with ``before`` the page is the
        ``limit`` items just before it, still returned in ascending id order.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidQuery(f"limit must be between 1 and {MAX_PAGE}")
        if not selectors:
            return CataloguePage(items=(), has_more=False)
        dialect = backend(self._session)
        matches = [
            and_(true(), *q.conditions(criteria, ASSET_FIELDS, dialect)) for criteria in selectors
        ]
        flags = [match.label(f"m{index}") for index, match in enumerate(matches)]
        statement = (
            select(_ASSETS, *_entry_columns(), *flags)
            .select_from(_ASSETS.outerjoin(_ENTRIES, _ENTRIES.c.asset_id == _ASSETS.c.id))
            .where(or_(*matches), *filters.conditions())
        )
        if after is not None:
            statement = statement.where(_ASSETS.c.id > after)
        if before is not None:
            statement = statement.where(_ASSETS.c.id < before)
        descending = before is not None and after is None
        order = _ASSETS.c.id.desc() if descending else _ASSETS.c.id.asc()
        rows = list(self._session.execute(statement.order_by(order).limit(limit + 1)))
        has_more = len(rows) > limit
        rows = rows[:limit]
        if descending:
            rows.reverse()
        items = tuple(
            CatalogueItem(
                asset=record_from(AssetRecord, row._mapping),
                entry=_entry(row._mapping),
                matched=tuple(i for i in range(len(selectors)) if row._mapping[f"m{i}"]),
            )
            for row in rows
        )
        return CataloguePage(items=items, has_more=has_more)


def _entry_columns() -> list[Any]:
    entries = _ENTRIES.c
    return [
        entries.search_text,
        entries.themes,
        entries.spatial,
        entries.temporal_start,
        entries.temporal_end,
        entries.modified,
        entries.profile,
        entries.fingerprint,
        entries.profiled_at,
        entries.profile_error,
    ]

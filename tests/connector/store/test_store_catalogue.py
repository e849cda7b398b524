"""Catalogue entries and the one-statement catalogue page, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, event
from store_records import EDC, T0, asset, at

from connector.store.database import Database
from connector.store.errors import InvalidQuery
from connector.store.models import Asset
from connector.store.query import Criterion
from connector.store.repositories.assets import AssetRepository
from connector.store.repositories.catalogue import (
    CatalogueFilters,
    CatalogueRepository,
    selecting,
    tokens,
)

ECON = "http://publications.europa.eu/resource/authority/data-theme/ECON"
ENVI = "http://publications.europa.eu/resource/authority/data-theme/ENVI"
ALL: list[Criterion] = []


def _seed(database: Database, count: int = 6) -> None:
    with database.transaction() as session:
        assets, catalogue = AssetRepository(session), CatalogueRepository(session)
        for index in range(count):
            asset_id = f"ds-{index:02d}"
            assets.create(asset(asset_id, properties={EDC + "id": asset_id, EDC + "rank": index}))
            catalogue.describe(
                asset_id,
                search_text=f"camping reservations {'hérault' if index % 2 else 'var'}",
                themes=[ECON] if index % 3 else [ECON, ENVI],
                modified=at(index * 60),
            )


def _ids(page: object) -> list[str]:
    return [item.asset.id for item in page.items]  # type: ignore[attr-defined]


def test_describe_and_profile_round_trip(database: Database) -> None:
    _seed(database, 1)
    with database.transaction() as session:
        saved = CatalogueRepository(session).save_profile(
            "ds-00",
            profile={"rows": 10, "bytes": 2048},
            spatial=["FRJ13", "FRL05"],
            temporal=(at(0), at(86400)),
            fingerprint="f" * 64,
            profiled_at=at(5),
            data_modified=at(3600),
        )
        assert saved
        assert not CatalogueRepository(session).save_profile(
            "nope", profile={}, spatial=[], temporal=(None, None), fingerprint="x",
            profiled_at=at(5), data_modified=None,
        )  # fmt: skip
    with database.read() as session:
        entry = CatalogueRepository(session).get("ds-00")
    assert entry is not None
    assert entry.spatial == ("FRJ13", "FRL05")
    assert entry.profile == {"rows": 10, "bytes": 2048}
    assert entry.modified == at(3600)
    assert entry.temporal_start == at(0)
    # Describing again keeps the data-derived fields.
    with database.transaction() as session:
        CatalogueRepository(session).describe("ds-00", search_text="x", themes=[], modified=T0)
    with database.read() as session:
        again = CatalogueRepository(session).get("ds-00")
    assert again is not None
    assert again.spatial == ("FRJ13", "FRL05")
    assert again.search_text == "x"


def test_entry_goes_with_its_asset(database: Database) -> None:
    _seed(database, 2)
    with database.transaction() as session:
        AssetRepository(session).delete("ds-00")
    with database.read() as session:
        assert CatalogueRepository(session).get("ds-00") is None
        assert CatalogueRepository(session).get("ds-01") is not None


def test_selectors_and_matched_indices(database: Database) -> None:
    _seed(database)
    selectors = [
        [Criterion("id", "in", ["ds-01", "ds-02"])],
        [Criterion(EDC + "rank", ">=", 2)],
        [Criterion("id", "=", "absent")],
    ]
    with database.read() as session:
        page = CatalogueRepository(session).page(selectors, CatalogueFilters(), limit=50)
    assert _ids(page) == ["ds-01", "ds-02", "ds-03", "ds-04", "ds-05"]
    matched = {item.asset.id: item.matched for item in page.items}
    assert matched["ds-01"] == (0,)
    assert matched["ds-02"] == (0, 1)
    assert matched["ds-05"] == (1,)
    with database.read() as session:
        assert _ids(CatalogueRepository(session).page([ALL], CatalogueFilters())) == [
            f"ds-{i:02d}" for i in range(6)
        ]
        assert CatalogueRepository(session).page([], CatalogueFilters()).items == ()


def test_one_asset_is_selected_as_a_page_would_list_it(database: Database) -> None:
    # The check of one offer (CatalogueService.offer) asks for one asset and one selector.
    _seed(database)
    selectors = [
        ALL,
        [Criterion("id", "in", ["ds-01", "ds-02"])],
        [Criterion(EDC + "rank", ">=", 2)],
        [Criterion("id", "=", "absent")],
    ]
    with database.read() as session:
        catalogue = CatalogueRepository(session)
        for selector in selectors:
            listed = _ids(catalogue.page([selector], CatalogueFilters(), limit=50))
            kept = selecting(selector, database.backend)  # as CatalogueService keeps it
            for asset_id in ["ds-00", "ds-01", "ds-02", "ds-05", "absent"]:
                assert catalogue.selects(selector, asset_id) is (asset_id in listed)
                assert catalogue.selects(selector, asset_id, kept) is (asset_id in listed)
        assert catalogue.selects([Criterion(EDC + "rank", ">=", 2)], "ds-03")
        assert not catalogue.selects([Criterion(EDC + "rank", ">=", 2)], "ds-01")
        assert not catalogue.selects(ALL, "absent")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (CatalogueFilters(keywords=("hérault",)), ["ds-01", "ds-03", "ds-05"]),
        (CatalogueFilters(keywords=("camping", "var")), ["ds-00", "ds-02", "ds-04"]),
        (CatalogueFilters(keywords=("100%",)), []),
        (CatalogueFilters(themes=(ENVI,)), ["ds-00", "ds-03"]),
        (CatalogueFilters(themes=(ENVI, ECON)), [f"ds-{i:02d}" for i in range(6)]),
        (CatalogueFilters(modified_since=at(240)), ["ds-04", "ds-05"]),
        (CatalogueFilters(asset_ids=("ds-02", "zz")), ["ds-02"]),
        (CatalogueFilters(asset_ids=()), []),
    ],
)
def test_filters(database: Database, filters: CatalogueFilters, expected: list[str]) -> None:
    _seed(database)
    with database.read() as session:
        assert _ids(CatalogueRepository(session).page([ALL], filters)) == expected


def test_spatial_filter_is_hierarchical_and_temporal_overlaps(database: Database) -> None:
    _seed(database, 3)
    with database.transaction() as session:
        repository = CatalogueRepository(session)
        for asset_id, spatial, temporal in [
            ("ds-00", ["FRJ13", "FRJ15"], (at(0), at(100))),
            ("ds-01", ["FRL05"], (at(200), at(300))),
            ("ds-02", ["FR"], (None, None)),
        ]:
            repository.save_profile(
                asset_id, profile={}, spatial=spatial, temporal=temporal, fingerprint="f",
                profiled_at=T0, data_modified=None,
            )  # fmt: skip
    with database.read() as session:
        repository = CatalogueRepository(session)

        def ids(**kwargs: object) -> list[str]:
            return _ids(repository.page([ALL], CatalogueFilters(**kwargs)))  # type: ignore[arg-type]

        assert ids(spatial=("FRJ",)) == ["ds-00", "ds-02"]
        assert ids(spatial=("FR",)) == ["ds-00", "ds-01", "ds-02"]
        assert ids(spatial=("FRJ13",)) == ["ds-00", "ds-02"]
        assert ids(spatial=("FRJ131",)) == ["ds-00", "ds-02"]  # inside FRJ13, and in FR
        assert ids(spatial=("FRL05",)) == ["ds-01", "ds-02"]
        assert ids(spatial=("DE1",)) == []
        # ds-02 has no temporal coverage: a time range never matches it.
        assert ids(temporal=(at(150), None)) == ["ds-01"]
        assert ids(temporal=(at(50), at(250))) == ["ds-00", "ds-01"]
        assert ids(temporal=(None, at(-1))) == []


def test_keyset_pages_forward_and_backward(database: Database) -> None:
    _seed(database)
    with database.read() as session:
        repository = CatalogueRepository(session)
        first = repository.page([ALL], CatalogueFilters(), limit=4)
        assert _ids(first) == ["ds-00", "ds-01", "ds-02", "ds-03"]
        assert first.has_more
        second = repository.page([ALL], CatalogueFilters(), after="ds-03", limit=4)
        assert _ids(second) == ["ds-04", "ds-05"]
        assert not second.has_more
        back = repository.page([ALL], CatalogueFilters(), before="ds-04", limit=2)
        assert _ids(back) == ["ds-02", "ds-03"]
        assert back.has_more
        with pytest.raises(InvalidQuery):
            repository.page([ALL], CatalogueFilters(), limit=0)


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def test_a_page_is_one_statement_whatever_the_number_of_datasets(database: Database) -> None:
    selectors = [[Criterion(EDC + "rank", ">=", 0)], [Criterion("id", "like", "ds-%")]]
    counts = []
    for total in (3, 40):
        with database.transaction() as session:
            session.execute(delete(Asset))
        _seed(database, total)
        with database.read() as session, _statements(database) as seen:
            page = CatalogueRepository(session).page(selectors, CatalogueFilters(), limit=50)
            assert len(page.items) == total
            counts.append(len([s for s in seen if s.lstrip().upper().startswith("SELECT")]))
    assert counts == [1, 1]


def test_tokens_are_space_delimited_and_refuse_spaces() -> None:
    assert tokens(["b", "a", "a", " "]) == " a b "
    assert tokens([]) == " "
    with pytest.raises(ValueError, match="spaces"):
        tokens(["a b"])

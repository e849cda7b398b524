"""Visitor presence: categories, provenance, suppression and seasonality."""

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from etds_examples.geography import load_departements
from etds_examples.presence import (
    PRESENCE_SCHEMA,
    SUPPRESSION_THRESHOLD,
    VISITOR_CATEGORIES,
    generate_presence,
)
from etds_examples.presence_model import PROVENANCES, stay_distribution

KEY = ["date", "zone_id", "visitor_category", "origin_country", "origin_departement", "stay_nights"]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    out = tmp_path_factory.mktemp("presence") / "data"
    report = generate_presence(out, seed=8, days=2, start=date(2024, 7, 31))
    assert sorted({p.parent.name for p in report.files}) == ["2024-07", "2024-08"]
    result = ds.dataset(out).to_table()
    assert result.num_rows == report.rows
    return result


def _strings(table: pa.Table, name: str) -> list[str | None]:
    values: list[str | None] = table[name].cast(pa.string()).to_pylist()
    return values


def test_schema_and_unique_key(table: pa.Table) -> None:
    assert table.schema.equals(PRESENCE_SCHEMA)
    assert table.group_by(KEY).aggregate([]).num_rows == table.num_rows
    assert set(_strings(table, "visitor_category")) == set(VISITOR_CATEGORIES)
    assert set(_strings(table, "provenance")) == set(PROVENANCES)


def test_small_counts_are_never_delivered(table: pa.Table) -> None:
    volume = table["volume"].to_pylist()
    suppressed = table["suppressed"].to_pylist()
    assert any(suppressed)
    assert not all(suppressed)
    for value, hidden in zip(volume, suppressed, strict=True):
        if hidden:
            assert value is None
        else:
            assert value is not None
            assert value >= SUPPRESSION_THRESHOLD


def test_stay_nights_only_for_tourists(table: pa.Table) -> None:
    for category, nights in zip(
        _strings(table, "visitor_category"), table["stay_nights"].to_pylist(), strict=True
    ):
        if category == "touriste":
            assert nights is not None
            assert 1 <= nights <= 13
        else:
            assert nights is None


def test_provenance_matches_origin(table: pa.Table) -> None:
    departements = load_departements()
    region = {d.code: d.region_code for d in departements}
    zone_dep = {f"dep-{d.code}": d.code for d in departements}
    columns = zip(
        _strings(table, "zone_id"),
        _strings(table, "visitor_category"),
        _strings(table, "provenance"),
        _strings(table, "origin_country"),
        _strings(table, "origin_departement"),
        strict=True,
    )
    for zone, category, provenance, country, origin in columns:
        if provenance == "international":
            assert country != "FR"
            assert origin is None
            continue
        assert country == "FR"
        assert origin in region
        home = zone_dep.get(str(zone))
        if category == "resident":
            assert provenance == "local"
        if home is not None and category != "resident":
            assert origin != home
        if home is not None:
            expected = (
                "local"
                if origin == home
                else "regional"
                if region[origin] == region[home]
                else "national"
            )
            assert provenance == expected


def test_zones_cover_departements_and_sites(table: pa.Table) -> None:
    zones = set(_strings(table, "zone_id"))
    assert {f"dep-{d.code}" for d in load_departements()} <= zones
    assert {"site-aeroport-nice", "site-plage-grande-motte", "grp-bassin-arcachon"} <= zones
    labels = table.group_by("zone_id").aggregate([("zone_label", "count_distinct")])
    assert set(labels["zone_label_count_distinct"].to_pylist()) == {1}


def test_every_zone_lies_in_its_departement_and_nuts3(table: pa.Table) -> None:
    departements = load_departements()
    zones = table.group_by(["zone_id", "zone_departement", "zone_nuts3"]).aggregate([])
    assert zones.num_rows == len(set(table.column("zone_id").to_pylist()))
    for zone in zones.to_pylist():
        assert departements.by_code(zone["zone_departement"]).nuts3 == zone["zone_nuts3"]
        if zone["zone_id"].startswith("dep-"):
            assert zone["zone_id"] == "dep-" + zone["zone_departement"]


def test_stay_distribution_rows_sum_to_one() -> None:
    distribution = stay_distribution(np.array([0.0, 0.5, 0.95]))
    assert distribution.shape == (3, 13)
    assert np.allclose(distribution.sum(axis=1), 1.0)
    assert distribution[2, 6] > distribution[0, 6]  # more week-long stays


def _delivered(path: Path, zone: str, category: str) -> int:
    table = ds.dataset(path).to_table(
        filter=(pc.field("zone_id") == zone) & (pc.field("visitor_category") == category)
    )
    return int(pc.sum(table["volume"]).as_py() or 0)


def test_seasonality_by_zone_type(tmp_path: Path) -> None:
    generate_presence(tmp_path / "winter", seed=2, days=1, start=date(2024, 2, 14))
    generate_presence(tmp_path / "summer", seed=2, days=1, start=date(2024, 8, 7))
    beach = "site-plage-grande-motte"
    ski = "site-val-thorens"
    assert _delivered(tmp_path / "summer", beach, "touriste") > 5 * _delivered(
        tmp_path / "winter", beach, "touriste"
    )
    assert _delivered(tmp_path / "winter", ski, "touriste") > 2 * _delivered(
        tmp_path / "summer", ski, "touriste"
    )
    coast = _delivered(tmp_path / "summer", "dep-85", "touriste")
    inland = _delivered(tmp_path / "summer", "dep-58", "touriste")
    assert coast > 3 * inland


def test_determinism(tmp_path: Path) -> None:
    tables = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        generate_presence(tmp_path / name, seed=seed, days=1)
        tables.append(ds.dataset(tmp_path / name).to_table())
    assert tables[0].equals(tables[1])
    assert not tables[0].equals(tables[2])


def test_days_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="days"):
        generate_presence(tmp_path / "out", seed=1, days=0)

"""Sustainable tourism indicators: long format, codes and internal consistency."""

import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from etds_examples.geography import load_departements
from etds_examples.indicators import INDICATORS_SCHEMA, generate_indicators, read_indicators
from etds_examples.indicators_catalog import FLAGS, INDICATORS, INDICATORS_BY_ID

Values = dict[tuple[str, str], float]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    report = generate_indicators(tmp_path_factory.mktemp("indicators"), seed=4)
    assert report.rows > 20_000
    return read_indicators(report.files[0])


def _series(table: pa.Table, indicator_id: str) -> Values:
    rows = table.filter(pc.equal(table["indicator_id"].cast(pa.string()), indicator_id))
    geos = rows["geo"].cast(pa.string()).to_pylist()
    return dict(
        zip(
            zip(geos, rows["period"].to_pylist(), strict=True),
            rows["value"].to_pylist(),
            strict=True,
        )
    )


def test_schema_and_catalogue(table: pa.Table) -> None:
    assert table.schema.equals(INDICATORS_SCHEMA)
    ids = set(pc.unique(table["indicator_id"].cast(pa.string())).to_pylist())
    assert ids == {spec.indicator_id for spec in INDICATORS}
    assert set(pc.unique(table["flag"].cast(pa.string())).to_pylist()) == set(FLAGS)
    assert all(math.isfinite(v) for v in table["value"].to_pylist())
    keys = table.group_by(["indicator_id", "geo", "period"]).aggregate([])
    assert keys.num_rows == table.num_rows


def test_geography_periods_and_units_follow_the_catalogue(table: pa.Table) -> None:
    departements = load_departements()
    nuts = {2: set(departements.nuts2_codes()), 3: {d.nuts3 for d in departements}}
    grouped = table.group_by(["indicator_id", "unit", "source"]).aggregate(
        [("geo", "distinct"), ("period", "distinct")]
    )
    for row in grouped.to_pylist():
        spec = INDICATORS_BY_ID[row["indicator_id"]]
        assert row["unit"] == spec.unit
        assert row["source"] == spec.source
        assert set(row["geo_distinct"]) == set().union(*(nuts[level] for level in spec.levels))
        pattern = r"\d{4}-(0[1-9]|1[0-2])" if spec.frequency == "monthly" else r"\d{4}"
        assert all(re.fullmatch(pattern, p) for p in row["period_distinct"])
        assert len(row["period_distinct"]) == (60 if spec.frequency == "monthly" else 5)


def test_regions_are_sums_of_departements(table: pa.Table) -> None:
    departements = load_departements()
    for indicator in ("tourist_nights", "tourist_arrivals"):
        values = _series(table, indicator)
        for region in departements.nuts2_codes():
            members = departements.by_nuts_prefix(region)
            for period in ("2022-08", "2024-01"):
                assert values[(region, period)] == sum(values[(d.nuts3, period)] for d in members)


def test_nights_are_arrivals_times_length_of_stay(table: pa.Table) -> None:
    nights, arrivals = _series(table, "tourist_nights"), _series(table, "tourist_arrivals")
    stay = _series(table, "average_length_of_stay")
    for key, value in nights.items():
        assert value == pytest.approx(arrivals[key] * stay[key], rel=0.01)
        assert 1.0 <= stay[key] <= 10.0
    non_resident = _series(table, "non_resident_arrivals")
    assert all(value <= arrivals[key] for key, value in non_resident.items())


def test_percentages_and_shares(table: pa.Table) -> None:
    occupancy = np.array(list(_series(table, "occupancy_rate").values()))
    assert occupancy.min() >= 0.0
    assert occupancy.max() <= 100.0
    modes = [_series(table, f"arrivals_share_{m}") for m in ("car", "rail", "air", "other")]
    for key in modes[0]:
        shares = [mode[key] for mode in modes]
        assert min(shares) >= 0.0
        assert sum(shares) == pytest.approx(100.0, abs=0.05)


def test_summer_peak_and_coastal_intensity(table: pa.Table) -> None:
    occupancy = _series(table, "occupancy_rate")
    for region in ("FRH0", "FRG0", "FRJ1"):  # Brittany, Pays de la Loire, Languedoc
        assert occupancy[(region, "2023-08")] > 2 * occupancy[(region, "2023-02")]
    intensity = _series(table, "tourism_intensity")
    departements = load_departements()
    coastal = [intensity[(d.nuts3, "2023")] for d in departements if d.coastal and not d.overseas]
    inland = [intensity[(d.nuts3, "2023")] for d in departements if not (d.coastal or d.mountain)]
    assert np.mean(coastal) > 1.5 * np.mean(inland)


def test_covid_collapse_and_recovery(table: pa.Table) -> None:
    nights = _series(table, "tourist_nights")
    assert nights[("FRL0", "2020-04")] < 0.2 * nights[("FRL0", "2023-04")]


def test_energy_reduction_matches_energy_values(table: pa.Table) -> None:
    energy = _series(table, "energy_per_tourist_night")
    reduction = _series(table, "energy_per_tourist_night_reduction")
    for (geo, period), value in reduction.items():
        previous = energy.get((geo, str(int(period) - 1)))
        if previous is not None:
            expected = 100.0 * (previous - energy[(geo, period)]) / previous
            assert value == pytest.approx(expected, abs=0.1)


def test_flags_mark_the_latest_year_provisional(table: pa.Table) -> None:
    rows = table.select(["period", "flag"]).to_pylist()
    provisional = {r["period"] for r in rows if r["flag"] == "p"}
    assert provisional == {"2024", "2024-10", "2024-11", "2024-12"}
    estimated = sum(r["flag"] == "e" for r in rows)
    assert 0.005 * len(rows) < estimated < 0.05 * len(rows)


def test_csv_matches_parquet_and_seed_determinism(tmp_path: Path, table: pa.Table) -> None:
    csv = generate_indicators(tmp_path / "csv", seed=4, format="csv")
    assert csv.files[0].name == "indicators.csv"
    from_csv = read_indicators(csv.files[0])
    assert from_csv.num_rows == table.num_rows
    assert from_csv["value"].equals(table["value"])
    assert from_csv["flag"].cast(pa.string()).equals(table["flag"].cast(pa.string()))
    other = read_indicators(generate_indicators(tmp_path / "other", seed=5).files[0])
    assert not other["value"].equals(table["value"])


def test_years_argument_and_validation(tmp_path: Path) -> None:
    report = generate_indicators(tmp_path / "one", seed=1, years=1, last_year=2019)
    periods = set(read_indicators(report.files[0])["period"].to_pylist())
    assert periods == {"2019", *(f"2019-{m:02d}" for m in range(1, 13))}
    with pytest.raises(ValueError, match="years"):
        generate_indicators(tmp_path / "none", seed=1, years=0)
    with pytest.raises(ValueError, match="format"):
        generate_indicators(tmp_path / "bad", seed=1, format="xlsx")  # type: ignore[arg-type]

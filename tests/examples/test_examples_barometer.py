"""The booking barometer written to Parquet: schema, codes, invariants, determinism."""

import re
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from etds_examples.barometer import generate_barometer, open_barometer
from etds_examples.barometer_codes import (
    ACCOMMODATION_TYPES,
    BAROMETER_SCHEMA,
    CAPACITY_BANDS,
    CHANNELS,
    CUSTOMER_COUNTRIES,
    KEY_COLUMNS,
    LEAD_TIME_BUCKETS,
    STAR_RATINGS,
)
from etds_examples.geography import load_departements
from etds_examples.report import GenerationReport

ROWS = 150_000
KEY = b"barometer-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def two_weeks(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationReport, pa.Table]:
    out = tmp_path_factory.mktemp("barometer") / "data"
    report = generate_barometer(out, seed=11, rows=ROWS, weeks=2, key=KEY, row_group_rows=60_000)
    return report, open_barometer(out).to_table()


def _column(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table[name].to_numpy(zero_copy_only=False))


def _week(table: pa.Table, snapshot: date) -> pa.Table:
    return table.filter(pc.equal(table["snapshot_date"], pa.scalar(snapshot, pa.date32())))


def test_layout_and_exact_row_counts(two_weeks: tuple[GenerationReport, pa.Table]) -> None:
    report, table = two_weeks
    assert report.rows == 2 * ROWS == table.num_rows
    folders = sorted({path.parent.name for path in report.files})
    assert folders == ["snapshot_date=2025-05-05", "snapshot_date=2025-05-12"]
    assert all(re.fullmatch(r"part-\d{5}\.parquet", p.name) for p in report.files)
    assert report.bytes_written == sum(p.stat().st_size for p in report.files)
    for snapshot in (date(2025, 5, 5), date(2025, 5, 12)):
        assert _week(table, snapshot).num_rows == ROWS
    metadata = pq.ParquetFile(report.files[0]).metadata
    assert metadata.num_row_groups >= 2
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_schema_and_dictionary_columns(two_weeks: tuple[GenerationReport, pa.Table]) -> None:
    report, table = two_weeks
    assert table.schema.equals(BAROMETER_SCHEMA)
    in_file = pq.read_schema(report.files[0])
    assert "snapshot_date" not in in_file.names
    assert pa.types.is_dictionary(in_file.field("customer_country").type)


def test_key_is_unique(two_weeks: tuple[GenerationReport, pa.Table]) -> None:
    _, table = two_weeks
    grouped = table.group_by(list(KEY_COLUMNS)).aggregate([])
    assert grouped.num_rows == table.num_rows


def test_codes_are_valid(two_weeks: tuple[GenerationReport, pa.Table]) -> None:
    _, table = two_weeks
    departements = load_departements()
    nuts3_of = {d.code: d.nuts3 for d in departements}
    pairs = table.group_by(["departement_code", "nuts3"]).aggregate([]).to_pylist()
    assert {row["departement_code"] for row in pairs} <= set(nuts3_of)
    for row in pairs:
        assert nuts3_of[row["departement_code"]] == row["nuts3"]
    enums = {
        "star_rating": STAR_RATINGS,
        "capacity_band": CAPACITY_BANDS,
        "accommodation_type": ACCOMMODATION_TYPES,
        "lead_time_bucket": LEAD_TIME_BUCKETS,
        "customer_country": CUSTOMER_COUNTRIES,
        "channel": CHANNELS,
    }
    for column, allowed in enums.items():
        assert set(pc.unique(table[column].cast(pa.string())).to_pylist()) <= set(allowed)
    pids = pc.unique(table["campsite_pid"].cast(pa.string())).to_pylist()
    assert all(re.fullmatch(r"[0-9a-f]{16}", pid) for pid in pids)
    assert 1000 < len(pids) <= 1400


def test_measures_are_consistent(two_weeks: tuple[GenerationReport, pa.Table]) -> None:
    _, table = two_weeks
    available, booked = _column(table, "units_available"), _column(table, "units_booked")
    bookings, person_nights = _column(table, "bookings"), _column(table, "person_nights")
    occupancy = _column(table, "occupancy_rate")
    assert (bookings >= 1).all()
    assert (person_nights >= bookings).all()
    assert (booked >= bookings).all()
    assert np.allclose(occupancy, booked / available)
    assert (occupancy > 0).all()
    assert (occupancy <= 1).all()
    night = table.group_by(["snapshot_date", "campsite_pid", "stay_date", "accommodation_type"])
    totals = night.aggregate([("units_booked", "sum"), ("units_available", "max")])
    assert (_column(totals, "units_booked_sum") <= _column(totals, "units_available_max")).all()


def test_lead_time_is_never_shorter_than_the_wait(
    two_weeks: tuple[GenerationReport, pa.Table],
) -> None:
    _, table = two_weeks
    wait = (
        _column(table, "stay_date").astype("datetime64[D]")
        - _column(table, "snapshot_date").astype("datetime64[D]")
    ).astype(np.int64)
    assert (wait >= 0).all()
    upper = {"0-7": 7, "8-30": 30, "31-90": 90, "91-180": 180, "181+": 10**6}
    bucket_upper = np.array(
        [upper[b] for b in table["lead_time_bucket"].cast(pa.string()).to_pylist()]
    )
    assert (bucket_upper >= wait).all()


def test_summer_nights_are_fuller(two_weeks: tuple[GenerationReport, pa.Table]) -> None:
    _, table = two_weeks
    week = _week(table, date(2025, 5, 5))
    nights = week.group_by(["campsite_pid", "stay_date", "accommodation_type"]).aggregate(
        [("units_booked", "sum"), ("units_available", "max")]
    )
    month = _column(nights, "stay_date").astype("datetime64[M]").astype(np.int64) % 12 + 1
    rate = _column(nights, "units_booked_sum") / _column(nights, "units_available_max")
    peak = rate[np.isin(month, (7, 8))].mean()
    shoulder = rate[np.isin(month, (5, 6, 9))].mean()
    assert peak > 1.5 * shoulder


def test_coastal_departements_are_heavier(two_weeks: tuple[GenerationReport, pa.Table]) -> None:
    _, table = two_weeks
    coastal = {d.code for d in load_departements() if d.coastal}
    per_dep = table.group_by("departement_code").aggregate([("campsite_pid", "count_distinct")])
    sites = dict(
        zip(
            per_dep["departement_code"].to_pylist(),
            per_dep["campsite_pid_count_distinct"].to_pylist(),
            strict=True,
        )
    )
    coast = [n for code, n in sites.items() if code in coastal]
    inland = [n for code, n in sites.items() if code not in coastal]
    assert np.mean(coast) > 1.5 * np.mean(inland)
    assert sum(coast) > sum(inland)
    assert not {"92", "93", "94"} & set(sites)


def test_weeks_share_campsites_and_bookings_grow(
    two_weeks: tuple[GenerationReport, pa.Table],
) -> None:
    _, table = two_weeks
    keys = ["campsite_pid", "stay_date", "accommodation_type"]

    def totals(snapshot: date) -> dict[tuple[object, ...], int]:
        grouped = _week(table, snapshot).group_by(keys).aggregate([("units_booked", "sum")])
        rows = grouped.to_pylist()
        return {tuple(str(r[k]) for k in keys): r["units_booked_sum"] for r in rows}

    first, second = totals(date(2025, 5, 5)), totals(date(2025, 5, 12))
    common = first.keys() & second.keys()
    assert len(common) > 10_000
    assert all(second[k] >= first[k] for k in common)
    pids = [
        set(pc.unique(_week(table, d)["campsite_pid"].cast(pa.string())).to_pylist())
        for d in (date(2025, 5, 5), date(2025, 5, 12))
    ]
    assert len(pids[0] & pids[1]) > 0.95 * len(pids[0])


def test_no_siret_and_no_key_are_written(two_weeks: tuple[GenerationReport, pa.Table]) -> None:
    report, table = two_weeks
    for path in report.files:
        content = path.read_bytes()
        assert KEY not in content
        assert KEY.hex().encode() not in content
    strings = [
        table[name].cast(pa.string())
        for name in table.column_names
        if pa.types.is_dictionary(table.schema.field(name).type)
    ]
    for column in strings:
        assert not any(re.fullmatch(r"\d{14}", value) for value in pc.unique(column).to_pylist())


def test_same_seed_same_table_other_seed_other_table(tmp_path: Path) -> None:
    tables = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_barometer(tmp_path / name, seed=seed, rows=20_000, campsites=200)
        tables.append(open_barometer(tmp_path / name).to_table())
    assert tables[0].equals(tables[1])
    assert not tables[0].equals(tables[2])


def test_default_key_comes_from_the_seed_and_a_given_key_changes_pseudonyms(tmp_path: Path) -> None:
    generate_barometer(tmp_path / "a", seed=5, rows=1_000, campsites=50)
    generate_barometer(tmp_path / "b", seed=5, rows=1_000, campsites=50, key=KEY)
    pids = [
        set(
            pc.unique(
                open_barometer(tmp_path / n).to_table()["campsite_pid"].cast(pa.string())
            ).to_pylist()
        )
        for n in "ab"
    ]
    assert pids[0].isdisjoint(pids[1])


def test_progress_reports_every_row_and_files_split(tmp_path: Path) -> None:
    seen: list[int] = []
    report = generate_barometer(
        tmp_path / "out",
        seed=1,
        rows=30_000,
        campsites=300,
        rows_per_file=12_000,
        row_group_rows=5_000,
        progress=seen.append,
    )
    assert sum(seen) == 30_000
    assert [p.name for p in report.files] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert [pq.ParquetFile(p).metadata.num_rows for p in report.files] == [12_000, 12_000, 6_000]


def test_zero_rows_writes_an_empty_snapshot(tmp_path: Path) -> None:
    report = generate_barometer(tmp_path / "out", seed=1, rows=0, campsites=20)
    assert report.rows == 0
    assert open_barometer(tmp_path / "out").count_rows() == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"first_snapshot": date(2025, 5, 6)}, "Monday"),
        ({"key": b"short"}, "16 bytes"),
        ({"rows": 50_000_000}, "holds at most"),
        ({"weeks": 0}, "weeks"),
        ({"campsites": 0}, "campsites"),
        ({"rows": -1}, "rows"),
    ],
)
def test_invalid_arguments_write_nothing(
    tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        generate_barometer(tmp_path / "out", seed=1, **{"rows": 100, "campsites": 100, **arguments})  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_barometer(tmp_path, seed=1, rows=10, campsites=10)
    assert (tmp_path / "keep.txt").read_text() == "mine"

"""The départements reference file and its loader."""

import re

import pytest

from etds_examples.geography import load_departements, load_populations

INSEE_REGIONS = {
    "01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75", "76",
    "84", "93", "94",
}  # fmt: skip
EXPECTED_CODES = (
    {f"{n:02d}" for n in range(1, 20)}
    | {"2A", "2B"}
    | {f"{n:02d}" for n in range(21, 96)}
    | {"971", "972", "973", "974", "976"}
)


def test_file_lists_the_101_departements_once() -> None:
    departements = load_departements()
    assert len(departements) == 101
    assert set(departements.codes) == EXPECTED_CODES
    assert len({d.name for d in departements}) == 101


def test_nuts_codes_are_well_formed_and_nested() -> None:
    departements = load_departements()
    assert len({d.nuts3 for d in departements}) == 101
    for d in departements:
        assert re.fullmatch(r"FR[0-9A-Z]{3}", d.nuts3), d
        assert d.nuts3[:4] == d.nuts2
        assert d.nuts3[:3] == d.nuts1
    assert {d.nuts3 for d in departements if d.overseas} == {f"FRY{i}0" for i in range(1, 6)}
    assert len(departements.nuts2_codes()) == 27


def test_every_region_is_present_with_one_name() -> None:
    departements = load_departements()
    assert {d.region_code for d in departements} == INSEE_REGIONS
    names = {(d.region_code, d.region_name) for d in departements}
    assert len(names) == len(INSEE_REGIONS)


@pytest.mark.parametrize(
    ("code", "name", "nuts3", "region"),
    [
        ("34", "Hérault", "FRJ13", "76"),
        ("2A", "Corse-du-Sud", "FRM01", "94"),
        ("75", "Paris", "FR101", "11"),
        ("974", "La Réunion", "FRY40", "04"),
        ("69", "Rhône", "FRK26", "84"),
    ],
)
def test_known_departements(code: str, name: str, nuts3: str, region: str) -> None:
    departement = load_departements().by_code(code)
    assert (departement.name, departement.nuts3, departement.region_code) == (name, nuts3, region)


def test_geography_flags_match_well_known_cases() -> None:
    departements = load_departements()
    assert departements.by_code("85").coastal
    assert not departements.by_code("85").mountain
    assert departements.by_code("73").mountain
    assert not departements.by_code("73").coastal
    assert departements.by_code("88").mountain  # the Vosges
    creuse = departements.by_code("23")
    assert not creuse.coastal
    assert not creuse.mountain
    assert all(d.coastal for d in departements if d.overseas)


def test_lookups_by_nuts_prefix_and_errors() -> None:
    departements = load_departements()
    languedoc = departements.by_nuts_prefix("FRJ1")
    assert {d.code for d in languedoc} == {"11", "30", "34", "48", "66"}
    assert len(departements.by_nuts_prefix("FR")) == 101
    assert departements.by_nuts_prefix("DE") == ()
    assert departements[departements.index_of("2B")].code == "2B"
    with pytest.raises(KeyError, match="20"):
        departements.by_code("20")


def test_populations_cover_every_departement() -> None:
    populations = load_populations()
    assert set(populations) == EXPECTED_CODES
    assert 60_000_000 < sum(populations.values()) < 75_000_000
    assert populations["75"] > populations["48"] * 20

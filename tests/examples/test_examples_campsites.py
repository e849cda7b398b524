"""The synthetic campsite panel: identifiers, pseudonyms and realistic mixes."""

import hashlib
import hmac

import numpy as np
import pytest

from etds_examples.barometer_codes import CAPACITY_BAND_LOWER_BOUNDS, CUSTOMER_COUNTRIES
from etds_examples.campsites import (
    Campsites,
    default_key,
    departement_weights,
    generate_campsites,
    is_luhn_valid,
    luhn_check_digit,
    pseudonymise,
)
from etds_examples.geography import load_departements

KEY = b"k" * 32


@pytest.fixture(scope="module")
def panel() -> Campsites:
    return generate_campsites(load_departements(), seed=3, count=1400, key=KEY)


def test_luhn() -> None:
    assert luhn_check_digit("7992739871") == "3"
    assert is_luhn_valid("79927398713")
    assert not is_luhn_valid("79927398710")
    assert not is_luhn_valid("7992739871x")


def test_pseudonym_is_truncated_hmac_sha256() -> None:
    siret = "73282932000074"
    expected = hmac.new(KEY, siret.encode(), hashlib.sha256).hexdigest()[:16]
    assert pseudonymise(KEY, siret) == expected
    assert pseudonymise(b"x" * 32, siret) != expected
    assert default_key(1) != default_key(2)
    assert len(default_key(1)) == 32


def test_panel_identifiers(panel: Campsites) -> None:
    assert panel.count == 1400
    assert len(set(panel.pids)) == 1400
    assert all(len(pid) == 16 and int(pid, 16) >= 0 for pid in panel.pids)


def test_panel_is_deterministic_and_key_dependent(panel: Campsites) -> None:
    again = generate_campsites(load_departements(), seed=3, count=1400, key=KEY)
    assert again.pids == panel.pids
    assert np.array_equal(again.segment_p, panel.segment_p)
    other_key = generate_campsites(load_departements(), seed=3, count=1400, key=b"o" * 32)
    assert set(other_key.pids).isdisjoint(panel.pids)
    assert np.array_equal(other_key.pitches, panel.pitches)


def test_units_and_bands_are_consistent(panel: Campsites) -> None:
    assert np.array_equal(panel.units.sum(axis=1), panel.pitches)
    assert (panel.units >= 0).all()
    lower = np.array(CAPACITY_BAND_LOWER_BOUNDS)[panel.capacity_band]
    assert (panel.pitches >= lower).all()
    upper = np.append(CAPACITY_BAND_LOWER_BOUNDS[1:], 10**9)[panel.capacity_band]
    assert (panel.pitches < upper).all()
    assert np.allclose(panel.segment_p.sum(axis=1), 1.0)
    assert panel.segment_p.shape[1] == len(CUSTOMER_COUNTRIES) * 6


def test_seasons_mostly_april_to_september(panel: Campsites) -> None:
    seasonal = ~panel.all_year
    assert 0.02 < panel.all_year.mean() < 0.15
    assert np.median(panel.open_doy[seasonal]) < 121  # before May
    assert np.median(panel.close_doy[seasonal]) > 244  # after August
    assert (panel.open_doy < panel.close_doy).all()


def test_geography_of_the_panel(panel: Campsites) -> None:
    departements = load_departements()
    weights = departement_weights(departements)
    for code in ("92", "93", "94"):
        assert weights[departements.index_of(code)] == 0.0
    counts = np.bincount(panel.departement, minlength=len(departements))
    coastal = np.array([d.coastal and not d.overseas for d in departements])
    assert counts[coastal].mean() > 2 * counts[~coastal].mean()
    top = {departements[int(i)].code for i in np.argsort(-counts)[:15]}
    assert len(top & {"85", "17", "07", "83", "40", "34", "29", "56", "66", "33", "24"}) >= 8
    assert counts[departements.index_of("75")] <= 2


def test_french_customers_dominate(panel: Campsites) -> None:
    by_country = panel.segment_p.reshape(panel.count, len(CUSTOMER_COUNTRIES), 6).sum(axis=2)
    shares = by_country.mean(axis=0)
    assert shares.argmax() == CUSTOMER_COUNTRIES.index("FR")
    assert shares[CUSTOMER_COUNTRIES.index("FR")] > 0.5


def test_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="count"):
        generate_campsites(load_departements(), seed=1, count=0, key=KEY)

"""French calendar helpers."""

from datetime import date

import numpy as np
import pytest

from etds_examples.calendar_fr import (
    day_number,
    day_of_year,
    easter_sunday,
    from_day_number,
    holiday_nights,
    months_of,
    public_holidays,
    seasonal_bump,
    weekdays,
    years_of,
)


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2000, date(2000, 4, 23)), (2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)),
     (2025, date(2025, 4, 20)), (2038, date(2038, 4, 25))],
)  # fmt: skip
def test_easter(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_public_holidays_2025() -> None:
    holidays = public_holidays(2025)
    assert len(holidays) == 11
    assert date(2025, 5, 29) in holidays  # Ascension
    assert date(2025, 6, 9) in holidays  # Whit Monday
    assert date(2025, 7, 14) in holidays


def test_day_arithmetic_on_arrays() -> None:
    days = np.array([day_number(date(2024, 12, 31)), day_number(date(2025, 5, 5))])
    assert from_day_number(int(days[1])) == date(2025, 5, 5)
    assert day_of_year(days).tolist() == [366, 125]
    assert months_of(days).tolist() == [12, 5]
    assert years_of(days).tolist() == [2024, 2025]
    assert weekdays(days).tolist() == [date(2024, 12, 31).weekday(), 0]


def test_holiday_nights_include_the_eve() -> None:
    days = np.arange(day_number(date(2025, 7, 12)), day_number(date(2025, 7, 16)))
    assert holiday_nights(days).tolist() == [False, True, True, False]
    assert holiday_nights(np.array([], dtype=np.int64)).size == 0


def test_seasonal_bump_wraps_around_new_year() -> None:
    values = seasonal_bump(np.array([360, 5, 180]), peak=0.0, width=10.0)
    assert values[0] > 0.8
    assert values[1] > 0.8
    assert values[2] < 1e-6

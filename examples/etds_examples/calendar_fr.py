"""French calendar helpers for seasonality: public holidays, weekdays, day of year.

Days are handled as integers counting from 1970-01-01 (numpy ``datetime64[D]`` values), so that
every helper works on whole arrays at once. Public holidays are those of metropolitan France
(Easter-based ones from the Gregorian computus); the generators use them to lift occupancy and
presence on long weekends ("ponts") outside the summer peak.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

_EPOCH = date(1970, 1, 1)
IntArray = NDArray[np.int64]


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - _EPOCH).days


def from_day_number(number: int) -> date:
    """Inverse of :func:`day_number`."""
    return _EPOCH + timedelta(days=number)


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def public_holidays(year: int) -> tuple[date, ...]:
    """The eleven public holidays of metropolitan France in ``year``, sorted."""
    easter = easter_sunday(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    movable = [easter + timedelta(days=offset) for offset in (1, 39, 50)]
    return tuple(sorted([date(year, m, d) for m, d in fixed] + movable))


def holiday_nights(days: IntArray) -> NDArray[np.bool_]:
    """True for nights on or just before a public holiday (the nights of a long weekend)."""
    days = np.asarray(days, dtype=np.int64)
    if days.size == 0:
        return np.zeros(0, dtype=np.bool_)
    first, last = years_of(np.array([days.min(), days.max() + 1]))
    holidays = np.array(
        [day_number(h) for year in range(int(first), int(last) + 1) for h in public_holidays(year)],
        dtype=np.int64,
    )
    result: NDArray[np.bool_] = np.isin(days, holidays) | np.isin(days + 1, holidays)
    return result


def weekdays(days: IntArray) -> IntArray:
    """ISO weekday index, Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday)."""
    result: IntArray = (np.asarray(days, dtype=np.int64) + 3) % 7
    return result


def years_of(days: IntArray) -> IntArray:
    """Calendar year of each day."""
    years = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]")
    result: IntArray = years.astype(np.int64) + 1970
    return result


def months_of(days: IntArray) -> IntArray:
    """Calendar month (1-12) of each day."""
    months = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]")
    result: IntArray = months.astype(np.int64) % 12 + 1
    return result


def day_of_year(days: IntArray) -> IntArray:
    """Day of the year, 1 = 1 January."""
    as_days = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    starts = as_days.astype("datetime64[Y]").astype("datetime64[D]")
    result: IntArray = (as_days - starts).astype(np.int64) + 1
    return result


def seasonal_bump(
    doy: NDArray[np.float64] | IntArray, peak: float, width: float
) -> NDArray[np.float64]:
    """Gaussian bump in ``[0, 1]`` centred on day-of-year ``peak``, wrapping around New Year."""
    distance = np.abs(np.asarray(doy, dtype=np.float64) - peak)
    distance = np.minimum(distance, 365.25 - distance)
    result: NDArray[np.float64] = np.exp(-0.5 * (distance / width) ** 2)
    return result

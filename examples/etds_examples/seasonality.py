"""Seasonal tourism profiles of French areas, shared by the indicator and presence generators.

An area is classified as ``urban`` (Paris and its inner ring, the big metropolitan
départements), ``overseas``, ``coastal``, ``mountain`` or ``inland`` (first match in that
order). Each profile has a curve giving, for a day of the year, the relative tourist activity in
``[0, 1]``:

- coastal: low all year, strong July-August peak;
- mountain: a winter-sports peak in February and a summer peak in late July;
- urban: high all year, mild spring/early-summer bump, dip in August;
- inland: moderate summer peak, long shoulder seasons;
- overseas: dry-season peak from December to April, smaller July-August peak;

and, for sites: ``beach`` (as coastal, sharper), ``ski`` (December-April, peak in February,
small summer season), ``airport`` (busy all year, summer bump) and ``heritage`` (April-October,
peak in August).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from etds_examples.calendar_fr import seasonal_bump
from etds_examples.geography import Departement

PROFILES = (
    "urban",
    "overseas",
    "coastal",
    "mountain",
    "inland",
    "beach",
    "ski",
    "airport",
    "heritage",
)
URBAN_DEPARTEMENTS = frozenset({"75", "92", "93", "94", "69", "13", "31", "59", "67"})


def profile_of(departement: Departement) -> str:
    """The seasonal profile of a département."""
    if departement.code in URBAN_DEPARTEMENTS:
        return "urban"
    if departement.overseas:
        return "overseas"
    if departement.coastal:
        return "coastal"
    if departement.mountain:
        return "mountain"
    return "inland"


def activity(profile: str, doy: NDArray[np.float64] | NDArray[np.int64]) -> NDArray[np.float64]:
    """Relative tourist activity in ``[0, 1]`` for each day of the year."""
    doy = np.asarray(doy, dtype=np.float64)
    if profile == "coastal":
        level = 0.12 + 0.88 * seasonal_bump(doy, 212.0, 30.0)
    elif profile == "mountain":
        level = 0.15 + 0.65 * seasonal_bump(doy, 48.0, 28.0) + 0.6 * seasonal_bump(doy, 210.0, 28.0)
    elif profile == "urban":
        level = (
            0.75 + 0.2 * seasonal_bump(doy, 165.0, 50.0) - 0.15 * seasonal_bump(doy, 225.0, 12.0)
        )
    elif profile == "inland":
        level = 0.22 + 0.7 * seasonal_bump(doy, 212.0, 38.0)
    elif profile == "overseas":
        level = 0.45 + 0.45 * seasonal_bump(doy, 45.0, 55.0) + 0.2 * seasonal_bump(doy, 215.0, 20.0)
    elif profile == "beach":
        level = 0.05 + 0.95 * seasonal_bump(doy, 212.0, 24.0)
    elif profile == "ski":
        level = (
            0.03 + 0.97 * seasonal_bump(doy, 45.0, 32.0) + 0.25 * seasonal_bump(doy, 210.0, 22.0)
        )
    elif profile == "airport":
        level = 0.7 + 0.3 * seasonal_bump(doy, 205.0, 45.0)
    elif profile == "heritage":
        level = 0.12 + 0.88 * seasonal_bump(doy, 215.0, 50.0)
    else:
        raise ValueError(f"unknown profile {profile!r}")
    result: NDArray[np.float64] = np.clip(level, 0.0, 1.0)
    return result

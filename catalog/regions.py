"""Spatial coverage as NUTS regions, for hierarchical search.

A NUTS code is a country's two letters followed by one character per level (``FR`` → ``FRJ`` →
``FRJ1`` → ``FRJ13``), so the hierarchy is in the code: a region contains the regions whose codes
start with its own. EU country IRIs (``…/authority/country/FRA``) stand for the NUTS level-0
region of the country (``FR``; Greece is ``EL`` and the United Kingdom ``UK`` in NUTS).
"""

from __future__ import annotations

import re
from types import MappingProxyType

from catalog.vocabulary import COUNTRY, NUTS_CODE_BASE

_NUTS_CODE = re.compile(r"^[A-Z]{2}[A-Z0-9]{0,3}$")
# NUTS country code → EU country vocabulary code, for the countries NUTS covers.
_COUNTRY_OF_NUTS = MappingProxyType(
    {
        "AL": "ALB",
        "AT": "AUT",
        "BE": "BEL",
        "BG": "BGR",
        "CH": "CHE",
        "CY": "CYP",
        "CZ": "CZE",
        "DE": "DEU",
        "DK": "DNK",
        "EE": "EST",
        "EL": "GRC",
        "ES": "ESP",
        "FI": "FIN",
        "FR": "FRA",
        "HR": "HRV",
        "HU": "HUN",
        "IE": "IRL",
        "IS": "ISL",
        "IT": "ITA",
        "LI": "LIE",
        "LT": "LTU",
        "LU": "LUX",
        "LV": "LVA",
        "ME": "MNE",
        "MK": "MKD",
        "MT": "MLT",
        "NL": "NLD",
        "NO": "NOR",
        "PL": "POL",
        "PT": "PRT",
        "RO": "ROU",
        "RS": "SRB",
        "SE": "SWE",
        "SI": "SVN",
        "SK": "SVK",
        "TR": "TUR",
        "UK": "GBR",
    }
)
_NUTS_OF_COUNTRY = MappingProxyType({v: k for k, v in _COUNTRY_OF_NUTS.items()})


def is_nuts_code(value: str) -> bool:
    return _NUTS_CODE.match(value) is not None


def region_code(value: str) -> str | None:
    """The NUTS code ``value`` stands for: a NUTS code, a NUTS IRI or an EU country IRI of a
    country NUTS covers; None for anything else."""
    if value.startswith(NUTS_CODE_BASE):
        code = value[len(NUTS_CODE_BASE) :]
        return code if is_nuts_code(code) else None
    if value.startswith(COUNTRY + "/"):
        return _NUTS_OF_COUNTRY.get(value[len(COUNTRY) + 1 :])
    return value if is_nuts_code(value) else None


def country_iri(nuts_code: str) -> str | None:
    """The EU country IRI of a NUTS code's country (None if NUTS does not cover it)."""
    country = _COUNTRY_OF_NUTS.get(nuts_code[:2])
    return f"{COUNTRY}/{country}" if country else None


def overlaps(first: str, second: str) -> bool:
    """Whether two NUTS regions overlap: one contains the other (or they are the same)."""
    return first.startswith(second) or second.startswith(first)
